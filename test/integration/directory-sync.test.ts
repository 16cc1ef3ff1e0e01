// The directory sync against a real OpenLDAP with 10,000 people (slapd on loopback): everyone in
// scope becomes a user with name, display name, email and groups (nested membership included);
// people disabled in, removed from, or out of the scope of the directory lose access at the next
// sync (and at once on a bind that says so), keep their factors for the grace period, then go;
// local users are left alone; a run that finds nobody removes nobody.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditRecords, runCli, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { ADMIN_DN, ADMIN_PASSWORD, asAdmin, BASE_DN, groupDn, startSlapd, userDn, type Slapd } from '../helpers/slapd.js';
import { replyAttributes, runRadclient } from '../helpers/radclient.js';
import { Change, Attribute } from 'ldapts';

const CS = 'sync-nas-secret';
const N = 10_000;

interface Ctx {
  slapd: Slapd;
  gh: Appliance;
}

interface ListedUser {
  name: string;
  displayName: string | null;
  email: string | null;
  groups: string[];
  source: string;
  directory: string | null;
  totp: boolean;
}

const S = suite<Ctx>('directory sync');

S.before(async (ctx) => {
  const u = (i: number) => `u${String(i).padStart(5, '0')}`;
  ctx.slapd = await startSlapd({
    users: [],
    bulk: N,
    groups: [
      // VPN-Users holds 1,000 people directly and Engineering (100 more) through nesting.
      { cn: 'VPN-Users', members: Array.from({ length: 1000 }, (_, i) => u(i)), groups: ['Engineering'] },
      { cn: 'Engineering', members: Array.from({ length: 100 }, (_, i) => u(1000 + i)) },
      { cn: 'BreakGlass', members: [u(9999)] },
    ],
  });
  ctx.gh = await startAppliance({
    args: ['--ldap-url', ctx.slapd.url, '--ldap-preset', 'openldap', '--ldap-base-dn', BASE_DN, '--ldap-bind-dn', ADMIN_DN, '--ldap-sync-interval', '0', '--first-factor', 'directory', '--address-secret-in', `127.0.0.1:${CS}`, '--unenrolled-users', 'allow'],
    env: { LDAP_BIND_PASSWORD: ADMIN_PASSWORD },
  });
  assert.is((await ctx.gh.cli(['user', 'add', 'localbob'])).code, 0);
});
S.after(async (ctx) => {
  await ctx.gh?.stop();
  await ctx.slapd?.stop();
});

/** `gatehouse directory sync` against the appliance's data directory, with its directory settings. */
async function sync(gh: Appliance, slapd: Slapd, extra: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const r = await runCli(['directory', 'sync', '--data-dir', gh.dataDir], { env: { LDAP_URL: slapd.url, LDAP_PRESET: 'openldap', LDAP_BASE_DN: BASE_DN, LDAP_BIND_DN: ADMIN_DN, LDAP_BIND_PASSWORD: ADMIN_PASSWORD, ...extra }, timeoutMs: 120_000 });
  return { code: r.code ?? -1, out: r.stdout + r.stderr };
}
async function users(gh: Appliance): Promise<Map<string, ListedUser>> {
  const r = await gh.cli(['user', 'list', '--json']);
  assert.is(r.code, 0, r.stderr);
  return new Map((JSON.parse(r.stdout) as ListedUser[]).map((x) => [x.name, x]));
}
const login = (gh: Appliance, name: string, pw: string) => runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: CS, attrs: `User-Name = "${name}"\nUser-Password = "${pw}"\nMessage-Authenticator = 0x00`, timeoutSec: 4 });

S('10,000 people sync in pages: names, display names, emails, and groups with nesting; local users stay', async ({ gh, slapd }) => {
  const r = await sync(gh, slapd);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^10000 in scope, 10000 added, 0 updated, 0 disabled, 0 removed/);
  const all = await users(gh);
  assert.is(all.size, N + 1);
  const eng = all.get('u01050')!;
  assert.equal([eng.displayName, eng.email, eng.source, eng.directory], ['Person 1050', 'u1050@example.org', 'directory', 'active']);
  assert.equal(eng.groups, ['engineering', 'vpn-users'], 'Engineering is inside VPN-Users');
  assert.equal(all.get('u00005')!.groups, ['vpn-users']);
  assert.equal(all.get('u05000')!.groups, []);
  assert.equal([all.get('localbob')!.source, all.get('localbob')!.directory], ['local', null]);
  // A second run changes nothing but the sync time.
  assert.match((await sync(gh, slapd)).out, /^10000 in scope, 0 added, 10000 updated, 0 disabled, 0 removed, 0 restored, 0 deleted/);
  const rec = (await auditRecords(gh)).filter((x) => x['event'] === 'directory.sync');
  assert.is(rec.length, 2);
  assert.is(rec[0]!['outcome'], 'ok');
});

S('disabled, removed and out-of-scope people lose access at the next sync; factors are kept for the grace period, then deleted', async ({ gh, slapd }) => {
  const scope = { LDAP_SYNC_GROUPS: 'VPN-Users; BreakGlass' };
  assert.match((await sync(gh, slapd, scope)).out, /^1101 in scope, 0 added, 1101 updated, 0 disabled, 8899 removed/);
  // u00003 will leave the group (but can still bind); u00004 gets a TOTP authenticator first.
  assert.is((await gh.cli(['totp', 'enroll', 'u00004'])).code, 0);
  const before = await login(gh, 'u00003', 'u00003-pw');
  assert.is(before.replyCode, 'Access-Accept', before.stdout);
  await asAdmin(slapd, async (c) => {
    await c.modify(userDn('u00001'), [new Change({ operation: 'add', modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }) })]);
    await c.del(userDn('u00004'));
    await c.modify(groupDn('VPN-Users'), [new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [userDn('u00003')] }) })]);
  });
  assert.match((await sync(gh, slapd, scope)).out, /^1099 in scope, 0 added, 1099 updated, 1 disabled, 2 removed/);
  const all = await users(gh);
  assert.equal([all.get('u00001')!.directory, all.get('u00003')!.directory, all.get('u00004')!.directory], ['disabled', 'removed', 'removed']);
  assert.ok(all.get('u00004')!.totp, 'the factor is kept while the grace period runs');
  // u00003's password still binds, but the engine refuses a user the directory no longer gives access.
  const refused = await login(gh, 'u00003', 'u00003-pw');
  assert.is(refused.replyCode, 'Access-Reject');
  assert.match(replyAttributes(refused.stdout).join('\n'), /disabled in the directory/);
  const recs = await auditRecords(gh);
  assert.equal(recs.filter((x) => x['event'] === 'radius.auth' && x['username'] === 'u00003').map((x) => x['reason']).slice(-1), ['directory_gone']);
  assert.ok(recs.some((x) => x['event'] === 'user.directory_disabled' && x['username'] === 'u00001'));
  assert.ok(recs.some((x) => x['event'] === 'user.directory_removed' && x['username'] === 'u00004'));
  // Back in the group: access again at the next sync.
  await asAdmin(slapd, (c) => c.modify(groupDn('VPN-Users'), [new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [userDn('u00003')] }) })]));
  assert.match((await sync(gh, slapd, scope)).out, /1 restored/);
  assert.is((await login(gh, 'u00003', 'u00003-pw')).replyCode, 'Access-Accept');
  // Grace period 0: the gone are deleted, factors and all; the local user stays.
  assert.match((await sync(gh, slapd, { ...scope, LDAP_GRACE_DAYS: '0' })).out, /8901 deleted/);
  const after = await users(gh);
  assert.is(after.get('u00004'), undefined);
  assert.is(after.get('u05000'), undefined);
  assert.ok(after.get('localbob'));
  assert.is(after.get('u00001'), undefined, 'disabled past the grace period');
  assert.is(after.size, 1099 + 1);
});

S('a bind that says the account is disabled takes access away at once, before any sync', async ({ gh, slapd }) => {
  await asAdmin(slapd, (c) => c.modify(userDn('u00010'), [new Change({ operation: 'add', modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }) })]));
  const r = await login(gh, 'u00010', 'u00010-pw');
  assert.is(r.replyCode, 'Access-Reject');
  await waitFor('u00010 marked disabled', async () => (await users(gh)).get('u00010')?.directory === 'disabled');
  assert.ok((await auditRecords(gh)).some((x) => x['event'] === 'user.directory_disabled' && x['actor'] === 'directory-bind' && x['username'] === 'u00010'));
});

S('a run that finds nobody (a wrong filter) removes nobody and says why', async ({ gh, slapd }) => {
  const r = await sync(gh, slapd, { LDAP_SYNC_FILTER: '(uid=nobody-has-this-name)' });
  assert.is(r.code, 1);
  assert.match(r.out, /returned no users in scope.*nobody was removed/);
  const all = await users(gh);
  assert.is(all.get('u00005')!.directory, 'active');
  const last = (await auditRecords(gh)).filter((x) => x['event'] === 'directory.sync').pop()!;
  assert.equal([last['outcome'], last['reason']], ['error', 'sync_failed']);
});

S.run();
