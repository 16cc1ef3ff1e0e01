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

export async function startSlapd(o: { users: LdapUser[]; groups?: { cn: string; members: string[] }[] }): Promise<Slapd> {
  const slapd = findTool('slapd');
  if (slapd === undefined) throw new Error('slapd not found: install the Debian package slapd (apt-get install slapd)');
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
      'moduleload memberof',
      'moduleload ppolicy',
      `pidfile ${join(dir, 'slapd.pid')}`,
      `TLSCertificateFile ${certFile}`,
      `TLSCertificateKeyFile ${key}`,
      'database mdb',
      `suffix "${BASE_DN}"`,
      `rootdn "${ADMIN_DN}"`,
      `rootpw ${ADMIN_PASSWORD}`,
      `directory ${join(dir, 'db')}`,
      'maxsize 104857600',
      'overlay memberof',
      // Password policy (draft-behera-ldap-password-policy): its pwdAccountLockedTime locks an
      // account; the default policy makes slapd refuse binds to locked accounts.
      'overlay ppolicy',
      `ppolicy_default "cn=default,ou=policies,${BASE_DN}"`,
      'access to attrs=userPassword by self =xw by anonymous auth by * none',
      'access to * by * read',
      '',
    ].join('\n'),
  );
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
  try {
    await admin.add(BASE_DN, { objectClass: ['top', 'dcObject', 'organization'], dc: 'example', o: 'Example' });
    await admin.add(`ou=people,${BASE_DN}`, { objectClass: ['top', 'organizationalUnit'], ou: 'people' });
    await admin.add(`ou=groups,${BASE_DN}`, { objectClass: ['top', 'organizationalUnit'], ou: 'groups' });
    await admin.add(`ou=policies,${BASE_DN}`, { objectClass: ['top', 'organizationalUnit'], ou: 'policies' });
    await admin.add(`cn=default,ou=policies,${BASE_DN}`, { objectClass: ['top', 'device', 'pwdPolicy'], cn: 'default', pwdAttribute: 'userPassword', pwdLockout: 'TRUE' });
    for (const u of o.users) {
      await admin.add(`uid=${u.uid},ou=people,${BASE_DN}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: u.uid,
        cn: u.displayName ?? u.uid,
        sn: u.uid,
        ...(u.displayName !== undefined ? { displayName: u.displayName } : {}),
        ...(u.mail !== undefined ? { mail: u.mail } : {}),
        userPassword: u.password,
        ...(u.disabled === true ? { pwdAccountLockedTime: '000001010000Z' } : {}),
      });
    }
    for (const g of o.groups ?? []) {
      await admin.add(`cn=${g.cn},ou=groups,${BASE_DN}`, { objectClass: ['top', 'groupOfNames'], cn: g.cn, member: g.members.map((m) => `uid=${m},ou=people,${BASE_DN}`) });
    }
  } finally {
    await admin.unbind().catch(() => undefined);
  }
  return { url, port, cert: readFileSync(certFile, 'utf8'), stop };
}
