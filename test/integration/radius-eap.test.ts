// 802.1X through Gatehouse: eapol_test (Debian eapoltest) as the Wi-Fi access point and
// supplicant, PEAP-MSCHAPv2 and EAP-TTLS/PAP relayed to a real FreeRADIUS, and the push stand-in
// approving or denying. The second factor is for the inner identity the server names in its
// Access-Accept, never the anonymous outer one; the Accept's MPPE keys are re-encrypted for the
// access point (eapol_test reports SUCCESS only when they match the keys it derived itself).
// Then IPv6 end to end on ::1: listener, client by IPv6 prefix, downstream server over IPv6.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditRecords, metric as metricOf, startAppliance, type Appliance } from '../helpers/appliance.js';
import { runEapol, type EapolOptions, type EapolResult } from '../helpers/eapol.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { startPushServer, type PushServer } from '../helpers/push-server.js';
import { runRadclient } from '../helpers/radclient.js';

const AP_SECRET = 'ap-secret-W3rt';
const DOWN_SECRET = 'down-secret-Lk2m';
const USERS = ['alice', 'bob', 'carol', 'dave'].map((n) => ({ name: n, password: `${n}-pw` }));

interface Ctx {
  fr: FreeRadius;
  bare: FreeRadius;
  push: PushServer;
  gh: Appliance;
  ghBare: Appliance;
}

function eapol(ctx: Ctx, gh: Appliance, fr: FreeRadius, o: Pick<EapolOptions, 'method' | 'identity' | 'password'> & Partial<EapolOptions>): Promise<EapolResult> {
  return runEapol({ host: '127.0.0.1', port: gh.radiusPort, secret: AP_SECRET, caCert: fr.caCert!, timeoutSeconds: 20, anonymousIdentity: 'anonymous', ...o });
}
const tail = (t: string) => t.split('\n').slice(-40).join('\n');

const E = suite<Ctx>('EAP with push for the inner identity');

E.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users: USERS, clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }], eap: true });
  // A server whose Accept names no inner identity.
  ctx.bare = await startFreeRadius({ users: USERS, clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }], eap: true, eapNoInnerName: true });
  ctx.push = await startPushServer({ kind: 'approve', afterMs: 50 });
  const common = ['--address-secret-in', `127.0.0.1:${AP_SECRET}`, '--secret-out', DOWN_SECRET, '--notakey-host', ctx.push.url, '--notakey-access-id', 'wifi', '--port-acct', '0'];
  ctx.gh = await startAppliance({ args: [...common, '--downstream-address', '127.0.0.1', '--port-out', String(ctx.fr.port)] });
  ctx.ghBare = await startAppliance({ args: [...common, '--downstream-address', '127.0.0.1', '--port-out', String(ctx.bare.port)] });
});

E.after(async (ctx) => {
  await ctx.gh?.stop();
  await ctx.ghBare?.stop();
  await ctx.push?.close();
  await ctx.fr?.stop();
  await ctx.bare?.stop();
});

E('PEAP-MSCHAPv2: an approved push for the inner identity gives the access point the Accept with working MPPE keys', async (ctx) => {
  const r = await eapol(ctx, ctx.gh, ctx.fr, { method: 'peap-mschapv2', identity: 'alice', password: 'alice-pw' });
  assert.ok(r.ok, `${r.code}\n${tail(r.stdout)}`);
  assert.ok(r.mppeKeysOk, 'MPPE keys re-encrypted for the access point');
  assert.is(r.finalUserName, 'alice');
  const pushed = ctx.push.creates.map((c) => c.username);
  assert.ok(pushed.includes('alice'), JSON.stringify(pushed));
  assert.not.ok(pushed.includes('anonymous'), 'never a push for the outer identity');
  const rec = (await auditRecords(ctx.gh)).filter((x) => x['event'] === 'radius.auth' && x['outcome'] === 'accept').at(-1)!;
  assert.is(rec['username'], 'alice');
  assert.match(JSON.stringify(rec['details']), '"sentUsername":"anonymous"');
  assert.match(JSON.stringify(rec['details']), '"authMethod":"eap"');
});

E('PEAP-MSCHAPv2: a denied push rejects the login after the right password', async (ctx) => {
  ctx.push.behave('bob', { kind: 'deny', afterMs: 50 });
  const r = await eapol(ctx, ctx.gh, ctx.fr, { method: 'peap-mschapv2', identity: 'bob', password: 'bob-pw' });
  assert.not.ok(r.ok);
  assert.is(r.final?.code, 'Access-Reject');
  const rec = (await auditRecords(ctx.gh)).filter((x) => x['event'] === 'radius.auth' && x['username'] === 'bob').at(-1)!;
  assert.is(rec['outcome'], 'reject');
  assert.is(rec['reason'], 'push_denied');
});

E('PEAP-MSCHAPv2: a wrong inner password is rejected by the server and sends no push', async (ctx) => {
  const before = ctx.push.creates.length;
  const r = await eapol(ctx, ctx.gh, ctx.fr, { method: 'peap-mschapv2', identity: 'carol', password: 'wrong' });
  assert.not.ok(r.ok);
  assert.is(ctx.push.creates.length, before);
});

E('EAP-TTLS/PAP: approved for the inner identity; a retransmitted last round while the push waits starts no second push', async (ctx) => {
  // The approval takes longer than eapol_test's first retransmission (3 s).
  ctx.push.behave('dave', { kind: 'approve', afterMs: 4500 });
  const r = await eapol(ctx, ctx.gh, ctx.fr, { method: 'ttls-pap', identity: 'dave', password: 'dave-pw' });
  assert.ok(r.ok, `${r.code}\n${tail(r.stdout)}`);
  assert.ok(r.mppeKeysOk);
  assert.is(ctx.push.creates.filter((c) => c.username === 'dave').length, 1);
  assert.match(r.stdout, /Resending RADIUS message/, 'eapol_test retransmitted the last round while the push waited');
  assert.ok((await metricOf(ctx.gh, 'retransmissions_total')) >= 1);
});

E('no inner identity in the Accept: rejected by default with a clear audit reason, and no push', async (ctx) => {
  const before = ctx.push.creates.length;
  const r = await eapol(ctx, ctx.ghBare, ctx.bare, { method: 'peap-mschapv2', identity: 'alice', password: 'alice-pw' });
  assert.not.ok(r.ok);
  assert.is(r.final?.code, 'Access-Reject');
  assert.is(ctx.push.creates.length, before);
  const rec = (await auditRecords(ctx.ghBare)).filter((x) => x['event'] === 'radius.auth' && x['outcome'] === 'reject').at(-1)!;
  assert.is(rec['reason'], 'eap_no_identity');
});

E.run();

// ---------------------------------------------------------------------------------------------
interface V6 {
  fr: FreeRadius;
  push: PushServer;
  gh: Appliance;
}
const V = suite<V6>('IPv6: listener, clients by prefix, downstream server');

V.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users: USERS, clients: [{ address: '::1/128', secret: DOWN_SECRET }], listenAddress: '::1', accounting: true });
  ctx.push = await startPushServer({ kind: 'approve', afterMs: 20 });
  ctx.gh = await startAppliance({
    args: ['--listen-address', '::1', '--address-secret-in', `[::1/128]:${AP_SECRET}`, '--downstream-address', '::1', '--port-out', String(ctx.fr.port), '--port-out-acct', String(ctx.fr.acctPort), '--secret-out', DOWN_SECRET, '--notakey-host', ctx.push.url, '--notakey-access-id', 'v6', '--port-acct', '0'],
  });
});

V.after(async (ctx) => {
  await ctx.gh?.stop();
  await ctx.push?.close();
  await ctx.fr?.stop();
});

V('PAP and Status-Server over IPv6 on ::1, through a downstream server on ::1', async (ctx) => {
  const r = await runRadclient({ server: `[::1]:${ctx.gh.radiusPort}`, secret: AP_SECRET, attrs: 'User-Name = "alice"\nUser-Password = "alice-pw"\nMessage-Authenticator = 0x00', timeoutSec: 5 });
  assert.is(r.replyCode, 'Access-Accept', r.stdout + r.stderr);
  const rec = (await auditRecords(ctx.gh)).filter((x) => x['event'] === 'radius.auth' && x['username'] === 'alice').at(-1)!;
  assert.match(String(rec['source']), /^::1:/);
  assert.match(JSON.stringify(rec['details']), `"downstream":"::1:${ctx.fr.port}"`);
  const status = await runRadclient({ server: `[::1]:${ctx.gh.radiusPort}`, secret: AP_SECRET, code: 'status', attrs: 'Message-Authenticator = 0x00', timeoutSec: 2 });
  assert.is(status.replyCode, 'Access-Accept', status.stdout + status.stderr);
  // The IPv4 loopback is not this listener's: nothing answers there.
  const v4 = await runRadclient({ server: `127.0.0.1:${ctx.gh.radiusPort}`, secret: AP_SECRET, attrs: 'User-Name = "bob"\nUser-Password = "bob-pw"', timeoutSec: 0.5 });
  assert.is(v4.replyCode, undefined);
});

V.run();
