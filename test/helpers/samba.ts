// A real Active Directory domain controller for the tests: Debian's Samba, provisioned by
// samba-tool in a temporary directory (a few seconds), serving only LDAP on loopback (389, and
// LDAPS on 636 with a certificate made here for 127.0.0.1), run in the foreground. Samba's LDAP
// ports are fixed, so it needs root (as CI runs) and free ports 389 and 636.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { tempDir } from './appliance.js';
import { findTool } from './freeradius.js';

export const AD_BASE_DN = 'DC=corp,DC=example';
export const AD_ADMIN = 'Administrator@corp.example';
export const AD_ADMIN_PASSWORD = 'Adm1n-Passw0rd!';

export interface SambaAd {
  url: string;
  /** PEM of the LDAPS certificate (self-signed, for 127.0.0.1): the CA to trust. */
  caFile: string;
  /** samba-tool against the running domain (e.g. ['user', 'disable', 'bob']). */
  tool(args: string[]): void;
  stop(): Promise<void>;
}

export interface AdSetup {
  users: { name: string; password: string; given?: string; surname?: string; mail?: string; disabled?: boolean }[];
  /** Groups and their members (user or group names). */
  groups: { name: string; members: string[] }[];
}

export async function startSambaAd(o: AdSetup): Promise<SambaAd> {
  const samba = findTool('samba');
  const sambaTool = findTool('samba-tool');
  if (samba === undefined || sambaTool === undefined) throw new Error('samba not found: install the Debian package samba (apt-get install samba)');
  if (process.getuid?.() !== 0) throw new Error('Samba AD serves LDAP on the fixed ports 389 and 636: run this test as root (CI does)');
  const openssl = findTool('openssl');
  if (openssl === undefined) throw new Error('openssl not found: install the Debian package openssl');
  const dir = await tempDir('gatehouse-samba-');
  const conf = join(dir, 'etc', 'smb.conf');
  const provision = spawnSync(
    sambaTool,
    ['domain', 'provision', `--targetdir=${dir}`, '--realm=CORP.EXAMPLE', '--domain=CORP', '--server-role=dc', '--dns-backend=NONE', `--adminpass=${AD_ADMIN_PASSWORD}`, '--option=interfaces=lo', '--option=bind interfaces only=yes'],
    { encoding: 'utf8' },
  );
  if (provision.status !== 0) throw new Error(`samba-tool domain provision failed: ${(provision.stderr || provision.stdout).slice(-800)}`);
  const key = join(dir, 'ldaps-key.pem');
  const cert = join(dir, 'ldaps-cert.pem');
  const made = spawnSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make the LDAPS certificate: ${made.stderr}`);
  // LDAP only (no SMB, no winbind), its pid, log and TLS files in the temporary directory.
  const extra = ['server services = ldap', `pid directory = ${dir}`, `log file = ${join(dir, 'log.%m')}`, 'tls enabled = yes', `tls keyfile = ${key}`, `tls certfile = ${cert}`, 'tls cafile = '];
  writeFileSync(
    conf,
    readFileSync(conf, 'utf8')
      .split('\n')
      .filter((l) => !/^\s*(server services|log file)\s*=/.test(l))
      .join('\n')
      .replace('[global]', `[global]\n${extra.map((l) => `\t${l}`).join('\n')}`),
  );
  const tool = (args: string[]) => {
    const r = spawnSync(sambaTool, [...args, '-s', conf], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`samba-tool ${args.join(' ')}: ${(r.stderr || r.stdout).slice(-400)}`);
  };
  for (const u of o.users) {
    tool(['user', 'create', u.name, u.password, ...(u.given ? [`--given-name=${u.given}`] : []), ...(u.surname ? [`--surname=${u.surname}`] : []), ...(u.mail ? [`--mail-address=${u.mail}`] : [])]);
    if (u.disabled === true) tool(['user', 'disable', u.name]);
  }
  for (const g of o.groups) tool(['group', 'add', g.name]);
  for (const g of o.groups) if (g.members.length > 0) tool(['group', 'addmembers', g.name, g.members.join(',')]);

  const child: ChildProcess = spawn(samba, ['-i', '-M', 'single', '-s', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = 'ldaps://127.0.0.1';
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`samba exited (${child.exitCode}): ${out.slice(-600)}`);
    }
    const c = new Client({ url, timeout: 2000, connectTimeout: 2000, tlsOptions: { ca: readFileSync(cert) } });
    try {
      await c.bind(AD_ADMIN, AD_ADMIN_PASSWORD);
      await c.unbind();
      break;
    } catch (e) {
      await c.unbind().catch(() => undefined);
      if (tries > 150) {
        await stop();
        throw new Error(`samba did not answer on ${url}: ${(e as Error).message} ${out.slice(-300)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, caFile: cert, tool, stop };
}
