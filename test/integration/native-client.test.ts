// The native side of Windows logon: scripts/build-native.sh builds native/ (incremental after the
// first run), then this checks the C++ unit tests, the DLLs' exports and static linking, the
// Windows zip, the DLL's smoke test under Debian's wine64, and gatehouse-pipe-client (the portable
// protocol client compiled with the system g++) against a small fake endpoint and against the
// live `gatehouse serve --pipe-path` endpoint. A missing tool fails with the package to install.
// The Wine smoke test drives the DLL against an in-process stand-in endpoint (a named pipe served by
// a thread of the smoke program), not against `gatehouse serve`: Wine's named pipes are not the
// Unix socket the Linux appliance serves. The 32-bit DLL is loaded under Wine only where Wine can
// run 32-bit programs; Debian's wine64 alone cannot, and then the test says so and checks what it
// can of the x86 DLL without loading it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { base32Decode, hotp, totpStep } from '../../app/mfa/otp.js';
import { ROOT, startAppliance, tempDir, type Appliance } from '../helpers/appliance.js';
import { startPushServer } from '../helpers/push-server.js';

const BUILD = join(ROOT, 'native', 'build');
const CLIENT = join(BUILD, 'linux', 'gatehouse-pipe-client');
const UNIT_TESTS = join(BUILD, 'linux', 'gatehouse-native-tests');
const DLL64 = join(BUILD, 'win64', 'gatehouse-credential-provider-x64.dll');
const DLL32 = join(BUILD, 'win32', 'gatehouse-credential-provider-x86.dll');
const SMOKE32 = join(BUILD, 'win32', 'gatehouse-smoke.exe');
const ZIP = join(ROOT, 'dist', 'windows', 'gatehouse-credential-provider.zip');
const MSI = join(ROOT, 'dist', 'windows', 'gatehouse-windows.msi');
const PROVIDER_CLSID = '{34b716b4-1ae3-4c3e-901a-ad00b2ee3e3f}';
const FILTER_CLSID = '{ef7948f1-ea18-4fe5-adbb-69a87acd7f21}';

const TEXT_OK = 'Service Status: OK';
const TEXT_NO_SERVICE = 'health-check request timed out. Is the background service running?';
const TEXT_UNREACHABLE = 'service can not connect to API. Check network connectivity and API parameters.';
const TEXT_API_TIMEOUT = 'API call timed out.';
const NOT_ENFORCED = ' (not enforced: other sign-in options are shown)';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], opts: { stdin?: string; timeoutMs?: number; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.on('error', () => undefined); // the child may exit without reading its input
    child.stdin.end(opts.stdin ?? '');
  });
}

function client(args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<Run> {
  return run(CLIENT, args, opts);
}

/** Debian tools this test needs, with the package that brings each. */
const TOOLS: [string, string][] = [
  ['cmake', 'cmake'],
  ['g++', 'g++'],
  ['make', 'make'],
  ['x86_64-w64-mingw32-g++-posix', 'mingw-w64'],
  ['i686-w64-mingw32-g++-posix', 'mingw-w64'],
  ['x86_64-w64-mingw32-objdump', 'mingw-w64'],
  ['zip', 'zip'],
  ['wixl', 'wixl'],
  ['msiinfo', 'msitools'],
];

function missingTools(): string[] {
  const missing = TOOLS.filter(([tool]) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0).map(([tool, pkg]) => `${tool} (Debian package ${pkg})`);
  const wine = spawnSync('sh', ['-c', 'command -v wine64 || test -x /usr/lib/wine/wine64']).status === 0;
  if (!wine) missing.push('wine64 (Debian package wine64)');
  return missing;
}

/** File names in a zip archive, read from its central directory. */
function zipEntries(file: string): Map<string, Buffer | undefined> {
  const buf = readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: no end of central directory`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer | undefined>();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory entry`);
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    let data: Buffer | undefined;
    if (method === 0) data = buf.subarray(dataAt, dataAt + compressed);
    else if (method === 8) data = inflateRawSync(buf.subarray(dataAt, dataAt + compressed));
    out.set(name, data);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

// ---- a small fake endpoint speaking protocol v1, for what the live one cannot be made to say ----

interface Fake {
  path: string;
  server: Server;
  close(): Promise<void>;
}

type Handler = (req: Record<string, unknown>, sock: Socket) => Record<string, unknown> | null;

function frame(obj: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(obj), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
}

async function startFake(dir: string, name: string, handler: Handler, opts: { reverse?: number; split?: boolean } = {}): Promise<Fake> {
  const path = join(dir, name);
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    const held: Buffer[] = [];
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        const n = buf.readUInt32LE(0);
        const req = JSON.parse(buf.toString('utf8', 4, 4 + n)) as Record<string, unknown>;
        buf = buf.subarray(4 + n);
        const reply = handler(req, sock);
        if (reply === null) continue;
        const f = frame(reply);
        if (opts.reverse) {
          // Hold replies until `reverse` arrived, then answer newest first.
          held.push(f);
          if (held.length === opts.reverse) for (const h of held.reverse()) write(sock, h, opts.split);
        } else {
          write(sock, f, opts.split);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const pending = new WeakMap<Socket, Promise<void>>();

/** Writes a frame; with `split`, one byte per write, frames kept in order on the socket. */
function write(sock: Socket, f: Buffer, split?: boolean): void {
  if (!split) {
    sock.write(f);
    return;
  }
  const previous = pending.get(sock) ?? Promise.resolve();
  pending.set(
    sock,
    previous.then(async () => {
      for (let i = 0; i < f.length && !sock.destroyed; i++) {
        sock.write(f.subarray(i, i + 1));
        await new Promise((r) => setImmediate(r));
      }
    }),
  );
}

function code(seed: Buffer, offset = 0): string {
  return hotp(seed, totpStep(Date.now(), 30) + offset, 6);
}

// ---- the build ----

const N = suite<{ missing: string[]; build?: Run; smoke?: Run }>('native: build, unit tests, DLL, zip, Wine smoke test');

N.before(async (ctx) => {
  ctx.missing = missingTools();
  if (ctx.missing.length === 0) ctx.build = await run('bash', [join(ROOT, 'scripts', 'build-native.sh')], { timeoutMs: 600_000 });
});

function requireBuild(ctx: { missing: string[]; build?: Run; smoke?: Run }): void {
  assert.equal(ctx.missing, [], `missing tools, install them: ${ctx.missing.join(', ')}`);
  assert.ok(ctx.build, 'build did not run');
  assert.is(ctx.build!.code, 0, `scripts/build-native.sh failed:\n${ctx.build!.stdout}\n${ctx.build!.stderr}`);
}

N('scripts/build-native.sh builds the Linux tools, both DLLs and the zip', (ctx) => {
  requireBuild(ctx);
  for (const f of [CLIENT, UNIT_TESTS, DLL64, DLL32, ZIP]) assert.ok(existsSync(f), `${f} missing after the build`);
  assert.match(ctx.build!.stdout, /exports ok: gatehouse-credential-provider-x64\.dll/);
  assert.match(ctx.build!.stdout, /exports ok: gatehouse-credential-provider-x86\.dll/);
});

N('the native unit tests pass (framing, JSON, messages, client, backoff, KERB packing, policy)', async (ctx) => {
  requireBuild(ctx);
  const r = await run(UNIT_TESTS, [], { timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const m = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.is(m![2], '0', r.stdout);
  assert.ok(Number(m![1]) >= 40, `only ${m![1]} native tests ran`);
  for (const t of ['frame_decoder_accepts_65536_rejects_65537_at_header', 'json_surrogate_escapes', 'backoff_schedule', 'kerb_pack_relative_offsets_both_widths']) {
    assert.match(r.stdout, new RegExp(`^ok +${t}$`, 'm'), `${t} did not pass`);
  }
});

N('both DLLs export the four COM entry points and need no MinGW runtime DLL', async (ctx) => {
  requireBuild(ctx);
  for (const [dll, format] of [
    [DLL64, 'pei-x86-64'],
    [DLL32, 'pei-i386'],
  ] as const) {
    const r = await run('x86_64-w64-mingw32-objdump', ['-p', dll]);
    assert.is(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`file format ${format}`), `${dll} is not ${format}`);
    for (const sym of ['DllGetClassObject', 'DllCanUnloadNow', 'DllRegisterServer', 'DllUnregisterServer']) {
      assert.match(r.stdout, new RegExp(`\\] ${sym}$`, 'm'), `${dll} does not export ${sym}`);
    }
    const imports = [...r.stdout.matchAll(/DLL Name: (\S+)/g)].map((x) => x[1]!.toLowerCase());
    assert.ok(imports.includes('kernel32.dll') && imports.includes('secur32.dll'), imports.join(' '));
    assert.not.ok(imports.some((d) => /libstdc|libgcc|libwinpthread/.test(d)), `not statically linked: ${imports.join(' ')}`);
  }
});

/** One table of an MSI as msiinfo exports it: rows of tab-separated columns (the 3 header lines dropped). */
async function msiTable(file: string, table: string): Promise<string[][]> {
  const r = await run('msiinfo', ['export', file, table]);
  assert.is(r.code, 0, `msiinfo export ${table}: ${r.stderr}`);
  return r.stdout.replace(/\r/g, '').split('\n').slice(3).filter((l) => l !== '').map((l) => l.split('\t'));
}

N('the MSI (wixl): the service installed and started as LocalSystem, both providers registered, silent-install properties kept across upgrades, the Event Log source, a launch condition', async (ctx) => {
  requireBuild(ctx);
  const tables = (await run('msiinfo', ['tables', MSI])).stdout.split(/\s+/);
  for (const t of ['File', 'Component', 'Registry', 'ServiceInstall', 'ServiceControl', 'LaunchCondition', 'Upgrade', 'AppSearch', 'RegLocator', 'CustomAction']) assert.ok(tables.includes(t), `no ${t} table`);
  const files = (await msiTable(MSI, 'File')).map((r) => r[2]);
  assert.equal(files.sort(), ['gatehouse-credential-provider-x64.dll', 'gatehouse-credential-provider-x86.dll', 'gatehouse-service.exe']);
  const service = (await msiTable(MSI, 'ServiceInstall'))[0]!;
  // ServiceInstall: Name, DisplayName, ServiceType (0x10 own process), StartType (2 auto), ..., StartName.
  assert.is(service[1], 'GatehouseService');
  assert.is(service[3], '16');
  assert.is(service[4], '2');
  assert.is(service[8], 'LocalSystem');
  const control = (await msiTable(MSI, 'ServiceControl'))[0]!;
  assert.is(control[1], 'GatehouseService');
  // Event: start on install (1), stop on install and uninstall (2 | 32), delete on uninstall (128).
  assert.is(Number(control[2]) & (1 | 2 | 32 | 128), 1 | 2 | 32 | 128);
  const registry = await msiTable(MSI, 'Registry');
  const value = (key: string, name: string) => registry.find((r) => r[2] === key && r[3] === name)?.[4];
  assert.is(value('SOFTWARE\\Gatehouse\\Service', 'ApplianceUrl'), '[APPLIANCEURL]');
  assert.is(value('SOFTWARE\\Gatehouse\\Service', 'TokenFile'), '[TOKENFILE]');
  assert.is(value('SOFTWARE\\Gatehouse\\Service', 'CaFile'), '[CAFILE]');
  // Numbers as text: an upgrade reads them back as they are (the provider reads REG_SZ digits).
  assert.is(value('SOFTWARE\\Gatehouse', 'RdpOnly'), '[RDPONLY]');
  assert.is(value('SOFTWARE\\Gatehouse', 'HideOtherProviders'), '[HIDEOTHERPROVIDERS]');
  assert.is(value('SOFTWARE\\Gatehouse', 'ExcludedAccounts'), '[EXCLUDEDACCOUNTS]');
  assert.is(value('SOFTWARE\\Gatehouse', 'ChangePasswordUrl'), '[CHANGEPASSWORDURL]');
  assert.is(value('SOFTWARE\\Gatehouse\\Service', 'OfflineLogon'), '[OFFLINELOGON]');
  assert.is(value('SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\Gatehouse', 'EventMessageFile'), '[INSTALLDIR]gatehouse-service.exe');
  // The provider and its filter, registered for 64-bit, and the provider for 32-bit programs.
  const inproc = registry.filter((r) => r[2] === `SOFTWARE\\Classes\\CLSID\\${PROVIDER_CLSID}\\InprocServer32` && r[3] === '');
  assert.equal(inproc.map((r) => r[4]).sort(), ['[#ProviderDll32]', '[#ProviderDll64]']);
  assert.ok(registry.some((r) => r[2] === `SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Provider Filters\\${FILTER_CLSID}`));
  // Components: the 32-bit one is not 64-bit (attribute 256), so it writes the WOW64 view.
  const components = await msiTable(MSI, 'Component');
  const attrs = (id: string) => Number(components.find((c) => c[0] === id)?.[3]);
  assert.is(attrs('Provider32') & 256, 0);
  assert.is(attrs('Provider64') & 256, 256);
  // Without the appliance URL and token file (and not already installed), the install stops.
  const launch = await msiTable(MSI, 'LaunchCondition');
  assert.ok(launch.some((l) => l[0] === 'Installed OR (APPLIANCEURL AND TOKENFILE)'));
  // Upgrades: the same UpgradeCode finds the installed version, and each setting is read back.
  const property = await msiTable(MSI, 'Property');
  assert.is(property.find((p) => p[0] === 'UpgradeCode')?.[1]?.toLowerCase(), '{2401e62c-9bc7-467e-8486-47738c619405}');
  const locators = (await msiTable(MSI, 'RegLocator')).map((r) => r[3]).sort();
  assert.equal(locators, ['ApplianceUrl', 'CaFile', 'CertSha256', 'ChangePasswordUrl', 'ExcludedAccounts', 'HideOtherProviders', 'OfflineLogon', 'RdpOnly', 'TokenFile']);
  const actions = await msiTable(MSI, 'CustomAction');
  assert.ok(actions.some((a) => a[0] === 'KeepApplianceUrl' && a[2] === 'APPLIANCEURL' && a[3] === '[SAVED_APPLIANCEURL]'));
  // Every setting is read back after AppSearch found it and before the launch condition checks
  // APPLIANCEURL and TOKENFILE (an upgrade without properties must pass it), in both sequences.
  for (const table of ['InstallUISequence', 'InstallExecuteSequence']) {
    const rows = await msiTable(MSI, table);
    const at = (name: string) => Number(rows.find((r) => r[0] === name)?.[2]);
    for (const a of actions.filter((x) => x[0]!.startsWith('Keep') || x[0]!.startsWith('Default'))) {
      assert.ok(at('AppSearch') < at(a[0]!) && at(a[0]!) < at('LaunchConditions'), `${table}: ${a[0]} at ${at(a[0]!)}, not between AppSearch and LaunchConditions`);
    }
  }
  // Settings with a default: kept on upgrade, else the default (HIDEOTHERPROVIDERS 1, RDPONLY 0,
  // OFFLINELOGON 1: as the appliance's policy decides), in that order.
  const sequence = await msiTable(MSI, 'InstallExecuteSequence');
  const order = (name: string) => Number(sequence.find((r) => r[0] === name)?.[2]);
  for (const [prop, keep, dflt, value] of [['RDPONLY', 'KeepRdpOnly', 'DefaultRdpOnly', '0'], ['HIDEOTHERPROVIDERS', 'KeepHideOther', 'DefaultHideOther', '1'], ['OFFLINELOGON', 'KeepOfflineLogon', 'DefaultOfflineLogon', '1']] as const) {
    assert.ok(actions.some((a) => a[0] === keep && a[2] === prop && a[3] === `[SAVED_${prop}]`), keep);
    assert.ok(actions.some((a) => a[0] === dflt && a[2] === prop && a[3] === value), dflt);
    assert.is(sequence.find((r) => r[0] === dflt)?.[1], `NOT ${prop}`);
    assert.ok(order(keep) < order(dflt) && order('AppSearch') < order(keep), `${keep} after AppSearch, before ${dflt}`);
  }
  // Uninstall removes what the service wrote under %ProgramData%\Gatehouse (InstallMode 2).
  const removed = (await msiTable(MSI, 'RemoveFile')).map((r) => [r[1], r[2], r[3], r[4]]);
  assert.equal(removed.sort(), [
    ['ServiceData', '', 'DATADIR', '2'],
    ['ServiceData', 'offline.bin', 'DATADIR', '2'],
    ['ServiceData', 'offline.bin.new', 'DATADIR', '2'],
  ]);
  assert.ok((await msiTable(MSI, 'Directory')).some((d) => d[0] === 'DATADIR' && d[1] === 'CommonAppDataFolder'));
  // The files in the MSI are the ones just built.
  const dir = await tempDir('gatehouse-msi-');
  try {
    const x = await run('msiextract', ['-C', dir, MSI]);
    assert.is(x.code, 0, x.stderr);
    const extracted = x.stdout.split('\n').filter((l) => l !== '');
    for (const [name, built] of [['gatehouse-service.exe', join(BUILD, 'win64', 'gatehouse-service.exe')], ['gatehouse-credential-provider-x64.dll', DLL64], ['gatehouse-credential-provider-x86.dll', DLL32]] as const) {
      const at = extracted.find((l) => l.endsWith(`/${name}`));
      assert.ok(at, `${name} not extracted: ${x.stdout}`);
      assert.ok(readFileSync(join(dir, at!)).equals(readFileSync(built)), `${name} in the MSI is not the one built`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

N('the Windows zip holds both DLLs, the scripts, the .reg files, the agent service and the README', (ctx) => {
  requireBuild(ctx);
  const entries = zipEntries(ZIP);
  const names = [...entries.keys()].sort();
  for (const f of [
    'gatehouse-credential-provider-x64.dll',
    'gatehouse-credential-provider-x86.dll',
    'register.bat',
    'unregister.bat',
    'register32.bat',
    'unregister32.bat',
    'gatehouse-credential-provider.reg',
    'gatehouse-credential-provider-remove.reg',
    'gatehouse-agent.xml',
    'README.md',
    'gatehouse-pipe-client.exe',
    'gatehouse-service.exe',
  ]) {
    assert.ok(names.includes(f), `${f} not in the zip: ${names.join(', ')}`);
  }
  const text = (n: string) => entries.get(n)!.toString('utf8');
  assert.ok(text('gatehouse-credential-provider.reg').startsWith('Windows Registry Editor Version 5.00\r\n'));
  for (const k of [
    `[HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\CLSID\\${PROVIDER_CLSID}\\InprocServer32]`,
    `[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Providers\\${PROVIDER_CLSID}]`,
    `[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Provider Filters\\${FILTER_CLSID}]`,
  ]) {
    assert.ok(text('gatehouse-credential-provider.reg').includes(k), `.reg lacks ${k}`);
  }
  assert.match(text('register.bat'), /System32\\regsvr32\.exe/);
  assert.match(text('register32.bat'), /SysWOW64\\regsvr32\.exe/);
  assert.match(text('unregister32.bat'), /SysWOW64\\regsvr32\.exe/);
  const service = text('gatehouse-agent.xml');
  assert.match(service, /<onfailure action="restart"/);
  assert.match(service, / agent --appliance /);
  // The token goes through the environment, never the command line (other users can read argv).
  const args = /<arguments>([^<]*)<\/arguments>/.exec(service);
  assert.ok(args, 'gatehouse-agent.xml has no <arguments>');
  assert.not.match(args![1]!, /token/i);
  assert.not.ok(service.includes('--agent-token'), 'gatehouse-agent.xml mentions --agent-token');
  assert.match(service, /<env name="GATEHOUSE_AGENT_TOKEN" value="[^"]+"\s*\/>/);
  assert.match(service, /icacls gatehouse-agent\.xml \/inheritance:r \/grant:r Administrators:F SYSTEM:F/);
  const readme = text('README.md');
  for (const s of ['gatehouse agent --appliance', 'GATEHOUSE_AGENT_TOKEN', 'HideOtherProviders', 'Safe mode', 'ExcludedAccounts', 'FailMode', TEXT_NO_SERVICE, NOT_ENFORCED.trim()]) {
    assert.ok(readme.includes(s), `README lacks ${s}`);
  }
  assert.not.match(readme, /--agent-token (TOKEN|gha_)/, 'README shows a token on a command line');
  // HideOtherProviders defaults to on in the settings table.
  assert.match(readme, /^\| `HideOtherProviders` \| REG_DWORD \| 1 \|/m);
  // The DLLs in the zip are the ones just built.
  assert.ok(entries.get('gatehouse-credential-provider-x64.dll')!.equals(readFileSync(DLL64)), 'x64 DLL in the zip differs from the build');
});

/** The part of `scripts/build-native.sh smoke`'s output about one DLL ('x64' or 'x86'). */
function smokeSection(out: string, arch: 'x64' | 'x86'): string {
  const start = out.indexOf(`--- ${arch}: `);
  if (start < 0) return '';
  const next = out.indexOf('\n--- ', start + 1);
  return next < 0 ? out.slice(start) : out.slice(start, next);
}

N('the x64 DLL under wine64 against an in-process stand-in endpoint (a named pipe served by the smoke program, not gatehouse serve): class factory, provider, CPUS_LOGON, fields, a logon with a code, the Change password link, HideOtherProviders on by default, "enforced" in every request', async (ctx) => {
  requireBuild(ctx);
  ctx.smoke = await run('bash', [join(ROOT, 'scripts', 'build-native.sh'), 'smoke'], { timeoutMs: 420_000 });
  const r = ctx.smoke;
  assert.is(r.code, 0, `smoke test failed:\n${r.stdout}\n${r.stderr}`);
  const x64 = smokeSection(r.stdout, 'x64');
  assert.match(x64, /^Gatehouse credential provider smoke test \(x64, Wine /m);
  for (const line of [
    'ok    in-process stand-in endpoint (a thread of this program) listening on \\\\.\\pipe\\gatehouse-smoke-',
    'ok    DllRegisterServer writes the default HideOtherProviders = 1 (REG_DWORD)',
    'ok    DllGetClassObject(CLSID_GatehouseProvider)',
    'ok    CreateInstance(ICredentialProvider)',
    'ok    SetUsageScenario(CPUS_LOGON)',
    'ok    GetFieldDescriptorCount = 8',
    'ok    no ChangePasswordUrl: the "Change password" link is hidden and does nothing',
    'ok    ChangePasswordUrl set: the "Change password" link is on the tile',
    'ok    at logon the link shows the address: "To change your password, go to https://sspr.corp.example/reset on your phone or another computer."',
    'ok    ChangePasswordUrl not https: no link',
    'ok    GetCredentialAt(0)',
    `ok    status line: ${TEXT_OK} (from the in-process stand-in endpoint over a named pipe)`,
    'ok    HideOtherProviders absent (on by default): the exact status text, no "not enforced"',
    'ok    alice with the right code: credential returned',
    'ok    UNICODE_STRING buffers are offsets into the serialization',
    'ok    HideOtherProviders absent: every authenticate request carries "enforced":true',
    `ok    HideOtherProviders=0: status line "${TEXT_OK}${NOT_ENFORCED}"`,
    'ok    HideOtherProviders=0: the authenticate request carries "enforced":false',
    'ok    credential prompt: "enforced":false (other tiles are never hidden there)',
    'ok    filter not registered: the authenticate request carries "enforced":false',
    'ok    HideOtherProviders absent (default on): only Gatehouse left at CPUS_LOGON',
    'ok    HideOtherProviders on, Gatehouse provider missing: nothing hidden (no lockout)',
    'ok    HideOtherProviders on: CredUI never filtered',
    'ok    HideOtherProviders=0: nothing hidden at CPUS_LOGON',
    'ok    the user name field holds what was set last ("bob")',
    'ok    nina, number-matched and approved: credential returned',
    'ok    number matching: the status line showed "On your phone, pick 47 to approve this sign-in." while waiting',
    'ok    number matching: the authenticate request carries "number_matching":true',
  ]) {
    assert.ok(x64.includes(line), `x64 smoke output lacks "${line}":\n${r.stdout}`);
  }
  assert.not.match(x64, /^ {2}FAIL/m, r.stdout);
  assert.match(x64, /^\d+ passed, 0 failed$/m);
  // What crossed the pipe, as the stand-in endpoint printed it.
  assert.match(x64, /endpoint got: \{"id":1,"op":"authenticate","username":"alice",[^\n]*"code":"123456","enforced":true,"number_matching":true\}/);
  assert.match(x64, /endpoint got: \{"id":1,"op":"authenticate","username":"dave",[^\n]*"scenario":"logon","enforced":false,"number_matching":true\}/);
});

N('the x86 DLL: driven under Wine where Wine runs 32-bit programs; with Debian\'s wine64 alone it is NOT loaded, and its PE i386 headers, exports and imports (and the x86 smoke program\'s) are checked instead', async (ctx) => {
  requireBuild(ctx);
  assert.ok(ctx.smoke, 'the smoke run (previous test) did not happen');
  const x86 = smokeSection(ctx.smoke!.stdout, 'x86');
  assert.ok(x86, `no x86 section in the smoke output:\n${ctx.smoke!.stdout}`);
  const notRun = /^x86 smoke test NOT RUN: (.+)$/m.exec(x86);
  if (notRun === null) {
    // 32-bit Wine present: the same checks as the x64 DLL, in a 32-bit process.
    assert.match(x86, /^Gatehouse credential provider smoke test \(x86, Wine /m, x86);
    for (const line of [
      'ok    CreateInstance(ICredentialProvider)',
      `ok    status line: ${TEXT_OK} (from the in-process stand-in endpoint over a named pipe)`,
      'ok    alice with the right code: credential returned',
      'ok    HideOtherProviders absent: every authenticate request carries "enforced":true',
      'ok    HideOtherProviders absent (default on): only Gatehouse left at CPUS_LOGON',
    ]) {
      assert.ok(x86.includes(line), `x86 smoke output lacks "${line}":\n${x86}`);
    }
    assert.match(x86, /^\d+ passed, 0 failed$/m);
    return;
  }
  // Said out loud in the test output, not skipped silently.
  console.log(`  note: the x86 DLL was not loaded under Wine: ${notRun[1]}`);
  assert.match(notRun[1]!, /cannot run 32-bit programs/);
  for (const [file, kind] of [
    [DLL32, 'DLL'],
    [SMOKE32, 'EXE'],
  ] as const) {
    assert.ok(existsSync(file), `${file} not built`);
    // The COFF header's Machine field, read from the file itself: IMAGE_FILE_MACHINE_I386.
    const image = readFileSync(file);
    const pe = image.readUInt32LE(0x3c);
    assert.is(image.toString('latin1', pe, pe + 4), 'PE\0\0', `${file}: no PE signature`);
    assert.is(image.readUInt16LE(pe + 4), 0x014c, `${file}: Machine is 0x${image.readUInt16LE(pe + 4).toString(16)}, not 0x14c (i386)`);
    const r = await run('x86_64-w64-mingw32-objdump', ['-p', '-f', file]);
    assert.is(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes('file format pei-i386'), `${file} is not pei-i386`);
    assert.match(r.stdout, /^architecture: i386,/m, `${file}: not an i386 image`);
    assert.match(r.stdout, /^Magic\s+010b\s+\(PE32\)$/m, `${file}: not PE32`);
    const characteristics = /^Characteristics 0x([0-9a-f]+)$/m.exec(r.stdout);
    assert.ok(characteristics, r.stdout);
    const dllFlag = (parseInt(characteristics![1]!, 16) & 0x2000) !== 0; // IMAGE_FILE_DLL
    assert.is(dllFlag, kind === 'DLL', `${file}: IMAGE_FILE_DLL is ${dllFlag}`);
    const imports = [...r.stdout.matchAll(/DLL Name: (\S+)/g)].map((x) => x[1]!.toLowerCase());
    assert.not.ok(imports.some((d) => /libstdc|libgcc|libwinpthread/.test(d)), `${file} not statically linked: ${imports.join(' ')}`);
    if (kind === 'DLL') {
      // Exactly the four entry points, undecorated (regsvr32 and COM look up DllGetClassObject,
      // not _DllGetClassObject@12).
      const exported = [...r.stdout.matchAll(/^\s+\[\s*\d+\]\s+(\S+)$/gm)].map((x) => x[1]!).sort();
      assert.equal(exported, ['DllCanUnloadNow', 'DllGetClassObject', 'DllRegisterServer', 'DllUnregisterServer'], r.stdout);
      for (const dll of ['kernel32.dll', 'advapi32.dll', 'secur32.dll', 'ole32.dll']) assert.ok(imports.includes(dll), `${file} does not import ${dll}: ${imports.join(' ')}`);
    }
  }
});

N.run();

// ---- the client against a fake endpoint ----

const F = suite<{ dir: string }>('gatehouse-pipe-client against a fake endpoint');

F.before(async (ctx) => {
  ctx.dir = await tempDir('gatehouse-native-');
});

F.after(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

F('no endpoint: one line on stderr, exit 2; status shows the "background service" text', async ({ dir }) => {
  assert.ok(existsSync(CLIENT), 'gatehouse-pipe-client not built (see the build suite)');
  const r = await client(['--socket', join(dir, 'absent.sock'), 'health']);
  assert.is(r.code, 2, r.stderr);
  assert.is(r.stdout, '');
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /cannot connect to .*absent\.sock/);
  const s = await client(['--socket', join(dir, 'absent.sock'), 'status']);
  assert.is(s.code, 1);
  assert.is(s.stdout.trim(), TEXT_NO_SERVICE);
});

F('status texts for api_unreachable, api_timeout and error', async ({ dir }) => {
  for (const [status, message, text] of [
    ['ok', '', TEXT_OK],
    ['api_unreachable', 'connect ECONNREFUSED', TEXT_UNREACHABLE],
    ['api_timeout', '', TEXT_API_TIMEOUT],
    ['error', 'database is locked', 'error (database is locked)'],
    ['surprise', '', 'error (unknown status "surprise")'],
  ] as const) {
    const fake = await startFake(dir, `s-${status}.sock`, (req) => ({ id: req['id'] as number, status, message }));
    const r = await client(['--socket', fake.path, 'status']);
    await fake.close();
    assert.is(r.stdout.trim(), text, `${status}: ${r.stdout} ${r.stderr}`);
    assert.is(r.code, status === 'ok' ? 0 : 1);
  }
});

F('an endpoint that never answers: gives up at --timeout-ms with exit 3', async ({ dir }) => {
  const fake = await startFake(dir, 'silent.sock', () => null);
  const r = await client(['--socket', fake.path, '--timeout-ms', '300', 'health']);
  await fake.close();
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /no reply/);
  assert.ok(r.ms < 3000, `took ${r.ms} ms`);
  const st = await client(['--socket', join(dir, 'silent-gone.sock'), '--timeout-ms', '300', 'status']);
  assert.is(st.stdout.trim(), TEXT_NO_SERVICE);
});

F('replies split into single bytes and in reverse order are matched by id', async ({ dir }) => {
  const seen: Record<string, unknown>[] = [];
  const fake = await startFake(
    dir,
    'rev.sock',
    (req) => {
      seen.push(req);
      return req['op'] === 'health' ? { id: req['id'] as number, status: 'ok', message: '' } : { id: req['id'] as number, result: 'denied', message: `for ${String(req['username'])}` };
    },
    { reverse: 3, split: true },
  );
  const lines = ['{"op":"health"}', '{"op":"authenticate","username":"a","domain":"D","workstation":"W","scenario":"logon"}', '{"op":"authenticate","username":"b","domain":"D","workstation":"W","scenario":"rdp"}'];
  const r = await client(['--socket', fake.path, 'batch'], { stdin: lines.join('\n') + '\n' });
  await fake.close();
  assert.is(r.code, 0, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(
    out.map((o) => o['id']),
    [1, 2, 3],
  );
  assert.is(out[0]!['status'], 'ok');
  assert.is(out[1]!['message'], 'for a');
  assert.is(out[2]!['message'], 'for b');
  assert.equal(
    seen.map((s) => s['id']),
    [1, 2, 3],
  );
});

F('authenticate sends exactly the protocol fields (code only when given, escaped, never a password)', async ({ dir }) => {
  const seen: Record<string, unknown>[] = [];
  const fake = await startFake(dir, 'auth.sock', (req) => {
    seen.push(req);
    return { id: req['id'] as number, result: 'approved', message: 'Approved.' };
  });
  const r1 = await client(['--socket', fake.path, 'authenticate', '--user', 'zoë "q" \\x', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'credui']);
  const r2 = await client(['--socket', fake.path, 'authenticate', '--user', 'al', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'unlock', '--code', '123456']);
  const bad = await client(['--socket', fake.path, 'authenticate', '--user', 'al', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'console']);
  await fake.close();
  assert.is(r1.code, 0, r1.stderr);
  assert.equal(JSON.parse(r1.stdout), { result: 'approved', message: 'Approved.', id: 1 });
  assert.equal(seen[0], { id: 1, op: 'authenticate', username: 'zoë "q" \\x', domain: 'CORP', workstation: 'PC-7', scenario: 'credui' });
  assert.equal(seen[1], { id: 1, op: 'authenticate', username: 'al', domain: 'CORP', workstation: 'PC-7', scenario: 'unlock', code: '123456' });
  assert.is(r2.code, 0);
  assert.is(bad.code, 64);
  assert.match(bad.stderr, /--scenario must be logon, unlock, rdp or credui/);
  assert.is(seen.length, 2);
});

F('authenticate --enforced true|false sends the optional "enforced" boolean; without it the field is absent', async ({ dir }) => {
  const seen: Record<string, unknown>[] = [];
  const fake = await startFake(dir, 'enforced.sock', (req) => {
    seen.push(req);
    return { id: req['id'] as number, result: 'denied', message: 'no' };
  });
  const base = ['--socket', fake.path, 'authenticate', '--user', 'al', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'logon'];
  const on = await client([...base, '--enforced', 'true']);
  const off = await client([...base, '--enforced', 'false']);
  const none = await client(base);
  const bad = await client([...base, '--enforced', 'yes']);
  await fake.close();
  for (const r of [on, off, none]) assert.is(r.code, 0, r.stderr);
  assert.is(bad.code, 64);
  assert.match(bad.stderr, /--enforced needs true or false/);
  assert.is(seen.length, 3);
  assert.is(seen[0]!['enforced'], true);
  assert.is(seen[1]!['enforced'], false);
  assert.not.ok('enforced' in seen[2]!, JSON.stringify(seen[2]));
});

F('a broken reply (not JSON, oversized frame) is an error, not a hang', async ({ dir }) => {
  const server = createServer((sock) => {
    sock.once('data', () => {
      const head = Buffer.alloc(4);
      head.writeUInt32LE(65537);
      sock.end(head);
    });
  });
  const path = join(dir, 'broken.sock');
  await new Promise<void>((r) => server.listen(path, r));
  const r = await client(['--socket', path, '--timeout-ms', '2000', 'health']);
  const s = await client(['--socket', path, '--timeout-ms', '2000', 'status']);
  await new Promise<void>((r) => server.close(() => r()));
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /65537/);
  assert.match(s.stdout.trim(), /^error \(bad frame from the endpoint: frame length 65537 is over the limit of 65536\)$/);
});

F.run();

// ---- the client against the live endpoint ----

const L = suite<{ gh: Appliance; dir: string; socket: string; seed: Buffer }>('gatehouse-pipe-client against gatehouse serve --pipe-path');

L.before(async (ctx) => {
  ctx.dir = await tempDir('gatehouse-native-live-');
  ctx.socket = join(ctx.dir, 'logon.sock');
  ctx.gh = await startAppliance({ args: ['--pipe-path', ctx.socket] });
  const r = await ctx.gh.cli(['totp', 'enroll', 'tilda']);
  assert.is(r.code, 0, r.stderr);
  const uri = r.stdout.split('\n').find((l) => l.startsWith('otpauth://totp/'))!;
  ctx.seed = base32Decode(new URL(uri).searchParams.get('secret')!);
});

L.after(async (ctx) => {
  await ctx.gh?.stop();
  await rm(ctx.dir, { recursive: true, force: true });
});

L('health answers ok; status shows "Service Status: OK"', async ({ socket }) => {
  const h = await client(['--socket', socket, 'health']);
  assert.is(h.code, 0, h.stderr);
  assert.is(h.stdout.trim().split('\n').length, 1);
  const reply = JSON.parse(h.stdout) as Record<string, unknown>;
  assert.is(reply['id'], 1);
  assert.is(reply['status'], 'ok');
  const s = await client(['--socket', socket, 'status']);
  assert.is(s.code, 0, s.stderr);
  assert.is(s.stdout.trim(), TEXT_OK);
});

L('a user with no second factor is unknown_user (the default --unenrolled-users reject)', async ({ socket }) => {
  const r = await client(['--socket', socket, 'authenticate', '--user', 'nobody', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'logon']);
  assert.is(r.code, 0, r.stderr);
  const reply = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.is(reply['result'], 'unknown_user', r.stdout);
  assert.type(reply['message'], 'string');
});

L('a TOTP user: code_required without a code, denied with a wrong one, approved with the right one, in every scenario', async ({ socket, seed }) => {
  for (const scenario of ['logon', 'unlock', 'rdp', 'credui']) {
    const r = await client(['--socket', socket, 'authenticate', '--user', 'tilda', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', scenario]);
    assert.is(r.code, 0, r.stderr);
    assert.is((JSON.parse(r.stdout) as Record<string, unknown>)['result'], 'code_required', `${scenario}: ${r.stdout}`);
  }
  const valid = new Set([-1, 0, 1].map((o) => code(seed, o)));
  let wrong = '000000';
  for (let i = 0; valid.has(wrong); i++) wrong = String(i).padStart(6, '0');
  const w = await client(['--socket', socket, 'authenticate', '--user', 'tilda', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'logon', '--code', wrong]);
  assert.is((JSON.parse(w.stdout) as Record<string, unknown>)['result'], 'denied', w.stdout);
  const ok = await client(['--socket', socket, 'authenticate', '--user', 'tilda', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'rdp', '--code', code(seed)]);
  assert.is(ok.code, 0, ok.stderr);
  assert.is((JSON.parse(ok.stdout) as Record<string, unknown>)['result'], 'approved', ok.stdout);
});

L('number matching (--windows-number-matching yes): the native client prints the interim number as it arrives, then the approval; without --number-matching it is refused', async ({ dir }) => {
  const push = await startPushServer({ kind: 'approve', afterMs: 300 });
  const socket = join(dir, 'numbers.sock');
  const gh = await startAppliance({ args: ['--pipe-path', socket, '--notakey-host', push.url, '--notakey-access-id', 'win-app', '--windows-number-matching', 'yes'] });
  try {
    const args = ['--socket', socket, 'authenticate', '--user', 'pat', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'logon'];
    const r = await client([...args, '--number-matching']);
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.is(lines.length, 2, r.stdout);
    const n = lines[0]!['number'] as number;
    assert.equal(lines[0], { id: 1, result: 'number', number: n, message: `On your phone, pick ${n} to approve this sign-in.` });
    assert.is(lines[1]!['result'], 'approved');
    assert.match(String(push.creates[0]?.body.description), new RegExp(`shows ${n}\\.$`));
    const old = await client(args);
    assert.is(old.stdout.trim().split('\n').length, 1, old.stdout);
    assert.is((JSON.parse(old.stdout) as Record<string, unknown>)['result'], 'denied', old.stdout);
  } finally {
    await gh.stop();
    await push.close();
  }
});

L('the optional "enforced" field (true, false) is accepted and leaves the answer as it was', async ({ socket }) => {
  for (const enforced of ['true', 'false']) {
    const r = await client(['--socket', socket, 'authenticate', '--user', 'tilda', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'logon', '--enforced', enforced]);
    assert.is(r.code, 0, r.stderr);
    assert.is((JSON.parse(r.stdout) as Record<string, unknown>)['result'], 'code_required', `enforced ${enforced}: ${r.stdout}`);
    const u = await client(['--socket', socket, 'authenticate', '--user', 'nobody', '--domain', 'CORP', '--workstation', 'PC-7', '--scenario', 'unlock', '--enforced', enforced]);
    assert.is((JSON.parse(u.stdout) as Record<string, unknown>)['result'], 'unknown_user', `enforced ${enforced}: ${u.stdout}`);
  }
});

L('several requests in flight on one connection are answered by id', async ({ socket }) => {
  const lines = [
    '{"op":"authenticate","username":"tilda","domain":"CORP","workstation":"PC-7","scenario":"unlock"}',
    '{"op":"health"}',
    '{"op":"authenticate","username":"nobody","domain":"CORP","workstation":"PC-7","scenario":"credui"}',
    '{"op":"health"}',
  ];
  const r = await client(['--socket', socket, 'batch'], { stdin: lines.join('\n') + '\n' });
  assert.is(r.code, 0, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(
    out.map((o) => o['id']),
    [1, 2, 3, 4],
  );
  assert.is(out[0]!['result'], 'code_required');
  assert.is(out[1]!['status'], 'ok');
  assert.is(out[2]!['result'], 'unknown_user');
  assert.is(out[3]!['status'], 'ok');
});

L('the endpoint gone: the client says so and the status line names the background service', async ({ gh, socket }) => {
  await gh.stop();
  const r = await client(['--socket', socket, 'health']);
  assert.is(r.code, 2, r.stdout + r.stderr);
  const s = await client(['--socket', socket, 'status']);
  assert.is(s.stdout.trim(), TEXT_NO_SERVICE);
});

L.run();
