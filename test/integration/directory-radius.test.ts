// The directory as the first factor of RADIUS logins, with no downstream RADIUS server at all:
// radclient -> bin/gatehouse -> a real OpenLDAP (slapd on loopback, in a temporary directory).
// The directory is configured the way an admin stores it (settings through the CLI, the bind
// password in LDAP_BIND_PASSWORD); the client chooses the directory as its first factor.
import { createServer, type Server, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditRecords, freeTcpPort, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, startSlapd, type Slapd } from '../helpers/slapd.js';
import { replyAttributes, runRadclient, type RadclientResult } from '../helpers/radclient.js';
import { totpCode } from '../helpers/totp.js';
import { base32Decode } from '../../app/mfa/otp.js';

const CS = 'dir-nas-secret';

interface Ctx {
  slapd: Slapd;
  gh: Appliance;
  seed: Buffer;
}

const D = suite<Ctx>('RADIUS with the directory as first factor');

D.before(async (ctx) => {
  ctx.slapd = await startSlapd({
    users: [
      { uid: 'dana', password: 'dana-dir-pw' },
      { uid: 'tina', password: 'tina-dir-pw' },
      { uid: 'dave', password: 'dave-dir-pw', disabled: true },
      ...Array.from({ length: 20 }, (_, i) => ({ uid: `p${i}`, password: `p${i}-dir-pw` })),
    ],
  });
  ctx.gh = await startAppliance({ args: ['--unenrolled-users', 'allow'], env: { LDAP_BIND_PASSWORD: ADMIN_PASSWORD } });
  for (const [k, v] of [
    ['ldap-url', ctx.slapd.url],
    ['ldap-preset', 'openldap'],
    ['ldap-base-dn', BASE_DN],
    ['ldap-bind-dn', ADMIN_DN],
    ['ldap-timeout', '1'],
  ] as const) {
    const r = await ctx.gh.cli(['settings', 'set', k, v]);
    assert.is(r.code, 0, r.stderr);
  }
  const added = await ctx.gh.cli(['client', 'add', '127.0.0.1', CS, '--name', 'vpn', '--first-factor', 'directory']);
  assert.is(added.code, 0, added.stderr);
  const enrolled = await ctx.gh.cli(['totp', 'enroll', 'tina']);
  assert.is(enrolled.code, 0, enrolled.stderr);
  const uri = new URL(enrolled.stdout.split('\n').find((l) => l.startsWith('otpauth://'))!);
  ctx.seed = base32Decode(uri.searchParams.get('secret')!);
  // The settings and the client reach the running appliance within a second.
  await waitFor('the directory client', async () => (await login(ctx.gh, 'dana', 'dana-dir-pw')).replyCode === 'Access-Accept');
});

D.after(async (ctx) => {
  await ctx.gh?.stop();
  await ctx.slapd?.stop();
});

function login(gh: Appliance, name: string, password: string, how: 'pap' | 'chap' = 'pap', extra = ''): Promise<RadclientResult> {
  const pw = how === 'pap' ? `User-Password = "${password}"` : `CHAP-Password = "${password}"`;
  return runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: CS, attrs: `User-Name = "${name}"\n${pw}\nMessage-Authenticator = 0x00\n${extra}`, timeoutSec: 4, retries: 1 });
}

const replyMessage = (r: RadclientResult) => replyAttributes(r.stdout).find((l) => l.startsWith('Reply-Message'));

async function lastDecision(gh: Appliance, username: string): Promise<Record<string, unknown>> {
  const recs = (await auditRecords(gh)).filter((r) => r['event'] === 'radius.auth' && r['username'] === username);
  assert.ok(recs.length > 0, `an audit record for ${username}`);
  return recs[recs.length - 1]!;
}

D('the right directory password is accepted with no downstream server; the audit says the directory checked it', async ({ gh }) => {
  const r = await login(gh, 'dana', 'dana-dir-pw');
  assert.is(r.replyCode, 'Access-Accept', r.stdout + r.stderr);
  const rec = await lastDecision(gh, 'dana');
  assert.is(rec['outcome'], 'accept');
  assert.is((rec['details'] as Record<string, unknown>)['firstFactor'], 'directory');
  assert.is((rec['details'] as Record<string, unknown>)['downstream'], undefined);
});

D('wrong password, unknown user and a disabled account are rejected alike for the person, with distinct audit reasons', async ({ gh }) => {
  const cases = [
    ['dana', 'not-her-password', 'directory_wrong_password'],
    ['nobody', 'whatever-pw', 'directory_not_found'],
    ['dave', 'dave-dir-pw', 'directory_disabled'],
  ] as const;
  for (const [name, pw, reason] of cases) {
    const r = await login(gh, name, pw);
    assert.is(r.replyCode, 'Access-Reject', `${name}: ${r.stdout}`);
    assert.is(replyMessage(r), 'Reply-Message = "The user name or password is not correct."', name);
    const rec = await lastDecision(gh, name);
    assert.equal([rec['outcome'], rec['reason']], ['reject', reason], name);
  }
});

D('CHAP cannot be checked against the directory: Access-Reject with a reason that says so', async ({ gh }) => {
  const r = await login(gh, 'dana', 'dana-dir-pw', 'chap');
  assert.is(r.replyCode, 'Access-Reject', r.stdout);
  assert.match(replyMessage(r) ?? '', /needs PAP; CHAP and MS-CHAP cannot be checked/);
  const rec = await lastDecision(gh, 'dana');
  assert.equal([rec['reason'], (rec['details'] as Record<string, unknown>)['authMethod']], ['directory_needs_pap', 'chap']);
});

D('the second factor follows as with a downstream server: challenge then code, or the code appended to the directory password', async ({ gh, seed }) => {
  const first = await login(gh, 'tina', 'tina-dir-pw');
  assert.is(first.replyCode, 'Access-Challenge', first.stdout);
  const state = replyAttributes(first.stdout).find((l) => l.startsWith('State = '))!.slice('State = '.length);
  const answer = await login(gh, 'tina', totpCode(seed), 'pap', `State = ${state}`);
  assert.is(answer.replyCode, 'Access-Accept', answer.stdout);
  // A wrong directory password never reaches the code.
  const wrong = await login(gh, 'tina', 'nope');
  assert.is(wrong.replyCode, 'Access-Reject');
  // The next step's code, appended (the one above is used up).
  const appended = await login(gh, 'tina', `tina-dir-pw,${totpCode(seed, 1)}`);
  assert.is(appended.replyCode, 'Access-Accept', appended.stdout);
  const rec = await lastDecision(gh, 'tina');
  assert.equal([rec['reason'], (rec['details'] as Record<string, unknown>)['factor'], (rec['details'] as Record<string, unknown>)['firstFactor']], ['totp_ok', 'totp', 'directory']);
});

D('20 logins at once, each checked by its own bind', async ({ gh }) => {
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => login(gh, `p${i}`, i % 2 === 0 ? `p${i}-dir-pw` : 'wrong-pw')));
  assert.equal(
    rs.map((r) => r.replyCode),
    rs.map((_, i) => (i % 2 === 0 ? 'Access-Accept' : 'Access-Reject')),
  );
});

D('a directory that cannot be reached, or does not answer in time, is its own reason; the person is told to try later', async ({ gh, slapd }) => {
  const closed = await freeTcpPort();
  const sockets: Socket[] = [];
  const silent: Server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as { port: number }).port;
  try {
    for (const [url, reason] of [
      [`ldap://127.0.0.1:${closed}`, 'directory_unreachable'],
      [`ldap://127.0.0.1:${silentPort}`, 'directory_timeout'],
    ] as const) {
      assert.is((await gh.cli(['settings', 'set', 'ldap-url', url])).code, 0);
      // The new URL applies within a second: until the refusal carries its reason.
      const r = await waitFor(`a login refused with ${reason}`, async () => {
        const res = await login(gh, 'dana', 'dana-dir-pw');
        return res.replyCode === 'Access-Reject' && (await lastDecision(gh, 'dana'))['reason'] === reason && res;
      });
      assert.is(replyMessage(r), 'Reply-Message = "The directory cannot be reached right now; try again later."');
    }
    // Failover: the dead server first, the live one second.
    assert.is((await gh.cli(['settings', 'set', 'ldap-url', `ldap://127.0.0.1:${closed},${slapd.url}`])).code, 0);
    await waitFor('failover to the live server', async () => (await login(gh, 'dana', 'dana-dir-pw')).replyCode === 'Access-Accept');
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
    await gh.cli(['settings', 'set', 'ldap-url', slapd.url]);
  }
});

D('no directory password or bind password reaches the log or the audit export', async ({ gh }) => {
  const exported = (await gh.cli(['audit', 'export'])).stdout;
  for (const secret of ['dana-dir-pw', 'tina-dir-pw', 'dave-dir-pw', 'not-her-password', ADMIN_PASSWORD]) {
    assert.not.ok(exported.includes(secret), `audit holds ${secret}`);
    assert.not.ok(gh.output().includes(secret), `log holds ${secret}`);
  }
});

D.run();
