// countLoginDecisions (app/db/queries/audit.ts), the dashboard chart's query, over a real store:
// login decisions (radius.auth, windows.auth) counted by bucket, outcome and reason; records of
// other events, and records outside the window (its end is exclusive), are not counted; the
// query reads the partial index audit_log_decision_slot in its order (no sorting).
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditEvent } from '../../app/audit/audit.js';
import { openAuditLog } from '../../app/audit/log.js';
import { openStore, type Store } from '../../app/db/open.js';
import { DECISION_SLOT_MS, LOGIN_DECISIONS_BY_SLOT, type AuditStore, type LoginDecisionCount } from '../../app/db/queries/audit.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** A Monday, 00:00 UTC: a whole number of every bucket width. */
const T0 = Date.UTC(2026, 0, 5);

interface Ctx {
  store: Store;
  audit: AuditStore;
}

/** [ms after T0, event] */
const RECORDS: [number, AuditEvent][] = [
  [-1, { event: 'radius.auth', outcome: 'accept', reason: 'totp_ok' }],
  [1 * MIN, { event: 'radius.auth', outcome: 'accept', reason: 'push_approved' }],
  [2 * MIN, { event: 'windows.auth', outcome: 'accept', reason: 'totp_ok' }],
  [5 * MIN - 1, { event: 'radius.auth', outcome: 'reject', reason: 'downstream_reject' }],
  [5 * MIN, { event: 'radius.auth', outcome: 'reject', reason: 'downstream_reject' }],
  [7 * MIN, { event: 'radius.drop', outcome: 'drop', reason: 'unknown_client' }],
  [8 * MIN, { event: 'admin.signin', outcome: 'reject', reason: 'wrong_password' }],
  [61 * MIN, { event: 'radius.auth', outcome: 'challenge', reason: 'totp_challenge' }],
  [62 * MIN, { event: 'radius.auth', outcome: 'error', reason: 'downstream_timeout' }],
  [6 * HOUR, { event: 'windows.auth', outcome: 'reject', reason: 'push_denied' }],
  [6 * HOUR + 1, { event: 'windows.auth', outcome: 'reject', reason: null }],
  [12 * HOUR, { event: 'radius.auth', outcome: 'accept', reason: 'totp_ok' }],
];

const D = suite<Ctx>('countLoginDecisions', {} as Ctx);
D.before.each(async (ctx) => {
  ctx.store = openStore(':memory:');
  let t = 0;
  const log = await openAuditLog(ctx.store, randomBytes(32), () => t);
  for (const [at, e] of RECORDS) {
    t = T0 + at;
    await log.auditor.record(e);
  }
  ctx.audit = log.store;
});
D.after.each((ctx) => ctx.store.close());

const sorted = (rows: LoginDecisionCount[]) =>
  [...rows].sort((a, b) => a.start - b.start || a.outcome.localeCompare(b.outcome) || (a.reason ?? '').localeCompare(b.reason ?? ''));
const row = (at: number, outcome: LoginDecisionCount['outcome'], reason: string | null, count: number): LoginDecisionCount => ({ start: T0 + at, outcome, reason, count });

D('5-minute buckets: each record in the bucket of its time; the window end is exclusive', async ({ audit }) => {
  assert.equal(sorted(await audit.countLoginDecisions(T0, T0 + 12 * HOUR, 5 * MIN)), [
    await row(0, 'accept', 'push_approved', 1),
    await row(0, 'accept', 'totp_ok', 1),
    await row(0, 'reject', 'downstream_reject', 1),
    await row(5 * MIN, 'reject', 'downstream_reject', 1),
    await row(60 * MIN, 'challenge', 'totp_challenge', 1),
    await row(60 * MIN, 'error', 'downstream_timeout', 1),
    await row(6 * HOUR, 'reject', null, 1),
    await row(6 * HOUR, 'reject', 'push_denied', 1),
  ]);
});

D('wider buckets add their slots up; a window starting later leaves earlier records out', async ({ audit }) => {
  assert.equal(sorted(await audit.countLoginDecisions(T0, T0 + 24 * HOUR, 6 * HOUR)), [
    await row(0, 'accept', 'push_approved', 1),
    await row(0, 'accept', 'totp_ok', 1),
    await row(0, 'challenge', 'totp_challenge', 1),
    await row(0, 'error', 'downstream_timeout', 1),
    await row(0, 'reject', 'downstream_reject', 2),
    await row(6 * HOUR, 'reject', null, 1),
    await row(6 * HOUR, 'reject', 'push_denied', 1),
    await row(12 * HOUR, 'accept', 'totp_ok', 1),
  ]);
  assert.equal(sorted(await audit.countLoginDecisions(T0 + HOUR, T0 + 2 * HOUR, HOUR)), [await row(HOUR, 'challenge', 'totp_challenge', 1), await row(HOUR, 'error', 'downstream_timeout', 1)]);
  // The record one millisecond before T0 is in the slot before.
  assert.equal(await audit.countLoginDecisions(T0 - DECISION_SLOT_MS, T0, DECISION_SLOT_MS), [await row(-DECISION_SLOT_MS, 'accept', 'totp_ok', 1)]);
  assert.equal(await audit.countLoginDecisions(T0 + 2 * HOUR, T0 + 6 * HOUR, HOUR), []);
});

D('bounds and widths off the 5-minute grid are refused', async ({ audit }) => {
  const refused = (p: Promise<unknown>, why: RegExp) => p.then(() => assert.unreachable('accepted'), (e: Error) => assert.match(e.message, why));
  await refused(audit.countLoginDecisions(T0 + 1, T0 + HOUR, 5 * MIN), /since must be a whole multiple of 300000 ms/);
  await refused(audit.countLoginDecisions(T0, T0 + HOUR, 90_000), /bucketMs must be a whole multiple/);
});

D('the query reads the audit_log_decision_slot index in GROUP BY order (no sorting)', ({ store }) => {
  const plan = (store.sqlite.prepare(`EXPLAIN QUERY PLAN ${LOGIN_DECISIONS_BY_SLOT}`).all(0, 1) as { detail: string }[]).map((r) => r.detail).join('\n');
  assert.match(plan, /USING INDEX audit_log_decision_slot \(<expr>>\? AND <expr><\?\)/);
  assert.not.match(plan, /TEMP B-TREE/);
});

D.run();
