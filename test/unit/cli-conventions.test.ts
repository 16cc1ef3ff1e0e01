// The command line's conventions, through main() over a fake terminal: --version, --help for every
// sub-command (never running it), and --json for every list command: an array of objects whose
// fields are exactly the ones the command's --help and the README name, and never a secret.
import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CliIo } from '../../app/cli/context.js';
import { main } from '../../app/cli/main.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** main() with standard input not a terminal, holding `stdin`; reading it or prompting is recorded. */
async function run(argv: string[], o: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run & { readInput: boolean }> {
  let stdout = '';
  let stderr = '';
  let readInput = false;
  const io: CliIo = {
    isTty: false,
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    readStdin: async () => {
      readInput = true;
      return o.stdin ?? '';
    },
    openPrompt: null,
  };
  const code = await main(argv, o.env ?? {}, io);
  return { code, stdout, stderr, readInput };
}

/** The sub-commands `gatehouse --help` lists (each `gatehouse WORD` line of its Commands part). */
async function listedCommands(): Promise<string[]> {
  const help = (await run(['--help'])).stdout;
  const commands = help.slice(help.indexOf('Commands:'));
  const words = [...commands.matchAll(/^ {2}gatehouse \[?([a-z][a-z-]*)/gm)].map((m) => m[1]!);
  return [...new Set(words)];
}

const Conventions = suite('cli conventions: --version and --help');

Conventions('--version and -V print the package version and exit 0', async () => {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  for (const flag of ['--version', '-V']) {
    const r = await run([flag]);
    assert.is(r.code, 0);
    assert.is(r.stdout, `gatehouse ${version}\n`);
    assert.is(r.stderr, '');
  }
});

Conventions('every sub-command gatehouse --help lists answers --help and -h with its usage, exit 0', async () => {
  const commands = await listedCommands();
  // The ones the README documents, at least; a new command shows up through --help itself.
  for (const c of ['serve', 'client', 'downstream', 'user', 'totp', 'settings', 'admin', 'token', 'agent-token', 'agent', 'audit', 'backup', 'restore']) assert.ok(commands.includes(c), `${c} is not in gatehouse --help: ${commands.join(' ')}`);
  for (const c of commands) {
    for (const flag of ['--help', '-h']) {
      const r = await run([c, flag]);
      assert.is(r.code, 0, `${c} ${flag}: ${r.stderr}`);
      assert.is(r.stderr, '', `${c} ${flag}`);
      if (c === 'serve') assert.match(r.stdout, /^Usage: gatehouse \[serve\] \[flags\]/);
      else assert.match(r.stdout, new RegExp(`^usage: gatehouse ${c} `), `${c} ${flag}:\n${r.stdout}`);
      const viaHelp = await run(['help', c]);
      assert.is(viaHelp.code, 0);
      assert.is(viaHelp.stdout, r.stdout, `gatehouse help ${c}`);
    }
  }
});

Conventions('--help anywhere in a call prints the usage and runs nothing: no prompt, no store, no change', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  try {
    for (const argv of [
      ['admin', 'add', 'alice', '--help'],
      ['admin', 'password', 'alice', '-h'],
      ['backup', join(dir, 'x.ghb'), '--help'],
      ['restore', join(dir, 'x.ghb'), '--force', '-h'],
      ['client', 'add', '10.0.0.1', 'client-secret', '--help'],
      ['user', 'remove', 'bob', '--help'],
      ['client', 'list', '--json', '--help'],
      ['agent', '--appliance', 'https://gatehouse.example/', '--help'],
      ['serve', '--port-in', '1', '--help'],
      ['--data-dir', dir, '-h'],
    ]) {
      const r = await run([...argv, '--data-dir', dir]);
      assert.is(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^usage: |^Usage: /i, argv.join(' '));
      assert.not.ok(r.readInput, `${argv.join(' ')} read standard input`);
    }
    assert.equal(readdirSync(dir), [], 'nothing was created in the data directory');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Conventions('help names what it is about: flags of the command, --data-dir for commands on the store, the prompt for secrets', async () => {
  const client = (await run(['client', '--help'])).stdout;
  for (const s of ['--name N', '--require-message-authenticator', '--json', '--data-dir DIR']) assert.ok(client.includes(s), `${s} in:\n${client}`);
  const admin = (await run(['admin', '--help'])).stdout;
  assert.match(admin, /Password for admin NAME: /);
  assert.match(admin, /printf '%s\\n' 'a long passphrase' \| gatehouse admin add alice/);
  const agent = (await run(['agent', '--help'])).stdout;
  assert.match(agent, /--appliance URL/);
  assert.not.match(agent, /--data-dir/, 'the agent runs on a workstation, without a data directory');
  assert.match((await run(['backup', '--help'])).stdout, /GATEHOUSE_BACKUP_PASSPHRASE/);
});

Conventions('a wrong call is still one line naming the usage and pointing at --help (exit 2)', async () => {
  for (const [argv, command] of [
    [['client', 'frob'], 'client'],
    [['admin', 'add'], 'admin'],
    [['help', 'frobnicate'], undefined],
  ] as const) {
    const r = await run([...argv]);
    assert.is(r.code, 2);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    if (command !== undefined) assert.match(r.stderr, new RegExp(`^gatehouse: usage: gatehouse ${command} .*\\(gatehouse ${command} --help\\)\\n$`));
  }
});

interface Ctx {
  dir: string;
}
const Json = suite<Ctx>('cli conventions: --json for list commands');
Json.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
});
Json.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

const LIST_COMMANDS = [
  ['client', 'list'],
  ['downstream', 'show'],
  ['user', 'list'],
  ['admin', 'list'],
  ['token', 'list'],
  ['agent-token', 'list'],
  ['settings', 'list'],
  ['policy', 'list'],
] as const;

/** The fields each list command's --help names on its --json line. */
async function helpFields(command: string, verb: string): Promise<string[]> {
  const help = (await run([command, '--help'])).stdout;
  const line = help.split('\n').find((l) => l.trimStart().startsWith('--json'));
  assert.ok(line, `${command} --help has no --json line`);
  assert.ok(line!.includes(`${command} ${verb}:`), line);
  return line!.replace(/^.*with the fields /, '').split(', ').map((f) => f.trim());
}

/** The fields the README's Commands table names for `COMMAND VERB --json`. */
function readmeFields(command: string, verb: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const row = readme.split('\n').find((l) => l.startsWith(`| \`${command} ${verb} --json\` |`));
  assert.ok(row, `the README documents no fields for ${command} ${verb} --json`);
  const cell = row!.split('|')[2]!;
  // The field names are the backticked words that start the cell or follow a comma.
  return [...cell.matchAll(/(?:^|,)\s*`([A-Za-z]+)`/g)].map((m) => m[1]!);
}

const SECRETS = {
  client: 'nas-secret-1234567',
  downstream: 'downstream-secret-7654321',
  admin: 'an admin password that is long',
};

Json('each list command: a JSON array of objects with exactly the documented fields, the values as stored, no secret', async ({ dir }) => {
  const d = ['--data-dir', dir];
  const ok = async (argv: string[], stdin?: string) => {
    const r = await run([...argv, ...d], stdin === undefined ? {} : { stdin });
    assert.is(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok(['client', 'add', '192.0.2.0/24', SECRETS.client, '--name', 'branch-vpn', '--require-message-authenticator', 'yes', '--first-factor', 'directory']);
  await ok(['downstream', 'set', 'radius.internal', SECRETS.downstream, '--port', '1645', '--name', 'dc1', '--require-message-authenticator']);
  await ok(['user', 'add', 'alice']);
  await ok(['user', 'add', 'bob']);
  await ok(['user', 'lock', 'bob']);
  const uri = await ok(['totp', 'enroll', 'carol']);
  await ok(['admin', 'add', 'root'], `${SECRETS.admin}\n`);
  const apiToken = (await ok(['token', 'create', 'ci'])).trim();
  const agentToken = (await ok(['agent-token', 'create', 'PC-7'])).trim();
  await ok(['settings', 'set', 'totp-max-failures', '3']);
  await ok(['policy', 'add', 'VPN users', '--action', 'require', '--groups', 'VPN-Users', '--factors', 'totp', '--reply', 'Class = vpn']);
  // A lockout after wrong codes, as the engine writes it.
  const lockedOutUntil = Date.now() + 3_600_000;
  const db = new Database(join(dir, 'gatehouse.sqlite'));
  db.prepare('UPDATE users SET locked_until = ?, failed_attempts = 5 WHERE username = ?').run(lockedOutUntil, 'alice');
  const hash = db.prepare('SELECT password_hash FROM admins').pluck().get() as string;
  db.close();
  const secrets = [SECRETS.client, SECRETS.downstream, SECRETS.admin, apiToken, agentToken, hash, /secret=([A-Z2-7]+)/.exec(uri)![1]!];

  const outputs: Record<string, Record<string, unknown>[]> = {};
  for (const [command, verb] of LIST_COMMANDS) {
    const text = await ok([command, verb, '--json']);
    for (const s of secrets) assert.not.ok(text.includes(s), `${command} ${verb} --json shows a secret`);
    const rows = JSON.parse(text) as unknown;
    assert.ok(Array.isArray(rows), `${command} ${verb} --json is not an array`);
    const expected = await helpFields(command, verb);
    assert.equal(readmeFields(command, verb), expected, `README and ${command} --help name the same fields`);
    for (const row of rows as Record<string, unknown>[]) assert.equal(Object.keys(row), expected, `${command} ${verb} --json fields`);
    outputs[`${command} ${verb}`] = rows as Record<string, unknown>[];
  }
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
  assert.equal(outputs['policy list'], [{ position: 1, name: 'VPN users', groups: ['vpn-users'], client: null, action: 'require', factors: 'totp', replyAttributes: ['Class = vpn'] }]);
  const [client] = outputs['client list']!;
  assert.equal({ ...client, createdAt: 'x' }, { address: '192.0.2.0/24', name: 'branch-vpn', requireMessageAuthenticator: 'yes', messageAuthenticatorSeen: false, firstFactor: 'directory', createdAt: 'x' });
  assert.match(String(client!['createdAt']), iso);
  assert.equal(outputs['downstream show'], [{ name: 'dc1', host: 'radius.internal', port: 1645, acctPort: 1813, transport: 'udp', pool: 'default', requireMessageAuthenticator: true }]);
  const users = Object.fromEntries(outputs['user list']!.map((u) => [u['name'], u]));
  assert.equal(Object.keys(users).sort(), ['alice', 'bob', 'carol']);
  assert.equal({ ...users['alice'], createdAt: 'x' }, { name: 'alice', totp: false, locked: false, lockedOutUntil: new Date(lockedOutUntil).toISOString(), failedAttempts: 5, displayName: null, email: null, upn: null, groups: [], source: 'local', directory: null, createdAt: 'x' });
  assert.equal({ ...users['bob'], createdAt: 'x' }, { name: 'bob', totp: false, locked: true, lockedOutUntil: null, failedAttempts: 0, displayName: null, email: null, upn: null, groups: [], source: 'local', directory: null, createdAt: 'x' });
  assert.equal({ ...users['carol'], createdAt: 'x' }, { name: 'carol', totp: true, locked: false, lockedOutUntil: null, failedAttempts: 0, displayName: null, email: null, upn: null, groups: [], source: 'local', directory: null, createdAt: 'x' });
  assert.equal(outputs['admin list']!.map((a) => [a['name'], a['role'], a['totpEnrolled']]), [['root', 'admin', false]]);
  const [token] = outputs['token list']!;
  assert.equal([token!['name'], token!['role'], token!['lastUsedAt']], ['ci', 'admin', null]);
  assert.match(String(token!['createdBy']), /^cli:/);
  assert.match(String(token!['createdAt']), iso);
  const [agent] = outputs['agent-token list']!;
  assert.equal([agent!['name'], agent!['lastSeenAt']], ['PC-7', null]);
  const settings = Object.fromEntries(outputs['settings list']!.map((s) => [s['key'], s]));
  assert.equal(settings['totp-max-failures'], { key: 'totp-max-failures', value: '3', source: 'stored' });
  assert.equal(settings['failmode'], { key: 'failmode', value: 'secure', source: 'default' });
  assert.equal(settings['notakey-host'], { key: 'notakey-host', value: null, source: 'default' });
  assert.not.ok('data-dir' in settings, 'only storable settings are listed, as in the tab-separated output');
});

Json('the default output stays tab-separated under the same header (scripts parse it)', async ({ dir }) => {
  const d = ['--data-dir', dir];
  assert.is((await run(['client', 'add', '10.0.0.1', SECRETS.client, ...d])).code, 0);
  assert.is((await run(['user', 'add', 'dora', ...d])).code, 0);
  assert.is((await run(['client', 'list', ...d])).stdout, 'ADDRESS\tNAME\tMESSAGE-AUTHENTICATOR\tSEEN\n10.0.0.1/32\t10.0.0.1/32\tauto\tno\n');
  assert.is((await run(['user', 'list', ...d])).stdout, 'NAME\tFACTOR\tSTATE\tFAILED\ndora\t-\tactive\t0\n');
  // Roles came later: their column is the last, so the ones before stay where scripts read them.
  assert.is((await run(['admin', 'list', ...d])).stdout, 'NAME\tTOTP\tROLE\n');
  assert.is((await run(['token', 'list', ...d])).stdout, 'NAME\tCREATED\tLAST USED\tROLE\n');
  assert.is((await run(['agent-token', 'list', ...d])).stdout, 'NAME\tCREATED\tLAST SEEN\n');
  assert.match((await run(['settings', 'list', ...d])).stdout, /^KEY\tVALUE\tFROM\nnotakey-host\t\tdefault\n/);
});

Json('empty lists are [] in JSON; --json elsewhere is refused with one line', async ({ dir }) => {
  const d = ['--data-dir', dir];
  for (const [command, verb] of LIST_COMMANDS.filter(([c]) => c !== 'settings')) {
    const r = await run([command, verb, '--json', ...d]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, '[]\n', `${command} ${verb}`);
  }
  for (const argv of [['client', 'add', '10.0.0.1', SECRETS.client, '--json'], ['user', 'add', 'eve', '--json'], ['token', 'create', 'x', '--json'], ['downstream', 'remove', '--json']]) {
    const r = await run([...argv, ...d]);
    assert.is(r.code, 2, argv.join(' '));
    assert.match(r.stderr, /^gatehouse: --json: only `[a-z-]+ (list|show)` prints JSON\n$/);
  }
  assert.is((await run(['user', 'list', ...d])).stdout, 'NAME\tFACTOR\tSTATE\tFAILED\n', 'and nothing was added');
});

Conventions.run();
Json.run();
