// Audit log storage: append in one immediate transaction that links to the current tail, so
// several processes (the appliance and CLI commands) can append to the same chain. How a record
// is linked (its hash) is the audit module's (app/audit/chain.ts): it is passed in.
import type { Statement } from 'better-sqlite3';
import type { Store } from '../open.js';

/** One stored record. */
export interface AuditRow {
  id: number;
  time: number;
  event: string;
  outcome: 'accept' | 'reject' | 'drop' | 'challenge' | 'error' | 'ok';
  username: string | null;
  reason: string | null;
  source: string | null;
  client: string | null;
  actor: string | null;
  /** JSON object, or null. */
  details: string | null;
  prevHash: string;
  hash: string;
}

export type UnchainedAuditRow = Omit<AuditRow, 'prevHash' | 'hash'>;
export type NewAuditRow = Omit<UnchainedAuditRow, 'id'>;

/** How records are linked: the hash before the first record, and each record's hash. */
export interface ChainLink {
  genesis: string;
  link(prevHash: string, record: UnchainedAuditRow): string;
}

type AuditRecord = AuditRow;

export interface AuditStore {
  /**
   * Append in one transaction. `effects` run first, inside the same transaction: writes that must
   * be committed together with their records (a TOTP code's step, for one). With `committed`, the
   * records as stored (id, hashes) are pushed onto it; they are committed only if append returns.
   */
  append(rows: readonly NewAuditRow[], effects?: readonly (() => void)[], committed?: AuditRecord[]): void;
  /** Records with an id above `afterId`, oldest first, at most `limit` (a feed catching up). */
  after(afterId: number, limit: number): AuditRecord[];
  /** Every matching record, oldest first (streamed). */
  iterate(filter?: AuditFilter): IterableIterator<AuditRecord>;
  /** One page, newest first, of records with an id below `beforeId` (keyset pagination). */
  page(filter: AuditFilter, beforeId: number | undefined, limit: number): AuditRecord[];
  count(): number;
  /** The first record, the last one, and the newest with this event. */
  first(): AuditRecord | undefined;
  last(): AuditRecord | undefined;
  latest(event: string): AuditRecord | undefined;
  /** Whether any record has this event (indexed). */
  hasEvent(event: string): boolean;
  /** Run `fn` in an immediate transaction (check-then-append across processes). */
  exclusive<T>(fn: () => T): T;
  /**
   * Login decisions (`radius.auth` and `windows.auth` records) counted by outcome and reason in
   * buckets of `bucketMs` from `since` (inclusive) to `until` (exclusive); all three are whole
   * multiples of DECISION_SLOT_MS. Buckets and outcome/reason pairs without records are left out.
   */
  countLoginDecisions(since: number, until: number, bucketMs: number): LoginDecisionCount[];
}

/** The finest bucket countLoginDecisions can count in (the audit_log_decision_slot index's). */
export const DECISION_SLOT_MS = 5 * 60_000;

export interface LoginDecisionCount {
  /** Start of the bucket (ms since the epoch, a multiple of its width). */
  start: number;
  outcome: AuditRow['outcome'];
  reason: string | null;
  count: number;
}

/**
 * Login decisions per 5-minute slot, outcome and reason. It reads only the partial index
 * audit_log_decision_slot (schema.ts: `time / 300000, outcome, reason` over the two login events),
 * whose order is the GROUP BY's, so nothing is sorted and no table row is read but one per group.
 * INDEXED BY, because without statistics SQLite prefers audit_log_event_id (event = ?), which
 * reads every row of the range and sorts it: 5-40 s for a week at 10 records/s.
 * The expression and the IN list must stay as the index has them, or SQLite cannot use it.
 *
 * Measured with bench/audit-chart.ts on a store of 6,048,000 records (a week at 10 a second, 85 %
 * of them logins; 2.4 GB), on a shared 2-core machine, warm page cache: the last hour (31,000
 * logins) 3-5 ms, the last day (794,000) 103-125 ms, the last week (5.5 million) 0.69-0.75 s.
 * Through audit_log_time and each row instead: 31 ms, 0.71 s, 5.0 s. The week is bound by
 * stepping through 5.5 million index entries; the dashboard redraws it every 30 minutes, the
 * last hour every 30 s. Building the index on that store takes 7-8 s, once, in migration 0008.
 */
export const LOGIN_DECISIONS_BY_SLOT = `SELECT time / 300000 AS slot, outcome, reason, count(*) AS n
  FROM audit_log INDEXED BY audit_log_decision_slot
  WHERE event IN ('radius.auth', 'windows.auth') AND time / 300000 >= ? AND time / 300000 < ?
  GROUP BY time / 300000, outcome, reason`;

export interface AuditFilter {
  since?: number;
  until?: number;
  username?: string;
  event?: string;
  /** Any of these events. */
  events?: readonly string[];
  outcome?: string;
  /** Prefix of the source, e.g. `192.0.2.7` or `http:`. */
  source?: string;
}

function whereOf(f: AuditFilter): { sql: string; params: (string | number)[] } {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  if (f.since !== undefined) parts.push('time >= ?') && params.push(f.since);
  if (f.until !== undefined) parts.push('time <= ?') && params.push(f.until);
  if (f.username) parts.push('username = ?') && params.push(f.username);
  if (f.event) parts.push('event = ?') && params.push(f.event);
  if (f.events && f.events.length > 0) parts.push(`event IN (${f.events.map(() => '?').join(',')})`) && params.push(...f.events);
  if (f.outcome) parts.push('outcome = ?') && params.push(f.outcome);
  if (f.source) parts.push("source >= ? AND source < ?") && params.push(f.source, f.source + '\uffff');
  return { sql: parts.length ? parts.join(' AND ') : '1', params };
}

interface RawRow {
  id: number;
  time: number;
  event: string;
  outcome: AuditRecord['outcome'];
  username: string | null;
  reason: string | null;
  source: string | null;
  client: string | null;
  actor: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
}

function toRecord(r: RawRow): AuditRecord {
  return {
    id: r.id,
    time: r.time,
    event: r.event,
    outcome: r.outcome,
    username: r.username,
    reason: r.reason,
    source: r.source,
    client: r.client,
    actor: r.actor,
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export function createAuditStore(store: Store, chain: ChainLink): AuditStore {
  const { sqlite } = store;
  const tail = sqlite.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1') as Statement<[], { id: number; hash: string }>;
  const insert = sqlite.prepare(
    'INSERT INTO audit_log (id, time, event, outcome, username, reason, source, client, actor, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
  );
  const appendTx = sqlite.transaction((rows: readonly NewAuditRow[], effects: readonly (() => void)[] | undefined, committed: AuditRecord[] | undefined) => {
    if (effects !== undefined) for (const effect of effects) effect();
    const last = tail.get();
    let id = last ? last.id : 0;
    let prev = last ? last.hash : chain.genesis;
    for (const row of rows) {
      id++;
      const rec: UnchainedAuditRow = { id, ...row };
      const hash = chain.link(prev, rec);
      insert.run(id, rec.time, rec.event, rec.outcome, rec.username, rec.reason, rec.source, rec.client, rec.actor, rec.details, prev, hash);
      if (committed !== undefined) committed.push({ ...rec, prevHash: prev, hash });
      prev = hash;
    }
  });
  const countStmt = sqlite.prepare('SELECT count(*) FROM audit_log').pluck() as Statement<[], number>;
  const firstStmt = sqlite.prepare('SELECT * FROM audit_log ORDER BY id LIMIT 1') as Statement<[], RawRow>;
  const lastStmt = sqlite.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT 1') as Statement<[], RawRow>;
  const afterStmt = sqlite.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?') as Statement<[number, number], RawRow>;
  const latestStmt = sqlite.prepare('SELECT * FROM audit_log WHERE event = ? ORDER BY id DESC LIMIT 1') as Statement<[string], RawRow>;
  const one = (r: RawRow | undefined) => (r === undefined ? undefined : toRecord(r));
  // Prepared when first used: it names its index (INDEXED BY), which a store still being migrated
  // does not have yet.
  let decisionsStmt: Statement<[number, number], { slot: number; outcome: AuditRow['outcome']; reason: string | null; n: number }> | undefined;
  return {
    append(rows, effects, committed) {
      if (rows.length > 0) appendTx.immediate(rows, effects, committed);
    },
    after: (afterId, limit) => afterStmt.all(afterId, limit).map(toRecord),
    *iterate(filter = {}) {
      const w = whereOf(filter);
      const stmt = sqlite.prepare(`SELECT * FROM audit_log WHERE ${w.sql} ORDER BY id`) as Statement<(string | number)[], RawRow>;
      for (const r of stmt.iterate(...w.params)) yield toRecord(r);
    },
    page(filter, beforeId, limit) {
      const w = whereOf(filter);
      const stmt = sqlite.prepare(`SELECT * FROM audit_log WHERE id < ? AND ${w.sql} ORDER BY id DESC LIMIT ?`) as Statement<(string | number)[], RawRow>;
      return stmt.all(beforeId ?? Number.MAX_SAFE_INTEGER, ...w.params, limit).map(toRecord);
    },
    count: () => countStmt.get() ?? 0,
    first: () => one(firstStmt.get()),
    last: () => one(lastStmt.get()),
    latest: (event) => one(latestStmt.get(event)),
    hasEvent: (event) => latestStmt.get(event) !== undefined,
    exclusive: (fn) => sqlite.transaction(fn).immediate(),
    countLoginDecisions(since, until, bucketMs) {
      for (const [name, v] of [['since', since], ['until', until], ['bucketMs', bucketMs]] as const) {
        if (!Number.isSafeInteger(v) || v % DECISION_SLOT_MS !== 0) throw new RangeError(`countLoginDecisions: ${name} must be a whole multiple of ${DECISION_SLOT_MS} ms`);
      }
      // Slots arrive in order; each bucket is a run of whole slots, so rows add up in a map keyed
      // by bucket, outcome and reason (a week: about 2,000 slots times a dozen pairs).
      const out = new Map<string, LoginDecisionCount>();
      decisionsStmt ??= sqlite.prepare(LOGIN_DECISIONS_BY_SLOT) as NonNullable<typeof decisionsStmt>;
      for (const r of decisionsStmt.iterate(since / DECISION_SLOT_MS, until / DECISION_SLOT_MS)) {
        const start = since + Math.floor((r.slot * DECISION_SLOT_MS - since) / bucketMs) * bucketMs;
        const key = `${start} ${r.outcome} ${r.reason === null ? '' : `:${r.reason}`}`;
        const have = out.get(key);
        if (have === undefined) out.set(key, { start, outcome: r.outcome, reason: r.reason, count: r.n });
        else have.count += r.n;
      }
      return [...out.values()];
    },
  };
}
