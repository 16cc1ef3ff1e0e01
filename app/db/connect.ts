// Which store an appliance or a command opens: SQLite in the data directory (the default, one
// appliance), or PostgreSQL when --database-url is given (several appliances, one truth).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config.js';
import { openStore, type Store } from './open.js';
import { databasePassword, openPostgres, redactDatabaseUrl, type PostgresStore, type SharedStore } from './store.js';

/** Either store, closed the same way. */
export type OpenedStore = (Omit<Store, 'close'> | Omit<PostgresStore, 'close'>) & { close(): Promise<void> };

export interface StoreChoice {
  dataDir: string;
  databaseUrl: string | undefined;
  databaseCa: string | undefined;
  /** Shown in PostgreSQL's pg_stat_activity. */
  applicationName: string;
}

export function isSqlite<S extends SharedStore>(store: S): store is S & Store {
  return store.dialect === 'sqlite' && 'sqlite' in store;
}

/** Open the store the settings name; the password comes from the URL, DATABASE_PASSWORD or PGPASSFILE. */
export async function openConfiguredStore(c: StoreChoice, env: NodeJS.ProcessEnv): Promise<OpenedStore> {
  if (c.databaseUrl === undefined) {
    const sqlite = openStore(c.dataDir);
    return { ...sqlite, close: async () => sqlite.close() };
  }
  let ca: Buffer | undefined;
  if (c.databaseCa !== undefined) {
    try {
      ca = readFileSync(c.databaseCa);
    } catch (e) {
      throw new ConfigError(`--database-ca: cannot read ${c.databaseCa}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const password = databasePassword(c.databaseUrl, env);
  try {
    return await openPostgres({ url: c.databaseUrl, ...(password !== undefined ? { password } : {}), ...(ca !== undefined ? { ca } : {}), applicationName: c.applicationName });
  } catch (e) {
    // The driver's message never holds the password; the URL is shown without it. The cause of a
    // failed first query (drizzle's wrapper) is what says why: refused, password, TLS, rights.
    const cause = (e as { cause?: unknown }).cause;
    throw new Error(`cannot open the store at ${redactDatabaseUrl(c.databaseUrl)}: ${cause instanceof Error ? cause.message : (e as Error).message}`);
  }
}
