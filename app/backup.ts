// Backup and restore of the data directory: a consistent online copy of the SQLite store (the
// SQLite backup API, taken while the appliance runs) and the master key, both encrypted under a
// key derived from a passphrase. One file, versioned:
//
//   offset      length  content
//   0           8       magic "GHBACKUP"
//   8           2       format version, unsigned big-endian (1)
//   10          4       header length H, unsigned big-endian
//   14          H       header, UTF-8 JSON: created (ISO time), gatehouse (package version),
//                       migration (last migration tag), migrationWhen (its journal time),
//                       kdf {name: "scrypt", N, r, p, salt (base64, 16 bytes)},
//                       compression ("gzip"), databaseBytes (size of the SQLite file)
//   14+H        60      master key: iv(12) | AES-256-GCM ciphertext(32) | tag(16)
//   74+H        D+28    database:   iv(12) | AES-256-GCM ciphertext of the gzipped SQLite file (D) | tag(16)
//   end-32      32      SHA-256 of every byte before it
//
// The AES key is scrypt(passphrase, salt, N, r, p) (32 bytes). Both GCM messages take as
// additional data the first 14+H bytes (so the header cannot be changed) and a label ("key" or
// "database", so the two cannot be swapped). The trailing SHA-256 (no key) tells a damaged or
// truncated file from a wrong passphrase; the GCM tags make the content authentic.
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openAuditLog } from './audit/log.js';
import { listClients } from './db/queries/clients.js';
import { listDownstreams } from './db/queries/downstream.js';
import { createUserFactorQueries, listUsers } from './db/queries/users.js';
import { deleteAllSessions } from './db/queries/admins.js';
import { DB_FILE, openStore, type Store } from './db/open.js';
import type { SharedStore } from './db/store.js';
import { copyRows, readSnapshot, tablesWithRows } from './db/copy.js';
import { copyStoreFile, integrityCheck, lastAppliedMigration, storeFile } from './db/store-file.js';
import { createSealer, MASTER_KEY_FILE } from './db/secrets.js';
import { packageRoot, packageVersion } from './lib/package-root.js';

// node:zlib is loaded by the first backup or restore, not by every start of the appliance.
const zlib = () => process.getBuiltinModule('node:zlib');

export const BACKUP_MAGIC = Buffer.from('GHBACKUP', 'ascii');
export const BACKUP_FORMAT_VERSION = 1;
export const MIN_PASSPHRASE_LENGTH = 12;
/** scrypt cost for new backups: 128 MiB and about half a second. */
const KDF = { N: 2 ** 17, r: 8, p: 1 } as const;
const PREFIX = 14;
const IV = 12;
const TAG = 16;
const KEY_BLOCK = IV + 32 + TAG;
const DIGEST = 32;

export interface BackupHeader {
  created: string;
  gatehouse: string;
  migration: string | null;
  migrationWhen: number | null;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  compression: 'gzip';
  databaseBytes: number;
}

/** What went wrong, for a clear one-line message (and, in the UI, the right status). */
export type BackupProblem = 'passphrase' | 'corrupt' | 'newer' | 'exists' | 'key' | 'store';

export class BackupError extends Error {
  override name = 'BackupError';
  constructor(
    readonly problem: BackupProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Null when acceptable, else why not (for a new backup: at least 12 characters). */
export function passphraseProblem(passphrase: string): string | null {
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) return `must be at least ${MIN_PASSPHRASE_LENGTH} characters`;
  return null;
}

function deriveKey(passphrase: string, salt: Buffer, kdf: { N: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCb(passphrase.normalize('NFC'), salt, 32, opts, (e, k) => (e ? reject(e) : resolve(k))));
}

function seal(key: Buffer, plain: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, ct, c.getAuthTag()]);
}

function unseal(key: Buffer, block: Buffer, aad: Buffer): Buffer | null {
  const d = createDecipheriv('aes-256-gcm', key, block.subarray(0, IV));
  d.setAAD(aad);
  d.setAuthTag(block.subarray(block.length - TAG));
  try {
    return Buffer.concat([d.update(block.subarray(IV, block.length - TAG)), d.final()]);
  } catch {
    return null;
  }
}

interface Journal {
  entries: { tag: string; when: number }[];
}
function journal(): Journal {
  return JSON.parse(readFileSync(join(packageRoot(), 'migrations', 'sqlite', 'meta', '_journal.json'), 'utf8')) as Journal;
}

/** The newest migration applied to a store, as its journal tag. */
function lastMigration(store: Pick<Store, 'sqlite'>): { tag: string | null; when: number | null } {
  const when = lastAppliedMigration(store);
  if (when === null) return { tag: null, when: null };
  return { tag: journal().entries.find((e) => e.when === when)?.tag ?? null, when };
}

/**
 * Whether the key opens the sealed values of the store (client and downstream secrets, TOTP
 * seeds). A backup whose key does not fit its store would be useless; so would a restore.
 */
export async function keyOpensStore(store: SharedStore, masterKey: Buffer): Promise<boolean> {
  const sealer = createSealer(masterKey);
  try {
    await listClients(store, sealer);
    await listDownstreams(store, sealer);
    const q = createUserFactorQueries(store, sealer);
    for (const u of await listUsers(store)) (await q.find(u.username))?.totp?.seed.fill(0);
    return true;
  } catch {
    return false;
  }
}

/**
 * An encrypted backup of a running store and its master key (the file format above). Works on
 * the appliance's own connection (the admin UI) or a CLI one beside the running appliance: the
 * pages are copied in one step of the SQLite backup API, so the copy is one consistent snapshot
 * even while other processes write. The plain copy exists only for a moment, mode 0600, in the
 * data directory.
 */
export async function createBackup(store: Pick<Store, 'sqlite'>, masterKey: Buffer, passphrase: string, now: Date = new Date()): Promise<Buffer> {
  const problem = passphraseProblem(passphrase);
  if (problem !== null) throw new BackupError('passphrase', `passphrase ${problem}`);
  if (masterKey.length !== 32) throw new BackupError('key', 'master key must be 32 bytes');
  const dbFile = storeFile(store);
  if (dbFile === undefined) throw new BackupError('store', 'an in-memory store cannot be backed up');
  const tmpDir = mkdtempSync(join(dirname(dbFile), '.backup-'));
  let database: Buffer;
  try {
    const copy = join(tmpDir, DB_FILE);
    await copyStoreFile(store, copy);
    database = readFileSync(copy);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  const migration = lastMigration(store);
  const salt = randomBytes(16);
  const header: BackupHeader = {
    created: now.toISOString(),
    gatehouse: packageVersion(),
    migration: migration.tag,
    migrationWhen: migration.when,
    kdf: { name: 'scrypt', ...KDF, salt: salt.toString('base64') },
    compression: 'gzip',
    databaseBytes: database.length,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX);
  BACKUP_MAGIC.copy(prefix, 0);
  prefix.writeUInt16BE(BACKUP_FORMAT_VERSION, 8);
  prefix.writeUInt32BE(headerBytes.length, 10);
  const aad = Buffer.concat([prefix, headerBytes]);
  const key = await deriveKey(passphrase, salt, KDF);
  const keyBlock = seal(key, masterKey, Buffer.concat([aad, Buffer.from('key')]));
  const dbBlock = seal(key, zlib().gzipSync(database), Buffer.concat([aad, Buffer.from('database')]));
  key.fill(0);
  const body = Buffer.concat([aad, keyBlock, dbBlock]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

interface Parsed {
  header: BackupHeader;
  aad: Buffer;
  keyBlock: Buffer;
  dbBlock: Buffer;
}

const corrupt = (why: string) => new BackupError('corrupt', `not a usable backup file: ${why}`);

/** Structure and checksum only (no passphrase needed). */
export function parseBackup(file: Buffer): Parsed {
  if (file.length < BACKUP_MAGIC.length || !file.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)) throw corrupt('it is not a Gatehouse backup (wrong magic)');
  if (file.length < PREFIX) throw corrupt('it is truncated');
  const version = file.readUInt16BE(8);
  if (version !== BACKUP_FORMAT_VERSION) throw corrupt(`format version ${version} is not known to this Gatehouse (knows ${BACKUP_FORMAT_VERSION}); upgrade first`);
  const h = file.readUInt32BE(10);
  if (file.length < PREFIX + h + KEY_BLOCK + IV + TAG + DIGEST) throw corrupt('it is truncated');
  const body = file.subarray(0, file.length - DIGEST);
  if (!timingSafeEqual(createHash('sha256').update(body).digest(), file.subarray(file.length - DIGEST))) throw corrupt('its checksum does not match (the file is truncated or damaged)');
  let header: BackupHeader;
  try {
    header = JSON.parse(file.subarray(PREFIX, PREFIX + h).toString('utf8')) as BackupHeader;
  } catch {
    throw corrupt('its header is not JSON');
  }
  const k = header.kdf;
  if (k?.name !== 'scrypt' || !Number.isInteger(k.N) || !Number.isInteger(k.r) || !Number.isInteger(k.p) || typeof k.salt !== 'string') throw corrupt('its header names no usable key derivation');
  // Bounds, so that a crafted file cannot make the restore allocate gigabytes.
  if (k.N < 2 ** 14 || k.N > 2 ** 20 || (k.N & (k.N - 1)) !== 0 || k.r < 1 || k.r > 32 || k.p < 1 || k.p > 16) throw corrupt('its key derivation parameters are out of range');
  if (header.compression !== 'gzip' || !Number.isInteger(header.databaseBytes) || header.databaseBytes < 0) throw corrupt('its header is incomplete');
  return {
    header,
    aad: file.subarray(0, PREFIX + h),
    keyBlock: file.subarray(PREFIX + h, PREFIX + h + KEY_BLOCK),
    dbBlock: file.subarray(PREFIX + h + KEY_BLOCK, file.length - DIGEST),
  };
}

export interface OpenedBackup {
  header: BackupHeader;
  masterKey: Buffer;
  /** The SQLite file as it was backed up. */
  database: Buffer;
}

/** Check the file and the passphrase and decrypt both parts. */
export async function openBackup(file: Buffer, passphrase: string): Promise<OpenedBackup> {
  const p = parseBackup(file);
  const k = p.header.kdf;
  const key = await deriveKey(passphrase, Buffer.from(k.salt, 'base64'), k);
  const masterKey = unseal(key, p.keyBlock, Buffer.concat([p.aad, Buffer.from('key')]));
  if (masterKey === null || masterKey.length !== 32) {
    key.fill(0);
    throw new BackupError('passphrase', 'wrong passphrase for this backup');
  }
  const zipped = unseal(key, p.dbBlock, Buffer.concat([p.aad, Buffer.from('database')]));
  key.fill(0);
  if (zipped === null) throw corrupt('its database does not decrypt (the file was altered)');
  let database: Buffer;
  try {
    database = zlib().gunzipSync(zipped, { maxOutputLength: Math.max(p.header.databaseBytes, 1) });
  } catch {
    throw corrupt('its database does not decompress');
  }
  if (database.length !== p.header.databaseBytes) throw corrupt('its database has the wrong size');
  return { header: p.header, masterKey, database };
}

/** Files in a data directory that a restore replaces. */
const STORE_FILES = [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, MASTER_KEY_FILE];

export interface RestoreOptions {
  /** Replace an existing store (its files are moved to DATA_DIR/pre-restore-TIME/). */
  force?: boolean;
  /** GATEHOUSE_MASTER_KEY of the environment, if set: the restored key must then equal it. */
  envMasterKey?: string | undefined;
  now?: Date;
}

export interface RestoreResult {
  header: BackupHeader;
  /** Where the replaced files went (with force), else null. */
  movedAside: string | null;
  /** Whether the key was written to DATA_DIR/master.key (not when GATEHOUSE_MASTER_KEY holds it). */
  wroteKeyFile: boolean;
  auditRecords: number;
  /** Null when the restored audit chain verifies; else the problem (the restore still happened). */
  auditProblem: string | null;
}

/** Refuse early, before any work, when the data directory already holds a store. */
export function checkRestoreTarget(dataDir: string, force: boolean): void {
  if (!force && existsSync(join(dataDir, DB_FILE))) {
    throw new BackupError('exists', `${join(dataDir, DB_FILE)} exists: restore onto a fresh data directory, or stop the appliance and add --force to replace it`);
  }
}

function parseEnvKey(value: string): Buffer | null {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  return key.length === 32 ? key : null;
}

/**
 * The backed-up store in a staging directory, opened (migrated to this version) and checked: its
 * integrity, its master key, its audit chain (keyed if it was not yet, as the appliance would at
 * its next start); admin sessions removed (admins sign in again).
 */
async function stage(staging: string, opened: OpenedBackup): Promise<{ store: Store; auditRecords: number; auditProblem: string | null }> {
  writeFileSync(join(staging, DB_FILE), opened.database, { mode: 0o600 });
  let store: Store;
  try {
    store = openStore(staging);
  } catch (e) {
    throw new BackupError('store', `the backed-up store cannot be opened or migrated: ${(e as Error).message}`);
  }
  try {
    const check = integrityCheck(store);
    if (check !== 'ok') throw new BackupError('corrupt', `the backed-up store fails SQLite's integrity check: ${check}`);
    if (!(await keyOpensStore(store, opened.masterKey))) throw new BackupError('key', "the backup's master key does not open its store's secrets");
    await deleteAllSessions(store);
    const verdict = await (await openAuditLog(store, opened.masterKey)).verify();
    return { store, auditRecords: verdict.count, auditProblem: verdict.ok ? null : `record ${verdict.badId}: ${verdict.problem}` };
  } catch (e) {
    store.close();
    throw e;
  }
}

/** The backup's migration is one this Gatehouse knows (a newer one's store cannot be read here). */
function checkNotNewer(opened: OpenedBackup): void {
  const newest = journal().entries.at(-1)?.when ?? 0;
  if (opened.header.migrationWhen !== null && opened.header.migrationWhen > newest) {
    throw new BackupError('newer', `the backup comes from a newer Gatehouse (${opened.header.gatehouse}, migration ${opened.header.migration ?? opened.header.migrationWhen}): upgrade this appliance first`);
  }
}

/**
 * An encrypted backup of either store. A PostgreSQL store (a cluster's) is first copied, in one
 * consistent snapshot (REPEATABLE READ) taken while the appliances run, into a SQLite file in a
 * private temporary directory, so that both engines' backups are the same format and either
 * restores into either.
 */
export async function createBackupOf(store: SharedStore, masterKey: Buffer, passphrase: string, now: Date = new Date()): Promise<Buffer> {
  if (store.dialect === 'sqlite' && 'sqlite' in store) return createBackup(store as Pick<Store, 'sqlite'>, masterKey, passphrase, now);
  const problem = passphraseProblem(passphrase);
  if (problem !== null) throw new BackupError('passphrase', `passphrase ${problem}`);
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-backup-'));
  try {
    const snapshot = openStore(tmp);
    try {
      // A scratch file, thrown away if anything fails: no need to make each write durable (and a
      // SQLite transaction may not wait for PostgreSQL).
      snapshot.sqlite.pragma('synchronous = OFF');
      await store.transaction(async (src) => {
        await readSnapshot(src);
        await copyRows(src, snapshot);
      });
      return await createBackup(snapshot, masterKey, passphrase, now);
    } finally {
      snapshot.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface DatabaseRestoreOptions {
  /**
   * The master key the appliances of the cluster use (GATEHOUSE_MASTER_KEY, or the data
   * directory's master.key), if one is there: the backup's key must be the same.
   */
  clusterKey: Buffer | undefined;
}

/**
 * Restore a backup into a PostgreSQL store (a cluster's): checked in a staging SQLite copy first,
 * then written in one transaction, so a failure leaves the database as it was. Only into a
 * database without Gatehouse data: the audit log is append-only (never deleted, as a SQLite
 * store replaced by a restore is kept aside), so a cluster is restored into a new database and
 * its appliances pointed at it.
 */
export async function restoreBackupToDatabase(target: SharedStore, file: Buffer, passphrase: string, opts: DatabaseRestoreOptions): Promise<Omit<RestoreResult, 'movedAside' | 'wroteKeyFile'> & { masterKey: Buffer }> {
  const opened = await openBackup(file, passphrase);
  checkNotNewer(opened);
  if (opts.clusterKey !== undefined && !opts.clusterKey.equals(opened.masterKey)) {
    throw new BackupError('key', "the backup was made with another master key than this appliance's (GATEHOUSE_MASTER_KEY or master.key): every appliance of the cluster needs the backup's key");
  }
  const held = await tablesWithRows(target);
  if (held.length > 0) {
    throw new BackupError('exists', `the database already holds Gatehouse data (${held.map((h) => `${h.table}: ${h.rows}`).join(', ')}): restore into a new, empty database (createdb) and start the appliances with --database-url naming it; this one is left as it is (its audit log is never deleted)`);
  }
  const staging = mkdtempSync(join(tmpdir(), 'gatehouse-restore-'));
  try {
    const staged = await stage(staging, opened);
    try {
      await target.transaction((tx) => copyRows(staged.store, tx));
    } finally {
      staged.store.close();
    }
    return { header: opened.header, auditRecords: staged.auditRecords, auditProblem: staged.auditProblem, masterKey: opened.masterKey };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Restore a backup into a data directory (the appliance must not be running on it). The store
 * is checked and migrated in a staging directory first, so a failure leaves the data directory
 * as it was; admin sessions are not restored (admins sign in again).
 */
export async function restoreBackup(dataDir: string, file: Buffer, passphrase: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const force = opts.force === true;
  checkRestoreTarget(dataDir, force);
  const opened = await openBackup(file, passphrase);
  checkNotNewer(opened);
  let writeKey = true;
  if (opts.envMasterKey !== undefined && opts.envMasterKey !== '') {
    const envKey = parseEnvKey(opts.envMasterKey);
    if (envKey === null || !envKey.equals(opened.masterKey)) {
      throw new BackupError('key', "GATEHOUSE_MASTER_KEY is set and is not the backup's master key: unset it to restore the key into the data directory");
    }
    writeKey = false;
  }

  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const owner = statSync(dataDir);
  const chown = (path: string) => {
    // Run as root for a service user's data directory: the restored files keep its owner.
    if (process.getuid?.() === 0 && (owner.uid !== 0 || owner.gid !== 0)) chownSync(path, owner.uid, owner.gid);
  };
  const staging = mkdtempSync(join(dataDir, '.restore-'));
  try {
    const staged = await stage(staging, opened);
    staged.store.close();
    const { auditRecords, auditProblem } = staged;

    let movedAside: string | null = null;
    const present = STORE_FILES.filter((f) => existsSync(join(dataDir, f)));
    if (present.length > 0) {
      // Only with force when the store exists; a lone master.key (a first boot) is kept aside too.
      checkRestoreTarget(dataDir, force);
      const stamp = (opts.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
      movedAside = join(dataDir, `pre-restore-${stamp}`);
      mkdirSync(movedAside, { mode: 0o700 });
      chown(movedAside);
      for (const f of present) renameSync(join(dataDir, f), join(movedAside, f));
    }
    for (const f of STORE_FILES.slice(0, 3)) if (existsSync(join(staging, f))) renameSync(join(staging, f), join(dataDir, f));
    chown(join(dataDir, DB_FILE));
    if (writeKey) {
      const keyFile = join(dataDir, MASTER_KEY_FILE);
      writeFileSync(keyFile, opened.masterKey.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      chown(keyFile);
    }
    opened.masterKey.fill(0);
    return { header: opened.header, movedAside, wroteKeyFile: writeKey, auditRecords, auditProblem };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
