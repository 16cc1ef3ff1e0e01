// The gatehouse command line as an admin uses it: bad flags, client and downstream commands,
// audit export and verify (with tampering), the master key file.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startAppliance, tempDir } from '../helpers/appliance.js';

interface Ctx {
  dir: string;
}
const Cli = suite<Ctx>('gatehouse command line');
Cli.before.each(async (ctx) => {
  ctx.dir = await tempDir();
});
Cli.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

/** [name, argv (the data dir is appended), environment, expected one-line error] */
const BAD: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
  ['unknown flag', ['--no-such-flag'], {}, /^gatehouse: unknown flag --no-such-flag/],
  ['port out of range', ['--port-in', '70000'], {}, /^gatehouse: --port-in: '70000' is not a port number/],
  ['port from env', [], { PORT_OUT: '0' }, /^gatehouse: PORT_OUT: '0' is not a port number/],
  ['malformed client', ['--address-secret-in', 'not-an-address:x'], {}, /^gatehouse: --address-secret-in: .*does not start with an IP address/],
  ['client without secret', ['--address-secret-in', '10.0.0.1'], {}, /^gatehouse: --address-secret-in: expected ADDRESS:SECRET/],
  ['failmode', ['serve', '--failmode', 'open'], {}, /^gatehouse: --failmode: 'open' must be one of secure, safe/],
  ['env failmode', [], { FAILMODE: 'maybe' }, /^gatehouse: FAILMODE: 'maybe' must be one of secure, safe/],
  ['timeout', ['--notakey-timeout=-1'], {}, /^gatehouse: --notakey-timeout: '-1' is not a number of seconds/],
  ['dash value', ['--notakey-timeout', '-1'], {}, /^gatehouse: --notakey-timeout: a value starting with '-' must be written --notakey-timeout=VALUE/],
  ['listen address', ['--listen-address', 'example.org'], {}, /^gatehouse: --listen-address: 'example.org' is not an IPv4 or IPv6 address/],
  ['push host', ['--notakey-host', 'ftp://x/'], {}, /^gatehouse: --notakey-host: 'ftp:\/\/x\/' must be an http/],
  ['push host in clear text', ['--notakey-host', 'http://push.example/api/'], {}, /^gatehouse: --notakey-host: 'http:\/\/push.example\/api\/' must be an https:\/\/ URL \(plain http:\/\/ only to this machine/],
  ['push host in clear text from env', [], { NOTAKEY_HOST: 'http://10.1.2.3/api/' }, /^gatehouse: NOTAKEY_HOST: .* must be an https:\/\/ URL/],
  ['missing push CA file', ['--push-ca', '/nonexistent/ca.pem'], {}, /^gatehouse: cannot read --push-ca \/nonexistent\/ca.pem/],
  ['short metrics token', [], { METRICS_TOKEN: 'short' }, /^gatehouse: the metrics token .* at least 16 characters/],
  ['agent to an appliance in clear text', ['agent', '--appliance', 'http://gatehouse.example/', '--pipe-path', '/tmp/x.sock'], { GATEHOUSE_AGENT_TOKEN: 'gha_0123456789abcdef' }, /^gatehouse: --appliance: 'http:\/\/gatehouse.example\/' must be an https:\/\/ URL \(plain http:\/\/ only to this machine/],
  ['agent CA file missing', ['agent', '--appliance', 'https://gatehouse.example/', '--pipe-path', '/tmp/x.sock', '--ca', '/nonexistent/ca.pem'], { GATEHOUSE_AGENT_TOKEN: 'gha_0123456789abcdef' }, /^gatehouse: --ca: cannot read \/nonexistent\/ca.pem/],
  ['missing value', ['--data-dir', '/nonexistent', '--secret-out'], {}, /^gatehouse: --secret-out needs a value/],
  ['downstream without secret', ['--downstream-address', '127.0.0.1'], {}, /^gatehouse: --secret-out is required/],
  ['unknown command', ['frobnicate'], {}, /^gatehouse: unknown command 'frobnicate'/],
];

for (const [name, args, env, expected] of BAD) {
  Cli(`bad input exits non-zero with one line naming it: ${name}`, async ({ dir }) => {
    // `agent` runs on a workstation and has no data directory.
    const r = await runCli((args.includes('--secret-out') && args.at(-1) === '--secret-out') || args[0] === 'agent' ? args : [...args, '--data-dir', dir], { env });
    assert.is.not(r.code, 0);
    assert.match(r.stderr, expected);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.is(r.stdout, '');
  });
}

Cli('admins: the last one cannot be removed (that would reopen /setup); adding one retires a pending setup code', async ({ dir }) => {
  const { existsSync, writeFileSync } = await import('node:fs');
  const code = join(dir, 'setup-code');
  assert.is((await runCli(['client', 'list', '--data-dir', dir])).code, 0, 'the data directory exists');
  writeFileSync(code, 'ABCD-EFGH-JKLM-NPQR\n', { mode: 0o600 });
  const add = await runCli(['admin', 'add', 'alice', '--data-dir', dir], { stdin: 'a long admin passphrase\n' });
  assert.is(add.code, 0, add.stderr);
  assert.not.ok(existsSync(code), 'the setup code file is gone: /setup cannot be reopened with it');
  const last = await runCli(['admin', 'remove', 'alice', '--data-dir', dir]);
  assert.is(last.code, 1);
  assert.equal(last.stderr, 'gatehouse: the last full admin cannot be removed (add another first)\n');
  assert.is((await runCli(['admin', 'add', 'bob', '--data-dir', dir], { stdin: 'another long passphrase\n' })).code, 0);
  assert.is((await runCli(['admin', 'remove', 'alice', '--data-dir', dir])).code, 0);
  assert.is((await runCli(['admin', 'remove', 'bob', '--data-dir', dir])).code, 1, 'bob is now the last one');
  const audit = await runCli(['audit', 'export', '--data-dir', dir]);
  const rows = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; actor: string; details: Record<string, unknown> | null });
  const adds = rows.filter((r) => r.event === 'admin.add');
  assert.equal(adds.map((r) => r.details), [{ message: 'setup code removed', name: 'alice', role: 'admin' }, { name: 'bob', role: 'admin' }]);
  // The actor is the operating system's account, even without USER in the environment.
  assert.match(adds[0]!.actor, /^cli:[^:]+$/);
  assert.is.not(adds[0]!.actor, 'cli:unknown');
});

Cli('admin and token roles: given at creation, changed with admin role, listed; a bad role is a usage error', async ({ dir }) => {
  const d = ['--data-dir', dir];
  assert.is((await runCli(['admin', 'add', 'root', ...d], { stdin: 'a long admin passphrase\n' })).code, 0);
  const helen = await runCli(['admin', 'add', 'helen', '--role', 'helpdesk', ...d], { stdin: 'another long passphrase\n' });
  assert.is(helen.code, 0, helen.stderr);
  const bad = await runCli(['admin', 'add', 'ivan', '--role', 'superuser', ...d], { stdin: 'another long passphrase\n' });
  assert.is(bad.code, 2);
  assert.is(bad.stderr, 'gatehouse: --role: role must be one of admin, helpdesk, readonly\n');
  const misplaced = await runCli(['admin', 'remove', 'helen', '--role', 'admin', ...d]);
  assert.is(misplaced.code, 2);
  assert.match(misplaced.stderr, /^gatehouse: --role: only `admin add` takes a role\n$/);
  assert.is((await runCli(['admin', 'list', ...d])).stdout, 'NAME\tTOTP\tROLE\nhelen\tenrols at next sign-in\thelpdesk\nroot\tenrols at next sign-in\tadmin\n');
  const change = await runCli(['admin', 'role', 'helen', 'readonly', ...d]);
  assert.is(change.code, 0, change.stderr);
  assert.is(change.stdout, 'helen is now readonly\n');
  const last = await runCli(['admin', 'role', 'root', 'helpdesk', ...d]);
  assert.is(last.code, 1);
  assert.is(last.stderr, 'gatehouse: the last full admin must stay one (make another admin a full admin first)\n');
  assert.is((await runCli(['admin', 'role', 'nobody', 'admin', ...d])).code, 1);
  assert.is((await runCli(['admin', 'role', 'helen', 'root', ...d])).code, 2);
  const token = await runCli(['token', 'create', 'monitor', '--role', 'readonly', ...d]);
  assert.is(token.code, 0, token.stderr);
  const list = JSON.parse((await runCli(['token', 'list', '--json', ...d])).stdout) as { name: string; role: string }[];
  assert.equal(list.map((t) => [t.name, t.role]), [['monitor', 'readonly']]);
  const audit = (await runCli(['audit', 'export', ...d])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; details: Record<string, unknown> | null });
  assert.equal(audit.filter((r) => r.event === 'admin.role').map((r) => r.details), [{ name: 'helen', previous: 'helpdesk', role: 'readonly' }]);
  assert.equal(audit.find((r) => r.event === 'token.create')?.details, { name: 'monitor', role: 'readonly' });
});

Cli('user import: a dry run says what would change; bad lines are named and stop it; export then import changes nothing', async ({ dir }) => {
  const d = ['--data-dir', dir];
  assert.is((await runCli(['user', 'add', 'ann', ...d])).code, 0);
  const file = join(dir, 'people.csv');
  await writeFile(file, 'username,display_name,email,groups\nANN,Ann Lee,ann@example.org,Staff;VPN\nbob,Bob,,vpn\n');
  const dry = await runCli(['user', 'import', file, '--dry-run', ...d]);
  assert.is(dry.code, 0, dry.stderr);
  assert.is(dry.stdout, '2 users in the file: 1 to create, 1 to change, 0 unchanged\n  ann (line 2): display name, email, groups\n');
  assert.is((await runCli(['user', 'list', ...d])).stdout.split('\n').length, 3, 'a dry run changes nothing (header, ann, end)');
  const done = await runCli(['user', 'import', file, ...d]);
  assert.is(done.code, 0, done.stderr);
  assert.is(done.stdout, '2 users in the file: 1 created, 1 changed, 0 unchanged\n');
  const exported = await runCli(['user', 'export', ...d]);
  assert.is(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /^username,display_name,email,groups,totp,locked,created_at\r\nann,Ann Lee,ann@example.org,staff;vpn,none,no,\d{4}-.*\r\nbob,Bob,,vpn,none,no,/);
  await writeFile(file, exported.stdout);
  const again = await runCli(['user', 'import', file, '--dry-run', ...d]);
  assert.is(again.stdout, 'columns not imported: totp, locked, created_at\n2 users in the file: 0 to create, 0 to change, 2 unchanged\n');
  await writeFile(file, 'username,email\ncid,cid@example.org\ndan,nope\n');
  const bad = await runCli(['user', 'import', file, ...d]);
  assert.is(bad.code, 2);
  assert.is(bad.stderr, "line 3: email: 'nope' is not an email address\n2 users in the file: 1 to create, 0 to change, 0 unchanged\nnothing was imported: fix the lines above\n");
  assert.not.match((await runCli(['user', 'list', ...d])).stdout, /cid/, 'all or nothing');
  const missing = await runCli(['user', 'import', join(dir, 'nope.csv'), ...d]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /^gatehouse: FILE: cannot read .*nope\.csv: ENOENT\n$/);
  const audit = (await runCli(['audit', 'export', ...d])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; username: string | null });
  assert.equal(audit.filter((r) => r.event.startsWith('user.')).map((r) => [r.event, r.username]), [['user.add', 'ann'], ['user.update', 'ann'], ['user.add', 'bob'], ['user.import', null]]);
});

Cli('a stored setting that no longer validates stops the start with one line (an http:// push host would turn push off)', async ({ dir }) => {
  assert.is((await runCli(['client', 'list', '--data-dir', dir])).code, 0, 'the store exists');
  const db = new Database(join(dir, 'gatehouse.sqlite'));
  db.prepare("INSERT INTO settings (key, value) VALUES ('notakey-host', 'http://push.example/api/')").run();
  db.close();
  const r = await runCli(['serve', '--data-dir', dir, '--port-in', '18999', '--http-port', '18998']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^gatehouse: stored setting notakey-host: 'http:\/\/push.example\/api\/' must be an https:\/\/ URL .*\(fix it with `gatehouse settings set` or `settings unset`\)\n$/);
  assert.is((await runCli(['settings', 'unset', 'notakey-host', '--data-dir', dir])).code, 0, 'and it can be fixed from the console');
});

Cli('a secret given without an address is not echoed in the error', async ({ dir }) => {
  const r = await runCli(['--address-secret-in', 'SuperSecret123', '--data-dir', dir]);
  assert.is(r.code, 2);
  assert.not.match(r.stderr, /SuperSecret123/);
});

Cli('client add, list and remove; duplicates refused; each change audited; secrets sealed at rest', async ({ dir }) => {
  const add = await runCli(['client', 'add', '192.0.2.0/24', 'nas-secret-abc', '--name', 'branch-vpn', '--data-dir', dir]);
  assert.is(add.code, 0, add.stderr);
  const dup = await runCli(['client', 'add', '192.0.2.9/24', 'other-secret', '--data-dir', dir]);
  assert.is(dup.code, 1);
  assert.match(dup.stderr, /already exists/);
  const bad = await runCli(['client', 'add', '192.0.2.0/33', 'other-secret', '--data-dir', dir]);
  assert.is(bad.code, 2);
  // The same rules as the web UI and the API (one admin layer): a short secret is refused.
  const short = await runCli(['client', 'add', '192.0.2.77', 'short', '--data-dir', dir]);
  assert.is(short.code, 2);
  assert.equal(short.stderr, 'gatehouse: secret must have at least 8 characters\n');
  const list = await runCli(['client', 'list', '--data-dir', dir]);
  assert.match(list.stdout, /192\.0\.2\.0\/24\tbranch-vpn\tauto\tno/);
  assert.not.match(list.stdout, /nas-secret-abc/);
  const db = new Database(join(dir, 'gatehouse.sqlite'), { readonly: true });
  const raw = db.prepare('SELECT secret_sealed FROM radius_clients').pluck().get() as Buffer;
  db.close();
  assert.not.ok(raw.includes(Buffer.from('nas-secret-abc')), 'secret stored in clear');
  assert.is(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
  const rm1 = await runCli(['client', 'remove', '192.0.2.0/24', '--data-dir', dir]);
  assert.is(rm1.code, 0, rm1.stderr);
  const rm2 = await runCli(['client', 'remove', '192.0.2.0/24', '--data-dir', dir]);
  assert.is(rm2.code, 1);
  const audit = await runCli(['audit', 'export', '--data-dir', dir]);
  const events = audit.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
  assert.equal(events, ['client.add', 'client.remove']);
  assert.not.match(audit.stdout, /nas-secret-abc/);
});

Cli('a store opened with another master key refuses to reveal its secrets', async ({ dir }) => {
  await runCli(['client', 'add', '10.1.1.1', 'abc-secret', '--data-dir', dir]);
  const r = await runCli(['client', 'list', '--data-dir', dir], { env: { GATEHOUSE_MASTER_KEY: '11'.repeat(32) } });
  assert.is(r.code, 1);
  assert.match(r.stderr, /cannot be opened with this master key/);
});

Cli('audit verify passes on an intact log and names the first tampered record', async ({ dir }) => {
  for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) assert.is((await runCli(['client', 'add', a, 'client-secret', '--data-dir', dir])).code, 0);
  const ok = await runCli(['audit', 'verify', '--data-dir', dir]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /4 records verified/);
  // Tamper as an attacker with file access would: past the append-only triggers.
  const db = new Database(join(dir, 'gatehouse.sqlite'));
  db.exec('DROP TRIGGER audit_log_no_update');
  db.prepare("UPDATE audit_log SET details = '{\"address\":\"10.9.9.9/32\"}' WHERE id = 3").run();
  db.close();
  const bad = await runCli(['audit', 'verify', '--data-dir', dir]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /record 3/);
});

Cli('audit verify detects a removed record', async ({ dir }) => {
  for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await runCli(['client', 'add', a, 'client-secret', '--data-dir', dir]);
  const db = new Database(join(dir, 'gatehouse.sqlite'));
  db.exec('DROP TRIGGER audit_log_no_delete');
  db.prepare('DELETE FROM audit_log WHERE id = 2').run();
  db.close();
  const bad = await runCli(['audit', 'verify', '--data-dir', dir]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /record 3/);
});

Cli('audit verify: a chain re-hashed without the master key is refused (the chain is keyed)', async ({ dir }) => {
  for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) assert.is((await runCli(['client', 'add', a, 'client-secret', '--data-dir', dir])).code, 0);
  // An attacker with write access to the database but not the master key changes record 2 and
  // re-hashes everything from there with plain SHA-256, as the chain was before it was keyed.
  const db = new Database(join(dir, 'gatehouse.sqlite'));
  db.exec('DROP TRIGGER audit_log_no_update');
  type Row = { id: number; time: number; event: string; outcome: string; username: string | null; reason: string | null; source: string | null; client: string | null; actor: string | null; details: string | null; prev_hash: string; hash: string };
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY id').all() as Row[];
  let prev = rows[0]!.hash;
  for (const r of rows.slice(1)) {
    const details = r.id === 2 ? '{"address":"10.9.9.9/32"}' : r.details;
    const hash = createHash('sha256').update(`${prev}\n${JSON.stringify([r.id, r.time, r.event, r.outcome, r.username, r.reason, r.source, r.client, r.actor, details])}`).digest('hex');
    db.prepare('UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE id = ?').run(details, prev, hash, r.id);
    prev = hash;
  }
  db.close();
  const bad = await runCli(['audit', 'verify', '--data-dir', dir]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /record 2: its content does not match its hash/);
});

Cli('audit verify --head finds a tail removed after the head the appliance logged', async ({ dir }) => {
  // Our own data directory: the starter removes the ones it makes when the appliance stops.
  const gh = await startAppliance({ dataDir: dir });
  assert.is((await gh.cli(['client', 'add', '10.0.0.1', 'client-secret'])).code, 0);
  assert.is(await gh.stop(), 0);
  // The operational log's head line, as a log collector keeps it.
  const line = gh.output().split('\n').find((l) => l.includes('"msg":"audit head"'));
  assert.ok(line, gh.output());
  const { record, hash } = JSON.parse(line!) as { record: number; hash: string };
  const ok = await runCli(['audit', 'verify', '--head', `${record}:${hash}`, '--data-dir', gh.dataDir]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`audit log intact: ${record} records verified`));
  assert.match(ok.stdout, new RegExp(`last head record: ${record} \\S+ \\(0 records after it\\)`));
  assert.match(ok.stdout, /nothing was removed up to it/);
  // Remove the last two records: the chain itself still verifies...
  const db = new Database(join(gh.dataDir, 'gatehouse.sqlite'));
  db.exec('DROP TRIGGER audit_log_no_delete');
  db.prepare('DELETE FROM audit_log WHERE id > ?').run(record - 2);
  db.close();
  assert.is((await runCli(['audit', 'verify', '--data-dir', gh.dataDir])).code, 0);
  // ...but not against the head from the log.
  const cut = await runCli(['audit', 'verify', '--head', `${record}:${hash}`, '--data-dir', gh.dataDir]);
  assert.is(cut.code, 1);
  assert.equal(cut.stderr, `gatehouse: audit log truncated: record ${record} of the given head is missing (the chain ends at record ${record - 2})\n`);
  const malformed = await runCli(['audit', 'verify', '--head', 'yesterday', '--data-dir', gh.dataDir]);
  assert.is(malformed.code, 2);
});

Cli('audit export as CSV quotes fields and neutralises formulas', async ({ dir }) => {
  await runCli(['client', 'add', '10.0.0.1', 'client-secret', '--name', '=cmd|calc', '--data-dir', dir]);
  const csv = await runCli(['audit', 'export', '--format', 'csv', '--data-dir', dir]);
  assert.is(csv.code, 0);
  assert.match(csv.stdout, /"'=cmd\|calc"/);
  const bad = await runCli(['audit', 'export', '--format', 'xml', '--data-dir', dir]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--format: 'xml' must be jsonl or csv/);
});

Cli('downstream set, show and remove', async ({ dir }) => {
  assert.is((await runCli(['downstream', 'set', 'radius.internal', 'down-secret', '--port', '1645', '--data-dir', dir])).code, 0);
  const show = await runCli(['downstream', 'show', '--data-dir', dir]);
  assert.match(show.stdout, /radius\.internal:1645/);
  assert.not.match(show.stdout, /down-secret/);
  assert.is((await runCli(['downstream', 'set', 'x', 'y', '--port', '99999', '--data-dir', dir])).code, 2);
  assert.is((await runCli(['downstream', 'remove', '--data-dir', dir])).code, 0);
  assert.is((await runCli(['downstream', 'show', '--data-dir', dir])).stdout, '');
});

Cli('--help lists every flag with its environment variable', async () => {
  const r = await runCli(['--help']);
  assert.is(r.code, 0);
  for (const f of ['--notakey-host', 'NOTAKEY_TTL_SECONDS', '--address-secret-in', 'ADDRESS_SECRET_IN', '--failmode', '--otp-delimiter', 'GATEHOUSE_DATA_DIR']) assert.match(r.stdout, f);
});

Cli('the installed command: --version, a sub-command --help, and --json output a program can parse', async ({ dir }) => {
  const { readFileSync } = await import('node:fs');
  const { ROOT } = await import('../helpers/appliance.js');
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const v = await runCli(['--version']);
  assert.is(v.code, 0, v.stderr);
  assert.is(v.stdout, `gatehouse ${version}\n`);
  // Before this, `client --help` was an unknown flag (exit 2).
  const help = await runCli(['client', '--help']);
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: gatehouse client add ADDRESS SECRET/);
  assert.is((await runCli(['client', 'add', '192.0.2.7', 'nas-secret-abc', '--data-dir', dir])).code, 0);
  const list = await runCli(['client', 'list', '--json', '--data-dir', dir]);
  assert.is(list.code, 0, list.stderr);
  assert.equal(JSON.parse(list.stdout).map((c: Record<string, unknown>) => [c['address'], c['name']]), [['192.0.2.7/32', '192.0.2.7/32']]);
  assert.not.match(list.stdout, /nas-secret-abc/);
});

Cli.run();
