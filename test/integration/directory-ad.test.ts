// Active Directory specifics against a real Samba AD domain controller (provisioned by the test in
// a temporary directory, LDAPS with a certificate made here): sAMAccountName and UPN, nested
// groups (LDAP_MATCHING_RULE_IN_CHAIN at lookup, the group tree at sync), userAccountControl's
// disabled flag, and AD's reasons for a refused bind (locked, expired, must change); then a RADIUS
// login through Gatehouse with the AD preset and no downstream server.
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDirectory, type DirectoryOptions } from '../../app/directory/ldap.js';
import { auditRecords, runCli, startAppliance } from '../helpers/appliance.js';
import { runRadclient } from '../helpers/radclient.js';
import { AD_ADMIN, AD_ADMIN_PASSWORD, AD_BASE_DN, startSambaAd, type SambaAd } from '../helpers/samba.js';

const A = suite<{ ad: SambaAd; options: DirectoryOptions }>('directory: Active Directory (Samba)');

A.before(async (ctx) => {
  ctx.ad = await startSambaAd({
    users: [
      { name: 'alice', password: 'Alice-Passw0rd!', given: 'Alice', surname: 'Liddell', mail: 'alice@corp.example' },
      { name: 'bob', password: 'Bob-Passw0rd!', disabled: true },
      { name: 'carol', password: 'Carol-Passw0rd!' },
      { name: 'dave', password: 'Dave-Passw0rd!' },
      { name: 'erin', password: 'Erin-Passw0rd!' },
    ],
    groups: [
      { name: 'VPN-Users', members: ['Engineering', 'carol'] },
      { name: 'Engineering', members: ['alice', 'bob'] },
    ],
  });
  ctx.options = { urls: [ctx.ad.url], bindDn: AD_ADMIN, bindPassword: AD_ADMIN_PASSWORD, baseDn: AD_BASE_DN, preset: 'ad', ca: readFileSync(ctx.ad.caFile), startTls: false, allowPlain: false, timeoutMs: 5000 };
  // dave must change his password; erin's account has expired.
  ctx.ad.tool(['user', 'setexpiry', 'erin', '--days=0']);
  ctx.ad.tool(['user', 'setpassword', 'dave', '--newpassword=Dave-Passw0rd!', '--must-change-at-next-login']);
});
A.after(async (ctx) => {
  await ctx.ad?.stop();
});

A('a user by sAMAccountName or UPN, with display name, email and nested groups', async ({ options }) => {
  const dir = createDirectory(options);
  for (const name of ['alice', 'alice@corp.example']) {
    const r = await dir.findUser(name);
    if (!r.ok) throw new Error(`${name}: ${r.detail}`);
    assert.is(r.user.username, 'alice');
    assert.is(r.user.upn, 'alice@corp.example');
    assert.is(r.user.displayName, 'Alice Liddell');
    assert.is(r.user.email, 'alice@corp.example');
    assert.equal(r.user.groups.map((g) => g.toLowerCase()).sort(), ['cn=engineering,cn=users,dc=corp,dc=example', 'cn=vpn-users,cn=users,dc=corp,dc=example'], 'VPN-Users through Engineering');
    assert.is(r.user.disabled, false);
  }
});

A("passwords: right, wrong, and AD's reasons (disabled, must change, expired, locked)", async ({ options, ad }) => {
  const dir = createDirectory(options);
  const reason = async (name: string, pw: string) => {
    const r = await dir.checkPassword(name, pw);
    return r.ok ? 'ok' : r.reason;
  };
  assert.is(await reason('alice', 'Alice-Passw0rd!'), 'ok');
  assert.is(await reason('alice@corp.example', 'Alice-Passw0rd!'), 'ok');
  assert.is(await reason('alice', 'wrong'), 'wrong_password');
  assert.is(await reason('bob', 'Bob-Passw0rd!'), 'disabled');
  assert.is(await reason('dave', 'Dave-Passw0rd!'), 'must_change');
  assert.is(await reason('erin', 'Erin-Passw0rd!'), 'expired');
  // Three wrong passwords lock carol (the domain's policy, set here); then even the right one is refused as locked.
  ad.tool(['domain', 'passwordsettings', 'set', '--account-lockout-threshold=3']);
  for (let i = 0; i < 3; i++) assert.is(await reason('carol', 'not-it'), 'wrong_password');
  assert.is(await reason('carol', 'Carol-Passw0rd!'), 'locked');
});

A('the sync reads users with their nested groups; a disabled account comes in disabled', async ({ ad }) => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-ad-'));
  const env = { LDAP_URL: ad.url, LDAP_CA: ad.caFile, LDAP_BASE_DN: AD_BASE_DN, LDAP_BIND_DN: AD_ADMIN, LDAP_BIND_PASSWORD: AD_ADMIN_PASSWORD, LDAP_PRESET: 'ad', LDAP_SYNC_GROUPS: 'VPN-Users' };
  const r = await runCli(['directory', 'sync', '--data-dir', dataDir], { env });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^3 in scope, 3 added/, 'alice and bob (through Engineering) and carol');
  const users = new Map((JSON.parse((await runCli(['user', 'list', '--json', '--data-dir', dataDir])).stdout) as { name: string; groups: string[]; directory: string; upn: string }[]).map((u) => [u.name, u]));
  assert.equal(users.get('alice')!.groups, ['engineering', 'vpn-users']);
  assert.is(users.get('alice')!.upn, 'alice@corp.example');
  assert.is(users.get('bob')!.directory, 'disabled');
  assert.equal(users.get('carol')!.groups, ['vpn-users']);
});

A('a RADIUS login checked by Active Directory, with no downstream server', async ({ ad }) => {
  const gh = await startAppliance({
    args: ['--ldap-url', ad.url, '--ldap-ca', ad.caFile, '--ldap-base-dn', AD_BASE_DN, '--ldap-bind-dn', AD_ADMIN, '--first-factor', 'directory', '--address-secret-in', '127.0.0.1:ad-nas-secret', '--unenrolled-users', 'allow', '--strip-realm', 'yes', '--ldap-sync-interval', '0'],
    env: { LDAP_BIND_PASSWORD: AD_ADMIN_PASSWORD },
  });
  try {
    const login = (name: string, pw: string) => runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: 'ad-nas-secret', attrs: `User-Name = "${name}"\nUser-Password = "${pw}"\nMessage-Authenticator = 0x00`, timeoutSec: 5 });
    assert.is((await login('alice', 'Alice-Passw0rd!')).replyCode, 'Access-Accept');
    assert.is((await login('CORP\\alice', 'Alice-Passw0rd!')).replyCode, 'Access-Accept');
    assert.is((await login('bob', 'Bob-Passw0rd!')).replyCode, 'Access-Reject');
    const recs = (await auditRecords(gh)).filter((x) => x['event'] === 'radius.auth');
    assert.equal(recs.map((x) => [x['username'], x['reason']]), [['alice', 'unenrolled_allowed'], ['alice', 'unenrolled_allowed'], ['bob', 'directory_disabled']]);
  } finally {
    await gh.stop();
  }
});

A.run();
