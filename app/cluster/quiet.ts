// The store writes and reads a cluster module makes on the side of a login: a failure (the store
// out of reach) is logged once per outage, not once per call, and never rejects; the store's
// health (app/cluster/store-health.ts) is what reports the outage.
import type { Logger } from '../lib/log.js';

export interface Quiet {
  /** Wait for `p`; a failure is logged (once per outage) and swallowed. */
  run(what: string, p: Promise<unknown>): Promise<void>;
  ok(): void;
  failed(what: string, e: unknown): void;
}

export function quietStore(log: Logger, prefix: string): Quiet {
  let failing = false;
  const q: Quiet = {
    ok() {
      failing = false;
    },
    failed(what, e) {
      if (!failing) log.warn(`${prefix}: ${what} failed`, { error: (e as Error).message });
      failing = true;
    },
    run: (what, p) =>
      p.then(
        () => q.ok(),
        (e: unknown) => q.failed(what, e),
      ),
  };
  return q;
}
