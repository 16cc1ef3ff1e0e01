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
  record(e: AuditEvent): void;
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

/**
 * Writes each record before the caller goes on (before a RADIUS answer is sent), so every
 * answered request has its record even after a crash.
 */
export function createAuditor(store: AuditStore, clock: () => number = Date.now): Auditor {
  return {
    record(e) {
      store.append([toRow(e, clock())]);
    },
  };
}
