// Packets dropped without an answer (unknown client, bad signature, malformed, rate limit) are
// all counted, and audited without letting a flood fill the disk:
//   - per source address and reason, the first drop of a minute is a record and the rest of that
//     minute are counted into the next one (`suppressed`);
//   - across all sources at most MAX_RECORDS_PER_MINUTE drop records are written per minute;
//     beyond that drops are only summed up, and one `drop_summary` record per minute says how
//     many, from how many sources, and for which reasons (most frequent first);
//   - the per-source windows are bounded: the least recently seen source is forgotten first.
import type { AuditEvent, Auditor } from '../audit/audit.js';
import type { Logger } from '../lib/log.js';
import type { AuditDetails } from '../audit/chain.js';

/** Drops from one source for one reason are audited once per window, with a count of the rest. */
export const DROP_AUDIT_WINDOW_MS = 60_000;
/** Drop records written at most per window, across all sources. */
export const MAX_RECORDS_PER_MINUTE = 100;
/** Sources whose windows are remembered at most. */
export const MAX_SOURCES = 10_000;
/** Distinct sources counted at most in one summary ("at least N sources" beyond). */
const MAX_SUMMARY_SOURCES = 100_000;

export interface DropAuditor {
  /** A dropped packet: the records to write now (none, its own, and a summary that came due). */
  drop(address: string, port: number, reason: string, client: string | null, username: string | null, now: number): AuditEvent[];
  /** The summary of the window that ended, if drops were left unrecorded in it (call about once a second). */
  tick(now: number): AuditEvent | undefined;
  /** Sources remembered (for tests and memory checks). */
  size(): number;
}

/** Write an audit record nobody waits for (a drop, a summary); a failure is logged, since the store is what failed. */
export function backgroundRecorder(audit: Pick<Auditor, 'record'>, log: Logger): (e: AuditEvent) => Promise<void> {
  return async (e) => {
    try {
      await audit.record(e);
    } catch (err) {
      log.error('audit write failed', { error: (err as Error).message });
    }
  };
}

export function createDropAuditor(): DropAuditor {
  const windows = new Map<string, { since: number; suppressed: number }>();
  let windowStart = -Infinity;
  let written = 0;
  let unrecorded = 0;
  const reasons = new Map<string, number>();
  const sources = new Set<string>();

  function summary(): AuditEvent | undefined {
    if (unrecorded === 0) return undefined;
    const top = [...reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    const details: AuditDetails = {
      count: unrecorded,
      sources: sources.size,
      message: `${unrecorded} drops from ${sources.size >= MAX_SUMMARY_SOURCES ? 'at least ' : ''}${sources.size} sources not recorded one by one; reasons: ${top.map(([r, n]) => `${r} ${n}`).join(', ')}`,
    };
    return { event: 'radius.drop', outcome: 'drop', reason: 'drop_summary', details };
  }

  /** Start a new global window if the current one is over; returns the summary of the old one. */
  function roll(now: number): AuditEvent | undefined {
    if (now - windowStart < DROP_AUDIT_WINDOW_MS) return undefined;
    const s = summary();
    windowStart = now;
    written = 0;
    unrecorded = 0;
    reasons.clear();
    sources.clear();
    return s;
  }

  return {
    drop(address, port, reason, client, username, now) {
      const due = roll(now);
      const out: AuditEvent[] = due === undefined ? [] : [due];
      const key = `${address}|${reason}`;
      const w = windows.get(key);
      if (w !== undefined && now - w.since < DROP_AUDIT_WINDOW_MS) {
        w.suppressed++;
        // Seen again: move to the back of the eviction order.
        windows.delete(key);
        windows.set(key, w);
        return out;
      }
      if (written >= MAX_RECORDS_PER_MINUTE) {
        unrecorded += 1 + (w?.suppressed ?? 0);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        if (sources.size < MAX_SUMMARY_SOURCES) sources.add(address);
        if (w !== undefined) windows.delete(key);
        return out;
      }
      written++;
      windows.delete(key);
      windows.set(key, { since: now, suppressed: 0 });
      while (windows.size > MAX_SOURCES) {
        const oldest = windows.keys().next();
        if (oldest.done === true) break;
        windows.delete(oldest.value);
      }
      const details: AuditDetails = {};
      if (w !== undefined && w.suppressed > 0) details.suppressed = w.suppressed;
      out.push({ event: 'radius.drop', outcome: 'drop', reason, source: `${address}:${port}`, client, username, details });
      return out;
    },
    tick: (now) => roll(now),
    size: () => windows.size,
  };
}
