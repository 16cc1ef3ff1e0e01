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
}

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
  };
}
