// Backup and restore: an online backup taken while the appliance runs and CLI commands write,
// restored into a fresh data directory with clients, users, TOTP seeds (codes still verify),
// admins and the audit chain; an older backup migrated on restore; wrong passphrase, damaged and
// truncated files, a newer backup and an existing store refused with one clear line.
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackup, openBackup } from '../../app/backup.js';
import { DB_FILE, openStore } from '../../app/db/open.js';
import { createUserFactorQueries } from '../../app/db/queries/users.js';
import { createSealer, loadMasterKey } from '../../app/db/secrets.js';
import { base32Decode, codeEquals, totp } from '../../app/mfa/otp.js';
import { createTotpFactor } from '../../app/mfa/totp.js';
import { ROOT, runCli, startAppliance, tempDir, waitFor, type CliResult } from '../helpers/appliance.js';

const PASS = 'correct horse battery staple';

interface Ctx {
  dir: string;
}
const B = suite<Ctx>('backup and restore');
B.before.each(async (ctx) => {
  ctx.dir = await tempDir();
});
B.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

const cli = (args: string[], dataDir: string, stdin?: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
  runCli([...args, '--data-dir', dataDir], { env, ...(stdin === undefined ? {} : { stdin }), timeoutMs: 60_000 });

function ok(r: CliResult, what: string): void {
  assert.is(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
}

/** A populated data directory: two clients, a TOTP user (its seed returned), an admin. */
async function populate(dataDir: string): Promise<{ seed: Buffer }> {
  ok(await cli(['client', 'add', '192.0.2.0/24', 'nas-secret-1', '--name', 'vpn'], dataDir), 'client add');
  ok(await cli(['client', 'add', '198.51.100.7', 'nas-secret-2'], dataDir), 'client add');
  const enroll = await cli(['totp', 'enroll', 'alice'], dataDir);
  ok(enroll, 'totp enroll');
  const secret = /secret=([A-Z2-7]+)/.exec(enroll.stdout)![1]!;
  ok(await cli(['user', 'add', 'bob'], dataDir), 'user add');
  ok(await cli(['admin', 'add', 'root-admin'], dataDir, 'a long admin passphrase\n'), 'admin add');
  return { seed: base32Decode(secret) };
}

/** Open a restored data directory as the appliance would and check alice's TOTP code verifies. */
async function totpVerifies(dataDir: string, seed: Buffer): Promise<boolean> {
  const store = openStore(dataDir);
  try {
    const sealer = createSealer(loadMasterKey(dataDir, undefined));
    const factor = createTotpFactor(createUserFactorQueries(store, sealer), () => ({ maxFailures: 5, lockoutMs: 60_000 }), Date.now);
    return (await factor.verify('alice', codeEquals(totp(seed, Date.now())))).ok;
  } finally {
    store.close();
  }
}

B('online backup while the appliance runs and CLI writes go on; restored into a fresh directory with everything in it', async ({ dir }) => {
  const live = join(dir, 'live');
  const { seed } = await populate(live);
  const gh = await startAppliance({ dataDir: live });
  const file = join(dir, 'gatehouse.ghb');
  let writing = true;
  let added = 0;
  // Writes from other processes during the backup: a client added after another.
  const writer = (async () => {
    while (writing && added < 60) {
      ok(await gh.cli(['client', 'add', `10.9.${Math.floor(added / 250)}.${added % 250}`, `loop-secret-${added}`]), 'client add in the loop');
      added++;
    }
  })();
  try {
    await waitFor('three clients added', () => added >= 3, 60_000);
    const backup = await cli(['backup', file], live, `${PASS}\n`);
    ok(backup, 'backup');
    assert.match(backup.stdout, /^backup written to .*gatehouse\.ghb \(\d+ bytes\)\n$/);
    const atBackup = added;
    // Keep writing a little after the backup, so the backup is surely of a moment in between.
    await waitFor('two more clients added', () => added >= atBackup + 2, 60_000);
    writing = false;
    await writer;
    // The backup is audited in the live store, and the live chain is intact.
    const exported = await gh.cli(['audit', 'export']);
    assert.match(exported.stdout, /"event":"backup\.create".*"name":"gatehouse\.ghb"/);
    ok(await gh.cli(['audit', 'verify']), 'live audit verify');
  } finally {
    writing = false;
    await writer;
    assert.is(await gh.stop(), 0);
  }
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.not.ok(readFileSync(file).includes(Buffer.from('nas-secret-1')));

  const restored = join(dir, 'restored');
  const r = await cli(['restore', file], restored, `${PASS}\n`);
  ok(r, 'restore');
  assert.match(r.stdout, /restored .* into .*: \d+ audit records/);
  ok(await cli(['audit', 'verify'], restored), 'audit verify after restore');

  // Clients: the two from before, and the loop's clients up to some point, without a gap (one
  // consistent moment of the store).
  const clients = (await cli(['client', 'list'], restored)).stdout;
  assert.match(clients, /192\.0\.2\.0\/24\tvpn/);
  assert.match(clients, /198\.51\.100\.7\/32/);
  const loop = [...clients.matchAll(/^10\.9\.0\.(\d+)\/32\t/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
  assert.ok(loop.length >= 3 && loop.length < added, `loop clients in the backup: ${loop.length} of ${added}`);
  assert.equal(loop, [...loop.keys()], 'the loop clients form a prefix');
  // The audit log of the same moment: a client.add record for each client (the record is written
  // just after its client, so the newest client may still be without it).
  const events = (await cli(['audit', 'export'], restored)).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; details: Record<string, unknown> | null });
  const loopAdds = events.filter((e) => e.event === 'client.add' && String(e.details?.['address']).startsWith('10.9.')).length;
  assert.ok(loopAdds === loop.length || loopAdds === loop.length - 1, `${loopAdds} audit records for ${loop.length} clients`);
  assert.is(events.at(-1)!.event, 'backup.restore');
  assert.ok(events.some((e) => e.event === 'totp.enroll'));

  const users = (await cli(['user', 'list'], restored)).stdout;
  assert.match(users, /alice/);
  assert.match(users, /bob/);
  assert.match((await cli(['admin', 'list'], restored)).stdout, /root-admin/);
  assert.ok(await totpVerifies(restored, seed), "alice's TOTP code verifies with the restored key");
  assert.equal(readFileSync(join(restored, 'master.key')), readFileSync(join(live, 'master.key')));
  assert.is(statSync(join(restored, 'master.key')).mode & 0o777, 0o600);

  // The restored directory runs an appliance.
  const again = await startAppliance({ dataDir: restored });
  assert.is(await again.stop(), 0);
  ok(await cli(['audit', 'verify'], restored), 'audit verify after a start on the restored store');
});

B('the passphrase: from GATEHOUSE_BACKUP_PASSPHRASE or stdin, at least 12 characters, never a flag', async ({ dir }) => {
  const live = join(dir, 'live');
  await populate(live);
  const short = await cli(['backup', join(dir, 'x.ghb')], live, 'short pass\n');
  assert.is(short.code, 2);
  assert.match(short.stderr, /^gatehouse: passphrase .*at least 12 characters\n$/);
  assert.not.ok(existsSync(join(dir, 'x.ghb')));
  const flag = await cli(['backup', join(dir, 'x.ghb'), '--passphrase', PASS], live);
  assert.is(flag.code, 2);
  assert.match(flag.stderr, /^gatehouse: unknown flag --passphrase/);
  ok(await cli(['backup', join(dir, 'x.ghb')], live, undefined, { GATEHOUSE_BACKUP_PASSPHRASE: PASS }), 'backup with env passphrase');
  ok(await cli(['restore', join(dir, 'x.ghb')], join(dir, 'r'), undefined, { GATEHOUSE_BACKUP_PASSPHRASE: PASS }), 'restore with env passphrase');
  const none = await cli(['backup', join(dir, 'y.ghb')], join(dir, 'empty'), `${PASS}\n`);
  assert.is(none.code, 2);
  assert.match(none.stderr, /no store in/);
});

B('a wrong passphrase, a truncated, damaged or foreign file: one clear line, nothing restored', async ({ dir }) => {
  const live = join(dir, 'live');
  await populate(live);
  const file = join(dir, 'b.ghb');
  ok(await cli(['backup', file], live, `${PASS}\n`), 'backup');
  const bytes = readFileSync(file);
  const target = join(dir, 'target');

  const wrong = await cli(['restore', file], target, 'not the passphrase at all\n');
  assert.is(wrong.code, 1);
  assert.is(wrong.stderr, 'gatehouse: wrong passphrase for this backup\n');

  writeFileSync(join(dir, 'truncated.ghb'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  const truncated = await cli(['restore', join(dir, 'truncated.ghb')], target, `${PASS}\n`);
  assert.is(truncated.code, 1);
  assert.match(truncated.stderr, /^gatehouse: not a usable backup file: .*truncated.*\n$/);

  writeFileSync(join(dir, 'tiny.ghb'), bytes.subarray(0, 20));
  const tiny = await cli(['restore', join(dir, 'tiny.ghb')], target, `${PASS}\n`);
  assert.is(tiny.code, 1);
  assert.match(tiny.stderr, /^gatehouse: not a usable backup file: it is truncated\n$/);

  const damaged = Buffer.from(bytes);
  damaged[damaged.length - 100]! ^= 0x01;
  writeFileSync(join(dir, 'damaged.ghb'), damaged);
  const bad = await cli(['restore', join(dir, 'damaged.ghb')], target, `${PASS}\n`);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /^gatehouse: not a usable backup file: its checksum does not match/);

  writeFileSync(join(dir, 'foreign.ghb'), randomBytes(4096));
  const foreign = await cli(['restore', join(dir, 'foreign.ghb')], target, `${PASS}\n`);
  assert.is(foreign.code, 1);
  assert.match(foreign.stderr, /^gatehouse: not a usable backup file: it is not a Gatehouse backup/);

  // A file altered and re-checksummed still fails: the content is authenticated.
  const forged = Buffer.from(bytes);
  forged[forged.length - 60]! ^= 0x01;
  createHash('sha256').update(forged.subarray(0, forged.length - 32)).digest().copy(forged, forged.length - 32);
  writeFileSync(join(dir, 'forged.ghb'), forged);
  const f = await cli(['restore', join(dir, 'forged.ghb')], target, `${PASS}\n`);
  assert.is(f.code, 1);
  assert.match(f.stderr, /^gatehouse: not a usable backup file: its database does not decrypt/);

  const missing = await cli(['restore', join(dir, 'nope.ghb')], target, `${PASS}\n`);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /^gatehouse: FILE: cannot read .*ENOENT/);

  for (const r of [wrong, truncated, tiny, bad, foreign, f, missing]) assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.not.ok(existsSync(join(target, DB_FILE)), 'nothing restored');
  assert.not.ok(existsSync(join(target, 'master.key')), 'no key written');
  if (existsSync(target)) assert.equal(readdirSync(target), [], 'no staging left behind');
});

B('restore refuses an existing store without --force; with --force the old one is kept aside', async ({ dir }) => {
  const live = join(dir, 'live');
  await populate(live);
  const file = join(dir, 'b.ghb');
  ok(await cli(['backup', file], live, `${PASS}\n`), 'backup');
  const other = join(dir, 'other');
  ok(await cli(['client', 'add', '203.0.113.1', 'other-secret'], other), 'client add');
  const before = readFileSync(join(other, DB_FILE));
  const refused = await cli(['restore', file], other, `${PASS}\n`);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /^gatehouse: .*gatehouse\.sqlite exists: restore onto a fresh data directory, or stop the appliance and add --force to replace it\n$/);
  assert.equal(readFileSync(join(other, DB_FILE)), before, 'store untouched');

  const forced = await cli(['restore', file, '--force'], other, `${PASS}\n`);
  ok(forced, 'restore --force');
  assert.match(forced.stdout, /moved to .*pre-restore-/);
  const aside = readdirSync(other).find((f) => f.startsWith('pre-restore-'))!;
  assert.ok(existsSync(join(other, aside, DB_FILE)) && existsSync(join(other, aside, 'master.key')));
  const list = (await cli(['client', 'list'], other)).stdout;
  assert.match(list, /192\.0\.2\.0\/24/);
  assert.not.match(list, /203\.0\.113\.1/);
  ok(await cli(['audit', 'verify'], other), 'audit verify');
});

/** A copy of migrations/ holding only the first `n` migrations. */
function migrationsUpTo(dir: string, n: number): string {
  const journal = JSON.parse(readFileSync(join(ROOT, 'migrations', 'sqlite', 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  const out = join(dir, 'migrations');
  mkdirSync(join(out, 'meta'), { recursive: true });
  const kept = journal.entries.slice(0, n);
  for (const e of kept) cpSync(join(ROOT, 'migrations', 'sqlite', `${e.tag}.sql`), join(out, `${e.tag}.sql`));
  writeFileSync(join(out, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: kept }));
  return out;
}

B('a backup from an older schema restores onto this version and is migrated; one from a newer version is refused', async ({ dir }) => {
  const oldDir = join(dir, 'old');
  mkdirSync(oldDir);
  const old = new Database(join(oldDir, DB_FILE));
  old.pragma('journal_mode = WAL');
  migrate(drizzle(old), { migrationsFolder: migrationsUpTo(dir, 1) });
  old.prepare("INSERT INTO settings (key, value) VALUES ('message-title', 'Old title')").run();
  const key = randomBytes(32);
  const file = join(dir, 'old.ghb');
  writeFileSync(file, await createBackup({ sqlite: old }, key, PASS));
  const opened = await openBackup(readFileSync(file), PASS);
  assert.is(opened.header.migration, '0000_init');

  const target = join(dir, 'target');
  ok(await cli(['restore', file], target, `${PASS}\n`), 'restore of an old backup');
  const db = new Database(join(target, DB_FILE), { readonly: true });
  const journalLength = (JSON.parse(readFileSync(join(ROOT, 'migrations', 'sqlite', 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;
  assert.is(db.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get(), journalLength);
  assert.is(db.prepare("SELECT value FROM settings WHERE key = 'message-title'").pluck().get(), 'Old title');
  db.close();
  assert.equal(Buffer.from(readFileSync(join(target, 'master.key'), 'utf8').trim(), 'base64'), key);
  ok(await cli(['audit', 'verify'], target), 'audit verify');

  // A store that has a migration this version does not know.
  old.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run('future', 4_102_444_800_000);
  writeFileSync(join(dir, 'new.ghb'), await createBackup({ sqlite: old }, key, PASS));
  old.close();
  const newer = await cli(['restore', join(dir, 'new.ghb')], join(dir, 'target2'), `${PASS}\n`);
  assert.is(newer.code, 1);
  assert.match(newer.stderr, /^gatehouse: the backup comes from a newer Gatehouse .*: upgrade this appliance first\n$/);
});

B('GATEHOUSE_MASTER_KEY: kept in the environment when it is the backup key, refused when it is another', async ({ dir }) => {
  const key = randomBytes(32).toString('hex');
  const live = join(dir, 'live');
  ok(await cli(['client', 'add', '192.0.2.1', 'x-secret'], live, undefined, { GATEHOUSE_MASTER_KEY: key }), 'client add');
  const file = join(dir, 'b.ghb');
  // Without the key the CLI refuses rather than back up with a new, unrelated key.
  const nokey = await cli(['backup', file], live, `${PASS}\n`);
  assert.is(nokey.code, 2);
  assert.match(nokey.stderr, /GATEHOUSE_MASTER_KEY/);
  ok(await cli(['backup', file], live, `${PASS}\n`, { GATEHOUSE_MASTER_KEY: key }), 'backup');
  const other = await cli(['restore', file], join(dir, 't1'), `${PASS}\n`, { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('hex') });
  assert.is(other.code, 1);
  assert.match(other.stderr, /GATEHOUSE_MASTER_KEY is set and is not the backup's master key/);
  const same = await cli(['restore', file], join(dir, 't2'), `${PASS}\n`, { GATEHOUSE_MASTER_KEY: key });
  ok(same, 'restore with the same key');
  assert.not.ok(existsSync(join(dir, 't2', 'master.key')));
  assert.match((await cli(['client', 'list'], join(dir, 't2'), undefined, { GATEHOUSE_MASTER_KEY: key })).stdout, /192\.0\.2\.1/);
});

B.run();
