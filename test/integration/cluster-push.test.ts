// Push approvals across two appliances on one PostgreSQL, in front of a real FreeRADIUS, with the
// test push service (issue 15): a RADIUS client that fails over from node A to node B mid-login
// joins the push A sent (one push, one decision for both); A killed (-9) with a login pending: B
// takes the push over, answers the client's failover with the person's decision and nothing
// before it, and the audit chain verifies.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { metric, runCli, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { startPushServer, type PushServer } from '../helpers/push-server.js';
import { replyAttributes, runRadclient, type RadclientResult } from '../helpers/radclient.js';

const DOWN_SECRET = 'cluster-push-downstream-secret';
const NAS_SECRET = 'cluster-push-nas-secret';
const USERS = ['carol', 'dave', 'erin', 'frank', 'gina'];

interface Ctx {
  pg: Postgres;
  fr: FreeRadius;
  push: PushServer;
  env: NodeJS.ProcessEnv;
  a: Appliance;
  b: Appliance;
}

const C = suite<Ctx>('push approvals across two appliances on one PostgreSQL', {} as Ctx);

/** One login as a NAS sends it (the Calling-Station-Id makes a retry on another server the same login). */
const login = (gh: Appliance, user: string, password: string, station: string, timeoutSec = 40) =>
  runRadclient({
    server: `127.0.0.1:${gh.radiusPort}`,
    secret: NAS_SECRET,
    attrs: `User-Name = "${user}"\nUser-Password = "${password}"\nCalling-Station-Id = "${station}"\nNAS-Identifier = "vpn-1"\nMessage-Authenticator = 0x00`,
    timeoutSec,
    retries: 1,
  });

/** A login under way, and when its answer came. */
function pending(r: Promise<RadclientResult>): { result: Promise<RadclientResult>; answeredAt(): number | undefined } {
  let at: number | undefined;
  const result = r.then((x) => {
    at = Date.now();
    return x;
  });
  return { result, answeredAt: () => at };
}

const pushesFor = (ctx: Ctx, user: string) => ctx.push.creates.filter((c) => c.username === user);

/** The decisions on a user's logins in the shared audit log (`gatehouse audit export` on the cluster's store). */
async function decisionsFor(ctx: Ctx, user: string): Promise<{ reason: unknown; joined: boolean }[]> {
  const out = await runCli(['audit', 'export', '--data-dir', ctx.b.dataDir], { env: ctx.env });
  assert.is(out.code, 0, out.stderr);
  return out.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { event: string; username: string | null; reason: unknown; details?: { joined?: boolean } })
    .filter((r) => r.event === 'radius.auth' && r.username === user)
    .map((r) => ({ reason: r.reason, joined: r.details?.joined === true }));
}

C.before(async (ctx) => {
  ctx.pg = await startPostgres();
  const url = await ctx.pg.createDatabase('cluster_push');
  ctx.fr = await startFreeRadius({ users: USERS.map((name) => ({ name, password: `${name}-pw` })), clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }] });
  // Nobody decides until the test does.
  ctx.push = await startPushServer({ kind: 'pending' });
  ctx.env = {
    DATABASE_URL: url,
    GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
    DOWNSTREAM_ADDRESS: '127.0.0.1',
    PORT_OUT: String(ctx.fr.port),
    SECRET_OUT: DOWN_SECRET,
    ADDRESS_SECRET_IN: `127.0.0.1:${NAS_SECRET}`,
    NOTAKEY_HOST: ctx.push.url,
    NOTAKEY_ACCESS_ID: 'cluster',
    NOTAKEY_TTL_SECONDS: '60',
  };
  ctx.a = await startAppliance({ env: { ...ctx.env, NODE_NAME: 'gh-a' } });
  ctx.b = await startAppliance({ env: { ...ctx.env, NODE_NAME: 'gh-b' } });
});

C.after(async (ctx) => {
  for (const gh of [ctx.a, ctx.b]) {
    if (gh === undefined) continue;
    await gh.stop();
    await rm(gh.dataDir, { recursive: true, force: true });
  }
  await ctx.push?.close();
  await ctx.fr?.stop();
  await ctx.pg?.stop();
});

C('a login pending on node A, the client failing over to node B: one push, one decision, both answered', async (ctx) => {
  const onA = pending(login(ctx.a, 'carol', 'carol-pw', 'st-carol'));
  const created = await waitFor('the push for carol', () => pushesFor(ctx, 'carol')[0]);
  // The NAS gives up on A and sends the login to B.
  const onB = pending(login(ctx.b, 'carol', 'carol-pw', 'st-carol'));
  await waitFor('B to wait on the push A sent', async () => (await metric(ctx.b, 'pending_logins')) === 1);
  assert.is(onA.answeredAt(), undefined, 'nobody answered before the decision');
  assert.is(onB.answeredAt(), undefined, 'nobody answered before the decision');
  const decided = Date.now();
  ctx.push.decide(created.uuid, 'approve');
  const [a, b] = await Promise.all([onA.result, onB.result]);
  assert.is(a.replyCode, 'Access-Accept', `${a.stdout}\n${ctx.a.output()}`);
  assert.is(b.replyCode, 'Access-Accept', `${b.stdout}\n${ctx.b.output()}`);
  assert.ok(onB.answeredAt()! - decided < 1_500, `B answered ${onB.answeredAt()! - decided} ms after the decision`);
  assert.is(pushesFor(ctx, 'carol').length, 1, 'one push for both');
  assert.equal((await decisionsFor(ctx, 'carol')).sort((x, y) => Number(x.joined) - Number(y.joined)), [
    { reason: 'push_approved', joined: false },
    { reason: 'push_approved', joined: true },
  ]);
});

C('a denial made while the client is on node B is the answer there; a wrong password never joins', async (ctx) => {
  const onA = pending(login(ctx.a, 'erin', 'erin-pw', 'st-erin'));
  const created = await waitFor('the push for erin', () => pushesFor(ctx, 'erin')[0]);
  const wrong = await login(ctx.b, 'erin', 'not-erins-pw', 'st-erin', 3);
  assert.is(wrong.replyCode, 'Access-Reject', 'the first factor decides before any push is joined');
  const onB = pending(login(ctx.b, 'erin', 'erin-pw', 'st-erin'));
  await waitFor('B to wait on the push A sent', async () => (await metric(ctx.b, 'pending_logins')) === 1);
  ctx.push.decide(created.uuid, 'deny');
  const [a, b] = await Promise.all([onA.result, onB.result]);
  assert.equal([a.replyCode, b.replyCode], ['Access-Reject', 'Access-Reject']);
  assert.is(pushesFor(ctx, 'erin').length, 1);
});

C('the per-user pending limit holds for the cluster: three pushes waiting for frank on A, a fourth on B is refused', async (ctx) => {
  const onA = ['st-f1', 'st-f2', 'st-f3'].map((st) => pending(login(ctx.a, 'frank', 'frank-pw', st)));
  await waitFor('three pushes for frank', () => pushesFor(ctx, 'frank').length === 3);
  const fourth = await login(ctx.b, 'frank', 'frank-pw', 'st-f4', 5);
  assert.is(fourth.replyCode, 'Access-Reject', `${fourth.stdout}\n${ctx.b.output()}`);
  assert.match(fourth.stdout, /Too many approval requests/);
  assert.is(pushesFor(ctx, 'frank').length, 3, 'no fourth push');
  for (const c of pushesFor(ctx, 'frank')) ctx.push.decide(c.uuid, 'deny');
  assert.equal((await Promise.all(onA.map((p) => p.result))).map((r) => r.replyCode), ['Access-Reject', 'Access-Reject', 'Access-Reject']);
  // The places are free again, on either appliance.
  const again = pending(login(ctx.b, 'frank', 'frank-pw', 'st-f5'));
  const created = await waitFor('a new push for frank', () => pushesFor(ctx, 'frank')[3]);
  ctx.push.decide(created.uuid, 'approve');
  assert.is((await again.result).replyCode, 'Access-Accept');
  assert.ok((await decisionsFor(ctx, 'frank')).some((d) => d.reason === 'push_limited'));
});

C('number matching: the round with the number, failed over to node B, is checked there and answered with the approval', async (ctx) => {
  const set = await runCli(['settings', 'set', 'push-number-matching', 'yes', '--data-dir', ctx.a.dataDir], { env: ctx.env });
  assert.is(set.code, 0, set.stderr);
  try {
    const first = await waitFor('A to ask for the number (the setting applied)', async () => {
      const r = await login(ctx.a, 'gina', 'gina-pw', 'st-gina', 5);
      return r.replyCode === 'Access-Challenge' ? r : undefined;
    }, 10_000);
    const state = replyAttributes(first.stdout).find((l) => l.startsWith('State = '))!.slice('State = '.length);
    const push = pushesFor(ctx, 'gina').at(-1)!;
    const number = /Number: (\d\d)/.exec(String(push.body.description))![1]!;
    const answer = (password: string) =>
      pending(runRadclient({ server: `127.0.0.1:${ctx.b.radiusPort}`, secret: NAS_SECRET, attrs: `User-Name = "gina"\nUser-Password = "${password}"\nState = ${state}\nCalling-Station-Id = "st-gina"\nNAS-Identifier = "vpn-1"\nMessage-Authenticator = 0x00`, timeoutSec: 30, retries: 1 }));
    // The NAS sends the round with the number to B (A did not answer in time, say).
    const onB = answer(number);
    await waitFor('B to wait on the push A sent', async () => (await metric(ctx.b, 'pending_logins')) === 1);
    assert.is(onB.answeredAt(), undefined, 'the right number alone lets nobody in');
    ctx.push.decide(push.uuid, 'approve');
    const b = await onB.result;
    assert.is(b.replyCode, 'Access-Accept', `${b.stdout}\n${ctx.b.output()}`);
    assert.is(pushesFor(ctx, 'gina').length, 1);
  } finally {
    const unset = await runCli(['settings', 'unset', 'push-number-matching', '--data-dir', ctx.a.dataDir], { env: ctx.env });
    assert.is(unset.code, 0, unset.stderr);
  }
  // The setting's removal reaches both appliances within a second (the next test logs in without).
  await new Promise((r) => setTimeout(r, 1_500));
});

C('node A killed (-9) with a login pending: B takes the push over and answers with the decision, only after it; the audit verifies', async (ctx) => {
  // The NAS gives A a few seconds before it tries the next server.
  const onA = pending(login(ctx.a, 'dave', 'dave-pw', 'st-dave', 6));
  const created = await waitFor('the push for dave', () => pushesFor(ctx, 'dave')[0]);
  await waitFor('A to poll it', () => ctx.push.pollsOf(created.uuid) > 0);
  await ctx.a.stop('SIGKILL');
  assert.is(onA.answeredAt(), undefined);
  const pollsWhenKilled = ctx.push.pollsOf(created.uuid);
  // The NAS hears nothing from A and fails over to B with the same login.
  const onB = pending(login(ctx.b, 'dave', 'dave-pw', 'st-dave'));
  // Once A's heartbeat is stale, B polls the same request (no second push to the phone).
  await waitFor('B to follow the push A sent', () => ctx.push.pollsOf(created.uuid) > pollsWhenKilled + 1, 20_000);
  assert.is(pushesFor(ctx, 'dave').length, 1, 'the person is not asked twice');
  assert.is(onB.answeredAt(), undefined, 'nobody gets in before the person decides');
  const decided = Date.now();
  ctx.push.decide(created.uuid, 'approve');
  const b = await onB.result;
  assert.is(b.replyCode, 'Access-Accept', `${b.stdout}\n${ctx.b.output()}`);
  assert.ok(onB.answeredAt()! >= decided);
  assert.match(ctx.b.output(), /took over a push whose appliance is gone/);
  const verify = await runCli(['audit', 'verify', '--data-dir', ctx.b.dataDir], { env: ctx.env });
  assert.is(verify.code, 0, `${verify.stdout}${verify.stderr}`);
  assert.is((await onA.result).replyCode, undefined, 'A never answered');
  assert.equal(await decisionsFor(ctx, 'dave'), [{ reason: 'push_approved', joined: true }], 'one decision, on B (A died before answering)');
});

C.run();
