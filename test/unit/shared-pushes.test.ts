// Pushes shared by appliances on one store (app/cluster/shared-pushes.ts), over the real table in a
// real SQLite store standing in for the shared PostgreSQL (the cluster tests run it on PostgreSQL):
// who starts, who follows, who takes over when the starter is gone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { STALE_MS } from '../../app/cluster/nodes.js';
import { createSharedPushes } from '../../app/cluster/shared-pushes.js';
import { openStore, type Store } from '../../app/db/open.js';
import { recordNode } from '../../app/db/queries/nodes.js';
import { createLogger } from '../../app/lib/log.js';
import type { FactorOutcome } from '../../app/mfa/factor.js';
import type { SharedPushWays } from '../../app/mfa/pending.js';

interface Ctx {
  db: Store;
  t: number;
  logs: string[];
  closers: (() => void)[];
}

const S = suite<Ctx>('pushes shared by appliances on one store', {} as Ctx);
S.before.each((ctx) => {
  ctx.db = openStore(':memory:');
  ctx.t = Date.now();
  ctx.logs = [];
  ctx.closers = [];
});
S.after.each((ctx) => {
  for (const c of ctx.closers) c();
  ctx.db.close();
});

function appliance(ctx: Ctx, node: string) {
  const shared = createSharedPushes({ store: ctx.db, node, now: () => ctx.t, log: createLogger('info', (l) => void ctx.logs.push(l)) });
  ctx.closers.push(() => shared.close());
  return shared;
}

const beat = (ctx: Ctx, name: string, at = ctx.t, stopped = false) => recordNode(ctx.db, { name, version: '1', startedAt: at, heartbeatAt: at, health: JSON.stringify(stopped ? { stopped: true } : {}) });

/** A push service stand-in for one appliance: what it was asked, and a way to answer. */
function ways(ref = 'uuid-1') {
  const calls: string[] = [];
  let answer!: (o: FactorOutcome) => void;
  const outcome = new Promise<FactorOutcome>((r) => (answer = r));
  const w: SharedPushWays = {
    start(started) {
      calls.push('start');
      started(ref);
      return outcome;
    },
    resume(r, ttlMs) {
      calls.push(`resume ${r ?? '-'} ${ttlMs > 0 ? 'in time' : 'late'}`);
      return outcome;
    },
  };
  return { w, calls, answer };
}

const liveRows = (ctx: Ctx) => (ctx.db.sqlite.prepare('SELECT node, ref, live, outcome FROM pending_pushes').all() as { node: string; ref: string | null; live: number; outcome: string | null }[]);

S('two appliances asked at once: one sends the push, the other follows it and gets its decision', async (ctx) => {
  await beat(ctx, 'a');
  await beat(ctx, 'b');
  const [a, b] = [appliance(ctx, 'a'), appliance(ctx, 'b')];
  const [wa, wb] = [ways(), ways()];
  const signal = new AbortController().signal;
  const [ja, jb] = await Promise.all([a.join('k', 'alice', 60, wa.w, signal), b.join('k', 'alice', 60, wb.w, signal)]);
  assert.equal([ja.joined, jb.joined].sort(), [false, true]);
  const [starter, follower] = ja.joined ? [wb, wa] : [wa, wb];
  assert.equal(starter.calls, ['start']);
  assert.equal(follower.calls, [], 'the follower sends nothing');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(liveRows(ctx).map((r) => [r.ref, r.live]), [['uuid-1', 1]], 'one live row, with the service reference');
  starter.answer({ kind: 'approved' });
  const [oa, ob] = await Promise.all([ja.outcome, jb.outcome]);
  assert.equal([oa, ob], [{ kind: 'approved' }, { kind: 'approved' }]);
  assert.equal(liveRows(ctx)[0]!.live, 0, 'a decided push is joined by nobody');
  // A later login with the same key is a new push.
  const again = await b.join('k', 'alice', 60, ways('uuid-2').w, signal);
  assert.is(again.joined, false);
});

S('the starter gone (heartbeat stale): exactly one follower takes the push over by its reference, the others read its decision', async (ctx) => {
  await beat(ctx, 'a', ctx.t - STALE_MS - 1_000);
  await beat(ctx, 'b');
  await beat(ctx, 'c');
  const signal = new AbortController().signal;
  const wa = ways('uuid-a');
  const ja = await appliance(ctx, 'a').join('k', 'bob', 60, wa.w, signal);
  assert.is(ja.joined, false);
  await new Promise((r) => setTimeout(r, 20));
  const [wb, wc] = [ways(), ways()];
  const [jb, jc] = await Promise.all([appliance(ctx, 'b').join('k', 'bob', 60, wb.w, signal), appliance(ctx, 'c').join('k', 'bob', 60, wc.w, signal)]);
  assert.equal([jb.joined, jc.joined], [true, true]);
  const taker = await new Promise<ReturnType<typeof ways>>((resolve) => {
    const t = setInterval(() => {
      const w = [wb, wc].find((x) => x.calls.length > 0);
      if (w === undefined) return;
      clearInterval(t);
      resolve(w);
    }, 20);
  });
  assert.equal(taker.calls, ['resume uuid-a in time'], 'followed by the reference the starter recorded');
  await new Promise((r) => setTimeout(r, 1_000));
  assert.is(wb.calls.length + wc.calls.length, 1, 'taken over once');
  assert.match(ctx.logs.join('\n'), /took over a push whose appliance is gone/);
  taker.answer({ kind: 'denied' });
  assert.equal(await Promise.all([jb.outcome, jc.outcome]), [{ kind: 'denied' }, { kind: 'denied' }]);
});

S('an appliance that stops lets go of its pushes: another takes over at once', async (ctx) => {
  await beat(ctx, 'a');
  await beat(ctx, 'b');
  const stopA = new AbortController();
  const wa = ways('uuid-a');
  let resolveA!: (o: FactorOutcome) => void;
  wa.w.start = (started) => {
    started('uuid-a');
    return new Promise((r) => {
      resolveA = r;
      stopA.signal.addEventListener('abort', () => r({ kind: 'unreachable', cause: 'aborted', detail: 'aborted' }));
    });
  };
  const ja = await appliance(ctx, 'a').join('k', 'carol', 60, wa.w, stopA.signal);
  const wb = ways();
  const jb = await appliance(ctx, 'b').join('k', 'carol', 60, wb.w, new AbortController().signal);
  assert.is(jb.joined, true);
  stopA.abort();
  assert.equal(await ja.outcome, { kind: 'unreachable', cause: 'aborted', detail: 'aborted' });
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(wb.calls, ['resume uuid-a in time'], 'taken over without waiting for a stale heartbeat');
  assert.ok(resolveA !== undefined);
  wb.answer({ kind: 'approved' });
  assert.equal(await jb.outcome, { kind: 'approved' });
});

S('a push whose time is up without a decision is expired for its followers; an abort here answers aborted and leaves it to others', async (ctx) => {
  await beat(ctx, 'a');
  await beat(ctx, 'b');
  const ja = await appliance(ctx, 'a').join('k', 'dan', 60, ways().w, new AbortController().signal);
  assert.is(ja.joined, false);
  const stopB = new AbortController();
  const b = appliance(ctx, 'b');
  const jb = await b.join('k', 'dan', 60, ways().w, stopB.signal);
  stopB.abort();
  assert.equal(await jb.outcome, { kind: 'unreachable', cause: 'aborted', detail: 'aborted' });
  const jb2 = await b.join('k', 'dan', 60, ways().w, new AbortController().signal);
  assert.is(jb2.joined, true);
  ctx.t += 61_000;
  await beat(ctx, 'a');
  assert.equal(await jb2.outcome, { kind: 'expired' });
});

S('the store unreachable at the start: the push is sent here, unshared', async (ctx) => {
  const a = appliance(ctx, 'a');
  ctx.db.sqlite.exec('DROP TABLE pending_pushes');
  const w = ways();
  const j = await a.join('k', 'erin', 60, w.w, new AbortController().signal);
  assert.is(j.joined, false);
  assert.equal(w.calls, ['start']);
  assert.match(ctx.logs.join('\n'), /push sent unshared/);
  w.answer({ kind: 'approved' });
  assert.equal(await j.outcome, { kind: 'approved' });
});

S.run();
