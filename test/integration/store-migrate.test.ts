// Moving a store between engines (issue 15): `gatehouse store migrate --to` copies an appliance's
// SQLite store into an empty PostgreSQL database, and the appliance started on it goes on where it
// was (clients, the TOTP seed and its replay state, the audit chain verifying, the migration
// audited); a cluster's store is backed up while it runs and restores into a SQLite data directory
// or into a new PostgreSQL database, never over Gatehouse data.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startAppliance, tempDir, type Appliance, type CliResult } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { runRadclient } from '../helpers/radclient.js';
import { seedFromEnrolment, totpCode } from '../helpers/totp.js';

const DOWN_SECRET = 'migrate-downstream-secret';
const NAS_SECRET = 'migrate-nas-secret';
const PASS = 'a long backup passphrase';

interface Ctx {
  pg: Postgres;
  fr: FreeRadius;
  dataDir: string;
  url: string;
  seed: Buffer;
  dirs: string[];
  running: Appliance[];
}

const M = suite<Ctx>('store migrate, and backups of a cluster store', {} as Ctx);

const baseEnv = (ctx: Ctx): NodeJS.ProcessEnv => ({ DOWNSTREAM_ADDRESS: '127.0.0.1', PORT_OUT: String(ctx.fr.port), SECRET_OUT: DOWN_SECRET });
const cli = (args: string[], dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCli([...args, '--data-dir', dataDir], { env });
const ok = (r: CliResult, what: string) => assert.is(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);

const login = (gh: Appliance, password: string, user = 'alice') =>
  runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: NAS_SECRET, attrs: `User-Name = "${user}"\nUser-Password = "${password}"\nMessage-Authenticator = 0x00`, timeoutSec: 3, retries: 1 });

M.before(async (ctx) => {
  ctx.dirs = [];
  ctx.running = [];
  ctx.pg = await startPostgres();
  ctx.url = await ctx.pg.createDatabase('migrated');
  ctx.fr = await startFreeRadius({ users: [{ name: 'alice', password: 'alice-pw' }, { name: 'bob', password: 'bob-pw' }], clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }] });
  ctx.dataDir = await tempDir();
  ctx.dirs.push(ctx.dataDir);
});

M.after(async (ctx) => {
  for (const gh of ctx.running ?? []) await gh.stop();
  for (const d of ctx.dirs ?? []) await rm(d, { recursive: true, force: true });
  await ctx.fr?.stop();
  await ctx.pg?.stop();
});

M('an appliance on SQLite moved to PostgreSQL goes on where it was', async (ctx) => {
  ok(await cli(['client', 'add', '127.0.0.1', NAS_SECRET, '--name', 'vpn'], ctx.dataDir), 'client add');
  const enrol = await cli(['totp', 'enroll', 'alice'], ctx.dataDir);
  ok(enrol, 'totp enroll');
  ctx.seed = seedFromEnrolment(enrol.stdout);
  const lite = await startAppliance({ dataDir: ctx.dataDir, env: baseEnv(ctx) });
  const used = totpCode(ctx.seed);
  try {
    assert.is((await login(lite, `alice-pw,${used}`)).replyCode, 'Access-Accept');
  } finally {
    await lite.stop();
  }

  const migrated = await cli(['store', 'migrate', '--to', ctx.url], ctx.dataDir);
  ok(migrated, 'store migrate');
  assert.match(migrated.stdout, /copied \d+ rows into postgres(ql)?:\/\/.*: 1 users, 1 RADIUS clients, \d+ audit records/, migrated.stdout);
  assert.match(migrated.stdout, /audit chain verified in the copy: \d+ records/);
  assert.not.ok(migrated.stdout.includes(new URL(ctx.url).password), 'the database password is not printed');

  // The same data directory (its master key) on PostgreSQL.
  const pgEnv = { ...baseEnv(ctx), DATABASE_URL: ctx.url };
  const onPg = await startAppliance({ dataDir: ctx.dataDir, env: pgEnv });
  ctx.running.push(onPg);
  assert.is((await login(onPg, `alice-pw,${used}`)).replyCode, 'Access-Reject', 'the code used on SQLite stays used');
  assert.is((await login(onPg, `alice-pw,${totpCode(ctx.seed, 1)}`)).replyCode, 'Access-Accept', 'the seed came along, sealed with the same key');
  const verify = await cli(['audit', 'verify'], ctx.dataDir, { DATABASE_URL: ctx.url });
  ok(verify, 'audit verify on PostgreSQL');
  const events = (await cli(['audit', 'export'], ctx.dataDir, { DATABASE_URL: ctx.url })).stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { event: string; reason: string | null });
  const at = events.findIndex((e) => e.event === 'store.migrate');
  assert.ok(at > 0, 'the migration is audited in the copy');
  assert.equal(events.slice(0, at).filter((e) => e.event === 'radius.auth').map((e) => e.reason), ['totp_ok'], 'the records from SQLite come first');

  const again = await cli(['store', 'migrate', '--to', ctx.url], ctx.dataDir);
  assert.is(again.code, 2, again.stderr);
  assert.match(again.stderr, /already holds Gatehouse data \(.*audit_log: \d+.*\): migrate into an empty database/);
  const bad = await cli(['store', 'migrate', '--to', 'mysql://x@y/z'], ctx.dataDir);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--to: .* must start with postgres:\/\//);
});

M("a cluster's store backed up while it runs restores into a SQLite directory and into a new PostgreSQL database, not over data", async (ctx) => {
  const file = join(ctx.dataDir, 'cluster.ghbak');
  const backup = await cli(['backup', file], ctx.dataDir, { DATABASE_URL: ctx.url, GATEHOUSE_BACKUP_PASSPHRASE: PASS });
  ok(backup, 'backup of the PostgreSQL store');

  // Into SQLite: the backup carries its key; the directory is fresh.
  const liteDir = await tempDir();
  ctx.dirs.push(liteDir);
  ok(await cli(['restore', file], liteDir, { GATEHOUSE_BACKUP_PASSPHRASE: PASS }), 'restore into SQLite');
  assert.match((await cli(['client', 'list'], liteDir)).stdout, /vpn/);
  ok(await cli(['audit', 'verify'], liteDir), 'audit verify after the restore into SQLite');

  // Into a new PostgreSQL database, by a machine holding the cluster's key.
  const url2 = await ctx.pg.createDatabase('restored');
  const restored = await cli(['restore', file], ctx.dataDir, { DATABASE_URL: url2, GATEHOUSE_BACKUP_PASSPHRASE: PASS });
  ok(restored, 'restore into PostgreSQL');
  assert.match((await cli(['client', 'list'], ctx.dataDir, { DATABASE_URL: url2 })).stdout, /vpn/);
  ok(await cli(['audit', 'verify'], ctx.dataDir, { DATABASE_URL: url2 }), 'audit verify after the restore into PostgreSQL');
  const gh = await startAppliance({ dataDir: ctx.dataDir, env: { ...baseEnv(ctx), DATABASE_URL: url2, UNENROLLED_USERS: 'allow' } });
  ctx.running.push(gh);
  assert.is((await login(gh, 'bob-pw', 'bob')).replyCode, 'Access-Accept', 'the restored cluster store serves logins');

  // Never over Gatehouse data (its audit log is append-only), nor with another master key.
  const over = await cli(['restore', file], ctx.dataDir, { DATABASE_URL: ctx.url, GATEHOUSE_BACKUP_PASSPHRASE: PASS });
  assert.is(over.code, 1);
  assert.match(over.stderr, /already holds Gatehouse data .*restore into a new, empty database/);
  const url3 = await ctx.pg.createDatabase('other_key');
  const otherKey = await cli(['restore', file], ctx.dataDir, { DATABASE_URL: url3, GATEHOUSE_BACKUP_PASSPHRASE: PASS, GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') });
  assert.is(otherKey.code, 1);
  assert.match(otherKey.stderr, /another master key/);
});

M.run();
