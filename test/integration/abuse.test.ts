// Abuse limits through the real thing: our RADIUS client -> bin/gatehouse -> a real FreeRADIUS,
// with the push-API stand-in holding requests pending where a test needs them waiting.
// - push requests waiting per user (--push-max-pending-per-user, default 3): the next new one is
//   rejected with a Reply-Message and audited; joins and retransmissions are not new ones;
// - new push requests per user and window (--push-rate-per-user / --push-rate-window);
// - requests per second per RADIUS client (--client-rate-limit, off by default): over it they are
//   dropped unanswered (the client retries), audited as drops; retransmissions and Status-Server
//   are not limited;
// - with the limits off, nothing is limited.
// Each test starts its own appliance; FreeRADIUS and the push stand-in are shared.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr, Code, getString } from '../../app/radius/codec.js';
import { startAppliance, type Appliance, auditRecords, metric, waitFor } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { startPushServer, type PushServer } from '../helpers/push-server.js';
import { createTestClient, str, type Sent, type TestClient } from '../helpers/radius-client.js';

const CS = 'abuse-nas-secret';
const DS = 'abuse-down-secret';
const LIMITED = 'Too many approval requests; wait a few minutes.';
const NAMED = ['pat', 'quinn', 'rob', 'rita', 'olly', 'slowpoke', 'jules'];
const BULK = Array.from({ length: 60 }, (_, i) => `bulk${i}`);

interface Ctx {
  fr: FreeRadius;
  push: PushServer;
}

const pw = (name: string) => `${name}-pw`;

async function start(ctx: Ctx, extra: string[]): Promise<{ gh: Appliance; client: TestClient; stop(): Promise<void> }> {
  const gh = await startAppliance({
    args: ['--downstream-address', '127.0.0.1', '--port-out', String(ctx.fr.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--notakey-host', ctx.push.url, '--notakey-access-id', 'abuse', '--message-ttl-seconds', '30', ...extra],
  });
  const client = await createTestClient({ port: gh.radiusPort, secret: CS });
  return {
    gh,
    client,
    async stop() {
      await client.close();
      await gh.stop();
    },
  };
}

function login(client: TestClient, user: string, station?: string): Sent {
  return client.build([str(Attr.UserName, user), ...(station === undefined ? [] : [str(Attr.CallingStationId, station)])], { password: pw(user) });
}

const pushesFor = (push: PushServer, user: string) => push.creates.filter((c) => c.username === user);
const details = (row: Record<string, unknown>) => (row['details'] ?? {}) as Record<string, unknown>;

const A = suite<Ctx>('abuse limits');

A.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users: [...NAMED, ...BULK].map((name) => ({ name, password: pw(name) })), clients: [{ address: '127.0.0.1', secret: DS }] });
  ctx.push = await startPushServer({ kind: 'approve' });
});

A.after(async (ctx) => {
  await ctx.push?.close();
  await ctx.fr?.stop();
});

A('default: a fourth push waiting for one user is refused with a Reply-Message and audited; joins do not count; other users go on', async (ctx) => {
  const { push } = ctx;
  push.behave('pat', { kind: 'pending' });
  push.behave('quinn', { kind: 'approve' });
  const { gh, client, stop } = await start(ctx, []);
  try {
    const first = [login(client, 'pat', 'st-1'), login(client, 'pat', 'st-2'), login(client, 'pat', 'st-3')];
    for (const s of first) client.send(s);
    await waitFor('three pushes for pat', () => pushesFor(push, 'pat').length === 3);
    // A retransmission of the first login, and a fresh login from the same station: both join
    // the push already waiting, so neither is a new push request.
    client.send(first[0]!);
    const again = login(client, 'pat', 'st-1');
    client.send(again);
    await waitFor('four logins waiting on three pushes', async () => (await metric(gh, 'pending_logins')) === 4 && (await metric(gh, 'pending_pushes')) === 3);

    const fourth = await client.request(login(client, 'pat', 'st-4'));
    assert.ok(fourth, 'the fourth push request is answered at once');
    assert.is(fourth.packet.code, Code.AccessReject);
    assert.ok(fourth.authentic);
    assert.is(getString(fourth.packet.attributes, Attr.ReplyMessage), LIMITED);
    assert.is(pushesFor(push, 'pat').length, 3, 'no push was sent for it');
    for (const s of [...first, again]) assert.is(client.received(s.identifier).length, 0, 'the waiting logins still wait');

    // Another user is not affected.
    const other = await client.request(login(client, 'quinn', 'st-1'));
    assert.is(other?.packet.code, Code.AccessAccept);

    // Once one of pat's pushes is decided, a new one may be sent.
    // The three pushes are created concurrently, so the stand-in may see them in any order: pick
    // st-1's by its fingerprint ("CLIENT from st-1").
    const st1 = pushesFor(push, 'pat').find((c) => String(c.body.fingerprint).endsWith('from st-1'));
    assert.ok(st1, 'the push of station st-1');
    push.decide(st1.uuid, 'deny');
    assert.is((await client.answer(first[0]!, 8000))?.packet.code, Code.AccessReject);
    assert.is((await client.answer(again, 8000))?.packet.code, Code.AccessReject);
    client.send(login(client, 'pat', 'st-5'));
    await waitFor('a new push for pat once a slot is free', () => pushesFor(push, 'pat').length === 4);

    const rows = await auditRecords(gh);
    const limited = rows.filter((r) => r['reason'] === 'push_limited');
    assert.is(limited.length, 1, JSON.stringify(limited));
    assert.is(limited[0]!['event'], 'radius.auth');
    assert.is(limited[0]!['outcome'], 'reject');
    assert.is(limited[0]!['username'], 'pat');
    assert.is(details(limited[0]!)['limit'], 'pending');
    assert.is(details(limited[0]!)['callingStationId'], 'st-4');
    assert.is(await metric(gh, 'rejects_total{reason="push_limited"}'), 1);
    assert.is(await metric(gh, 'push_limited_total{reason="pending"}'), 1);
  } finally {
    await stop();
  }
});

A('rate: new push requests per user within the window are limited; joins are not counted; the window moves on', async (ctx) => {
  const { push } = ctx;
  push.behave('rob', { kind: 'approve', afterMs: 2000 });
  push.behave('rita', { kind: 'approve' });
  const { gh, client, stop } = await start(ctx, ['--push-rate-per-user', '2', '--push-rate-window', '6', '--push-max-pending-per-user', '0']);
  try {
    // Two logins from one station while the first push waits: one push request.
    const a = login(client, 'rob', 'st-x');
    client.send(a);
    await waitFor('the first push for rob', () => pushesFor(push, 'rob').length === 1);
    const joined = login(client, 'rob', 'st-x');
    const [ra, rj] = await Promise.all([client.answer(a), client.request(joined)]);
    assert.is(ra?.packet.code, Code.AccessAccept);
    assert.is(rj?.packet.code, Code.AccessAccept);
    // The second push request of the window.
    assert.is((await client.request(login(client, 'rob', 'st-y')))?.packet.code, Code.AccessAccept);
    assert.is(pushesFor(push, 'rob').length, 2);

    // The third within the window is refused, and its retransmission gets the same answer.
    const third = login(client, 'rob', 'st-z');
    const refused = await client.request(third);
    assert.is(refused?.packet.code, Code.AccessReject);
    assert.is(getString(refused!.packet.attributes, Attr.ReplyMessage), LIMITED);
    client.send(third);
    await waitFor('the cached answer', () => client.received(third.identifier).length >= 2);
    assert.ok(client.received(third.identifier)[1]!.wire.equals(refused!.wire));
    assert.is(pushesFor(push, 'rob').length, 2, 'no push for the refused login');

    // Another user has a window of their own.
    assert.is((await client.request(login(client, 'rita')))?.packet.code, Code.AccessAccept);

    // Once the window has moved past the first pushes, rob gets a push again. Refused attempts
    // do not count, so trying again until then is harmless.
    const later = await waitFor('a push for rob once the window moved on', async () => {
      const r = await client.request(login(client, 'rob', 'st-z'), 5000);
      return r?.packet.code === Code.AccessAccept ? r : undefined;
    }, 20_000);
    assert.ok(later);
    assert.is(pushesFor(push, 'rob').length, 3);

    const rows = (await auditRecords(gh)).filter((r) => r['reason'] === 'push_limited');
    assert.ok(rows.length >= 1);
    for (const r of rows) {
      assert.is(r['username'], 'rob');
      assert.is(r['outcome'], 'reject');
      assert.is(details(r)['limit'], 'rate');
    }
    assert.is(await metric(gh, 'push_limited_total{reason="rate"}'), rows.length);
    assert.is(await metric(gh, 'push_limited_total{reason="pending"}'), 0);
  } finally {
    await stop();
  }
});

A('per-client limit: a burst over the rate is dropped unanswered and audited once; retries are served', async (ctx) => {
  for (const u of BULK) ctx.push.behave(u, { kind: 'unknown' });
  const { gh, client, stop } = await start(ctx, ['--client-rate-limit', '5', '--unenrolled-users', 'allow']);
  try {
    const burst = BULK.slice(0, 20).map((u) => login(client, u));
    for (const s of burst) client.send(s);
    // Each request is either taken (and answered) or dropped (and counted): wait until all are one or the other.
    const answeredSoFar = () => burst.filter((s) => client.received(s.identifier).length > 0).length;
    await waitFor('every request of the burst answered or dropped', async () => answeredSoFar() + (await metric(gh, 'drops_total{reason="rate_limited"}')) >= burst.length);
    const first = burst.map((s) => client.received(s.identifier)[0]);
    const answered = first.filter((r) => r !== undefined).length;
    assert.ok(answered >= 1, 'requests under the limit are answered');
    assert.ok(answered < burst.length, `all ${burst.length} answered: nothing was limited`);
    for (const r of first) if (r !== undefined) assert.is(r.packet.code, Code.AccessAccept);

    // Like a RADIUS client, retry the unanswered ones every second: all are served in the end.
    const rest = burst.filter((_, i) => first[i] === undefined);
    const retried = await Promise.all(rest.map((s) => client.request(s, 15_000, 1000)));
    assert.is(retried.filter((r) => r?.packet.code === Code.AccessAccept).length, rest.length);

    const drops = await metric(gh, 'drops_total{reason="rate_limited"}');
    assert.ok(drops >= rest.length, `${drops} drops counted for ${rest.length} requests refused at first`);
    const rows = (await auditRecords(gh)).filter((r) => r['event'] === 'radius.drop' && r['reason'] === 'rate_limited');
    assert.ok(rows.length >= 1, 'the drop is audited');
    assert.ok(rows.length < drops, 'drops from one source are audited once per minute, not each');
    assert.is(rows[0]!['outcome'], 'drop');
    assert.match(String(rows[0]!['source']), /^127\.0\.0\.1:\d+$/);
    assert.ok(rows.every((r) => BULK.includes(String(r['username']))));
  } finally {
    await stop();
  }
});

A('per-client limit: retransmissions of a request being handled, and Status-Server, are never limited', async (ctx) => {
  ctx.push.behave('slowpoke', { kind: 'approve', afterMs: 1500 });
  const { gh, client, stop } = await start(ctx, ['--client-rate-limit', '2']);
  try {
    const req = login(client, 'slowpoke', 'st-1');
    client.send(req);
    await waitFor('the push for slowpoke', () => pushesFor(ctx.push, 'slowpoke').length === 1);
    const dropsBefore = await metric(gh, 'drops_total{reason="rate_limited"}');
    const retransmissionsBefore = await metric(gh, 'retransmissions_total');
    for (let i = 0; i < 40; i++) client.send(req);
    const answer = await client.answer(req, 8000);
    assert.is(answer?.packet.code, Code.AccessAccept);
    await waitFor('the retransmissions to be counted', async () => (await metric(gh, 'retransmissions_total')) >= retransmissionsBefore + 40);
    assert.is(await metric(gh, 'drops_total{reason="rate_limited"}'), dropsBefore, 'no retransmission was dropped');
    assert.is(pushesFor(ctx.push, 'slowpoke').length, 1);

    const status = Array.from({ length: 20 }, () => client.build([], { code: Code.StatusServer, ma: true }));
    for (const s of status) client.send(s);
    const answers = await Promise.all(status.map((s) => client.answer(s, 10_000)));
    assert.is(answers.filter((r) => r?.packet.code === Code.AccessAccept).length, status.length, 'every Status-Server is answered');
  } finally {
    await stop();
  }
});

A('limits off (0): any number of pushes wait for one user, and a burst from one client is all answered', async (ctx) => {
  ctx.push.behave('olly', { kind: 'pending' });
  for (const u of BULK) ctx.push.behave(u, { kind: 'unknown' });
  const { gh, client, stop } = await start(ctx, ['--push-max-pending-per-user', '0', '--push-rate-per-user', '0', '--unenrolled-users', 'allow']);
  try {
    const logins = Array.from({ length: 12 }, (_, i) => login(client, 'olly', `st-${i}`));
    for (const s of logins) client.send(s);
    await waitFor('twelve pushes for olly', () => pushesFor(ctx.push, 'olly').length === 12);
    for (const s of logins) assert.is(client.received(s.identifier).length, 0, 'none refused');

    // --client-rate-limit is 0 by default.
    const burst = BULK.slice(0, 40).map((u) => login(client, u));
    for (const s of burst) client.send(s);
    const answers = await Promise.all(burst.map((s) => client.answer(s, 5000)));
    assert.is(answers.filter((r) => r?.packet.code === Code.AccessAccept).length, burst.length);
    assert.is(await metric(gh, 'drops_total{reason="rate_limited"}'), 0);
    assert.not.ok((await auditRecords(gh)).some((r) => r['reason'] === 'push_limited' || r['reason'] === 'rate_limited'));
  } finally {
    await stop();
  }
});

A('a push is joined only by a login of the same origin: another NAS, or no Calling-Station-Id, starts its own (within the limits)', async (ctx) => {
  ctx.push.behave('jules', { kind: 'pending' });
  const { gh, client, stop } = await start(ctx, ['--push-max-pending-per-user', '0']);
  const withNas = (station: string | undefined, nas: string) => client.build([str(Attr.UserName, 'jules'), str(Attr.NasIdentifier, nas), ...(station === undefined ? [] : [str(Attr.CallingStationId, station)])], { password: pw('jules') });
  try {
    const first = withNas('st-1', 'vpn-a');
    client.send(first);
    await waitFor('the first push', () => pushesFor(ctx.push, 'jules').length === 1);
    // The same station through the same NAS joins it.
    const same = withNas('st-1', 'vpn-a');
    client.send(same);
    await waitFor('two logins on one push', async () => (await metric(gh, 'pending_logins')) === 2);
    assert.is(pushesFor(ctx.push, 'jules').length, 1);
    // The same station name through another NAS is another login: its own push.
    client.send(withNas('st-1', 'vpn-b'));
    await waitFor('a second push', () => pushesFor(ctx.push, 'jules').length === 2);
    // Without a Calling-Station-Id nothing says two logins are one: each gets its own push.
    client.send(withNas(undefined, 'vpn-a'));
    client.send(withNas(undefined, 'vpn-a'));
    await waitFor('two more pushes', () => pushesFor(ctx.push, 'jules').length === 4);
    assert.is(await metric(gh, 'pending_pushes'), 4);
  } finally {
    await stop();
  }
});

A.run();
