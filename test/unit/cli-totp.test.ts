// `gatehouse totp enroll` as a person at a terminal sees it, through main() with a fake terminal.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import qrcode from 'qrcode-generator';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../app/cli/main.js';
import type { CliIo } from '../../app/cli/context.js';
import { terminalQr } from '../../app/cli/users.js';

interface Ctx {
  dir: string;
}

function fakeIo(isTty: boolean): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { isTty, openPrompt: null, out: (t) => void (out += t), err: (t) => void (err += t), readStdin: async () => '', stdout: () => out, stderr: () => err };
}

const Enroll = suite<Ctx>('cli/totp enroll');
Enroll.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
});
Enroll.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

Enroll('on a terminal: a QR code, then the URI on a line of its own', async ({ dir }) => {
  const io = fakeIo(true);
  assert.is(await main(['totp', 'enroll', 'Bob', '--data-dir', dir], { TOTP_ISSUER: 'ACME VPN' }, io), 0, io.stderr());
  const lines = io.stdout().trimEnd().split('\n');
  const uri = lines.at(-1)!;
  assert.match(uri, /^otpauth:\/\/totp\/ACME%20VPN:bob\?secret=[A-Z2-7]{32}&issuer=ACME%20VPN&algorithm=SHA1&digits=6&period=30$/);
  assert.ok(lines.some((l) => l.includes('\u2588')), 'a QR code was drawn');
  // The drawing is the QR code of exactly that URI.
  assert.ok(io.stdout().startsWith(terminalQr(uri)));
});

Enroll('piped: only the URI, so scripts can read it', async ({ dir }) => {
  const io = fakeIo(false);
  assert.is(await main(['totp', 'enroll', 'carol', '--digits', '8', '--algorithm', 'sha256', '--data-dir', dir], {}, io), 0, io.stderr());
  assert.match(io.stdout(), /^otpauth:\/\/totp\/Gatehouse:carol\?secret=[A-Z2-7]+&issuer=Gatehouse&algorithm=SHA256&digits=8&period=30\n$/);
});

Enroll('bad options and names are one-line errors', async ({ dir }) => {
  for (const args of [['--digits', '7'], ['--algorithm', 'MD5']]) {
    const io = fakeIo(false);
    assert.is(await main(['totp', 'enroll', 'dan', ...args, '--data-dir', dir], {}, io), 2);
    assert.is(io.stderr().trim().split('\n').length, 1);
  }
  const io = fakeIo(false);
  assert.is(await main(['totp', 'enroll', 'a\u0007b', '--data-dir', dir], {}, io), 2);
  assert.match(io.stderr(), /user name: the user name contains whitespace or control characters/);
  assert.is(io.stderr().trim().split('\n').length, 1);
});

const Qr = suite('cli/terminalQr');

Qr('each character cell carries two modules: decoding the half blocks gives back the matrix', () => {
  const text = 'otpauth://totp/Gatehouse:alice?secret=JBSWY3DPEHPK3PXP&issuer=Gatehouse';
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const rows = terminalQr(text).split('\n');
  const light = (r: number, c: number): boolean => {
    const ch = [...rows[Math.floor((r + 2) / 2)]!][c + 2]!;
    const top = (r + 2) % 2 === 0;
    return ch === '\u2588' || (top ? ch === '\u2580' : ch === '\u2584');
  };
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) assert.is(light(r, c), !qr.isDark(r, c), `module ${r},${c}`);
  // A quiet zone of two light modules all around.
  for (let c = -2; c < n + 2; c++) assert.ok(light(-2, c) && light(-1, c));
});

Enroll.run();
Qr.run();
