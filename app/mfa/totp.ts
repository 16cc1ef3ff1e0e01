// The TOTP factor: what the engine (app/mfa/engine.ts) asks of a user's account. User names
// are canonical (app/lib/username.ts).
// A code is accepted once: the check and the claim of its step happen in one synchronous step of
// this process (the one process that verifies codes), so two requests carrying the same code
// cannot both be accepted, whichever way the step reaches the store.
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
  /**
   * `matches` says whether a candidate code is what the user sent (typed, or inside a CHAP
   * response). Without `defer`, a good code's step is written before this returns. With it, the
   * write is handed to `defer`, which must commit it before the login is answered (the RADIUS
   * proxy puts it in the audit record's transaction); until then this process remembers the step.
   * Wrong codes are always written at once (they are rare, and the lockout counts them).
   */
  verify(username: string, matches: (code: string) => boolean, defer?: (write: () => void) => void): TotpResult;
}

export function createTotpFactor(q: UserFactorQueries, policy: () => LockoutPolicy, now: () => number): TotpFactor {
  /** Steps claimed but perhaps not yet in the store, by TOTP account id. */
  const claimed = new Map<number, number>();
  return {
    status(username) {
      const u = q.findStatus(username);
      return u === undefined ? { known: false } : { known: true, lock: lockVerdict(u, now()), totp: u.totp };
    },
    verify(username, matches, defer) {
      const t = now();
      const u = q.find(username);
      if (u === undefined || u.totp === null) return { ok: false, reason: 'no_totp' };
      const lock = lockVerdict(u, t);
      if (lock.locked) {
        u.totp.seed.fill(0);
        return { ok: false, reason: 'locked', lock };
      }
      const totpId = u.totp.id;
      const last = Math.max(u.totp.lastUsedStep, claimed.get(totpId) ?? -1);
      const check = checkTotp(u.totp.seed, matches, t, u.totp.params, last);
      u.totp.seed.fill(0);
      if (check.ok) {
        if (defer === undefined) {
          q.recordSuccess(u.id, totpId, check.step);
          claimed.delete(totpId);
          return { ok: true };
        }
        claimed.set(totpId, check.step);
        const failed = u.lockedUntil !== null || u.failedAttempts !== 0 ? u.failedAttempts : -1;
        defer(() => {
          q.recordSuccessLater(u.id, totpId, check.step, failed);
          // In the store now (or about to be, with the transaction this runs in); a rollback
          // means the login is not answered either, so the code may be used again.
          if (claimed.get(totpId) === check.step) claimed.delete(totpId);
        });
        return { ok: true };
      }
      return q.transaction((): TotpResult => {
        // Read again inside the write transaction: the failure count must not lose an update.
        const fresh = q.findStatus(username);
        if (fresh === undefined || fresh.totp === null) return { ok: false, reason: 'no_totp' };
        const next = afterFailure(fresh, now(), policy());
        q.recordLockState(fresh.id, next.lockedUntil, next.failedAttempts);
        return { ok: false, reason: check.reason === 'replayed' ? 'totp_replayed' : 'totp_wrong', lockedNow: next.lockedNow };
      });
    },
  };
}
