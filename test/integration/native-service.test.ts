// The native Windows service (gatehouse-service.exe, issue 17) under Debian's wine64, in front of a
// real `gatehouse serve` over HTTPS: it reads its settings from the registry (written with
// `wine reg add`), serves the logon pipe, and a Windows program (gatehouse-pipe-client.exe) logs
// on through it. Checked: the pipe's security descriptor read back from the pipe itself, a full
// logon with a code, health changes, a refused certificate, bad frames, a bad setting that stops
// the service, and the Event Log calls with their IDs (Wine's ReportEventW only traces them: the
// trace is what is checked; Event Viewer rendering stays on the manual checklist).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
  // The default state folder (%ProgramData%\Gatehouse) was made or secured without a problem.
  assert.not.match(out, /event 1303/);
  // What reached the Event Log API: ReportEventW with the IDs of messages.mc (severity bits included).
  for (const id of ['0x400003e8', '0x400003f2', '0x4000044c', '0x8000044f', '0x400003e9']) assert.match(out, new RegExp(`ReportEventW \\([^)]*${id}`), `ReportEventW ${id}`);
  // No token in anything the service wrote.
  assert.not.match(out, ctx.token);
});

S('offline logon: an online TOTP sign-in leaves sealed codes; with the appliance stopped the code is asked and accepted once; the audit learns of it when the appliance is back', async (ctx) => {
  // An appliance of its own, with one day of offline codes, on a port that stays the same across
  // its restart.
  const dataDir = await tempDir('gatehouse-offline-');
  const cert = await ctx.ca.issue('offline-appliance', { server: true, dns: ['localhost'] });
  const httpsPort = await freeTcpPort();
  const args = ['--tls-cert', cert.cert, '--tls-key', cert.key, '--https-port', String(httpsPort), '--port-acct', '0', '--windows-offline-days', '1'];
  let gh: Appliance | undefined = await startAppliance({ dataDir, args });
  const token = (await gh.cli(['agent-token', 'create', 'LAPTOP-3'])).stdout.trim();
  writeFileSync(join(ctx.dir, 'laptop.token'), `${token}\n`, { mode: 0o600 });
  const seed = base32Decode(new URL((await gh.cli(['totp', 'enroll', 'olga'])).stdout.trim()).searchParams.get('secret')!);
  const stateFile = join(ctx.dir, 'offline.bin');
  setRegistry(ctx, settings(ctx, { ApplianceUrl: `https://localhost:${httpsPort}/`, TokenFile: winPath(join(ctx.dir, 'laptop.token')), OfflineStateFile: winPath(stateFile) }));
  const logon = (code?: string) => {
    const r = pipeClient(ctx, ['authenticate', '--user', 'olga', '--domain', 'CORP', '--workstation', 'LAPTOP-3', '--scenario', 'logon', ...(code !== undefined ? ['--code', code] : [])]);
    return JSON.parse(r.out.trim()) as { result: string; message: string };
  };
  // A code no step near now has.
  const wrong = () => {
    const now = totpStep(Date.now(), 30);
    const near = new Set([-2, -1, 0, 1, 2].map((d) => hotp(seed, now + d, 6)));
    return ['000000', '111111', '222222'].find((c) => !near.has(c))!;
  };
  const step = totpStep(Date.now(), 30);
  let offStep = step + 1; // the step of the offline sign-in, set when it happens
  let svc = await startService(ctx);
  try {
    // Online: approved at once; the codes follow and are sealed into the state file.
    assert.is(logon(hotp(seed, step, 6)).result, 'approved');
    const deadline = Date.now() + 20_000;
    while (!(existsSync(stateFile) && statSync(stateFile).size > 2880 * 32) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(existsSync(stateFile), `no offline state file:\n${svc.output()}`);
    const sealed = readFileSync(stateFile);
    assert.ok(sealed.length > 2880 * 32, `state file of ${sealed.length} bytes`);
    assert.not.ok(sealed.includes('GHOFL1') || sealed.includes('corp\\olga'), 'the state file is not sealed');

    // The appliance goes away (a laptop off the network).
    await gh.stop();
    gh = undefined;
    const asked = logon();
    assert.is(asked.result, 'code_required');
    assert.match(asked.message, /cannot be reached.*sign in offline/);
    // The code of the step now, or of the next one while now is still the step used online. (Not
    // step + 1 as such: Wine's start and the wait for the state file can take the clock two steps
    // past it on a busy machine, out of the service's window.)
    offStep = Math.max(totpStep(Date.now(), 30), step + 1);
    assert.is(logon(hotp(seed, offStep, 6)).result, 'approved');
    const again = logon(hotp(seed, offStep, 6));
    assert.is(again.result, 'denied', 'a code works once offline too');
    // Someone without codes on this machine: the appliance's absence, as before.
    const other = JSON.parse(pipeClient(ctx, ['authenticate', '--user', 'wanda', '--domain', 'CORP', '--workstation', 'LAPTOP-3', '--scenario', 'logon', '--code', '123456']).out.trim());
    assert.equal(other, { id: 1, result: 'error', message: 'service can not connect to API. Check network connectivity and API parameters.' });
  } finally {
    assert.is(await svc.stop(), 0, svc.output());
  }
  let out = svc.output();
  assert.match(out, /event 1300 \| CORP\\olga \| LAPTOP-3 \| logon/);
  assert.match(out, /event 1302 \| CORP\\olga \| LAPTOP-3 \| logon/);
  for (const id of ['0x40000514', '0x80000516']) assert.match(out, new RegExp(`ReportEventW \\([^)]*${id}`), `ReportEventW ${id}`);

  // A restart keeps the codes and what was used (the state is read back from the sealed file).
  svc = await startService(ctx);
  try {
    assert.is(logon(hotp(seed, offStep, 6)).result, 'denied', 'the used step stays used across a restart');
    for (let i = 0; i < 2; i++) assert.is(logon(wrong()).result, 'denied');
    const locked = logon(wrong());
    assert.is(locked.result, 'locked', 'five wrong codes lock offline logon');
    assert.match(locked.message, /locked/);
    assert.is(logon(hotp(seed, offStep, 6)).result, 'locked');

    // The appliance is back: the next answer from it carries the report, and the audit has it.
    gh = await startAppliance({ dataDir, args });
    assert.is(JSON.parse(pipeClient(ctx, ['health']).out.trim())['status'], 'ok');
    const rows = (await gh.cli(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const offline = rows.filter((r) => (r['details'] as Record<string, unknown> | null)?.['offline'] === true);
    assert.equal(offline.map((r) => [r['username'], r['reason']]), [
      ['olga', 'offline_code'],
      ['olga', 'offline_code_wrong'],
      ['olga', 'offline_code_wrong'],
      ['olga', 'offline_code_wrong'],
      ['olga', 'offline_code_wrong'],
      ['olga', 'offline_locked'],
      ['olga', 'offline_locked'],
    ]);
    assert.ok(offline.every((r) => r['source'] === 'agent:LAPTOP-3:LAPTOP-3'));
  } finally {
    await svc.stop();
    await gh?.stop();
  }
  out = svc.output();
  assert.match(out, /event 1301 \| CORP\\olga \| LAPTOP-3 \| logon/);
  assert.not.match(out, token);
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
