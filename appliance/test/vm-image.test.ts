// The VM image: built with scripts/build-vm.sh (reused when dist/appliance/ holds one built from
// the same sources). Checked without mounting anything: the partition table and the boot sector,
// the EFI system partition (mtools), the root file system (debugfs), the OVA (tar order, manifest,
// OVF descriptor, streamOptimized VMDK). Then booted under qemu (software emulation, or the
// accelerator GATEHOUSE_TEST_QEMU_ACCEL names), by UEFI and by BIOS: the console banner, HTTPS /healthz with the
// fingerprint the banner shows, and a first login at the console that configures a client, the
// downstream server (a FreeRADIUS on the host) and a TOTP user, answered through a forwarded UDP
// port. Needs root and Debian's qemu-utils, qemu-system-x86, ovmf, gdisk, mtools, dosfstools,
// e2fsprogs, debootstrap, python3: the test fails (never skips) without them.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { base32Decode, totp } from '../../app/mfa/otp.js';
import { freeTcpPort, ROOT, runCli } from '../../test/helpers/appliance.js';
import { PG_PASSWORD, startPostgres } from '../../test/helpers/postgres.js';
import { seedFromEnrolment } from '../../test/helpers/totp.js';
import { freeUdpPort, requireTool, startFreeRadius, type FreeRadius } from '../../test/helpers/freeradius.js';
import { runRadclient } from '../../test/helpers/radclient.js';
import { prepareImage } from './build.js';

const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const OUT = process.env['GATEHOUSE_APPLIANCE_OUT'] ?? join(ROOT, 'dist', 'appliance');
const QCOW2 = join(OUT, `gatehouse-${VERSION}.qcow2`);
const OVA = join(OUT, `gatehouse-${VERSION}.ova`);
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
const MAX_IMAGE_BYTES = 600 * 1024 * 1024;

function requireTools(): void {
  if (process.getuid?.() !== 0) throw new Error('the VM image test runs debootstrap and chroot as root: run it as root');
  for (const [tool, pkg] of [
    ['qemu-img', 'qemu-utils'],
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['sgdisk', 'gdisk'],
    ['mdir', 'mtools'],
    ['mkfs.vfat', 'dosfstools'],
    ['debugfs', 'e2fsprogs'],
    ['debootstrap', 'debootstrap'],
    ['python3', 'python3'],
    ['radclient', 'freeradius-utils'],
    ['freeradius', 'freeradius'],
  ] as const) {
    requireTool(tool, pkg);
  }
  if (!existsSync(OVMF_CODE)) throw new Error(`${OVMF_CODE} not found: install the Debian package ovmf (apt-get install ovmf)`);
}

interface Ctx {
  dir: string;
  raw: string;
  rootImg: string;
}

const V = suite<Ctx>('VM image');

V.before(async (ctx) => {
  await prepareImage(requireTools, 'build-vm.sh');
  ctx.dir = await mkdtemp(join(tmpdir(), 'gatehouse-vm-test-'));
  ctx.raw = join(ctx.dir, 'disk.raw');
  await run('qemu-img', ['convert', '-O', 'raw', QCOW2, ctx.raw]);
});

V.after(async (ctx) => {
  if (ctx.dir) await rm(ctx.dir, { recursive: true, force: true });
});

interface Part {
  n: number;
  start: number;
  end: number;
  code: string;
  name: string;
}
async function partitions(raw: string): Promise<Part[]> {
  const { stdout } = await run('sgdisk', ['-p', raw]);
  return [...stdout.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+(\w{4})\s+(\S+)$/gm)].map((m) => ({ n: Number(m[1]), start: Number(m[2]), end: Number(m[3]), code: m[4]!, name: m[5]! }));
}

V('qcow2 and OVA are under 600 MB; the disk is a GPT with BIOS boot, EFI system and root partitions, GRUB in the MBR', async ({ raw }) => {
  for (const f of [QCOW2, OVA]) assert.ok(statSync(f).size < MAX_IMAGE_BYTES, `${f}: ${statSync(f).size} bytes`);
  const info = JSON.parse((await run('qemu-img', ['info', '--output=json', QCOW2])).stdout) as { format: string; 'virtual-size': number };
  assert.is(info.format, 'qcow2');
  assert.is(info['virtual-size'], 8 * 1024 ** 3);
  await run('sgdisk', ['-v', raw]);
  const parts = await partitions(raw);
  assert.equal(parts.map((p) => [p.n, p.code, p.name]), [
    [1, 'EF02', 'bios-boot'],
    [2, 'EF00', 'esp'],
    [3, '8304', 'gatehouse-root'],
  ]);
  const mbr = Buffer.alloc(512);
  const fd = openSync(raw, 'r');
  readSync(fd, mbr, 0, 512, 0);
  closeSync(fd);
  assert.is(mbr.readUInt16LE(510), 0xaa55, 'boot signature');
  assert.is(Number(mbr.readBigUInt64LE(0x5c)), parts[0]!.start, 'boot.img points at the core image in the BIOS boot partition');
  assert.is(mbr[0x1c2], 0xee, 'protective MBR partition');
});

V('the EFI system partition: Debian signed shim and GRUB, handing over to the root file system', async ({ raw }) => {
  const esp = (await partitions(raw)).find((p) => p.code === 'EF00')!;
  const img = `${raw}@@${esp.start * 512}`;
  const { stdout } = await run('mdir', ['-i', img, '-/', '-b', '::/']);
  for (const f of ['::/EFI/BOOT/BOOTX64.EFI', '::/EFI/BOOT/grubx64.efi', '::/EFI/debian/grub.cfg', '::/EFI/debian/shimx64.efi']) assert.ok(stdout.includes(f), `${f} in\n${stdout}`);
  const cfg = (await run('mtype', ['-i', img, '::/EFI/debian/grub.cfg'])).stdout;
  assert.match(cfg, /search --no-floppy --fs-uuid --set=root [0-9a-f-]{36}/);
  assert.match(cfg, /configfile \(\$root\)\/boot\/grub\/grub\.cfg/);
  const shim = await run('mtype', ['-i', img, '::/EFI/BOOT/BOOTX64.EFI'], { encoding: 'buffer', maxBuffer: 8 * 1024 * 1024 });
  assert.is((shim.stdout as unknown as Buffer).subarray(0, 2).toString('latin1'), 'MZ', 'a PE executable');
});

async function debugfs(img: string, cmd: string): Promise<string> {
  const { stdout } = await run('debugfs', ['-R', cmd, img], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

V('the root file system: the hardened service, first boot, Node 24, production dependencies, no per-machine secrets', async (ctx) => {
  const root = (await partitions(ctx.raw)).find((p) => p.code === '8304')!;
  ctx.rootImg = join(ctx.dir, 'root.img');
  await run('dd', [`if=${ctx.raw}`, `of=${ctx.rootImg}`, 'bs=1M', `skip=${(root.start * 512) / 1024 ** 2}`, 'conv=sparse', 'status=none']);
  const img = ctx.rootImg;
  const unit = await debugfs(img, 'cat /etc/systemd/system/gatehouse.service');
  for (const line of ['User=gatehouse', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'ReadWritePaths=/var/lib/gatehouse', 'Restart=on-failure', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'Environment=HTTPS_PORT=443']) {
    assert.ok(unit.split('\n').includes(line), `gatehouse.service has ${line}`);
  }
  const wants = await debugfs(img, 'ls -l /etc/systemd/system/multi-user.target.wants');
  for (const u of ['gatehouse.service', 'gatehouse-firstboot.service', 'gatehouse-banner.service', 'ssh.service', 'systemd-networkd.service']) assert.match(wants, new RegExp(u.replace('.', '\\.')));
  assert.match(await debugfs(img, 'cat /etc/systemd/network/80-dhcp.network'), /DHCP=yes/);
  assert.match(await debugfs(img, 'cat /usr/local/lib/gatehouse-appliance/firstboot'), /openssl req -x509/);
  assert.match(await debugfs(img, 'stat /usr/local/sbin/gatehouse-network'), /Mode:\s+0755/);
  assert.match(await debugfs(img, 'stat /usr/local/sbin/gatehouse-join'), /Mode:\s+0755/);
  // The data directory belongs to the service user; no key, certificate or host key is baked in.
  const data = await debugfs(img, 'stat /var/lib/gatehouse');
  assert.match(data, /User:\s+10001\s+Group:\s+10001/);
  assert.match(data, /Mode:\s+0700/);
  assert.not.match(await debugfs(img, 'ls /var/lib/gatehouse'), /master\.key|tls|setup-code/);
  assert.not.match(await debugfs(img, 'ls /etc/ssh'), /ssh_host_/);
  assert.is((await debugfs(img, 'cat /etc/machine-id')).trim(), '');
  assert.match(await debugfs(img, 'cat /etc/passwd'), /^gatehouse:x:10001:10001:.*:\/usr\/sbin\/nologin$/m);
  // Node 24 from the npm registry runs (here too), better-sqlite3 was compiled, no dev dependency.
  const node = join(ctx.dir, 'node');
  await debugfs(img, `dump /usr/local/bin/node ${node}`);
  await run('chmod', ['+x', node]);
  assert.match((await run(node, ['--version'])).stdout, /^v24\./);
  assert.match(await debugfs(img, 'ls /usr/local/lib/gatehouse/node_modules/better-sqlite3/build/Release'), /better_sqlite3\.node/);
  const modules = await debugfs(img, 'ls /usr/local/lib/gatehouse/node_modules');
  assert.match(modules, /hono/);
  for (const dev of ['typescript', 'tsx', 'uvu', 'drizzle-kit', 'playwright-core']) assert.not.ok(new RegExp(`\\b${dev}\\b`).test(modules), `${dev} in the image`);
  assert.match(await debugfs(img, 'cat /boot/grub/grub.cfg'), /console=ttyS0/);
});

function python(script: string, ...args: string[]): Promise<string> {
  return run('python3', ['-c', script, ...args], { maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout);
}

const OVF_CHECK = String.raw`
import json, sys, xml.etree.ElementTree as ET
ovf = '{http://schemas.dmtf.org/ovf/envelope/1}'
rasd = '{http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData}'
root = ET.parse(sys.argv[1]).getroot()
out = {'root': root.tag, 'version': root.get(ovf + 'version'), 'order': [c.tag.replace(ovf, '') for c in root]}
out['files'] = [{'href': f.get(ovf + 'href'), 'id': f.get(ovf + 'id'), 'size': f.get(ovf + 'size')} for f in root.iter(ovf + 'File')]
out['disks'] = [{'id': d.get(ovf + 'diskId'), 'fileRef': d.get(ovf + 'fileRef'), 'capacity': d.get(ovf + 'capacity'), 'units': d.get(ovf + 'capacityAllocationUnits'), 'format': d.get(ovf + 'format')} for d in root.iter(ovf + 'Disk')]
out['networks'] = [n.get(ovf + 'name') for n in root.iter(ovf + 'Network')]
vs = root.find(ovf + 'VirtualSystem')
out['vsInfoFirst'] = vs is not None and len(vs) > 0 and vs[0].tag == ovf + 'Info'
out['sectionsHaveInfo'] = all(s.find(ovf + 'Info') is not None for s in root.iter() if s.tag.endswith('Section'))
out['items'] = [[(c.tag.replace(rasd, ''), (c.text or '')) for c in item] for item in root.iter(ovf + 'Item')]
print(json.dumps(out))
`;

V('the OVA: descriptor first, manifest digests, an OVF that names the streamOptimized VMDK with the right size and capacity', async ({ dir }) => {
  const list = (await run('tar', ['-tvf', OVA])).stdout.trim().split('\n');
  const names = list.map((l) => l.split(/\s+/).at(-1)!);
  assert.equal(names, [`gatehouse-${VERSION}.ovf`, `gatehouse-${VERSION}-disk1.vmdk`, `gatehouse-${VERSION}.mf`]);
  await run('tar', ['-xf', OVA, '-C', dir]);
  const ovfPath = join(dir, names[0]!);
  const vmdkPath = join(dir, names[1]!);
  for (const line of readFileSync(join(dir, names[2]!), 'utf8').trim().split('\n')) {
    const m = /^SHA256\((.+)\)= ([0-9a-f]{64})$/.exec(line);
    assert.ok(m, line);
    assert.is(createHash('sha256').update(readFileSync(join(dir, m![1]!))).digest('hex'), m![2], `digest of ${m![1]}`);
  }
  const vmdkHead = readFileSync(vmdkPath).subarray(0, 4096).toString('latin1');
  assert.ok(vmdkHead.startsWith('KDMV'), 'VMDK sparse extent magic');
  assert.match(vmdkHead, /createType="streamOptimized"/);
  const vmdkInfo = JSON.parse((await run('qemu-img', ['info', '--output=json', vmdkPath])).stdout) as { 'virtual-size': number };

  const o = JSON.parse(await python(OVF_CHECK, ovfPath)) as {
    root: string;
    version: string;
    order: string[];
    files: { href: string; id: string; size: string }[];
    disks: { id: string; fileRef: string; capacity: string; units: string; format: string }[];
    networks: string[];
    vsInfoFirst: boolean;
    sectionsHaveInfo: boolean;
    items: [string, string][][];
  };
  assert.is(o.root, '{http://schemas.dmtf.org/ovf/envelope/1}Envelope');
  assert.is(o.version, '1.0');
  // Envelope content in the schema's order: References, sections, then the virtual system.
  assert.equal(o.order, ['References', 'DiskSection', 'NetworkSection', 'VirtualSystem']);
  assert.ok(o.vsInfoFirst && o.sectionsHaveInfo, 'every section and the virtual system start with Info');
  assert.equal(o.files, [{ href: names[1]!, id: 'file1', size: String(statSync(vmdkPath).size) }]);
  assert.is(o.disks.length, 1);
  const disk = o.disks[0]!;
  assert.is(disk.fileRef, 'file1');
  assert.match(disk.format, /vmdk\.html#streamOptimized$/);
  assert.is(disk.units, 'byte * 2^30');
  assert.is(Number(disk.capacity) * 1024 ** 3, vmdkInfo['virtual-size']);
  // Items: rasd elements in the CIM schema's (alphabetical) order, unique InstanceIDs, parents,
  // disks and networks that exist.
  const ids = new Set<string>();
  const get = (item: [string, string][], k: string) => item.find(([n]) => n === k)?.[1];
  for (const item of o.items) {
    const keys = item.map(([k]) => k);
    assert.equal(keys, [...keys].sort(), `rasd elements in order: ${keys.join(', ')}`);
    const id = get(item, 'InstanceID')!;
    assert.ok(id !== undefined && !ids.has(id), `InstanceID ${id} unique`);
    ids.add(id);
    assert.ok(get(item, 'ResourceType') !== undefined && get(item, 'ElementName') !== undefined);
  }
  for (const item of o.items) {
    const parent = get(item, 'Parent');
    if (parent !== undefined) assert.ok(ids.has(parent), `Parent ${parent} exists`);
    const host = get(item, 'HostResource');
    if (host !== undefined) assert.is(host, `ovf:/disk/${disk.id}`);
    const conn = get(item, 'Connection');
    if (conn !== undefined) assert.ok(o.networks.includes(conn), `network ${conn} declared`);
  }
  const types = o.items.map((i) => get(i, 'ResourceType'));
  for (const t of ['3', '4', '6', '17', '10']) assert.ok(types.includes(t), `an item of ResourceType ${t}`);
});

// ------------------------------------------------------------------------------------------------
// Booting it.

class Serial {
  private text = '';
  private mark = 0;
  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      // eslint-disable-next-line no-control-regex
      this.text += d.toString('utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
    });
  }
  all(): string {
    return this.text;
  }
  /** Wait for a match after the last one, and return it. */
  async expect(re: RegExp, ms: number): Promise<RegExpExecArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.text.slice(this.mark));
      if (m) {
        this.mark += m.index + m[0].length;
        return m;
      }
      if (Date.now() > end) throw new Error(`serial console: no ${re} within ${ms} ms; last output:\n${this.text.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  send(line: string): void {
    this.socket.write(`${line}\r`);
  }
}

interface Vm {
  child: ChildProcess;
  serial: Serial;
  httpsPort: number;
  radiusPort: number;
  stop(): Promise<void>;
}

/**
 * Software emulation unless GATEHOUSE_TEST_QEMU_ACCEL says otherwise (e.g. kvm): on these
 * machines /dev/kvm opens but a guest under it makes no progress, and a boot to the login prompt
 * under TCG takes about a minute.
 */
function accel(): string {
  return process.env['GATEHOUSE_TEST_QEMU_ACCEL'] ?? 'tcg';
}

async function bootVm(dir: string, firmware: 'uefi' | 'bios', name: string): Promise<Vm> {
  const overlay = join(dir, `${name}.qcow2`);
  await run('qemu-img', ['create', '-f', 'qcow2', '-F', 'qcow2', '-b', QCOW2, overlay]);
  const sock = join(dir, `${name}.serial`);
  const httpsPort = await freeTcpPort();
  const radiusPort = await freeUdpPort();
  const args = ['-m', '1024', '-smp', '2', '-display', 'none', '-monitor', 'none', '-no-reboot'];
  args.push('-accel', accel());
  if (firmware === 'uefi') {
    const vars = join(dir, `${name}.vars.fd`);
    await run('cp', [OVMF_VARS, vars]);
    args.push('-machine', 'q35', '-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${vars}`);
  }
  args.push('-drive', `file=${overlay},if=virtio`, '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${httpsPort}-:443,hostfwd=udp:127.0.0.1:${radiusPort}-:1812`, '-device', 'virtio-net-pci,netdev=n0');
  args.push('-chardev', `socket,id=s0,path=${sock},server=on,wait=off`, '-serial', 'chardev:s0');
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  let socket: Socket | undefined;
  while (socket === undefined) {
    if (child.exitCode !== null) throw new Error(`qemu exited: ${stderr}`);
    try {
      socket = await new Promise<Socket>((resolve, reject) => {
        const s = createConnection(sock, () => resolve(s));
        s.once('error', reject);
      });
    } catch {
      if (Date.now() > deadline) throw new Error(`qemu serial socket not ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const serial = new Serial(socket);
  return {
    child,
    serial,
    httpsPort,
    radiusPort,
    async stop() {
      socket?.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The certificate the appliance serves on its HTTPS port, and GET /healthz. */
function httpsProbe(port: number): Promise<{ fingerprint: string; status: number }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = s.getPeerX509Certificate() as X509Certificate;
      s.write('GET /healthz HTTP/1.1\r\nHost: gatehouse\r\nConnection: close\r\n\r\n');
      let body = '';
      s.on('data', (d: Buffer) => (body += d.toString()));
      s.on('end', () => resolve({ fingerprint: cert.fingerprint256, status: Number(/^HTTP\/1\.1 (\d+)/.exec(body)?.[1] ?? 0) }));
    });
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    s.on('error', reject);
  });
}

/** One HTTPS request to the VM (its self-signed certificate is pinned by fingerprint), with a cookie jar. */
async function vmHttps(port: number, fingerprint: string, jar: Map<string, string>, method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<{ status: number; location: string | undefined; body: string }> {
  const body = form === undefined ? undefined : new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        servername: 'gatehouse',
        rejectUnauthorized: false,
        // A connection per request: on a kept-alive socket the peer certificate is not reported again.
        agent: false,
        headers: {
          host: 'gatehouse',
          cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
          ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}),
        },
      },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerX509Certificate();
        if (cert?.fingerprint256 !== fingerprint) {
          res.destroy();
          return reject(new Error(`the VM served a certificate other than the console's: ${cert?.fingerprint256}`));
        }
        for (const c of res.headers['set-cookie'] ?? []) {
          const [pair] = c.split(';');
          const eq = pair!.indexOf('=');
          jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: text }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const BOOT_MS = 240_000;

V('boots by UEFI: banner on the console, HTTPS /healthz with its fingerprint, console login, a RADIUS login with a TOTP code', async ({ dir }) => {
  const DOWN = 'downstream-secret-Vm1';
  const NAS = 'nas-secret-Vm2';
  const fr: FreeRadius = await startFreeRadius({ users: [{ name: 'alice', password: 'alice-pw' }], clients: [{ address: '127.0.0.1', secret: DOWN }] });
  const vm = await bootVm(dir, 'uefi', 'uefi');
  try {
    const t0 = Date.now();
    const { serial } = vm;
    await serial.expect(/gatehouse login:/, BOOT_MS);
    const banner = serial.all();
    const fp = /Certificate:\s+SHA-256 ([0-9A-F:]{95})/.exec(banner)?.[1];
    const code = /Setup code:\s+([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})/.exec(banner)?.[1];
    const pw = /log in as admin, password (\S+)/.exec(banner)?.[1];
    assert.ok(fp && code && pw, `banner with fingerprint, setup code and console password:\n${banner.slice(-2000)}`);
    assert.match(banner, /Admin UI:\s+https:\/\/10\.0\.2\.15\//);
    process.stdout.write(`  UEFI boot to the login prompt: ${Math.round((Date.now() - t0) / 1000)} s\n`);

    let probe: { fingerprint: string; status: number } | undefined;
    const end = Date.now() + 90_000;
    while (probe?.status !== 200) {
      probe = await httpsProbe(vm.httpsPort).catch(() => undefined);
      if (probe?.status === 200 || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.is(probe?.status, 200, 'GET /healthz over HTTPS on 443');
    assert.is(probe!.fingerprint, fp, 'the served certificate is the one on the console');

    // The first admin, created in the browser with the setup code from the console (what a
    // browser does: GET the form for its CSRF token and session cookie, POST it), then signed in
    // up to the TOTP enrolment that every new admin goes through.
    const jar = new Map<string, string>();
    const form = await vmHttps(vm.httpsPort, fp!, jar, 'GET', '/setup');
    assert.is(form.status, 200, `GET /setup while no admin exists: ${form.body.slice(0, 500)}`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
    assert.ok(csrf, 'the setup form carries a CSRF token');
    const ADMIN_PW = 'vm setup passphrase 2026';
    const wrongCode = await vmHttps(vm.httpsPort, fp!, jar, 'POST', '/setup', { _csrf: csrf!, code: 'AAAA-BBBB-CCCC-DDDD', name: 'vmadmin', password: ADMIN_PW, confirm: ADMIN_PW });
    assert.is(wrongCode.status, 422, 'a wrong setup code is refused');
    const created = await vmHttps(vm.httpsPort, fp!, jar, 'POST', '/setup', { _csrf: csrf!, code: code!.toLowerCase(), name: 'vmadmin', password: ADMIN_PW, confirm: ADMIN_PW });
    assert.is(created.status, 303, `the setup code creates the first admin: ${created.body.slice(0, 500)}`);
    assert.match(created.location ?? '', /^\/login/);
    assert.is((await vmHttps(vm.httpsPort, fp!, jar, 'GET', '/setup')).status, 404, 'the setup code works once: /setup is gone');
    const login = await vmHttps(vm.httpsPort, fp!, jar, 'GET', '/login');
    const csrf2 = /name="_csrf" value="([^"]+)"/.exec(login.body)?.[1] ?? csrf!;
    const signedIn = await vmHttps(vm.httpsPort, fp!, jar, 'POST', '/login', { _csrf: csrf2, name: 'vmadmin', password: ADMIN_PW });
    assert.is(signedIn.status, 303, `the new admin signs in: ${signedIn.body.slice(0, 500)}`);
    assert.is(signedIn.location, '/login/enrol', 'first sign-in goes on to TOTP enrolment');

    // First login: the password shown on the console must be changed at once.
    const NEWPW = 'Gh-vm-test-Passw0rd-2026';
    serial.send('admin');
    await serial.expect(/Password:/, 20_000);
    serial.send(pw!);
    await serial.expect(/Current password:/, 30_000);
    serial.send(pw!);
    await serial.expect(/New password:/, 20_000);
    serial.send(NEWPW);
    await serial.expect(/Retype new password:/, 20_000);
    serial.send(NEWPW);
    await serial.expect(/admin@gatehouse:~\$ $/m, 30_000);
    serial.send(`sudo cat /var/lib/gatehouse/setup-code; echo "banner-setup-lines=$(grep -c 'Setup code' /etc/issue.d/gatehouse.issue)"; systemctl show -p User -p NoNewPrivileges -p ProtectSystem -p AmbientCapabilities gatehouse; echo "service-uid=$(ps -o uid= -p $(systemctl show -p MainPID --value gatehouse) | tr -d ' ')"; echo DONE-$((1 + 1))`);
    await serial.expect(/\[sudo\] password for admin:/, 20_000);
    serial.send(NEWPW);
    const shown = (await serial.expect(/([\s\S]*)DONE-2/, 20_000))[1]!;
    assert.match(shown, /No such file or directory/, 'the used setup code file is gone');
    assert.ok(shown.includes('banner-setup-lines=0'), `the console banner no longer shows the used setup code:\n${shown}`);
    for (const p of ['User=gatehouse', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'AmbientCapabilities=cap_net_bind_service']) assert.ok(shown.includes(p), `${p} in\n${shown}`);
    assert.ok(shown.includes('service-uid=10001'), `the service runs as the gatehouse user (uid 10001):\n${shown}`);

    // The README's way: a RADIUS client, the downstream server (the host is 10.0.2.2 from the VM),
    // a TOTP user; the appliance picks them up without a restart.
    serial.send(`sudo gatehouse client add 10.0.2.2 ${NAS} && sudo gatehouse downstream set 10.0.2.2 ${DOWN} --port ${fr.port} && sudo gatehouse totp enroll alice | grep otpauth && echo CONFIG-$((20 + 22))`);
    const uri = await serial.expect(/otpauth:\/\/totp\/\S*secret=([A-Z2-7]+)\S*/, 120_000);
    await serial.expect(/CONFIG-42/, 30_000);
    const seed = base32Decode(uri[1]!);
    // As after the join below: alice's code is sent once the appliance answers the new client at
    // all (a login that uses no code), so a late first answer cannot spend the code of a retry.
    await firstAnswer(vm.radiusPort, NAS, () => serial.all());
    const res = await runRadclient({ server: `127.0.0.1:${vm.radiusPort}`, secret: NAS, attrs: `User-Name = "alice"\nUser-Password = "alice-pw,${totp(seed, Date.now())}"\nMessage-Authenticator = 0x00`, timeoutSec: 10, retries: 2 });
    assert.is(res.replyCode, 'Access-Accept', `${res.stdout}${res.stderr}\n${serial.all().slice(-2000)}`);
    const wrong = await runRadclient({ server: `127.0.0.1:${vm.radiusPort}`, secret: NAS, attrs: 'User-Name = "alice"\nUser-Password = "alice-pw,000000"\nMessage-Authenticator = 0x00\nResponse-Packet-Type = Access-Reject', timeoutSec: 5, retries: 1 });
    assert.ok(wrong.replyCode === 'Access-Reject' || wrong.replyCode === 'Access-Challenge', `a wrong code is not accepted: ${wrong.replyCode}`);
    process.stdout.write(`  UEFI boot to a RADIUS login: ${Math.round((Date.now() - t0) / 1000)} s\n`);

    // Joining a cluster (README, "VM image"): a PostgreSQL on the host (10.0.2.2 from the VM)
    // already holds a cluster's store, under its own master key, with its own RADIUS client and
    // alice's own seed; gatehouse-join takes the URL, the password and the key, once.
    const pg = await startPostgres();
    const cliDir = await mkdtemp(join(tmpdir(), 'gatehouse-vm-cluster-'));
    try {
      const url = await pg.createDatabase('cluster');
      const clusterKey = randomBytes(32).toString('base64');
      const env = { DATABASE_URL: url, GATEHOUSE_MASTER_KEY: clusterKey };
      const NAS2 = 'nas-secret-Cluster3';
      for (const args of [
        ['client', 'add', '10.0.2.2', NAS2, '--name', 'cluster-nas'],
        ['downstream', 'set', '10.0.2.2', DOWN, '--port', String(fr.port)],
      ]) {
        const r = await runCli([...args, '--data-dir', cliDir], { env });
        assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      }
      const enrolled = await runCli(['totp', 'enroll', 'alice', '--data-dir', cliDir], { env });
      assert.is(enrolled.code, 0, enrolled.stderr);
      const clusterSeed = seedFromEnrolment(enrolled.stdout);
      const badKey = randomBytes(32).toString('base64');
      serial.send(`printf '%s\\n%s\\n' '${PG_PASSWORD}' '${badKey}' | sudo gatehouse-join postgres://postgres@10.0.2.2:${pg.port}/cluster; echo "join-exit=$?"`);
      const refused = (await serial.expect(/([\s\S]*)join-exit=(\d+)/, 180_000));
      assert.is(refused[2], '1', `another key than the cluster's is refused:\n${refused[1]}`);
      assert.match(refused[1]!, /nothing was changed/);
      serial.send(`printf '%s\\n%s\\n' '${PG_PASSWORD}' '${clusterKey}' | sudo gatehouse-join postgres://postgres@10.0.2.2:${pg.port}/cluster; echo "join-exit=$?"`);
      const joined = await serial.expect(/([\s\S]*)join-exit=(\d+)/, 180_000);
      assert.is(joined[2], '0', `gatehouse-join:\n${joined[1]}`);
      const node = /joined as node ([^\s;]+)/.exec(joined[1]!)?.[1];
      assert.match(node ?? '', /^gatehouse-[0-9a-f]{6}$/, 'a node name of its own, not the image\'s host name');
      await firstAnswer(vm.radiusPort, NAS2, () => serial.all());
      const res2 = await runRadclient({ server: `127.0.0.1:${vm.radiusPort}`, secret: NAS2, attrs: `User-Name = "alice"\nUser-Password = "alice-pw,${totp(clusterSeed, Date.now())}"\nMessage-Authenticator = 0x00`, timeoutSec: 10, retries: 2 });
      assert.is(res2.replyCode, 'Access-Accept', `a login with the cluster's client secret and seed through the joined VM:\n${serial.all().slice(-2000)}`);
      const nodes = (await pg.query('SELECT name FROM nodes', 'cluster')).rows.map((r: { name: string }) => r.name);
      assert.ok(nodes.includes(node!), `the VM's heartbeat in the cluster: ${nodes.join(', ')}`);
      serial.send('sudo gatehouse client list; echo LIST-$((6 * 7))');
      const listed = (await serial.expect(/([\s\S]*)LIST-42/, 60_000))[1]!;
      assert.match(listed, /cluster-nas/, 'the console command works on the cluster store too');
      process.stdout.write(`  UEFI boot to a cluster member: ${Math.round((Date.now() - t0) / 1000)} s\n`);
    } finally {
      await pg.stop();
      await rm(cliDir, { recursive: true, force: true });
    }
  } finally {
    await vm.stop();
    await fr.stop();
  }
});

/**
 * Wait until the appliance answers a RADIUS client with this secret, through a login that uses no
 * code (a wrong password, rejected downstream). A TOTP code is sent only then: a code whose answer
 * comes after radclient gave up (a restarted service's first queries on a cold PostgreSQL, under
 * emulation: seen) is used, and a retry with the same code is refused as replayed.
 */
async function firstAnswer(port: number, secret: string, serialOutput: () => string): Promise<void> {
  let probe;
  for (let i = 0; i < 30; i++) {
    probe = await runRadclient({ server: `127.0.0.1:${port}`, secret, attrs: 'User-Name = "nobody"\nUser-Password = "not-the-password"\nMessage-Authenticator = 0x00\nResponse-Packet-Type = Access-Reject', timeoutSec: 3, retries: 1 });
    if (probe.replyCode !== undefined) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  assert.is(probe!.replyCode, 'Access-Reject', `the appliance answers the client with its secret:\n${serialOutput().slice(-2000)}`);
}

V('boots by BIOS (SeaBIOS): GRUB from the MBR and the BIOS boot partition, up to the login prompt', async ({ dir }) => {
  const vm = await bootVm(dir, 'bios', 'bios');
  try {
    await vm.serial.expect(/GRUB/, 60_000);
    await vm.serial.expect(/gatehouse login:/, BOOT_MS);
    assert.match(vm.serial.all(), /Gatehouse MFA appliance/);
  } finally {
    await vm.stop();
  }
});

V.run();
