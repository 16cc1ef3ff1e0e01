// Proxy behaviour under other configurations: failmode, unenrolled users, downstream faults,
// hundreds of requests in flight, environment-only configuration, shutdown with logins waiting.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr, Code, encodeResponse, getString } from '../../app/radius/codec.js';
import { auditRecords, metric, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { freeUdpPort, startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { startRelay } from '../helpers/relay.js';
import { startPushServer } from '../helpers/push-server.js';
import { runRadclient } from '../helpers/radclient.js';
import { createTestClient, str, type TestClient } from '../helpers/radius-client.js';

const CS = 'nas-secret-1';
const DS = 'down-secret-1';
const users = Array.from({ length: 40 }, (_, i) => ({ name: `u${i}`, password: `pw-${i}` }));

interface Ctx {
  fr: FreeRadius;
}

const downstreamTimeouts = (gh: Appliance) => metric(gh, 'errors_total{reason="downstream_timeout"}');

const downstreamArgs = (fr: FreeRadius) => ['--downstream-address', '127.0.0.1', '--port-out', String(fr.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`];

const P = suite<Ctx>('proxy policies');

P.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users, clients: [{ address: '127.0.0.1', secret: DS }] });
});
P.after(async (ctx) => {
  await ctx.fr?.stop();
});

P('no push service configured: --unenrolled-users reject (default) rejects after the password, allow accepts', async ({ fr }) => {
  const rejecting = await startAppliance({ args: downstreamArgs(fr) });
  const allowing = await startAppliance({ args: [...downstreamArgs(fr), '--unenrolled-users', 'allow'] });
  try {
    const a = await createTestClient({ port: rejecting.radiusPort, secret: CS });
    const r1 = await a.request(a.build([str(Attr.UserName, 'u1')], { password: 'pw-1' }));
    assert.is(r1?.packet.code, Code.AccessReject);
    assert.match(getString(r1!.packet.attributes, Attr.ReplyMessage) ?? '', /No second factor/);
    await a.close();
    const b = await createTestClient({ port: allowing.radiusPort, secret: CS });
    assert.is((await b.request(b.build([str(Attr.UserName, 'u1')], { password: 'pw-1' })))?.packet.code, Code.AccessAccept);
    assert.is((await b.request(b.build([str(Attr.UserName, 'u1')], { password: 'wrong' })))?.packet.code, Code.AccessReject);
    await b.close();
    const rows = await auditRecords(allowing);
    assert.ok(rows.some((r) => r['reason'] === 'unenrolled_allowed' && r['outcome'] === 'accept'));
  } finally {
    await rejecting.stop();
    await allowing.stop();
  }
});

P('push service unreachable: failmode secure rejects, safe accepts on the password; both audited', async ({ fr }) => {
  const deadPort = await freeUdpPort(); // nothing listens there over TCP either
  const host = `http://127.0.0.1:${deadPort}/api/`;
  const secure = await startAppliance({ args: [...downstreamArgs(fr), '--notakey-host', host, '--notakey-access-id', 'x'] });
  const safe = await startAppliance({ args: [...downstreamArgs(fr), '--notakey-host', host, '--notakey-access-id', 'x', '--failmode', 'safe'] });
  try {
    const a = await createTestClient({ port: secure.radiusPort, secret: CS });
    const ra = await a.request(a.build([str(Attr.UserName, 'u2')], { password: 'pw-2' }));
    assert.is(ra?.packet.code, Code.AccessReject);
    assert.match(getString(ra!.packet.attributes, Attr.ReplyMessage) ?? '', /cannot be reached/);
    await a.close();
    const b = await createTestClient({ port: safe.radiusPort, secret: CS });
    assert.is((await b.request(b.build([str(Attr.UserName, 'u2')], { password: 'pw-2' })))?.packet.code, Code.AccessAccept);
    // failmode never skips the password.
    assert.is((await b.request(b.build([str(Attr.UserName, 'u2')], { password: 'bad' })))?.packet.code, Code.AccessReject);
    await b.close();
    assert.ok((await auditRecords(secure)).some((r) => r['reason'] === 'failmode_secure' && r['outcome'] === 'reject'));
    assert.ok((await auditRecords(safe)).some((r) => r['reason'] === 'failmode_safe' && r['outcome'] === 'accept'));
  } finally {
    await secure.stop();
    await safe.stop();
  }
});

P('a push API slower than --notakey-timeout, or answering 500, counts as unreachable', async ({ fr }) => {
  const push = await startPushServer();
  push.behave('u3', { kind: 'slow', createDelayMs: 10_000, then: 'approve' });
  push.behave('u4', { kind: 'error', status: 500 });
  const gh = await startAppliance({ args: [...downstreamArgs(fr), '--notakey-host', push.url, '--notakey-access-id', 'x', '--notakey-timeout', '1'] });
  try {
    const c = await createTestClient({ port: gh.radiusPort, secret: CS });
    const started = Date.now();
    const r3 = await c.request(c.build([str(Attr.UserName, 'u3')], { password: 'pw-3' }), 9000);
    assert.is(r3?.packet.code, Code.AccessReject);
    // Well before the push API's 10 s (with room for a loaded machine): the 1 s call timeout was honoured.
    assert.ok(Date.now() - started < 6000, `answered after ${Date.now() - started} ms`);
    assert.is((await c.request(c.build([str(Attr.UserName, 'u4')], { password: 'pw-4' })))?.packet.code, Code.AccessReject);
    await c.close();
    const rows = await auditRecords(gh);
    assert.ok(rows.some((r) => r['username'] === 'u3' && r['reason'] === 'failmode_secure'));
    assert.ok(rows.some((r) => r['username'] === 'u4' && r['reason'] === 'failmode_secure'));
  } finally {
    await gh.stop();
    await push.close();
  }
});

P('downstream server silent: no answer within --proxy-receive-timeout, audited; a later retransmission is forwarded again', async ({ fr }) => {
  // The relay swallows every copy of the first request Gatehouse forwards: for it, the server is silent.
  let first: string | undefined;
  const relay = await startRelay(fr, { drop: (p) => (first ??= p.authenticator.toString('hex')) === p.authenticator.toString('hex') });
  const gh = await startAppliance({ args: ['--downstream-address', '127.0.0.1', '--port-out', String(relay.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--proxy-receive-timeout', '1', '--unenrolled-users', 'allow'] });
  const c = await createTestClient({ port: gh.radiusPort, secret: CS });
  try {
    const req = c.build([str(Attr.UserName, 'u5')], { password: 'pw-5' });
    c.send(req);
    await waitFor('the downstream timeout', async () => (await downstreamTimeouts(gh)) === 1);
    assert.is(c.received(req.identifier).length, 0, 'answered although the server was silent');
    const rows = await auditRecords(gh);
    assert.ok(rows.some((r) => r['username'] === 'u5' && r['outcome'] === 'error' && r['reason'] === 'downstream_timeout'));
    // The client's retransmission, the same bytes, is a new downstream request, and it is answered.
    const res = await c.request(req, 10_000, 2000);
    assert.is(res?.packet.code, Code.AccessAccept);
    assert.is(new Set(relay.requests().map((p) => p.authenticator.toString('hex'))).size, 2, 'downstream requests');
  } finally {
    await c.close();
    await gh.stop();
    await relay.close();
  }
});

P('a downstream host name that cannot be resolved is an audited error, bounded by --proxy-send-timeout', async () => {
  const gh = await startAppliance({ args: ['--downstream-address', 'no-such-radius.invalid', '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--proxy-send-timeout', '1', '--unenrolled-users', 'allow'] });
  const c = await createTestClient({ port: gh.radiusPort, secret: CS });
  try {
    const req = c.build([str(Attr.UserName, 'u9')], { password: 'pw-9' });
    c.send(req);
    const row = await waitFor('the audit record', async () => (await auditRecords(gh)).find((r) => r['username'] === 'u9'));
    assert.is(row['outcome'], 'error');
    assert.ok(['downstream_resolve_error', 'downstream_send_timeout'].includes(String(row['reason'])), String(row['reason']));
    assert.is(c.received(req.identifier).length, 0);
  } finally {
    await c.close();
    await gh.stop();
  }
});

P('a downstream answer signed with another secret is ignored (no answer, timeout audited)', async ({ fr }) => {
  // The relay answers each request itself: an Access-Accept whose Response Authenticator is made
  // with a secret Gatehouse does not share.
  const relay = await startRelay(fr, { answer: (p) => encodeResponse(Code.AccessAccept, p.identifier, p.authenticator, [], Buffer.from('not-the-downstream-secret'), false) });
  const gh = await startAppliance({ args: ['--downstream-address', '127.0.0.1', '--port-out', String(relay.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--proxy-receive-timeout', '1', '--unenrolled-users', 'allow'] });
  const c = await createTestClient({ port: gh.radiusPort, secret: CS });
  try {
    const req = c.build([str(Attr.UserName, 'u6')], { password: 'pw-6' });
    c.send(req);
    await waitFor('the downstream timeout', async () => (await downstreamTimeouts(gh)) === 1);
    assert.ok(relay.requests().length >= 1, 'the forged answer was never sent');
    assert.is(c.received(req.identifier).length, 0, 'the forged answer was relayed');
    const rows = await auditRecords(gh);
    assert.ok(rows.some((r) => r['username'] === 'u6' && r['outcome'] === 'error' && r['reason'] === 'downstream_timeout'));
    assert.not.ok(rows.some((r) => r['outcome'] === 'accept'));
  } finally {
    await c.close();
    await gh.stop();
    await relay.close();
  }
});

P('a downstream server that requires Message-Authenticator from Gatehouse still answers every login', async () => {
  const strict = await startFreeRadius({ users, clients: [{ address: '127.0.0.1', secret: DS, requireMessageAuthenticator: true }] });
  const gh = await startAppliance({ args: [...downstreamArgs(strict), '--unenrolled-users', 'allow'] });
  const c = await createTestClient({ port: gh.radiusPort, secret: CS });
  try {
    // The client may leave it out (until it first sends one): Gatehouse signs the downstream leg regardless.
    for (const ma of [false, true]) {
      const ok = await c.request(c.build([str(Attr.UserName, 'u10')], { password: 'pw-10', ma }), 5000, 1000);
      assert.is(ok?.packet.code, Code.AccessAccept, `with ma=${ma}`);
    }
    const bad = await c.request(c.build([str(Attr.UserName, 'u10')], { password: 'wrong' }), 5000, 1000);
    assert.is(bad?.packet.code, Code.AccessReject);
    assert.is(await downstreamTimeouts(gh), 0);
  } finally {
    await c.close();
    await gh.stop();
    await strict.stop();
  }
});

P('more than 256 requests in flight to one downstream server are all answered', async ({ fr }) => {
  // The relay holds 600 requests before any reaches FreeRADIUS: all 600 are in flight at once,
  // which needs at least three sockets of 256 identifiers each.
  // Released when all 600 are held, or after 8 s on a machine too loaded to send them faster.
  const relay = await startRelay(fr, { hold: 600, maxWaitMs: 8000 });
  const clients: TestClient[] = [];
  const gh = await startAppliance({ args: ['--downstream-address', '127.0.0.1', '--port-out', String(relay.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--unenrolled-users', 'allow', '--proxy-receive-timeout', '10'] });
  try {
    for (let i = 0; i < 3; i++) clients.push(await createTestClient({ port: gh.radiusPort, secret: CS }));
    const reqs = clients.flatMap((c) =>
      Array.from({ length: 200 }, (_, i) => {
        const u = users[i % users.length]!;
        const s = c.build([str(Attr.UserName, u.name)], { password: i % 10 === 0 ? 'wrong' : u.password });
        return { c, s, expect: i % 10 === 0 ? Code.AccessReject : Code.AccessAccept };
      }),
    );
    // Like real RADIUS clients, retransmit after a while: UDP may drop an answer in a burst of 600.
    const answers = await Promise.all(reqs.map((r) => r.c.request(r.s, 12_000, 4000)));
    const wrong = answers.filter((a, i) => a?.packet.code !== reqs[i]!.expect).length;
    assert.is(wrong, 0, `${wrong} of ${reqs.length} requests unanswered or answered wrongly`);
    assert.ok(relay.peakHeld() >= 600, `${relay.peakHeld()} held at once`);
    assert.ok(relay.sourcePorts() >= 3, `expected at least 3 downstream sockets, saw ${relay.sourcePorts()}`);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await gh.stop();
    await relay.close();
  }
});

P('configured entirely by environment variables, as the old proxy`s docker run -e line; flags win over them', async ({ fr }) => {
  const push = await startPushServer({ kind: 'approve' });
  const env = {
    NOTAKEY_HOST: push.url,
    NOTAKEY_ACCESS_ID: 'env-app',
    MESSAGE_TITLE: 'Title from env',
    MESSAGE_DESCRIPTION: 'Allow {0}?',
    NOTAKEY_TTL_SECONDS: '30',
    DOWNSTREAM_ADDRESS: '127.0.0.1',
    PORT_OUT: String(fr.port),
    SECRET_OUT: DS,
    ADDRESS_SECRET_IN: `10.0.0.0/8:other, 127.0.0.1:${CS}`,
    LISTEN_ADDRESS: '127.0.0.1',
  };
  const gh = await startAppliance({ env, args: ['--message-title', 'Title from flag'] });
  try {
    const r = await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: CS, attrs: 'User-Name = "u7"\nUser-Password = "pw-7"\nMessage-Authenticator = 0x00', timeoutSec: 5, retries: 1 });
    assert.is(r.replyCode, 'Access-Accept', r.stdout + r.stderr + gh.output());
    const c = push.creates.find((x) => x.username === 'u7');
    assert.ok(c);
    assert.is(c!.accessId, 'env-app');
    assert.is(c!.body.action, 'Title from flag');
    assert.is(c!.body.description, 'Allow u7?');
    assert.is(c!.body.ttl_seconds, 30);
  } finally {
    await gh.stop();
    await push.close();
  }
});

P('SIGTERM with logins waiting on the phone: they are answered with a reject, the store is closed cleanly', async ({ fr }) => {
  const push = await startPushServer({ kind: 'pending' });
  const gh = await startAppliance({ args: [...downstreamArgs(fr), '--notakey-host', push.url, '--notakey-access-id', 'x'] });
  const c = await createTestClient({ port: gh.radiusPort, secret: CS });
  try {
    const req = c.build([str(Attr.UserName, 'u8')], { password: 'pw-8' });
    c.send(req);
    await waitFor('the push', () => push.creates.length > 0);
    const answer = c.answer(req, 5000);
    gh.child.kill('SIGTERM');
    const res = await answer;
    assert.is(res?.packet.code, Code.AccessReject);
    assert.match(getString(res!.packet.attributes, Attr.ReplyMessage) ?? '', /restarting/);
    assert.is(await gh.stop(), 0);
  } finally {
    await c.close();
    await push.close();
  }
});

P.run();
