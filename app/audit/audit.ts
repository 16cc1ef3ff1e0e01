// The audit writer: one record per decision or admin change, from a closed set of fields.
import type { AuditStore, NewAuditRow } from '../db/queries/audit.js';
import type { AuditDetails, Outcome } from './chain.js';

export interface AuditEvent {
  event: string;
  outcome: Outcome;
  username?: string | null;
  reason?: string | null;
  source?: string | null;
  client?: string | null;
  actor?: string | null;
  details?: AuditDetails;
}

export interface Auditor {
  /** Write now (with anything queued before it), in one transaction. Throws when the store fails. */
  record(e: AuditEvent): void;
  /**
   * Queue a record; all records queued in one turn of the event loop are written in one
   * transaction. Resolves once it is committed (rejects if the store fails): the caller answers
   * only then, so an answered request always has its record, at a fraction of the cost of one
   * commit per request. `effect` is a store write that must be committed with the record (it
   * runs inside the same transaction, before the records are inserted).
   */
  commit(e: AuditEvent, effect?: () => void): Promise<void>;
}

function detailsJson(d: AuditDetails | undefined): string | null {
  if (d === undefined) return null;
  const keys = Object.keys(d) as (keyof AuditDetails)[];
  if (keys.length === 0) return null;
  keys.sort();
  const o: Record<string, unknown> = {};
  for (const k of keys) if (d[k] !== undefined) o[k] = d[k];
  return JSON.stringify(o);
}

export function toRow(e: AuditEvent, now: number): NewAuditRow {
  return {
    time: now,
    event: e.event,
    outcome: e.outcome,
    username: e.username ?? null,
    reason: e.reason ?? null,
    source: e.source ?? null,
    client: e.client ?? null,
    actor: e.actor ?? null,
    details: detailsJson(e.details),
  };
}

export function createAuditor(store: AuditStore, clock: () => number = Date.now): Auditor {
  let rows: NewAuditRow[] = [];
  let effects: (() => void)[] = [];
  let waiters: { resolve(): void; reject(e: unknown): void }[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (rows.length === 0) return;
    const batch = rows;
    const done = waiters;
    const writes = effects;
    rows = [];
    waiters = [];
    effects = [];
    try {
      store.append(batch, writes.length > 0 ? writes : undefined);
    } catch (e) {
      for (const w of done) w.reject(e);
      throw e;
    }
    for (const w of done) w.resolve();
  };
  return {
    record(e) {
      rows.push(toRow(e, clock()));
      flush();
    },
    commit(e, effect) {
      rows.push(toRow(e, clock()));
      if (effect !== undefined) effects.push(effect);
      const p = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          try {
            flush();
          } catch {
            // each waiter got the error
          }
        });
      }
      return p;
    },
  };
}
