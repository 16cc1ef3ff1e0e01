// The TOTP factor: what the proxy (and later the Windows endpoint) asks of a user's account.
// Verification, replay protection and lockout happen in one synchronous transaction, so two
// requests carrying the same code cannot both be accepted.
import type { UserFactorQueries } from '../db/queries/users.js';
import { afterFailure, lockVerdict, type LockoutPolicy, type LockVerdict } from './lockout.js';
import { checkTotp, type TotpParams } from './otp.js';

export type UserStatus = { known: false } | { known: true; lock: LockVerdict; totp: TotpParams | null };

export type TotpResult =
  | { ok: true }
  | { ok: false; reason: 'totp_wrong' | 'totp_replayed'; lockedNow: boolean }
  | { ok: false; reason: 'locked'; lock: LockVerdict }
  | { ok: false; reason: 'no_totp' };

export interface TotpFactor {
  status(username: string): UserStatus;
  /** `matches` says whether a candidate code is what the user sent (typed, or inside a CHAP response). */
  verify(username: string, matches: (code: string) => boolean): TotpResult;
}

export function createTotpFactor(q: UserFactorQueries, policy: () => LockoutPolicy, now: () => number): TotpFactor {
  return {
    status(username) {
      const u = q.findStatus(username);
      return u === undefined ? { known: false } : { known: true, lock: lockVerdict(u, now()), totp: u.totp };
    },
    verify(username, matches) {
      return q.transaction((): TotpResult => {
        const t = now();
        const u = q.find(username);
        if (u === undefined || u.totp === null) return { ok: false, reason: 'no_totp' };
        const lock = lockVerdict(u, t);
        if (lock.locked) return { ok: false, reason: 'locked', lock };
        const check = checkTotp(u.totp.seed, matches, t, u.totp.params, u.totp.lastUsedStep);
        u.totp.seed.fill(0);
        if (check.ok) {
          q.recordSuccess(u.id, u.totp.id, check.step);
          return { ok: true };
        }
        const next = afterFailure(u, t, policy());
        q.recordLockState(u.id, next.lockedUntil, next.failedAttempts);
        return { ok: false, reason: check.reason === 'replayed' ? 'totp_replayed' : 'totp_wrong', lockedNow: next.lockedNow };
      });
    },
  };
}
