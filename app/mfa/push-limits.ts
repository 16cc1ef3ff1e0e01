// Push flood protection, per user and shared by every way a push starts (RADIUS logins, Windows
// logon through the pipe or the agent API): at most `pushMaxPendingPerUser` push requests waiting
// for one user at once, and at most `pushRatePerUser` new ones in any `pushRateWindow` seconds.
// Limits are read from the settings on every call, so a change applies to the next login.
import type { Settings } from '../config.js';
import { SlidingWindowLog } from '../lib/rate-limit.js';

export type PushLimit = 'pending' | 'rate';

export interface PushLimiter {
  /**
   * Whether a new push request for this user is refused (and by which limit). When it is allowed
   * it is counted: call the returned `release` once the push has ended, whatever its outcome.
   */
  /** `username` is canonical (app/lib/username.ts). */
  admit(username: string, s: Readonly<Settings>): { refused: PushLimit } | { refused: undefined; release: () => void };
  /** Forget users whose events left the window (call now and then). */
  sweep(s: Readonly<Settings>): void;
}

export function createPushLimiter(now: () => number): PushLimiter {
  const pendingByUser = new Map<string, number>();
  const rate = new SlidingWindowLog();
  return {
    admit(user, s) {
      if (s.pushMaxPendingPerUser > 0 && (pendingByUser.get(user) ?? 0) >= s.pushMaxPendingPerUser) return { refused: 'pending' };
      if (s.pushRatePerUser > 0 && !rate.take(user, now(), s.pushRatePerUser, s.pushRateWindow * 1000)) return { refused: 'rate' };
      pendingByUser.set(user, (pendingByUser.get(user) ?? 0) + 1);
      let released = false;
      return {
        refused: undefined,
        release() {
          if (released) return;
          released = true;
          const left = (pendingByUser.get(user) ?? 1) - 1;
          if (left > 0) pendingByUser.set(user, left);
          else pendingByUser.delete(user);
        },
      };
    },
    sweep(s) {
      if (s.pushRatePerUser > 0) rate.sweep(now(), s.pushRateWindow * 1000);
      else rate.clear();
    },
  };
}

/**
 * The same limits counted across the appliances of a cluster (app/cluster/push-limits.ts), after
 * this appliance's own count admitted the push. `cancel` forgets an admission whose login joined a
 * push another appliance had sent (a join is not a new push); `release` ends it with the push.
 */
export interface SharedPushLimiter {
  admit(username: string, s: Readonly<Settings>): Promise<Admission>;
}

/** A new push admitted by the limits counted across the cluster (to end or cancel), or refused by one. */
export type Admission = { ok: false; limit: PushLimit } | { ok: true; release(): void; cancel(): void };
