// Passwords and backup passphrases typed at a terminal, as a person meets them: the real
// bin/gatehouse on a real pseudo-terminal (util-linux `script`), keys sent as each prompt shows.
// Nothing typed may appear in what the terminal shows; a mismatch is refused; the stored password
// is the one typed; the terminal is usable (echo, line editing) when the command has ended.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { verifyPassword } from '../../app/lib/password.js';
import { GATEHOUSE, ROOT, runCli, tempDir } from '../helpers/appliance.js';

const SCRIPT_MISSING = 'these tests run the command on a pseudo-terminal with `script` and `stty`: install them (Debian: apt-get install bsdutils coreutils)';

interface PtyRun {
  /** Everything the terminal showed (prompts, messages, `stty -a` after the command). */
  screen: string;
  /** The command's exit status, as the shell saw it. */
  code: number;
  /** `stty -a` run on the same terminal after the command ended. */
  stty: string;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Run `shellCommand` on a new pseudo-terminal, then `stty -a` there. Each step waits until the
 * screen shows `expect` (after what the previous step saw), then types `keys` (or runs `act`).
 */
function onPty(shellCommand: string, steps: { expect: string; keys?: string; act?: () => void }[], timeoutMs = 20_000): Promise<PtyRun> {
  const line = `${shellCommand}; echo "exit-status=$?"; stty -a`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['--quiet', '--return', '--command', line, '/dev/null'], { cwd: ROOT, env: { PATH: process.env['PATH'], TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let errors = '';
    let from = 0;
    const pending = [...steps];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out on the terminal, waiting for ${JSON.stringify(pending[0]?.expect ?? 'the end')}; it showed:\n${screen}${errors}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${SCRIPT_MISSING} (${e.message})`));
    });
    const drive = () => {
      for (let step = pending[0]; step !== undefined; step = pending[0]) {
        const at = screen.indexOf(step.expect, from);
        if (at < 0) break;
        from = at + step.expect.length;
        pending.shift();
        if (step.keys !== undefined) child.stdin.write(step.keys);
        step.act?.();
      }
    };
    child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      drive();
    });
    drive(); // a step expecting '' types at once
    child.on('close', () => {
      clearTimeout(timer);
      const m = /exit-status=(\d+)\r?\n/.exec(screen);
      if (m === null) return reject(new Error(`the command did not finish on the terminal; it showed:\n${screen}${errors}`));
      if (pending.length > 0) return reject(new Error(`the terminal never showed ${JSON.stringify(pending[0]!.expect)}; it showed:\n${screen}`));
      resolve({ screen, code: Number(m[1]), stty: screen.slice(m.index + m[0].length) });
    });
  });
}

/** The terminal is back in its normal mode: echo and line editing on. */
function assertTerminalRestored(run: PtyRun): void {
  assert.match(run.stty, /(^|\s)icanon(\s|$)/, `line editing is off after the command:\n${run.stty}`);
  assert.match(run.stty, /(^|\s)echo(\s|$)/, `echo is off after the command:\n${run.stty}`);
}

const gatehouse = (args: string) => `${quote(process.execPath)} ${quote(GATEHOUSE)} ${args}`;

/** The admin's stored password hash; undefined when there is no such admin (or no store at all). */
function storedHash(dir: string, name: string): string | undefined {
  const file = join(dir, 'gatehouse.sqlite');
  if (!existsSync(file)) return undefined;
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT password_hash FROM admins WHERE name = ?').pluck().get(name) as string | undefined;
  } finally {
    db.close();
  }
}

/** The pid of a running bin/gatehouse whose command line holds `marker`. */
function gatehousePid(marker: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const args = cmdline.split('\0');
    if (args.includes(GATEHOUSE) && args.includes(marker)) return Number(entry);
  }
  throw new Error(`no running gatehouse with ${marker} in its command line`);
}

interface Ctx {
  dir: string;
}
const Prompt = suite<Ctx>('password prompts on a terminal');
Prompt.before(() => {
  for (const tool of ['script', 'stty']) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) throw new Error(`${SCRIPT_MISSING}: \`${tool} --version\` failed (${r.error?.message ?? r.stderr})`);
  }
});
Prompt.before.each(async (ctx) => {
  ctx.dir = await tempDir();
});
Prompt.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

Prompt('the harness sees echo: a line read in the terminal’s normal mode shows what was typed', async () => {
  // Without this, a screen free of the password could mean the harness never shows input at all.
  const run = await onPty(`read line; echo "read:$line"`, [{ expect: '', keys: 'typed-and-echoed-4711\r' }]);
  assert.match(run.screen, /typed-and-echoed-4711\r\n[\s\S]*read:typed-and-echoed-4711/);
});

Prompt('admin add: asked twice without echo; Backspace works; the admin signs in with what was typed', async ({ dir }) => {
  const password = 'correct horse battery staple';
  const run = await onPty(gatehouse(`admin add alice --data-dir ${quote(dir)}`), [
    { expect: 'Password for admin alice: ', keys: `${password}XY\x7f\x7f\r` },
    { expect: 'Again: ', keys: `${password}\r` },
  ]);
  assert.is(run.code, 0, run.screen);
  assert.match(run.screen, /^Password for admin alice: \r\nAgain: \r\nadded admin alice: sign in at the web UI/);
  for (const part of [password, 'horse', 'XY']) assert.not.ok(run.screen.includes(part), `the screen shows "${part}":\n${run.screen}`);
  const hash = storedHash(dir, 'alice');
  assert.ok(hash, 'alice was added');
  assert.ok(await verifyPassword(password, hash!), 'the typed password (without the erased XY) is the stored one');
  assert.not.ok(await verifyPassword(`${password}XY`, hash!));
  assertTerminalRestored(run);
});

Prompt('admin add: a mismatch is refused with one line and adds no one; neither answer is shown', async ({ dir }) => {
  const run = await onPty(gatehouse(`admin add bob --data-dir ${quote(dir)}`), [
    { expect: 'Password for admin bob: ', keys: 'first long password\r' },
    { expect: 'Again: ', keys: 'second long password\r' },
  ]);
  assert.is(run.code, 2, run.screen);
  const shown = run.screen.slice(0, run.screen.indexOf('exit-status='));
  assert.is(shown, 'Password for admin bob: \r\nAgain: \r\ngatehouse: the passwords did not match; nothing was changed\r\n');
  assert.is(storedHash(dir, 'bob'), undefined);
  assertTerminalRestored(run);
});

Prompt('admin add: a short password is refused before asking again', async ({ dir }) => {
  const run = await onPty(gatehouse(`admin add bob --data-dir ${quote(dir)}`), [{ expect: 'Password for admin bob: ', keys: 'short\r' }]);
  assert.is(run.code, 2, run.screen);
  assert.match(run.screen, /^Password for admin bob: \r\ngatehouse: password: the password must have at least 12 characters\r\nexit-status=2/);
  assertTerminalRestored(run);
});

Prompt('Ctrl-C at the prompt stops with 130, changes nothing, and gives the terminal back', async ({ dir }) => {
  const run = await onPty(gatehouse(`admin add carol --data-dir ${quote(dir)}`), [{ expect: 'Password for admin carol: ', keys: 'half typed\x03' }]);
  assert.is(run.code, 130, run.screen);
  assert.match(run.screen, /^Password for admin carol: \^C\r\ngatehouse: interrupted at the prompt; nothing was changed\r\nexit-status=130/);
  assert.not.ok(run.screen.includes('half typed'));
  assert.is(storedHash(dir, 'carol'), undefined);
  assertTerminalRestored(run);
});

Prompt('Ctrl-D on an empty line ends the input: exit 1, nothing changed, terminal given back', async ({ dir }) => {
  const run = await onPty(gatehouse(`admin add carol --data-dir ${quote(dir)}`), [
    { expect: 'Password for admin carol: ', keys: 'a long admin password\r' },
    { expect: 'Again: ', keys: '\x04' },
  ]);
  assert.is(run.code, 1, run.screen);
  assert.match(run.screen, /Again: \r\ngatehouse: end of input at the prompt; nothing was changed\r\nexit-status=1/);
  assert.is(storedHash(dir, 'carol'), undefined);
  assertTerminalRestored(run);
});

Prompt('SIGTERM while the prompt waits: the process ends and the terminal is given back', async ({ dir }) => {
  const run = await onPty(gatehouse(`admin add dave --data-dir ${quote(dir)}`), [{ expect: 'Password for admin dave: ', keys: 'some', act: () => setTimeout(() => process.kill(gatehousePid(dir), 'SIGTERM'), 200) }]);
  assert.is(run.code, 143, run.screen);
  assert.is(storedHash(dir, 'dave'), undefined);
  assertTerminalRestored(run);
});

Prompt('admin password on a terminal: the new password is the one typed', async ({ dir }) => {
  assert.is((await runCli(['admin', 'add', 'erin', '--data-dir', dir], { stdin: 'the first long password\n' })).code, 0);
  const run = await onPty(gatehouse(`admin password erin --data-dir ${quote(dir)}`), [
    { expect: 'Password for admin erin: ', keys: 'the second long password\r' },
    { expect: 'Again: ', keys: 'the second long password\r' },
  ]);
  assert.is(run.code, 0, run.screen);
  assert.match(run.screen, /changed the password of erin/);
  assert.not.ok(run.screen.includes('second long'));
  assert.ok(await verifyPassword('the second long password', storedHash(dir, 'erin')!));
});

Prompt('standard input piped on a terminal: read as before, no prompt (scripts and the VM image)', async ({ dir }) => {
  const run = await onPty(`printf '%s\\n' 'a piped long password' | ${gatehouse(`admin add frank --data-dir ${quote(dir)}`)}`, []);
  assert.is(run.code, 0, run.screen);
  assert.not.match(run.screen, /Password for admin|Again:/);
  assert.ok(await verifyPassword('a piped long password', storedHash(dir, 'frank')!));
});

Prompt('backup asks for the passphrase twice, restore once; neither is shown; the restore opens the backup', async ({ dir }) => {
  assert.is((await runCli(['admin', 'add', 'gina', '--data-dir', dir], { stdin: 'a long admin password\n' })).code, 0);
  const file = join(dir, 'store.ghb');
  const passphrase = 'a long backup passphrase';
  const mismatch = await onPty(gatehouse(`backup ${quote(file)} --data-dir ${quote(dir)}`), [
    { expect: 'Backup passphrase: ', keys: `${passphrase}\r` },
    { expect: 'Again: ', keys: `${passphrase}!\r` },
  ]);
  assert.is(mismatch.code, 2, mismatch.screen);
  assert.match(mismatch.screen, /gatehouse: the passphrases did not match; nothing was changed/);
  const backup = await onPty(gatehouse(`backup ${quote(file)} --data-dir ${quote(dir)}`), [
    { expect: 'Backup passphrase: ', keys: `${passphrase}\r` },
    { expect: 'Again: ', keys: `${passphrase}\r` },
  ]);
  assert.is(backup.code, 0, backup.screen);
  assert.match(backup.screen, /backup written to/);
  const restored = join(dir, 'restored');
  const restore = await onPty(gatehouse(`restore ${quote(file)} --data-dir ${quote(restored)}`), [{ expect: 'Backup passphrase: ', keys: `${passphrase}\r` }], 60_000);
  assert.is(restore.code, 0, restore.screen);
  assert.not.match(restore.screen, /Again:/);
  for (const run of [mismatch, backup, restore]) assert.not.ok(run.screen.includes('backup passphrase'), run.screen);
  assert.ok(await verifyPassword('a long admin password', storedHash(restored, 'gina')!), 'the restored store holds the admin');
  assertTerminalRestored(restore);
});

Prompt.run();
