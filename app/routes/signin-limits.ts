// How guessing is slowed at the sign-in and setup pages: ten wrong answers in a row lock out for
// 15 minutes (an admin account at sign-in; a source address at /setup, where no account exists
// yet), and each failure delays the next answer.
import { afterFailure, lockVerdict, type LockoutPolicy, type LockState } from '../mfa/lockout.js';

/** Ten wrong passwords or codes in a row lock out for 15 minutes. */
export const ADMIN_LOCKOUT: LockoutPolicy = { maxFailures: 10, lockoutMs: 15 * 60_000 };

/** Each recent failure adds half a second before the answer, up to 5 s: guessing slows down. */
export function failureDelayMs(failures: number): number {
  return Math.min(Math.max(failures, 0), 10) * 500;
}

/** Consecutive failures per source address, in memory (a restart forgets them). */
export interface SourceFailures {
  /** When the source's lockout ends (ms), or undefined when it is not locked out. */
  lockedUntil(source: string, now: number): number | undefined;
  /** Consecutive failures of the source so far (0 once a lockout has run out). */
  failures(source: string, now: number): number;
  /** Count one failure: the consecutive failures so far, and whether this one started a lockout. */
  fail(source: string, now: number): { failures: number; lockedNow: boolean };
  /** Forget the source's failures (after a success). */
  clear(source: string): void;
}

export function createSourceFailures(policy: LockoutPolicy = ADMIN_LOCKOUT, maxSources = 10_000): SourceFailures {
  const bySource = new Map<string, { state: LockState; seen: number }>();
  const stateOf = (source: string): LockState => bySource.get(source)?.state ?? { locked: false, lockedUntil: null, failedAttempts: 0 };
  /** Bounded memory: forget sources quiet for a lockout period, then the least recently seen. */
  const prune = (now: number) => {
    if (bySource.size < maxSources) return;
    for (const [k, v] of bySource) if (v.seen < now - policy.lockoutMs && !lockVerdict(v.state, now).locked) bySource.delete(k);
    while (bySource.size >= maxSources) {
      const oldest = bySource.keys().next();
      if (oldest.done === true) break;
      bySource.delete(oldest.value);
    }
  };
  return {
    lockedUntil(source, now) {
      const v = lockVerdict(stateOf(source), now);
      return v.locked ? (v.until ?? undefined) : undefined;
    },
    failures(source, now) {
      const s = stateOf(source);
      return s.lockedUntil !== null && s.lockedUntil <= now ? 0 : s.failedAttempts;
    },
    fail(source, now) {
      const next = afterFailure(stateOf(source), now, policy);
      bySource.delete(source);
      prune(now);
      bySource.set(source, { state: { locked: next.locked, lockedUntil: next.lockedUntil, failedAttempts: next.failedAttempts }, seen: now });
      return { failures: next.lockedNow ? policy.maxFailures : next.failedAttempts, lockedNow: next.lockedNow };
    },
    clear(source) {
      bySource.delete(source);
    },
  };
}
