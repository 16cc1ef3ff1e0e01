// Policy rules seen from a VPN: a real OpenLDAP (slapd) checks the passwords, its users and
// groups are synced in, and rules written as an admin would ("VPN-Users need a second factor;
// BreakGlass password only; Contractors denied") decide RADIUS logins sent with radclient, with no
// downstream RADIUS server at all. Reply attributes of the rule that applied are in the answer,
// and every decision's audit record names its rule.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditRecords, runCli, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, startSlapd, type Slapd } from '../helpers/slapd.js';
import { replyAttributes, runRadclient, type RadclientResult } from '../helpers/radclient.js';
import { totpCode } from '../helpers/totp.js';
import { base32Decode } from '../../app/mfa/otp.js';

const CS = 'policy-nas-secret';
const LAB = 'policy-lab-secret';

interface Ctx {
  slapd: Slapd;
  gh: Appliance;
  seed: Buffer;
}

const P = suite<Ctx>('policy rules at the RADIUS door');

P.before(async (ctx) => {
  ctx.slapd = await startSlapd({
    users: ['alice', 'bob', 'gina', 'mallory', 'eve', 'both'].map((uid) => ({ uid, password: `${uid}-dir-pw` })),
    groups: [
      { cn: 'VPN-Users', members: ['alice', 'bob', 'both'] },
      { cn: 'BreakGlass', members: ['gina', 'both'] },
      { cn: 'Contractors', members: ['mallory'] },
    ],
  });
  const env = { LDAP_BIND_PASSWORD: ADMIN_PASSWORD };
  const ldap = ['--ldap-url', ctx.slapd.url, '--ldap-preset', 'openldap', '--ldap-base-dn', BASE_DN, '--ldap-bind-dn', ADMIN_DN];
  ctx.gh = await startAppliance({ args: [...ldap, '--first-factor', 'directory', '--ldap-sync-interval', '0'], env });
  const cli = async (args: string[]) => {
    const r = await runCli([...args, '--data-dir', ctx.gh.dataDir], { env: { ...env, LDAP_URL: ctx.slapd.url, LDAP_PRESET: 'openldap', LDAP_BASE_DN: BASE_DN, LDAP_BIND_DN: ADMIN_DN } });
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await cli(['client', 'add', '127.0.0.1', CS, '--name', 'vpn']);
  await cli(['client', 'add', '127.0.0.2', LAB, '--name', 'lab']);
  assert.match(await cli(['directory', 'sync']), /^6 in scope, 6 added/);
  const enrolled = await cli(['totp', 'enroll', 'alice']);
  ctx.seed = base32Decode(new URL(enrolled.split('\n').find((l) => l.startsWith('otpauth://'))!).searchParams.get('secret')!);
  await cli(['policy', 'add', 'Contractors', '--action', 'deny', '--groups', 'Contractors']);
  await cli(['policy', 'add', 'Break glass', '--action', 'password_only', '--groups', 'BreakGlass', '--reply', 'Class = breakglass']);
  await cli(['policy', 'add', 'Lab closed', '--action', 'deny', '--client', 'lab']);
  await cli(['policy', 'move', 'Lab closed', 'up']);
  await cli(['policy', 'move', 'Lab closed', 'up']);
  await cli(['policy', 'add', 'VPN users', '--action', 'require', '--groups', 'VPN-Users', '--reply', 'Class = "vpn-users"', '--reply', 'Fortinet-Group-Name = vpn', '--reply', 'Session-Timeout = 28800']);
  // The appliance picks the CLI's writes up within about a second (PRAGMA data_version), not at
  // once: the tests start once the last rule written decides a login. One reload reads every rule,
  // so the earlier ones are in effect with it.
  await waitFor('the rules in effect', async () => {
    await login(ctx.gh, 'bob', 'bob-dir-pw');
    return (await decisionOf(ctx.gh, 'bob')).policy === 'VPN users';
  });
});
P.after(async (ctx) => {
  await ctx.gh?.stop();
  await ctx.slapd?.stop();
});

function login(gh: Appliance, name: string, password: string, extra = '', secret = CS): Promise<RadclientResult> {
  return runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret, attrs: `User-Name = "${name}"\nUser-Password = "${password}"\nMessage-Authenticator = 0x00\n${extra}`, timeoutSec: 4 });
}
async function decisionOf(gh: Appliance, name: string): Promise<{ outcome: unknown; reason: unknown; policy: unknown }> {
  const r = (await auditRecords(gh)).filter((x) => x['event'] === 'radius.auth' && x['username'] === name).pop()!;
  return { outcome: r['outcome'], reason: r['reason'], policy: (r['details'] as Record<string, unknown>)['policy'] };
}

P('the rules are listed in order', async ({ gh }) => {
  const list = JSON.parse((await gh.cli(['policy', 'list', '--json'])).stdout) as { name: string; position: number }[];
  assert.equal(list.map((r) => r.name), ['Lab closed', 'Contractors', 'Break glass', 'VPN users']);
});

P('BreakGlass: in on the directory password alone, with its Class', async ({ gh }) => {
  const r = await login(gh, 'gina', 'gina-dir-pw');
  assert.is(r.replyCode, 'Access-Accept', r.stdout);
  assert.ok(replyAttributes(r.stdout).includes(`Class = 0x${Buffer.from('breakglass').toString('hex')}`), r.stdout);
  assert.equal(await decisionOf(gh, 'gina'), { outcome: 'accept', reason: 'policy_password_only', policy: 'Break glass' });
  // The wrong password is still wrong.
  assert.is((await login(gh, 'gina', 'guess')).replyCode, 'Access-Reject');
});

P('VPN-Users: the second factor, then the rule reply attributes (Class, a vendor attribute, a number)', async ({ gh, seed }) => {
  const first = await login(gh, 'alice', 'alice-dir-pw');
  assert.is(first.replyCode, 'Access-Challenge', first.stdout);
  const state = replyAttributes(first.stdout).find((l) => l.startsWith('State = '))!.slice('State = '.length);
  const r = await login(gh, 'alice', totpCode(seed), `State = ${state}`);
  assert.is(r.replyCode, 'Access-Accept', r.stdout);
  const attrs = replyAttributes(r.stdout);
  assert.ok(attrs.includes(`Class = 0x${Buffer.from('vpn-users').toString('hex')}`), r.stdout);
  assert.ok(attrs.includes('Fortinet-Group-Name = "vpn"'), r.stdout);
  assert.ok(attrs.includes('Session-Timeout = 28800'), r.stdout);
  assert.equal(await decisionOf(gh, 'alice'), { outcome: 'accept', reason: 'totp_ok', policy: 'VPN users' });
  // bob is in VPN-Users with no factor yet: --unenrolled-users (reject) applies.
  const bob = await login(gh, 'bob', 'bob-dir-pw');
  assert.is(bob.replyCode, 'Access-Reject');
  assert.equal(await decisionOf(gh, 'bob'), { outcome: 'reject', reason: 'unenrolled', policy: 'VPN users' });
});

P('Contractors are denied whatever the password; someone in no rule follows the usual path', async ({ gh }) => {
  const r = await login(gh, 'mallory', 'mallory-dir-pw');
  assert.is(r.replyCode, 'Access-Reject');
  assert.match(replyAttributes(r.stdout).join('\n'), /not allowed for this account/);
  assert.equal(await decisionOf(gh, 'mallory'), { outcome: 'reject', reason: 'policy_deny', policy: 'Contractors' });
  const eve = await login(gh, 'eve', 'eve-dir-pw');
  assert.is(eve.replyCode, 'Access-Reject');
  assert.equal(await decisionOf(gh, 'eve'), { outcome: 'reject', reason: 'unenrolled', policy: undefined });
});

P('a rule for one RADIUS client applies only there; order decides between rules that both match', async ({ gh }) => {
  const lab = await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: LAB, attrs: 'User-Name = "gina"\nUser-Password = "gina-dir-pw"\nMessage-Authenticator = 0x00\nPacket-Src-IP-Address = 127.0.0.2', timeoutSec: 4 });
  assert.is(lab.replyCode, 'Access-Reject', lab.stdout);
  assert.equal(await decisionOf(gh, 'gina'), { outcome: 'reject', reason: 'policy_deny', policy: 'Lab closed' });
  // "both" is in BreakGlass and VPN-Users: the first rule that matches wins.
  assert.is((await login(gh, 'both', 'both-dir-pw')).replyCode, 'Access-Accept');
  assert.is((await gh.cli(['policy', 'move', 'VPN users', 'up'])).code, 0);
  await waitFor('the new order in effect', async () => (await login(gh, 'both', 'both-dir-pw')).replyCode === 'Access-Reject');
  assert.equal(await decisionOf(gh, 'both'), { outcome: 'reject', reason: 'unenrolled', policy: 'VPN users' });
});

P('a reply attribute that does not exist, or a rule that cannot be, is refused with a clear message', async ({ gh }) => {
  const bad = await gh.cli(['policy', 'add', 'Bad', '--action', 'require', '--reply', 'Nonsense-Attribute = 1']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /unknown attribute Nonsense-Attribute/);
  const deny = await gh.cli(['policy', 'add', 'Bad', '--action', 'deny', '--reply', 'Class = x']);
  assert.match(deny.stderr, /a deny rule sends no Access-Accept/);
  const dup = await gh.cli(['policy', 'add', 'vpn USERS', '--action', 'deny']);
  assert.is(dup.code, 1);
  assert.match(dup.stderr, /already exists/);
  const action = await gh.cli(['policy', 'add', 'X', '--action', 'maybe']);
  assert.match(action.stderr, /action must be require, password_only or deny/);
});

P.run();
