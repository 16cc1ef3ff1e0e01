// Opening the store: better-sqlite3 with WAL, drizzle over it, migrations applied before use.
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../lib/package-root.js';
import { sqliteRunner, type SharedStore } from './store.js';

export { statement } from './store.js';

export const DB_FILE = 'gatehouse.sqlite';

// Without drizzle's relational query API (db.query.*, unused here): giving drizzle the schema
// makes it work out every table's relations at each start, about 2 ms (issue 18's cold start).
// Queries name their tables from ./schema.js themselves.
export type Db = BetterSQLite3Database;

/** The SQLite store: its own synchronous handles, and the engine-neutral interface (app/db/store.ts). */
export interface Store extends SharedStore {
  readonly dialect: 'sqlite';
  db: Db;
  /** The raw connection, for the few things drizzle does not do (backup, pragmas, prepared hot paths). */
  sqlite: Database.Database;
  close(): void;
}

/**
 * better-sqlite3's compiled addon, named directly: left to itself, better-sqlite3 finds it through
 * the `bindings` package, which loads two more modules and tries a dozen paths (about 2.5 ms of
 * every start, issue 18's cold start). Undefined, and so the usual search, when it was built
 * elsewhere.
 */
function nativeAddon(): string | undefined {
  const file = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
  return existsSync(file) ? file : undefined;
}

/**
 * Whether drizzle's migrator would apply nothing: it applies every migration of the journal newer
 * than the newest one recorded in __drizzle_migrations, and this is that test, made from the
 * journal alone. The migrator itself reads and hashes every migration file first, on every start
 * (a few ms, issue 18's cold start), so it runs only when this says there is something to apply.
 */
function upToDate(sqlite: Database.Database, folder: string): boolean {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: { when: number }[] };
  const newest = Math.max(...journal.entries.map((e) => e.when));
  const last = sqlite.prepare('SELECT created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1').pluck().get() as number | string | undefined;
  return last !== undefined && Number(last) >= newest;
}

/** Open (creating if needed) DATA_DIR/gatehouse.sqlite, or ':memory:' for tests, and migrate it. */
export function openStore(dataDirOrMemory: string): Store {
  let file = ':memory:';
  if (dataDirOrMemory !== ':memory:') {
    mkdirSync(dataDirOrMemory, { recursive: true, mode: 0o700 });
    file = join(dataDirOrMemory, DB_FILE);
  }
  const addon = nativeAddon();
  const sqlite = new Database(file, addon === undefined ? {} : { nativeBinding: addon });
  // The store holds sealed secrets and the audit log: readable by the service user only.
  if (file !== ':memory:') chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode keeps the database consistent on power loss; a commit may roll back on
  // power loss but never on a process crash, which is what answered-request audit needs.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  // The page cache: 4 MB (SQLite's default is 2 MB). A login's factor status is kept in memory
  // (queries/users.ts), so the store is read for a user's first login and a code's verification;
  // the audit appends fill any cache with pages written once. Measured on the bench machine with
  // 75,000 TOTP users and audit batches between lookups, random lookups cost the same at 2, 4, 8,
  // 16 and 32 MB (24-35 us with the batch, within the noise; a miss is a read from the OS page
  // cache), and the bench's peak RSS fell from 164 to 138 MB going from 32 MB to 4 MB.
  sqlite.pragma('cache_size = -4096');
  const db = drizzle(sqlite);
  // Migrations run with foreign keys off on this connection and are checked afterwards: the
  // drizzle migrator wraps them in a transaction, where the pragma would have no effect.
  sqlite.pragma('foreign_keys = OFF');
  // The check reads every table, so it runs only when a migration was applied (it grows with the
  // store: tens of milliseconds of every start at 150k users otherwise).
  const hasTable = (sqlite.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'").pluck().get() as number) !== 0;
  const folder = join(packageRoot(), 'migrations', 'sqlite');
  if (!hasTable || !upToDate(sqlite, folder)) {
    const applied = () => sqlite.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get() as number;
    const before = hasTable ? applied() : 0;
    migrate(db, { migrationsFolder: folder });
    if (applied() !== before) {
      const bad = sqlite.pragma('foreign_key_check') as unknown[];
      if (bad.length > 0) throw new Error(`store has ${bad.length} foreign key violations after migration`);
    }
  }
  sqlite.pragma('foreign_keys = ON');
  return {
    ...sqliteRunner({ sqlite }),
    dialect: 'sqlite',
    db,
    sqlite,
    close: () => sqlite.close(),
  };
}
