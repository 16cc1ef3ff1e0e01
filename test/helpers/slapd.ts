// A real OpenLDAP server (Debian's `slapd`) for the tests: started on a loopback port in a
// temporary directory, with an mdb database, the memberof overlay (group membership on the user's
// entry, as Gatehouse's OpenLDAP preset reads it) and a self-signed certificate (RSA) for StartTLS.
// Entries are added through the server itself (ldapts as its admin), so the overlay sees them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { freeTcpPort, tempDir } from './appliance.js';
import { findTool } from './freeradius.js';

export const BASE_DN = 'dc=example,dc=org';
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = 'slapd-admin-pw';

export interface LdapUser {
  uid: string;
  password: string;
  displayName?: string;
  mail?: string;
  /** ppolicy's administrative lock (pwdAccountLockedTime 000001010000Z): the account is disabled. */
  disabled?: boolean;
}

export interface Slapd {
  url: string;
  port: number;
  /** PEM of the server's (self-signed) certificate: the CA to trust for StartTLS. */
  cert: string;
  stop(): Promise<void>;
}

const SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'];

export interface LdapGroup {
  cn: string;
  /** uids of the people in it. */
  members: string[];
  /** cns of groups in it (nested membership). */
  groups?: string[];
}

/** LDIF of one entry (values are plain: the tests use no characters LDIF would need base64 for). */
function ldif(dn: string, attrs: Record<string, string | string[] | undefined>): string {
  const lines = [`dn: ${dn}`];
  for (const [k, v] of Object.entries(attrs)) for (const x of v === undefined ? [] : Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
  return `${lines.join('\n')}\n\n`;
}

export const userDn = (uid: string) => `uid=${uid},ou=people,${BASE_DN}`;
export const groupDn = (cn: string) => `cn=${cn},ou=groups,${BASE_DN}`;

/**
 * Start slapd with these entries, loaded before it starts with slapadd (fast for 10,000 users;
 * memberOf is written here as the overlay would, since slapadd bypasses overlays; changes made
 * while it runs go through the server and the overlay). `bulk` adds people u00000, u00001, ...
 * with password `<uid>-pw`.
 */
export async function startSlapd(o: { users: LdapUser[]; groups?: LdapGroup[]; bulk?: number; memberOfOverlay?: boolean }): Promise<Slapd> {
  const overlay = o.memberOfOverlay !== false;
  const slapd = findTool('slapd');
  if (slapd === undefined) throw new Error('slapd not found: install the Debian package slapd (apt-get install slapd)');
  const slapadd = findTool('slapadd');
  if (slapadd === undefined) throw new Error('slapadd not found: install the Debian package slapd (apt-get install slapd)');
  const openssl = findTool('openssl');
  if (openssl === undefined) throw new Error('openssl not found: install the Debian package openssl');
  const dir = await tempDir('gatehouse-slapd-');
  mkdirSync(join(dir, 'db'));
  const key = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const made = spawnSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', certFile], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make the test certificate: ${made.stderr}`);
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      ...SCHEMAS.map((s) => `include /etc/ldap/schema/${s}.schema`),
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      ...(overlay ? ['moduleload memberof'] : []),
      'moduleload ppolicy',
      `pidfile ${join(dir, 'slapd.pid')}`,
      `TLSCertificateFile ${certFile}`,
      `TLSCertificateKeyFile ${key}`,
      'sizelimit unlimited',
      'database mdb',
      `suffix "${BASE_DN}"`,
      `rootdn "${ADMIN_DN}"`,
      `rootpw ${ADMIN_PASSWORD}`,
      `directory ${join(dir, 'db')}`,
      'maxsize 1073741824',
      ...(overlay ? ['overlay memberof'] : []),
      // Password policy (draft-behera-ldap-password-policy): its pwdAccountLockedTime locks an
      // account; the default policy makes slapd refuse binds to locked accounts.
      'overlay ppolicy',
      `ppolicy_default "cn=default,ou=policies,${BASE_DN}"`,
      'access to attrs=userPassword by self =xw by anonymous auth by * none',
      'access to * by * read',
      '',
    ].join('\n'),
  );
  // Who is in which group, directly: for memberOf on people and on groups.
  const groups = o.groups ?? [];
  const memberOf = new Map<string, string[]>();
  for (const g of groups) {
    for (const m of g.members) memberOf.set(userDn(m), [...(memberOf.get(userDn(m)) ?? []), groupDn(g.cn)]);
    for (const c of g.groups ?? []) memberOf.set(groupDn(c), [...(memberOf.get(groupDn(c)) ?? []), groupDn(g.cn)]);
  }
  const people = [...o.users, ...Array.from({ length: o.bulk ?? 0 }, (_, i) => ({ uid: `u${String(i).padStart(5, '0')}`, password: `u${String(i).padStart(5, '0')}-pw`, displayName: `Person ${i}`, mail: `u${i}@example.org` }))];
  let text = ldif(BASE_DN, { objectClass: ['top', 'dcObject', 'organization'], dc: 'example', o: 'Example' });
  for (const ou of ['people', 'groups', 'policies']) text += ldif(`ou=${ou},${BASE_DN}`, { objectClass: ['top', 'organizationalUnit'], ou });
  text += ldif(`cn=default,ou=policies,${BASE_DN}`, { objectClass: ['top', 'device', 'pwdPolicy'], cn: 'default', pwdAttribute: 'userPassword', pwdLockout: 'TRUE' });
  for (const u of people) {
    text += ldif(userDn(u.uid), {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      uid: u.uid,
      cn: u.displayName ?? u.uid,
      sn: u.uid,
      displayName: u.displayName,
      mail: u.mail,
      userPassword: u.password,
      pwdAccountLockedTime: (u as LdapUser).disabled === true ? '000001010000Z' : undefined,
      memberOf: overlay ? memberOf.get(userDn(u.uid)) : undefined,
    });
  }
  for (const g of groups) {
    const member = [...g.members.map(userDn), ...(g.groups ?? []).map(groupDn)];
    // groupOfNames needs a member; an empty group names its own DN (the usual placeholder).
    text += ldif(groupDn(g.cn), { objectClass: ['top', 'groupOfNames'], cn: g.cn, member: member.length > 0 ? member : [groupDn(g.cn)], memberOf: overlay ? memberOf.get(groupDn(g.cn)) : undefined });
  }
  const ldifFile = join(dir, 'initial.ldif');
  writeFileSync(ldifFile, text);
  const loaded = spawnSync(slapadd, ['-q', '-f', conf, '-l', ldifFile], { encoding: 'utf8' });
  if (loaded.status !== 0) throw new Error(`slapadd could not load the test entries: ${loaded.stderr.slice(-500)}`);
  const port = await freeTcpPort();
  const url = `ldap://127.0.0.1:${port}`;
  // -d 0: stay in the foreground (the test owns the process); logs go nowhere.
  const child: ChildProcess = spawn(slapd, ['-f', conf, '-h', `${url}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when the admin can bind.
  const admin = new Client({ url, timeout: 2000, connectTimeout: 2000 });
  try {
    for (let tries = 0; ; tries++) {
      if (child.exitCode !== null) throw new Error(`slapd exited (${child.exitCode}): ${err.slice(-500)}`);
      try {
        await admin.bind(ADMIN_DN, ADMIN_PASSWORD);
        break;
      } catch (e) {
        if (tries > 100) {
          await stop();
          throw new Error(`slapd did not answer on ${url}: ${(e as Error).message} ${err.slice(-300)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    await admin.unbind().catch(() => undefined);
  }
  return { url, port, cert: readFileSync(certFile, 'utf8'), stop };
}

/** Run `fn` bound as the directory's admin (to change entries while slapd runs). */
export async function asAdmin<T>(s: Slapd, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ url: s.url, timeout: 5000, connectTimeout: 2000 });
  try {
    await c.bind(ADMIN_DN, ADMIN_PASSWORD);
    return await fn(c);
  } finally {
    await c.unbind().catch(() => undefined);
  }
}
