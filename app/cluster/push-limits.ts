// The per-user push limits (app/mfa/push-limits.ts) counted across the appliances on one store
// (PostgreSQL): --push-max-pending-per-user and --push-rate-per-user hold for the cluster, not for
// each appliance, so that a flood of logins spread over several appliances (or a client that fails
// over) cannot send more pushes to one person than one appliance would. Each admission is one
// transaction under the user's lock (app/db/queries/push-admissions.ts).
import { randomId } from '../lib/tokens.js';
import type { Settings } from '../config.js';
import { admitPush, cancelPush, endPush, sweepPushAdmissions } from '../db/queries/push-admissions.js';
import type { SharedStore } from '../db/store.js';
import type { Logger } from '../lib/log.js';
import { quietStore } from './quiet.js';
import type { SharedPushLimiter } from '../mfa/push-limits.js';

/**
 * An admission still open after this long belongs to an appliance that died with its push
 * waiting: it no longer counts as pending (no push waits longer than the longest TTL allowed).
 */
export const OPEN_AT_MOST_MS = 15 * 60_000;
const SWEEP_MS = 60_000;

export function createSharedPushLimiter(d: { store: SharedStore; node: string; now(): number; log: Logger; settings(): Readonly<Settings> }): SharedPushLimiter & { close(): void } {
  const quiet = quietStore(d.log, 'push limits');
  const quietly = (what: string, p: Promise<unknown>) => void quiet.run(what, p);
  const sweeper = setInterval(() => {
    const windowMs = d.settings().pushRateWindow * 1000;
    quietly('sweeping', sweepPushAdmissions(d.store, d.now() - Math.max(windowMs, OPEN_AT_MOST_MS)));
  }, SWEEP_MS);
  sweeper.unref();
  return {
    async admit(username, s) {
      if (s.pushMaxPendingPerUser <= 0 && s.pushRatePerUser <= 0) return { ok: true, release() {}, cancel() {} };
      const id = randomId();
      const now = d.now();
      let refused: 'pending' | 'rate' | undefined;
      try {
        refused = await admitPush(d.store, { id, username, node: d.node, now, maxPending: s.pushMaxPendingPerUser, maxInWindow: s.pushRatePerUser, windowMs: s.pushRateWindow * 1000, openSince: now - OPEN_AT_MOST_MS });
      } catch (e) {
        // The store unreachable: this appliance's own count (already passed) is the limit; the
        // login itself cannot be answered without its audit record, which needs the store.
        d.log.warn('push limits: the store could not be asked; counted on this appliance only', { error: (e as Error).message });
        return { ok: true, release() {}, cancel() {} };
      }
      if (refused !== undefined) return { ok: false, limit: refused };
      return {
        ok: true,
        release: () => quietly('ending an admission', endPush(d.store, id, d.now())),
        cancel: () => quietly('cancelling an admission', cancelPush(d.store, id)),
      };
    },
    close: () => clearInterval(sweeper),
  };
}
