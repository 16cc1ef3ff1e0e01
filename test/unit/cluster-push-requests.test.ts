// Gatehouse's own approver across appliances on one store (app/cluster/push-requests.ts), over the
// real table in a real SQLite store standing in for the shared PostgreSQL: a request opened on A
// is listed, followed and decided by a phone that reached B; the decision reaches A's login once.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createClusterPushRequests } from '../../app/cluster/push-requests.js';
import { openStore, type Store } from '../../app/db/open.js';
import { createLogger } from '../../app/lib/log.js';
import { createPushRequests, type Listener } from '../../app/push/requests.js';

interface Ctx {
  db: Store;
  closers: (() => void)[];
}

const S = suite<Ctx>("the own approver's requests across appliances", {} as Ctx);
S.before.each((ctx) => {
  ctx.db = openStore(':memory:');
  ctx.closers = [];
});
S.after.each((ctx) => {
  for (const c of ctx.closers) c();
  ctx.db.close();
});

function appliance(ctx: Ctx, node: string) {
  const c = createClusterPushRequests({ local: createPushRequests(), store: ctx.db, node, now: Date.now, log: createLogger('error', () => undefined) });
  ctx.closers.push(() => c.close());
  return c;
}

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 3_000) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const rows = (ctx: Ctx) => (ctx.db.sqlite.prepare('SELECT count(*) AS n FROM push_requests').get() as { n: number }).n;
const REQ = { username: 'alice', title: 'VPN', description: 'Allow {0}?', fingerprint: 'vpn-1 / 198.51.100.7' };

S('a request opened on A is listed on B with what the phone signs over; decided on B once; A answers its login', async (ctx) => {
  const [a, b] = [appliance(ctx, 'a'), appliance(ctx, 'b')];
  const { request, outcome } = a.requests.open('alice', REQ, 60_000, new AbortController().signal);
  await until('the row', () => rows(ctx) === 1);
  const seen = await b.board.forUser('alice');
  assert.equal(seen, [request], 'the same request, nonce included');
  assert.equal(await b.board.get(request.id), request);
  assert.equal(await b.board.forUser('bob'), []);
  assert.equal(await a.board.forUser('alice'), [request], 'A lists its own once');
  const [first, second] = await Promise.all([b.board.decide(request.id, 'approve'), b.board.decide(request.id, 'deny')]);
  assert.equal([first, second], [true, false], 'decided once');
  const t0 = Date.now();
  assert.equal(await outcome, { kind: 'approved' });
  assert.ok(Date.now() - t0 < 1_500);
  await until('the row removed', () => rows(ctx) === 0);
  assert.is(await b.board.get(request.id), undefined);
  assert.is(await b.board.decide(request.id, 'approve'), false);
});

S('a phone listening on B hears of the requests A opens and of their end; a pick goes through', async (ctx) => {
  const [a, b] = [appliance(ctx, 'a'), appliance(ctx, 'b')];
  const heard: string[] = [];
  const listener: Listener = (e) => heard.push(e.kind === 'new' ? `new ${e.request.id}` : `gone ${e.id}`);
  const stop = b.board.watch('alice', listener);
  try {
    const { request, outcome } = a.requests.open('alice', { ...REQ, number: 42, numberMode: 'pick' }, 60_000, new AbortController().signal);
    await until('B to hear of it', () => heard.includes(`new ${request.id}`));
    assert.ok((await b.board.get(request.id))!.choices!.includes(42));
    assert.ok(await b.board.decide(request.id, 'approve', 42));
    assert.equal(await outcome, { kind: 'approved', picked: 42 });
    await until('B to hear it is gone', () => heard.includes(`gone ${request.id}`));
  } finally {
    stop();
  }
});

S("A's own requests are decided on A in the same turn; an expired or aborted one is gone everywhere", async (ctx) => {
  const [a, b] = [appliance(ctx, 'a'), appliance(ctx, 'b')];
  const own = a.requests.open('alice', REQ, 60_000, new AbortController().signal);
  assert.ok(await a.board.decide(own.request.id, 'deny'));
  assert.equal(await own.outcome, { kind: 'denied' });
  const short = a.requests.open('alice', REQ, 50, new AbortController().signal);
  assert.equal(await short.outcome, { kind: 'expired' });
  // Gone from the store once it ended on A (a timer may fire a millisecond before the clock says so).
  await until('the expired row removed', () => rows(ctx) === 0);
  assert.is(await b.board.decide(short.request.id, 'approve'), false);
  const stopA = new AbortController();
  const aborted = a.requests.open('alice', REQ, 60_000, stopA.signal);
  await until('the row', () => rows(ctx) >= 1);
  stopA.abort();
  assert.is((await aborted.outcome).kind, 'unreachable');
  await until('every row removed', () => rows(ctx) === 0);
  assert.equal(await b.board.forUser('alice'), []);
});

S.run();
