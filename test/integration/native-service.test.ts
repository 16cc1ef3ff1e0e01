// The native Windows service (gatehouse-service.exe, issue 17) under Debian's wine64, in front of a
// real `gatehouse serve` over HTTPS: it reads its settings from the registry (written with
// `wine reg add`), serves the logon pipe, and a Windows program (gatehouse-pipe-client.exe) logs
// on through it. Checked: the pipe's security descriptor read back from the pipe itself, a full
// logon with a code, health changes, a refused certificate, bad frames, a bad setting that stops
// the service, and the Event Log calls with their IDs (Wine's ReportEventW only traces them: the
// trace is what is checked; Event Viewer rendering stays on the manual checklist).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { base32Decode, hotp, totpStep } from '../../app/mfa/otp.js';
import { freeTcpPort, ROOT, startAppliance, tempDir, type Appliance } from '../helpers/appliance.js';
import { makeTestCa, type TestCa } from '../helpers/freeradius-radsec.js';

const BUILD = join(ROOT, 'native', 'build');
const WIN64 = join(BUILD, 'win64');
const WINE = existsSync('/usr/lib/wine/wine64') ? '/usr/lib/wine/wine64' : 'wine64';
const KEY = 'HKLM\\SOFTWARE\\Gatehouse\\Service';

interface Ctx {
  dir: string;
  prefix: string;
  ca: TestCa;
  other: TestCa;
  gh: Appliance;
  httpsPort: number;
  token: string;
  seed: Buffer;
  pipe: string;
}

function wineEnv(prefix: string, debug = '-all'): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'], HOME: process.env['HOME'], WINEPREFIX: prefix, WINEDEBUG: debug, WINEDLLOVERRIDES: 'mscoree,mshtml=', WINEARCH: 'win64' };
}

/** A Windows path for a Linux one (Wine's Z: drive). */
const winPath = (p: string) => `Z:${p.replace(/\//g, '\\')}`;

function wine(ctx: Ctx, args: string[], timeoutMs = 30_000): { code: number | null; out: string } {
  const r = spawnSync(WINE, args, { env: wineEnv(ctx.prefix), cwd: WIN64, timeout: timeoutMs, encoding: 'utf8', input: '' });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/\r/g, '') };
}

function setRegistry(ctx: Ctx, values: Record<string, string>): void {
  wine(ctx, ['reg', 'delete', KEY, '/f']);
  for (const [name, value] of Object.entries(values)) {
    const r = wine(ctx, ['reg', 'add', KEY, '/v', name, '/t', 'REG_SZ', '/d', value, '/f']);
    assert.is(r.code, 0, `reg add ${name}: ${r.out}`);
  }
}

interface Service {
  child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

/** gatehouse-service.exe --console; started once its pipe answers (or it has exited). */
async function startService(ctx: Ctx): Promise<Service> {
  // fixme+advapi: Wine traces each ReportEventW call (with its event ID) on standard error.
  const child = spawn(WINE, ['gatehouse-service.exe', '--console'], { env: wineEnv(ctx.prefix, '-all,fixme+advapi'), cwd: WIN64, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 30_000;
  while (!/event 1000 /.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return {
    child,
    output: () => out.replace(/\r/g, ''),
    stop: async () => {
      child.stdin!.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

function pipeClient(ctx: Ctx, args: string[]): { code: number | null; out: string } {
  return wine(ctx, ['gatehouse-pipe-client.exe', '--pipe', ctx.pipe, ...args]);
}

const codeNow = (seed: Buffer) => hotp(seed, totpStep(Date.now(), 30), 6);

const S = suite<Ctx>('native Windows service under Wine');

S.before(async (ctx) => {
  const missing = ['x86_64-w64-mingw32-g++-posix', 'cmake', 'openssl'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (spawnSync('sh', ['-c', 'command -v wine64 || test -x /usr/lib/wine/wine64']).status !== 0) missing.push('wine64');
  if (missing.length > 0) throw new Error(`missing tools: ${missing.join(', ')} (Debian packages mingw-w64, cmake, openssl, wine64)`);
  const build = spawnSync('bash', [join(ROOT, 'scripts', 'build-native.sh')], { encoding: 'utf8', timeout: 600_000 });
  assert.is(build.status, 0, `scripts/build-native.sh failed:\n${build.stdout}\n${build.stderr}`);
  ctx.dir = await tempDir('gatehouse-native-service-');
  ctx.prefix = process.env['GATEHOUSE_WINEPREFIX'] ?? join(BUILD, 'wine-prefix');
  if (!existsSync(join(ctx.prefix, 'system.reg'))) {
    const boot = spawnSync(WINE, ['wineboot', '--init'], { env: wineEnv(ctx.prefix), timeout: 240_000, encoding: 'utf8' });
    assert.is(boot.status, 0, `wineboot: ${boot.stderr}`);
  }
  ctx.ca = await makeTestCa(join(ctx.dir, 'ca'));
  ctx.other = await makeTestCa(join(ctx.dir, 'other'));
  // Wine's WinHTTP compares the host name with DNS names only (not IP addresses): the appliance
  // is reached as localhost.
  const cert = await ctx.ca.issue('appliance', { server: true, dns: ['localhost'] });
  ctx.httpsPort = await freeTcpPort();
  ctx.gh = await startAppliance({ args: ['--tls-cert', cert.cert, '--tls-key', cert.key, '--https-port', String(ctx.httpsPort), '--port-acct', '0'] });
  ctx.token = (await ctx.gh.cli(['agent-token', 'create', 'PC-7'])).stdout.trim();
  const e = await ctx.gh.cli(['totp', 'enroll', 'wanda']);
  ctx.seed = base32Decode(new URL(e.stdout.trim()).searchParams.get('secret')!);
  writeFileSync(join(ctx.dir, 'agent.token'), `${ctx.token}\n`, { mode: 0o600 });
  ctx.pipe = `\\\\.\\pipe\\gatehouse-svc-${process.pid}`;
});

S.after(async (ctx) => {
  await ctx.gh?.stop();
  if (ctx.dir) await rm(ctx.dir, { recursive: true, force: true });
});

const settings = (ctx: Ctx, extra: Record<string, string> = {}) => ({
  ApplianceUrl: `https://localhost:${ctx.httpsPort}/`,
  TokenFile: winPath(join(ctx.dir, 'agent.token')),
  CaFile: winPath(ctx.ca.cert),
  PipeName: ctx.pipe.split('\\').pop()!,
  ...extra,
});

S('serves the pipe with SYSTEM-only access; a logon with a code goes to the appliance over HTTPS and is approved; Event Log records with their IDs', async (ctx) => {
  setRegistry(ctx, settings(ctx));
  const svc = await startService(ctx);
  try {
    assert.match(svc.output(), /event 1000 \| \\\\\.\\pipe\\gatehouse-svc-\d+ \| https:\/\/localhost:/, svc.output());
    const acl = wine(ctx, ['gatehouse-pipe-acl.exe', ctx.pipe]);
    assert.is(acl.out.trim(), 'D:P(A;;GA;;;SY)', acl.out);
    const health = pipeClient(ctx, ['health']);
    assert.equal(JSON.parse(health.out.trim()), { id: 1, status: 'ok', message: 'Service Status: OK' });
    const asked = pipeClient(ctx, ['authenticate', '--user', 'wanda', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'logon']);
    assert.is(JSON.parse(asked.out.trim())['result'], 'code_required', asked.out);
    const approved = pipeClient(ctx, ['authenticate', '--user', 'wanda', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'logon', '--code', codeNow(ctx.seed)]);
    assert.is(JSON.parse(approved.out.trim())['result'], 'approved', approved.out);
    const unknown = pipeClient(ctx, ['authenticate', '--user', 'nobody', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'rdp']);
    assert.is(JSON.parse(unknown.out.trim())['result'], 'unknown_user');
    // The appliance audited them as this machine's agent.
    const audit = await ctx.gh.cli(['audit', 'export']);
    assert.match(audit.stdout, /"event":"windows.auth","outcome":"accept","username":"wanda","reason":"totp_ok","source":"agent:PC-7:PC-7"/);
    // A request of an unknown op: an error reply with its id, the connection closed, and the
    // service serves the next one.
    const bad = spawnSync(WINE, ['gatehouse-pipe-client.exe', '--pipe', ctx.pipe, 'batch'], { env: wineEnv(ctx.prefix), cwd: WIN64, input: '{"op":"shutdown"}\n', encoding: 'utf8', timeout: 30_000 });
    assert.match(bad.stdout.replace(/\r/g, ''), /"result":"error","message":"unknown op \\"shutdown\\""/);
    assert.is(JSON.parse(pipeClient(ctx, ['health']).out.trim())['status'], 'ok');
  } finally {
    assert.is(await svc.stop(), 0, svc.output());
  }
  const out = svc.output();
  assert.match(out, /event 1010 \| https:\/\/localhost:/);
  assert.match(out, /event 1100 \| CORP\\wanda \| PC-7 \| logon/);
  assert.match(out, /event 1103 \| CORP\\nobody \| PC-7 \| rdp/);
  assert.match(out, /event 1001/);
  // What reached the Event Log API: ReportEventW with the IDs of messages.mc (severity bits included).
  for (const id of ['0x400003e8', '0x400003f2', '0x4000044c', '0x8000044f', '0x400003e9']) assert.match(out, new RegExp(`ReportEventW \\([^)]*${id}`), `ReportEventW ${id}`);
  // No token in anything the service wrote.
  assert.not.match(out, ctx.token);
});

S('the appliance certificate from another CA is refused: health says the API cannot be reached, once in the Event Log', async (ctx) => {
  setRegistry(ctx, settings(ctx, { CaFile: winPath(ctx.other.cert) }));
  const svc = await startService(ctx);
  try {
    const h = JSON.parse(pipeClient(ctx, ['health']).out.trim());
    assert.is(h.status, 'api_unreachable');
    assert.is(h.message, 'service can not connect to API. Check network connectivity and API parameters.');
    const a = JSON.parse(pipeClient(ctx, ['authenticate', '--user', 'wanda', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'logon']).out.trim());
    assert.is(a.result, 'error');
  } finally {
    await svc.stop();
  }
  assert.match(svc.output(), /event 1011 \| .*not from the configured CA/);
  assert.is((svc.output().match(/event 1011 /g) ?? []).length, 1, 'a health change is reported once');
});

S('a bad setting stops the service with the value named (event 1002); a missing token too', async (ctx) => {
  setRegistry(ctx, settings(ctx, { ApplianceUrl: `http://localhost:${ctx.httpsPort}/` }));
  let svc = await startService(ctx);
  assert.is(await svc.stop(), 2);
  assert.match(svc.output(), /event 1002 \| ApplianceUrl: must start with https:\/\//);
  setRegistry(ctx, settings(ctx, { TokenFile: winPath(join(ctx.dir, 'no-such-file')) }));
  svc = await startService(ctx);
  assert.is(await svc.stop(), 2);
  assert.match(svc.output(), /event 1002 \| TokenFile: cannot read/);
});

S.run();
