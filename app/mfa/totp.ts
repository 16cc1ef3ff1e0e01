// The TOTP factor: what the engine (app/mfa/engine.ts) asks of a user's account. User names
// are canonical (app/lib/username.ts).
// A code is accepted once, and wrong codes lock the user out after a few, however many requests
// arrive at once: the lookup, the check and the write of each verification are one unit against
// every other verification of the same user (UserFactorQueries.verifyWith: one synchronous turn
// on SQLite, a transaction holding the user's row on PostgreSQL, so several appliances too).
import type { FactorWrite, UserFactorQueries } from '../db/queries/users.js';
import { afterFailure, lockVerdict, type LockoutPolicy, type LockVerdict } from './lockout.js';
import { checkTotp, type TotpParams } from './otp.js';

export type UserStatus = { known: false } | { known: true; lock: LockVerdict; totp: TotpParams | null };

export type TotpResult =
  | { ok: true }
  | { ok: false; reason: 'totp_wrong' | 'totp_replayed'; lockedNow: boolean }
  | { ok: false; reason: 'locked'; lock: LockVerdict }
  | { ok: false; reason: 'no_totp' };

export interface TotpFactor {
  status(username: string): Promise<UserStatus>;
  /**
   * `matches` says whether a candidate code is what the user sent (typed, or inside a CHAP
   * response). Without `defer`, a good code's step is claimed in the store before this resolves.
   * With it, and a store where this process is the only one verifying codes (SQLite), the write
   * is handed to `defer`, which must commit it before the login is answered (the RADIUS proxy puts
   * it in the audit record's transaction); until then this process remembers the step. Wrong
   * codes are always written at once (they are rare, and the lockout counts them).
   */
  verify(username: string, matches: (code: string) => boolean, defer?: (write: () => void) => void): Promise<TotpResult>;
}

export function createTotpFactor(q: UserFactorQueries, policy: () => LockoutPolicy, now: () => number): TotpFactor {
  /** Steps claimed but not yet in the store (deferred writes), by TOTP account id. */
  const claimed = new Map<number, number>();
  return {
    async status(username) {
      const u = await q.findStatus(username);
      return u === undefined ? { known: false } : { known: true, lock: lockVerdict(u, now()), totp: u.totp };
    },
    async verify(username, matches, defer) {
      const later = defer === undefined ? undefined : q.claimLater;
      let handOver: (() => void) | undefined;
      // One unit against every other verification of this user (see verifyWith): the lock, the
      // code's step and the failure count are read and written together.
      const result = await q.verifyWith(username, (u): { write: FactorWrite; result: TotpResult } => {
        const t = now();
        if (u === undefined || u.totp === null) return { write: { kind: 'none' }, result: { ok: false, reason: 'no_totp' } };
        const lock = lockVerdict(u, t);
        if (lock.locked) {
          u.totp.seed.fill(0);
          return { write: { kind: 'none' }, result: { ok: false, reason: 'locked', lock } };
        }
        const totpId = u.totp.id;
        const check = checkTotp(u.totp.seed, matches, t, u.totp.params, Math.max(u.totp.lastUsedStep, claimed.get(totpId) ?? -1));
        u.totp.seed.fill(0);
        if (!check.ok) {
          const next = afterFailure(u, t, policy());
          return {
            write: { kind: 'failure', lockedUntil: next.lockedUntil, failedAttempts: next.failedAttempts },
            result: { ok: false, reason: check.reason === 'replayed' ? 'totp_replayed' : 'totp_wrong', lockedNow: next.lockedNow },
          };
        }
        if (later === undefined) return { write: { kind: 'success', totpId, step: check.step }, result: { ok: true } };
        // Deferred: remembered here until the caller's transaction writes it.
        claimed.set(totpId, check.step);
        const failedAttempts = u.lockedUntil !== null || u.failedAttempts !== 0 ? u.failedAttempts : -1;
        handOver = () => {
          later(u.id, totpId, check.step, failedAttempts);
          // In the store now (or about to be, with the transaction this runs in); a rollback
          // means the login is not answered either, so the code may be used again.
          if (claimed.get(totpId) === check.step) claimed.delete(totpId);
        };
        return { write: { kind: 'none' }, result: { ok: true } };
      });
      if (handOver !== undefined) defer!(handOver);
      return result;
    },
  };
}
