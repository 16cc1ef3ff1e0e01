// The audit writer: one record per decision or admin change, from a closed set of fields.
import type { AuditEffect, AuditStore, NewAuditRow } from '../db/queries/audit.js';
import type { AuditDetails, AuditRecord, Outcome } from './chain.js';

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
  /**
   * Write now (with anything queued before it), in one transaction; resolves once committed,
   * rejects when the store fails.
   */
  record(e: AuditEvent): Promise<void>;
  /**
   * Queue a record; all records queued in one turn of the event loop are written in one
   * transaction. Resolves once it is committed (rejects if the store fails): the caller answers
   * only then, so an answered request always has its record, at a fraction of the cost of one
   * commit per request. `effect` is a store write that must be committed with the record (it
   * runs inside the same transaction, before the records are inserted).
   */
  commit(e: AuditEvent, effect?: AuditEffect): Promise<void>;
}

function detailsJsonSlow(d: AuditDetails): string | null {
  const keys = Object.keys(d) as (keyof AuditDetails)[];
  if (keys.length === 0) return null;
  keys.sort();
  const o: Record<string, unknown> = {};
  for (const k of keys) if (d[k] !== undefined) o[k] = d[k];
  return JSON.stringify(o);
}

/** Every field of AuditDetails, sorted (the order the stored JSON has). */
const DETAIL_KEYS = (
  Object.keys({
    packetId: 1, callingStationId: 1, nasIdentifier: 1, factor: 1, pushId: 1, downstream: 1, downstreamCode: 1, firstFactor: 1, policy: 1, authMethod: 1, joined: 1, numberMatching: 1, appendedCode: 1, limit: 1,
    scenario: 1, workstation: 1, domain: 1, suppressed: 1, address: 1, name: 1, setting: 1, count: 1, sources: 1, format: 1, message: 1, sentUsername: 1, realm: 1, state: 1, claimedWorkstation: 1, enforcement: 1, head: 1, role: 1, previous: 1, request: 1, offline: 1, at: 1,
  } satisfies Record<keyof AuditDetails, 1>) as (keyof AuditDetails)[]
).sort();

/**
 * The details as JSON with sorted keys, leaving out undefined values. This runs for every RADIUS
 * answer, so the known fields are written in their sorted order directly (no object, no sort);
 * the output is the same as JSON.stringify of the sorted object, which the chain hash covers.
 */
function detailsJson(d: AuditDetails | undefined): string | null {
  if (d === undefined) return null;
  let out = '';
  let present = 0;
  for (const k of DETAIL_KEYS) {
    if (!(k in d)) continue;
    present++;
    const v = d[k];
    if (v === undefined) continue;
    out += `${out === '' ? '{' : ','}"${k}":${JSON.stringify(v)}`;
  }
  // A field outside the closed set (a caller passing more than the type allows): the general way.
  if (Object.keys(d).length !== present) return detailsJsonSlow(d);
  if (present === 0) return null;
  return out === '' ? '{}' : `${out}}`;
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
 * Who hears of records once they are committed (the feed to ops tools): `committed` is read at each
 * commit, and only while it is set are the stored records (ids, hashes) collected. It is called
 * after the transaction commits, never before, and whatever it throws is ignored: it can neither
 * delay nor fail a commit.
 */
export interface AuditFollower {
  committed?: ((records: readonly AuditRecord[]) => void) | undefined;
}

export function createAuditor(store: AuditStore, clock: () => number = Date.now, follower: AuditFollower = {}): Auditor {
  let rows: NewAuditRow[] = [];
  let effects: AuditEffect[] = [];
  let waiters: { resolve(): void; reject(e: unknown): void }[] = [];
  let scheduled = false;
  // One append at a time, in order: records queued while one is being written go in the next.
  let writing = false;
  const flush = (): void => {
    scheduled = false;
    if (writing || rows.length === 0) return;
    const batch = rows;
    const done = waiters;
    const writes = effects;
    rows = [];
    waiters = [];
    effects = [];
    const tell = follower.committed;
    const committed: AuditRecord[] | undefined = tell === undefined ? undefined : [];
    writing = true;
    store.append(batch, writes.length > 0 ? writes : undefined, committed).then(
      () => {
        writing = false;
        if (tell !== undefined && committed !== undefined) {
          try {
            tell(committed);
          } catch {
            // A follower's trouble is its own: the records are committed and the callers answered.
          }
        }
        for (const w of done) w.resolve();
        flush();
      },
      (e: unknown) => {
        writing = false;
        for (const w of done) w.reject(e);
        flush();
      },
    );
  };
  const queue = (e: AuditEvent): Promise<void> => {
    rows.push(toRow(e, clock()));
    return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
  };
  return {
    record(e) {
      const p = queue(e);
      flush();
      return p;
    },
    commit(e, effect) {
      const p = queue(e);
      if (effect !== undefined) effects.push(effect);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return p;
    },
  };
}
