// Audit log storage: append in one transaction that links to the current tail, so several
// writers append to one chain: on SQLite the appliance and CLI commands (an immediate transaction
// holds the file's write lock), on PostgreSQL every appliance of a cluster (the transaction locks
// the table against other appenders: one chain, serialised by the database). How a record is
// linked (its hash) is the audit module's (app/audit/chain.ts): it is passed in.
import { sql } from 'drizzle-orm';
import type { Statement } from 'better-sqlite3';
import type { Store } from '../open.js';
import type { Runner, SharedStore } from '../store.js';

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

/**
 * A write that must be committed together with the records it accompanies (a TOTP code's step,
 * for one), run inside the append's transaction before the records are inserted.
 */
export type AuditEffect = (tx: Runner) => void | Promise<void>;

/** What `exclusive` hands its body: reads and appends inside its transaction. */
export interface AuditTransaction {
  hasEvent(event: string): Promise<boolean>;
  last(): Promise<AuditRecord | undefined>;
  iterate(): AsyncIterable<AuditRecord>;
  append(rows: readonly NewAuditRow[]): Promise<void>;
}

export interface AuditStore {
  /**
   * Append in one transaction, with `effects` run first inside it. With `committed`, the records
   * as stored (id, hashes) are pushed onto it; they are committed only if append resolves.
   */
  append(rows: readonly NewAuditRow[], effects?: readonly AuditEffect[], committed?: AuditRecord[]): Promise<void>;
  /** Records with an id above `afterId`, oldest first, at most `limit` (a feed catching up). */
  after(afterId: number, limit: number): Promise<AuditRecord[]>;
  /** Every matching record, oldest first (read in pages as it is consumed). */
  iterate(filter?: AuditFilter): AsyncIterable<AuditRecord>;
  /** One page, newest first, of records with an id below `beforeId` (keyset pagination). */
  page(filter: AuditFilter, beforeId: number | undefined, limit: number): Promise<AuditRecord[]>;
  count(): Promise<number>;
  /** The first record, the last one, and the newest with this event. */
  first(): Promise<AuditRecord | undefined>;
  last(): Promise<AuditRecord | undefined>;
  latest(event: string): Promise<AuditRecord | undefined>;
  /** Whether any record has this event (indexed). */
  hasEvent(event: string): Promise<boolean>;
  /**
   * Run `fn` in one transaction with no other append in between, anywhere (check-then-append):
   * it reads and appends through the handle it is given, never through the store itself.
   */
  exclusive<T>(fn: (tx: AuditTransaction) => Promise<T>): Promise<T>;
  /**
   * Login decisions (`radius.auth` and `windows.auth` records) counted by outcome and reason in
   * buckets of `bucketMs` from `since` (inclusive) to `until` (exclusive); all three are whole
   * multiples of DECISION_SLOT_MS. Buckets and outcome/reason pairs without records are left out.
   */
  countLoginDecisions(since: number, until: number, bucketMs: number): Promise<LoginDecisionCount[]>;
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

function whereOf(r: Runner, f: AuditFilter): ReturnType<typeof sql> {
  const parts = [sql`TRUE`];
  if (f.since !== undefined) parts.push(sql`time >= ${f.since}`);
  if (f.until !== undefined) parts.push(sql`time <= ${f.until}`);
  if (f.username) parts.push(sql`username = ${f.username}`);
  if (f.event) parts.push(sql`event = ${f.event}`);
  if (f.events && f.events.length > 0) parts.push(sql`event IN (${sql.join(f.events.map((e) => sql`${e}`), sql`, `)})`);
  if (f.outcome) parts.push(sql`outcome = ${f.outcome}`);
  // A prefix: SQLite compares code points (and can use an index this way); PostgreSQL's collation
  // may not, so it is asked in words.
  if (f.source) parts.push(r.dialect === 'sqlite' ? sql`source >= ${f.source} AND source < ${f.source + '\uffff'}` : sql`starts_with(source, ${f.source})`);
  return sql.join(parts, sql` AND `);
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

/** How many records `iterate` reads at a time. */
const ITERATE_PAGE = 1000;

/** Link `rows` after `last` (undefined: the chain is empty). */
function linkRows(chain: ChainLink, last: { id: number; hash: string } | undefined, rows: readonly NewAuditRow[]): AuditRecord[] {
  let id = last === undefined ? 0 : last.id;
  let prev = last === undefined ? chain.genesis : last.hash;
  const out: AuditRecord[] = [];
  for (const row of rows) {
    // One object per record, of one shape, its hash filled in once known: spreading the row into
    // a new object twice cost about 2.5 us a record, an eighth of an append.
    const rec: AuditRecord = { id: ++id, time: row.time, event: row.event, outcome: row.outcome, username: row.username, reason: row.reason, source: row.source, client: row.client, actor: row.actor, details: row.details, prevHash: prev, hash: '' };
    rec.hash = chain.link(prev, rec);
    out.push(rec);
    prev = rec.hash;
  }
  return out;
}

function bucketed(rows: Iterable<{ slot: number; outcome: AuditRow['outcome']; reason: string | null; n: number }>, since: number, bucketMs: number): LoginDecisionCount[] {
  // Slots arrive in order; each bucket is a run of whole slots, so rows add up in a map keyed by
  // bucket, outcome and reason (a week: about 2,000 slots times a dozen pairs).
  const out = new Map<string, LoginDecisionCount>();
  for (const r of rows) {
    const start = since + Math.floor((r.slot * DECISION_SLOT_MS - since) / bucketMs) * bucketMs;
    const key = `${start} ${r.outcome} ${r.reason === null ? '' : `:${r.reason}`}`;
    const have = out.get(key);
    if (have === undefined) out.set(key, { start, outcome: r.outcome, reason: r.reason, count: r.n });
    else have.count += r.n;
  }
  return [...out.values()];
}

function checkBuckets(since: number, until: number, bucketMs: number): void {
  for (const [name, v] of [['since', since], ['until', until], ['bucketMs', bucketMs]] as const) {
    if (!Number.isSafeInteger(v) || v % DECISION_SLOT_MS !== 0) throw new RangeError(`countLoginDecisions: ${name} must be a whole multiple of ${DECISION_SLOT_MS} ms`);
  }
}

export function createAuditStore(store: SharedStore, chain: ChainLink): AuditStore {
  return store.dialect === 'sqlite' && 'sqlite' in store ? sqliteAuditStore(store as Store, chain) : sharedAuditStore(store, chain);
}

/** SQLite: prepared statements, run synchronously; an append is one immediate transaction. */
function sqliteAuditStore(store: Store, chain: ChainLink): AuditStore {
  const { sqlite } = store;
  const tail = sqlite.prepare('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1') as Statement<[], { id: number; hash: string }>;
  const insert = sqlite.prepare(
    'INSERT INTO audit_log (id, time, event, outcome, username, reason, source, client, actor, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
  );
  /** Inside a transaction on this connection: link and insert after the current tail. */
  const insertRows = (rows: readonly NewAuditRow[], committed: AuditRecord[] | undefined): void => {
    for (const r of linkRows(chain, tail.get(), rows)) {
      insert.run(r.id, r.time, r.event, r.outcome, r.username, r.reason, r.source, r.client, r.actor, r.details, r.prevHash, r.hash);
      committed?.push(r);
    }
  };
  const appendNow = sqlite.transaction((rows: readonly NewAuditRow[], committed: AuditRecord[] | undefined) => insertRows(rows, committed));
  const countStmt = sqlite.prepare('SELECT count(*) FROM audit_log').pluck() as Statement<[], number>;
  const firstStmt = sqlite.prepare('SELECT * FROM audit_log ORDER BY id LIMIT 1') as Statement<[], RawRow>;
  const lastStmt = sqlite.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT 1') as Statement<[], RawRow>;
  const afterStmt = sqlite.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?') as Statement<[number, number], RawRow>;
  const latestStmt = sqlite.prepare('SELECT * FROM audit_log WHERE event = ? ORDER BY id DESC LIMIT 1') as Statement<[string], RawRow>;
  const one = (r: RawRow | undefined) => (r === undefined ? undefined : toRecord(r));
  // Prepared when first used: it names its index (INDEXED BY), which a store still being migrated
  // does not have yet.
  let decisionsStmt: Statement<[number, number], { slot: number; outcome: AuditRow['outcome']; reason: string | null; n: number }> | undefined;
  const shared = sharedAuditStore(store, chain);
  return {
    ...shared,
    async append(rows, effects, committed) {
      if (rows.length === 0) return;
      // Without effects (most batches): one synchronous transaction. With them, the store's own
      // transaction, which waits for any other of this process and lets the effects await.
      if (effects === undefined || effects.length === 0) {
        if (sqlite.inTransaction) await store.transaction(async () => insertRows(rows, committed));
        else appendNow.immediate(rows, committed);
        return;
      }
      await store.transaction(async (tx) => {
        for (const effect of effects) await effect(tx);
        insertRows(rows, committed);
      });
    },
    after: async (afterId, limit) => afterStmt.all(afterId, limit).map(toRecord),
    count: async () => countStmt.get() ?? 0,
    first: async () => one(firstStmt.get()),
    last: async () => one(lastStmt.get()),
    latest: async (event) => one(latestStmt.get(event)),
    hasEvent: async (event) => latestStmt.get(event) !== undefined,
    exclusive: (fn) =>
      store.transaction(async () =>
        fn({
          hasEvent: async (event) => latestStmt.get(event) !== undefined,
          last: async () => one(lastStmt.get()),
          async *iterate() {
            for (const r of (sqlite.prepare('SELECT * FROM audit_log ORDER BY id') as Statement<[], RawRow>).iterate()) yield toRecord(r);
          },
          append: async (rows) => insertRows(rows, undefined),
        }),
      ),
    async countLoginDecisions(since, until, bucketMs) {
      checkBuckets(since, until, bucketMs);
      decisionsStmt ??= sqlite.prepare(LOGIN_DECISIONS_BY_SLOT) as NonNullable<typeof decisionsStmt>;
      return bucketed(decisionsStmt.iterate(since / DECISION_SLOT_MS, until / DECISION_SLOT_MS), since, bucketMs);
    },
  };
}

/** Every matching record through `r`, oldest first, read a page at a time. */
async function* iterateOn(r: Runner, filter: AuditFilter): AsyncIterable<AuditRecord> {
  const where = whereOf(r, filter);
  let after = 0;
  for (;;) {
    const rows = await r.all<RawRow>(sql`SELECT * FROM audit_log WHERE id > ${after} AND ${where} ORDER BY id LIMIT ${ITERATE_PAGE}`);
    for (const row of rows) yield toRecord(row);
    if (rows.length < ITERATE_PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}

/** Any engine through the shared runner (PostgreSQL). */
function sharedAuditStore(store: SharedStore, chain: ChainLink): AuditStore {
  const one = (r: RawRow | undefined) => (r === undefined ? undefined : toRecord(r));
  /** Inside a transaction: no other appender until it ends; link and insert after the tail. */
  const insertRows = async (tx: Runner, rows: readonly NewAuditRow[], committed: AuditRecord[] | undefined): Promise<void> => {
    // Appenders take turns (readers go on): each links to the tail the previous one left.
    if (tx.dialect === 'postgres') await tx.run(sql`LOCK TABLE audit_log IN EXCLUSIVE MODE`);
    const linked = linkRows(chain, await tx.get<{ id: number; hash: string }>(sql`SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`), rows);
    // One statement per batch, in slices that stay under the engines' parameter limits.
    for (let i = 0; i < linked.length; i += 500) {
      const slice = linked.slice(i, i + 500);
      await tx.run(sql`INSERT INTO audit_log (id, time, event, outcome, username, reason, source, client, actor, details, prev_hash, hash) VALUES ${sql.join(
        slice.map((r) => sql`(${r.id}, ${r.time}, ${r.event}, ${r.outcome}, ${r.username}, ${r.reason}, ${r.source}, ${r.client}, ${r.actor}, ${r.details}, ${r.prevHash}, ${r.hash})`),
        sql`, `,
      )}`);
    }
    committed?.push(...linked);
  };
  return {
    async append(rows, effects, committed) {
      if (rows.length === 0) return;
      await store.transaction(async (tx) => {
        for (const effect of effects ?? []) await effect(tx);
        await insertRows(tx, rows, committed);
      });
    },
    after: async (afterId, limit) => (await store.all<RawRow>(sql`SELECT * FROM audit_log WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`)).map(toRecord),
    iterate: (filter = {}) => iterateOn(store, filter),
    page: async (filter, beforeId, limit) =>
      (await store.all<RawRow>(sql`SELECT * FROM audit_log WHERE id < ${beforeId ?? Number.MAX_SAFE_INTEGER} AND ${whereOf(store, filter)} ORDER BY id DESC LIMIT ${limit}`)).map(toRecord),
    count: async () => (await store.get<{ n: number }>(sql`SELECT count(*) AS n FROM audit_log`))?.n ?? 0,
    first: async () => one(await store.get<RawRow>(sql`SELECT * FROM audit_log ORDER BY id LIMIT 1`)),
    last: async () => one(await store.get<RawRow>(sql`SELECT * FROM audit_log ORDER BY id DESC LIMIT 1`)),
    latest: async (event) => one(await store.get<RawRow>(sql`SELECT * FROM audit_log WHERE event = ${event} ORDER BY id DESC LIMIT 1`)),
    hasEvent: async (event) => (await store.get<{ id: number }>(sql`SELECT id FROM audit_log WHERE event = ${event} LIMIT 1`)) !== undefined,
    exclusive: (fn) =>
      store.transaction(async (tx) => {
        if (tx.dialect === 'postgres') await tx.run(sql`LOCK TABLE audit_log IN EXCLUSIVE MODE`);
        return fn({
          hasEvent: async (event) => (await tx.get<{ id: number }>(sql`SELECT id FROM audit_log WHERE event = ${event} LIMIT 1`)) !== undefined,
          last: async () => one(await tx.get<RawRow>(sql`SELECT * FROM audit_log ORDER BY id DESC LIMIT 1`)),
          iterate: () => iterateOn(tx, {}),
          append: (rows) => insertRows(tx, rows, undefined),
        });
      }),
    async countLoginDecisions(since, until, bucketMs) {
      checkBuckets(since, until, bucketMs);
      // The same expression and WHERE as the audit_log_decision_slot index (schema-pg.ts).
      const rows = await store.all<{ slot: number; outcome: AuditRow['outcome']; reason: string | null; n: number }>(sql`SELECT time / 300000 AS slot, outcome, reason, count(*)::int AS n
        FROM audit_log WHERE event IN ('radius.auth', 'windows.auth') AND time / 300000 >= ${since / DECISION_SLOT_MS} AND time / 300000 < ${until / DECISION_SLOT_MS}
        GROUP BY time / 300000, outcome, reason ORDER BY 1`);
      return bucketed(rows, since, bucketMs);
    },
  };
}
