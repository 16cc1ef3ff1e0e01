// gatehouse backup FILE | gatehouse restore FILE [--force]
// The passphrase comes from GATEHOUSE_BACKUP_PASSPHRASE, else the person at the terminal (asked
// without echo) or the first line of standard input; never from argv.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BackupError, createBackupOf, keyOpensStore, passphraseProblem, restoreBackup, restoreBackupToDatabase } from '../backup.js';
import { ConfigError, parseServeOptions } from '../config.js';
import { DB_FILE } from '../db/open.js';
import { loadMasterKey, MASTER_KEY_FILE } from '../db/secrets.js';
import { openContext, parseCommand, type CliIo } from './context.js';
import { usageError, type CommandHelp } from './help.js';
import { readSecret } from './prompt.js';
import { openConfiguredStore } from '../db/connect.js';
import { redactDatabaseUrl } from '../db/store.js';

const passphraseSources = (command: string, prompts: string) =>
  `The passphrase comes from GATEHOUSE_BACKUP_PASSPHRASE, else it is asked for on the terminal without echo\n(${prompts}), else it is the first line of standard input:\nprintf '%s\\n' 'a long backup passphrase' | gatehouse ${command} FILE`;
export const BACKUP_HELP: CommandHelp = {
  usage: ['gatehouse backup FILE'],
  about: `Writes an encrypted copy of the store and the master key to FILE (mode 0600) while the appliance runs (with DATABASE_URL: the cluster's store on PostgreSQL, in one consistent snapshot).\n${passphraseSources('backup', '"Backup passphrase: ", then "Again: "')}\nIt has at least 12 characters; keep it apart from the file.`,
  options: [],
  store: true,
};
export const RESTORE_HELP: CommandHelp = {
  usage: ['gatehouse restore FILE [--force]'],
  about: `Restores a backup into a fresh data directory (stop the appliance first); with DATABASE_URL, into that PostgreSQL database, which must hold no Gatehouse data (create a new one; the appliances then use it). A backup of either store restores into either.\n${passphraseSources('restore', '"Backup passphrase: "')}`,
  options: [['--force', 'restore over an existing store (the old store and key are moved to DATA_DIR/pre-restore-TIME/)']],
  store: true,
};

/** The passphrase from the environment, else the terminal (twice for a new backup) or standard input. */
async function readPassphrase(env: NodeJS.ProcessEnv, io: CliIo, forNewBackup: boolean): Promise<string> {
  const fromEnv = env['GATEHOUSE_BACKUP_PASSPHRASE'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (forNewBackup) {
      const problem = passphraseProblem(fromEnv);
      if (problem !== null) throw new ConfigError(`passphrase (GATEHOUSE_BACKUP_PASSPHRASE): ${problem}`);
    }
    return fromEnv;
  }
  return readSecret(io, {
    prompt: 'Backup passphrase: ',
    // A typo in a new backup's passphrase would make it unusable; a restore only tries it.
    confirm: forNewBackup,
    name: 'passphrase',
    stdinName: 'passphrase (GATEHOUSE_BACKUP_PASSPHRASE or standard input)',
    problem: forNewBackup ? passphraseProblem : (p) => (p === '' ? 'none given' : null),
  });
}

export async function backupCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { positionals, dataDir } = parseCommand(args, {}, env);
  if (positionals.length !== 1 || positionals[0] === '') throw usageError('backup', BACKUP_HELP);
  const file = positionals[0]!;
  // A backup of a directory without a store would only create an empty one (and a new key).
  if (!onPostgres(env) && !existsSync(join(dataDir, DB_FILE))) throw new ConfigError(`--data-dir: no store in ${dataDir} (${DB_FILE} not found)`);
  const envKey = env['GATEHOUSE_MASTER_KEY'];
  if ((envKey === undefined || envKey === '') && !existsSync(join(dataDir, MASTER_KEY_FILE))) {
    throw new ConfigError(`--data-dir: no ${MASTER_KEY_FILE} in ${dataDir}: set GATEHOUSE_MASTER_KEY as the appliance has it`);
  }
  const passphrase = await readPassphrase(env, io, true);
  const masterKey = loadMasterKey(dataDir, envKey);
  const ctx = await openContext(dataDir, env);
  try {
    if (!(await keyOpensStore(ctx.store, masterKey))) throw new Error("the master key does not open this store's secrets (is GATEHOUSE_MASTER_KEY the appliance's?)");
    let bytes: Buffer;
    try {
      bytes = await createBackupOf(ctx.store, masterKey, passphrase);
    } finally {
      masterKey.fill(0);
    }
    // Written beside the target and renamed: a reader never sees half a backup.
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, bytes, { mode: 0o600 });
      renameSync(tmp, file);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new Error(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    await ctx.audit.record({ event: 'backup.create', outcome: 'ok', actor: ctx.actor, details: { name: basename(file), count: bytes.length } });
    io.out(`backup written to ${file} (${bytes.length} bytes)\n`);
    return 0;
  } finally {
    await ctx.close();
  }
}

export async function restoreCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { force: { type: 'boolean' } }, env);
  if (positionals.length !== 1 || positionals[0] === '') throw usageError('restore', RESTORE_HELP);
  const file = positionals[0]!;
  const force = values['force'] === true;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new ConfigError(`FILE: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const passphrase = await readPassphrase(env, io, false);
  if (onPostgres(env)) return restoreToDatabase(dataDir, file, bytes, passphrase, env, io);
  let result: Awaited<ReturnType<typeof restoreBackup>>;
  try {
    result = await restoreBackup(dataDir, bytes, passphrase, { force, envMasterKey: env['GATEHOUSE_MASTER_KEY'] });
  } catch (e) {
    if (e instanceof BackupError) {
      io.err(`gatehouse: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const ctx = await openContext(dataDir, env);
  try {
    const h = result.header;
    await ctx.audit.record({
      event: 'backup.restore',
      outcome: 'ok',
      actor: ctx.actor,
      details: { name: basename(file), message: `backup of ${h.created} by gatehouse ${h.gatehouse} at migration ${h.migration ?? 'unknown'}` },
    });
  } finally {
    await ctx.close();
  }
  if (result.movedAside !== null) io.out(`the previous store and key were moved to ${result.movedAside}\n`);
  if (result.auditProblem !== null) io.err(`gatehouse: warning: the restored audit log does not verify (${result.auditProblem}); it was restored as it was backed up\n`);
  io.out(`restored ${file} (made ${result.header.created} by gatehouse ${result.header.gatehouse}) into ${dataDir}: ${result.auditRecords} audit records${result.wroteKeyFile ? '' : '; the master key stays in GATEHOUSE_MASTER_KEY'}\n`);
  return 0;
}

/** DATABASE_URL names the store: a cluster's, on PostgreSQL. */
const onPostgres = (env: NodeJS.ProcessEnv) => (env['DATABASE_URL'] ?? '') !== '';

/**
 * Restore into the PostgreSQL store DATABASE_URL names (every appliance of the cluster stopped).
 * The backup's master key must be the one the appliances use; where this machine has none yet,
 * it is written to the data directory, to be given to every appliance.
 */
async function restoreToDatabase(dataDir: string, file: string, bytes: Buffer, passphrase: string, env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const envKey = env['GATEHOUSE_MASTER_KEY'];
  const keyFile = join(dataDir, MASTER_KEY_FILE);
  const clusterKey = (envKey !== undefined && envKey !== '') || existsSync(keyFile) ? loadMasterKey(dataDir, envKey) : undefined;
  const fixed = parseServeOptions([], env).fixed.values;
  const store = await openConfiguredStore({ dataDir, databaseUrl: fixed.databaseUrl, databaseCa: fixed.databaseCa, applicationName: 'gatehouse-restore' }, env);
  let result: Awaited<ReturnType<typeof restoreBackupToDatabase>>;
  try {
    result = await restoreBackupToDatabase(store, bytes, passphrase, { clusterKey });
  } catch (e) {
    if (e instanceof BackupError) {
      io.err(`gatehouse: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    clusterKey?.fill(0);
    await store.close();
  }
  if (clusterKey === undefined) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, result.masterKey.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  result.masterKey.fill(0);
  const ctx = await openContext(dataDir, env);
  try {
    const h = result.header;
    await ctx.audit.record({ event: 'backup.restore', outcome: 'ok', actor: ctx.actor, details: { name: basename(file), message: `backup of ${h.created} by gatehouse ${h.gatehouse} at migration ${h.migration ?? 'unknown'}, into PostgreSQL` } });
  } finally {
    await ctx.close();
  }
  if (result.auditProblem !== null) io.err(`gatehouse: warning: the restored audit log does not verify (${result.auditProblem}); it was restored as it was backed up\n`);
  io.out(`restored ${file} (made ${result.header.created} by gatehouse ${result.header.gatehouse}) into ${redactDatabaseUrl(fixed.databaseUrl ?? '')}: ${result.auditRecords} audit records${clusterKey === undefined ? `; its master key was written to ${keyFile}: give it to every appliance of the cluster` : ''}\n`);
  return 0;
}
