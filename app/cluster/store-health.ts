// Whether this appliance can reach its store. A store that cannot be reached (PostgreSQL down,
// restarting, failing over; a SQLite file that cannot be read) means logins are not answered: each
// needs writes it cannot make (its audit record at least), so the RADIUS proxy answers nothing and
// the client tries again or fails over to another appliance. /healthz says so, the operational log
// says when it starts and ends, and the audit log records the outage once the store is back (it
// could not record it before). Nothing is retried here but the probe: the driver reconnects.
import { sql } from 'drizzle-orm';
import type { Auditor } from '../audit/audit.js';
import type { Runner } from '../db/store.js';
import type { Logger } from '../lib/log.js';

/** How often the store is asked whether it answers. */
export const STORE_PROBE_MS = 1000;

export type StoreHealth = { reachable: true } | { reachable: false; since: number };

export interface StoreHealthWatch {
  state(): StoreHealth;
  /** Ask now (also runs every STORE_PROBE_MS). */
  probe(): Promise<void>;
  stop(): void;
}

export function watchStoreHealth(d: { store: Runner; audit: Auditor; log: Logger; now(): number; everyMs?: number }): StoreHealthWatch {
  let state: StoreHealth = { reachable: true };
  let asking = false;
  const probe = async (): Promise<void> => {
    if (asking) return;
    asking = true;
    try {
      await d.store.get(sql`SELECT 1 AS one`);
      if (!state.reachable) {
        const since = state.since;
        state = { reachable: true };
        const seconds = Math.round((d.now() - since) / 1000);
        d.log.info('store reachable again', { unreachableSeconds: seconds });
        await d.audit
          .record({ event: 'service.store_unreachable', outcome: 'error', reason: 'store_unreachable', details: { count: seconds, message: `the store could not be reached from ${new Date(since).toISOString()} for about ${seconds} s; logins were not answered meanwhile` } })
          .catch((e: unknown) => d.log.error('recording the store outage failed', { error: (e as Error).message }));
      }
    } catch (e) {
      if (state.reachable) {
        state = { reachable: false, since: d.now() };
        d.log.error('store unreachable: logins are not answered until it is back', { error: (e as Error).message });
      }
    } finally {
      asking = false;
    }
  };
  const timer = setInterval(() => void probe(), d.everyMs ?? STORE_PROBE_MS);
  timer.unref();
  return { state: () => state, probe, stop: () => clearInterval(timer) };
}
