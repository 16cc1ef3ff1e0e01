// gatehouse store migrate --to postgres://... [--database-ca FILE]
// Copies the data directory's SQLite store, as it is, into an empty PostgreSQL database: the
// step from one appliance to several (README, "Several appliances"). Sealed values and the audit
// chain are copied unchanged, so the same master key opens them and the chain still verifies.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEYED_MARKER_FILE, openAuditLog } from '../audit/log.js';
import { keyOpensStore } from '../backup.js';
import { ConfigError, databaseUrl } from '../config.js';
import { isSqlite, openConfiguredStore, type OpenedStore } from '../db/connect.js';
import { copyRows, tablesWithRows } from '../db/copy.js';
import { DB_FILE, openStore, type Store } from '../db/open.js';
import { copyStoreFile } from '../db/store-file.js';
import { loadMasterKey, MASTER_KEY_FILE } from '../db/secrets.js';
import { redactDatabaseUrl } from '../db/store.js';
import { cliActor, parseCommand, type CliIo } from './context.js';
import { usageError, type CommandHelp } from './help.js';

export const STORE_HELP: CommandHelp = {
  usage: ['gatehouse store migrate --to postgres://USER@HOST:PORT/DATABASE [--database-ca FILE]'],
  about:
    "migrate copies the data directory's SQLite store into an empty PostgreSQL database (created beforehand; its tables are made here), with every client, user, seed, device, setting and audit record; the audit chain is checked in the copy. Stop the appliance first: what it writes after the copy stays behind. Then start every appliance with --database-url and this data directory's master key. The password comes from the URL, DATABASE_PASSWORD or PGPASSFILE.",
  options: [
    ['--to URL', 'the PostgreSQL database to copy into (it must hold no Gatehouse data)'],
    ['--database-ca FILE', 'CA certificate(s) for TLS to the database (as DATABASE_CA)'],
  ],
  store: true,
};

export async function storeCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { to: { type: 'string' }, 'database-ca': { type: 'string' } }, env);
  if (positionals.length !== 1 || positionals[0] !== 'migrate') throw usageError('store', STORE_HELP);
  const to = databaseUrl((values['to'] as string | undefined) ?? '', '--to');
  if (to === undefined) throw new ConfigError('--to: missing (postgres://USER@HOST:PORT/DATABASE)');
  if (!existsSync(join(dataDir, DB_FILE))) throw new ConfigError(`--data-dir: no store in ${dataDir} (${DB_FILE} not found)`);
  const envKey = env['GATEHOUSE_MASTER_KEY'];
  if ((envKey === undefined || envKey === '') && !existsSync(join(dataDir, MASTER_KEY_FILE))) {
    throw new ConfigError(`--data-dir: no ${MASTER_KEY_FILE} in ${dataDir}: set GATEHOUSE_MASTER_KEY as the appliance has it`);
  }
  const masterKey = loadMasterKey(dataDir, envKey);
  const shown = redactDatabaseUrl(to);
  const source = await openConfiguredStore({ dataDir, databaseUrl: undefined, databaseCa: undefined, applicationName: 'gatehouse-migrate' }, env);
  try {
    if (!(await keyOpensStore(source, masterKey))) throw new Error("the master key does not open this store's secrets (is GATEHOUSE_MASTER_KEY the appliance's?)");
    const sourceChain = await (await openAuditLog(source, masterKey, Date.now, join(dataDir, KEYED_MARKER_FILE))).verify();
    const caFile = values['database-ca'] as string | undefined;
    const target = await openConfiguredStore({ dataDir, databaseUrl: to, databaseCa: caFile, applicationName: 'gatehouse-migrate' }, env);
    try {
      const held = await tablesWithRows(target);
      if (held.length > 0) {
        throw new ConfigError(`--to: ${shown} already holds Gatehouse data (${held.map((h) => `${h.table}: ${h.rows}`).join(', ')}): migrate into an empty database`);
      }
      // The source as one snapshot (a copy made with SQLite's backup API, in a private temporary
      // directory), all or nothing in the target.
      const counts = await withSnapshot(source, (snapshot) => target.transaction((tx) => copyRows(snapshot, tx)));
      const targetLog = await openAuditLog(target, masterKey);
      const chain = await targetLog.verify();
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      await targetLog.auditor.record({ event: 'store.migrate', outcome: chain.ok ? 'ok' : 'error', actor: cliActor(env), details: { count: total, message: `copied from the SQLite store of ${dataDir}` } });
      io.out(`copied ${total} rows into ${shown}: ${counts['users'] ?? 0} users, ${counts['radius_clients'] ?? 0} RADIUS clients, ${counts['audit_log'] ?? 0} audit records\n`);
      if (!chain.ok) {
        io.err(`gatehouse: warning: the audit chain does not verify in the copy (record ${chain.badId}: ${chain.problem})${sourceChain.ok ? '' : '; it did not in the SQLite store either'}\n`);
        return 1;
      }
      io.out(`audit chain verified in the copy: ${chain.count} records\n`);
      io.out(`next: start every appliance with --database-url ${shown} and the master key of ${envKey !== undefined && envKey !== '' ? 'GATEHOUSE_MASTER_KEY' : join(dataDir, MASTER_KEY_FILE)}\n`);
      return 0;
    } finally {
      await target.close();
    }
  } finally {
    masterKey.fill(0);
    await source.close();
  }
}

/** A consistent copy of a SQLite store, open for `fn` (a SQLite transaction may not wait for PostgreSQL). */
async function withSnapshot<T>(source: OpenedStore, fn: (snapshot: Store) => Promise<T>): Promise<T> {
  if (!isSqlite(source)) throw new Error('the data directory holds no SQLite store');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-migrate-'));
  try {
    await copyStoreFile(source, join(dir, DB_FILE));
    const snapshot = openStore(dir);
    try {
      return await fn(snapshot);
    } finally {
      snapshot.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
