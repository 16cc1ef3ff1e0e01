// Lockout after consecutive wrong codes, as pure functions of the user's row and the clock.
export interface LockState {
  locked: boolean;
  lockedUntil: number | null;
  failedAttempts: number;
  /** A directory user whose account the directory disabled or no longer has (app/directory/sync.ts). */
  directoryGone?: boolean;
}

export interface LockoutPolicy {
  maxFailures: number;
  lockoutMs: number;
}

export type LockVerdict = { locked: false } | { locked: true; reason: 'locked_by_admin' | 'locked_out' | 'directory_gone'; until: number | null };

export function lockVerdict(s: LockState, now: number): LockVerdict {
  if (s.directoryGone === true) return { locked: true, reason: 'directory_gone', until: null };
  if (s.locked) return { locked: true, reason: 'locked_by_admin', until: null };
  if (s.lockedUntil !== null && s.lockedUntil > now) return { locked: true, reason: 'locked_out', until: s.lockedUntil };
  return { locked: false };
}

/** State after one more wrong code; `lockedNow` says whether this failure started a lockout. */
export function afterFailure(s: LockState, now: number, p: LockoutPolicy): LockState & { lockedNow: boolean } {
  // A lockout that has run out starts the count afresh.
  const expired = s.lockedUntil !== null && s.lockedUntil <= now;
  const failed = (expired ? 0 : s.failedAttempts) + 1;
  if (failed >= p.maxFailures) return { locked: s.locked, lockedUntil: now + p.lockoutMs, failedAttempts: 0, lockedNow: true };
  return { locked: s.locked, lockedUntil: expired ? null : s.lockedUntil, failedAttempts: failed, lockedNow: false };
}
