// gatehouse backup FILE | gatehouse restore FILE [--force]
// The passphrase comes from GATEHOUSE_BACKUP_PASSPHRASE or standard input, never from argv.
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BackupError, createBackup, keyOpensStore, passphraseProblem, restoreBackup } from '../backup.js';
import { ConfigError } from '../config.js';
import { DB_FILE } from '../db/open.js';
import { loadMasterKey, MASTER_KEY_FILE } from '../db/secrets.js';
import { openContext, parseCommand, type CliIo } from './context.js';

const BACKUP_USAGE = 'usage: gatehouse backup FILE   (passphrase from GATEHOUSE_BACKUP_PASSPHRASE or standard input)';
const RESTORE_USAGE = 'usage: gatehouse restore FILE [--force]   (passphrase from GATEHOUSE_BACKUP_PASSPHRASE or standard input)';

async function readPassphrase(env: NodeJS.ProcessEnv, io: CliIo): Promise<string> {
  const fromEnv = env['GATEHOUSE_BACKUP_PASSPHRASE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const text = await io.readStdin();
  return text.split(/\r?\n/)[0] ?? '';
}

export async function backupCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { positionals, dataDir } = parseCommand(args, {}, env);
  if (positionals.length !== 1 || positionals[0] === '') throw new ConfigError(BACKUP_USAGE);
  const file = positionals[0]!;
  // A backup of a directory without a store would only create an empty one (and a new key).
  if (!existsSync(join(dataDir, DB_FILE))) throw new ConfigError(`--data-dir: no store in ${dataDir} (${DB_FILE} not found)`);
  const envKey = env['GATEHOUSE_MASTER_KEY'];
  if ((envKey === undefined || envKey === '') && !existsSync(join(dataDir, MASTER_KEY_FILE))) {
    throw new ConfigError(`--data-dir: no ${MASTER_KEY_FILE} in ${dataDir}: set GATEHOUSE_MASTER_KEY as the appliance has it`);
  }
  const passphrase = await readPassphrase(env, io);
  const problem = passphraseProblem(passphrase);
  if (problem !== null) throw new ConfigError(`passphrase (GATEHOUSE_BACKUP_PASSPHRASE or standard input): ${problem}`);
  const masterKey = loadMasterKey(dataDir, envKey);
  const ctx = openContext(dataDir, env);
  try {
    if (!keyOpensStore(ctx.store, masterKey)) throw new Error("the master key does not open this store's secrets (is GATEHOUSE_MASTER_KEY the appliance's?)");
    let bytes: Buffer;
    try {
      bytes = await createBackup(ctx.store, masterKey, passphrase);
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
    ctx.audit.record({ event: 'backup.create', outcome: 'ok', actor: ctx.actor, details: { name: basename(file), count: bytes.length } });
    io.out(`backup written to ${file} (${bytes.length} bytes)\n`);
    return 0;
  } finally {
    ctx.close();
  }
}

export async function restoreCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { force: { type: 'boolean' } }, env);
  if (positionals.length !== 1 || positionals[0] === '') throw new ConfigError(RESTORE_USAGE);
  const file = positionals[0]!;
  const force = values['force'] === true;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new ConfigError(`FILE: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const passphrase = await readPassphrase(env, io);
  if (passphrase === '') throw new ConfigError('passphrase (GATEHOUSE_BACKUP_PASSPHRASE or standard input): none given');
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
  const ctx = openContext(dataDir, env);
  try {
    const h = result.header;
    ctx.audit.record({
      event: 'backup.restore',
      outcome: 'ok',
      actor: ctx.actor,
      details: { name: basename(file), message: `backup of ${h.created} by gatehouse ${h.gatehouse} at migration ${h.migration ?? 'unknown'}` },
    });
  } finally {
    ctx.close();
  }
  if (result.movedAside !== null) io.out(`the previous store and key were moved to ${result.movedAside}\n`);
  if (result.auditProblem !== null) io.err(`gatehouse: warning: the restored audit log does not verify (${result.auditProblem}); it was restored as it was backed up\n`);
  io.out(`restored ${file} (made ${result.header.created} by gatehouse ${result.header.gatehouse}) into ${dataDir}: ${result.auditRecords} audit records${result.wroteKeyFile ? '' : '; the master key stays in GATEHOUSE_MASTER_KEY'}\n`);
  return 0;
}
