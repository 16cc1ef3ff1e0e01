// app/mfa/lockout.ts: the lock verdict for a user's row, and the row after one more wrong code
// (count up, lock out for lockoutMs after maxFailures, start afresh once a lockout has run out).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { afterFailure, type LockoutPolicy, type LockState, lockVerdict } from '../../app/mfa/lockout.js';

const Lockout = suite('mfa/lockout');

const NOW = 1_700_000_000_000;
const POLICY: LockoutPolicy = { maxFailures: 3, lockoutMs: 300_000 };
const CLEAN: LockState = { locked: false, lockedUntil: null, failedAttempts: 0 };

/** Feed `n` failures at `now`, returning every intermediate state. */
function fail(from: LockState, n: number, now: number, p: LockoutPolicy = POLICY) {
  const out: ReturnType<typeof afterFailure>[] = [];
  let s = from;
  for (let i = 0; i < n; i++) {
    const next = afterFailure(s, now, p);
    out.push(next);
    s = next;
  }
  return out;
}

// --- lockVerdict --------------------------------------------------------------

Lockout('lockVerdict: a clean user is not locked', () => {
  assert.equal(lockVerdict(CLEAN, NOW), { locked: false });
  assert.equal(lockVerdict({ ...CLEAN, failedAttempts: 2 }, NOW), { locked: false });
});

Lockout('lockVerdict: an admin lock has no end and wins over a lockout', () => {
  assert.equal(lockVerdict({ ...CLEAN, locked: true }, NOW), { locked: true, reason: 'locked_by_admin', until: null });
  assert.equal(lockVerdict({ locked: true, lockedUntil: NOW + 60_000, failedAttempts: 0 }, NOW), { locked: true, reason: 'locked_by_admin', until: null });
  assert.equal(lockVerdict({ locked: true, lockedUntil: NOW - 60_000, failedAttempts: 0 }, NOW), { locked: true, reason: 'locked_by_admin', until: null });
});

Lockout('lockVerdict: an active lockout is locked_out until lockedUntil', () => {
  const s: LockState = { locked: false, lockedUntil: NOW + 60_000, failedAttempts: 0 };
  assert.equal(lockVerdict(s, NOW), { locked: true, reason: 'locked_out', until: NOW + 60_000 });
  assert.equal(lockVerdict(s, NOW + 59_999), { locked: true, reason: 'locked_out', until: NOW + 60_000 });
});

Lockout('lockVerdict: a lockout ends at lockedUntil exactly', () => {
  const s: LockState = { locked: false, lockedUntil: NOW, failedAttempts: 0 };
  assert.equal(lockVerdict(s, NOW), { locked: false });
  assert.equal(lockVerdict(s, NOW + 1), { locked: false });
  assert.equal(lockVerdict({ ...s, lockedUntil: NOW - 1 }, NOW), { locked: false });
});

// --- afterFailure -------------------------------------------------------------

Lockout('afterFailure counts up to maxFailures, then locks out for lockoutMs and reports it once', () => {
  const states = fail(CLEAN, 3, NOW);
  assert.equal(states[0], { locked: false, lockedUntil: null, failedAttempts: 1, lockedNow: false });
  assert.equal(states[1], { locked: false, lockedUntil: null, failedAttempts: 2, lockedNow: false });
  const third = states[2]!;
  assert.is(third.lockedNow, true);
  assert.is(third.lockedUntil, NOW + POLICY.lockoutMs);
  assert.is(third.locked, false);
  assert.equal(lockVerdict(third, NOW), { locked: true, reason: 'locked_out', until: NOW + POLICY.lockoutMs });
  assert.equal(lockVerdict(states[1]!, NOW), { locked: false });
  assert.is(states.filter((s) => s.lockedNow).length, 1);
});

Lockout('afterFailure: once a lockout has expired, the count starts afresh', () => {
  const [, , locked] = fail(CLEAN, 3, NOW);
  const after = NOW + POLICY.lockoutMs;
  const first = afterFailure(locked!, after, POLICY);
  assert.equal(first, { locked: false, lockedUntil: null, failedAttempts: 1, lockedNow: false });
  assert.equal(lockVerdict(first, after), { locked: false });
  // Even a stale count left over beside an expired lockout is discarded.
  assert.equal(afterFailure({ locked: false, lockedUntil: NOW - 1, failedAttempts: 2 }, NOW, POLICY), { locked: false, lockedUntil: null, failedAttempts: 1, lockedNow: false });
  // And a full set of failures locks out again, once.
  const again = fail(locked!, 3, after + 10);
  assert.equal(
    again.map((s) => s.lockedNow),
    [false, false, true],
  );
  assert.is(again[2]!.lockedUntil, after + 10 + POLICY.lockoutMs);
});

Lockout('afterFailure: maxFailures 1 locks out on the first wrong code', () => {
  const s = afterFailure(CLEAN, NOW, { maxFailures: 1, lockoutMs: 1_000 });
  assert.is(s.lockedNow, true);
  assert.is(s.lockedUntil, NOW + 1_000);
});

Lockout('afterFailure keeps an admin lock, counting or locking out', () => {
  const admin: LockState = { locked: true, lockedUntil: null, failedAttempts: 0 };
  for (const s of fail(admin, 4, NOW)) assert.is(s.locked, true);
  const expired = afterFailure({ locked: true, lockedUntil: NOW - 1, failedAttempts: 1 }, NOW, POLICY);
  assert.is(expired.locked, true);
  assert.equal(lockVerdict(expired, NOW), { locked: true, reason: 'locked_by_admin', until: null });
});

Lockout('afterFailure does not modify the state it is given', () => {
  const s: LockState = { locked: false, lockedUntil: null, failedAttempts: 2 };
  afterFailure(s, NOW, POLICY);
  assert.equal(s, { locked: false, lockedUntil: null, failedAttempts: 2 });
});

Lockout.run();
