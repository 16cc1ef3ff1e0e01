// Copying a whole store into another, whichever engines they are on: SQLite into PostgreSQL
// (`gatehouse store migrate --to`), PostgreSQL into a SQLite file (a backup of a cluster's store)
// and back (its restore, into an empty database: the audit log is never deleted). Rows are copied as they are, sealed values and audit hashes included,
// so the audit chain verifies in the copy and the same master key opens its secrets.
//
// Both schemas (schema.ts, schema-pg.ts) have the same tables and column names; what differs is
// the engines' types, bridged here as in store.ts: booleans go as 1/0, blobs as Buffers, times
// as numbers.
import { sql, type SQL } from 'drizzle-orm';
import { getTableConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as schema from './schema.js';
import type { Runner } from './store.js';

/**
 * Not copied: `nodes` (each appliance writes its own row; the old ones would show as gone), and
 * the logins in progress (`radius_challenges`, `pending_pushes`, `push_admissions`,
 * `push_requests`, `served_requests`): a copy is made between runs.
 */
const NOT_COPIED = new Set(['nodes', 'radius_challenges', 'pending_pushes', 'push_admissions', 'push_requests', 'served_requests']);

/** Rows per INSERT: far below either engine's limit on parameters (SQLite 32766, PostgreSQL 65535). */
const BATCH_ROWS = 200;

interface TableShape {
  name: string;
  columns: string[];
  /** Columns of the primary key (the order rows are read in). */
  key: string[];
  /** The column PostgreSQL numbers by itself (an identity), if any. */
  identity: string | undefined;
  /** Tables whose rows this one's rows refer to. */
  parents: string[];
}

function shapes(): TableShape[] {
  const out: TableShape[] = [];
  for (const value of Object.values(schema)) {
    if (typeof value !== 'object' || value === null || !('getSQL' in value)) continue;
    let cfg: ReturnType<typeof getTableConfig>;
    try {
      cfg = getTableConfig(value as SQLiteTable);
    } catch {
      continue;
    }
    if (NOT_COPIED.has(cfg.name)) continue;
    const columns = cfg.columns.map((c) => c.name);
    const key = cfg.columns.filter((c) => c.primary).map((c) => c.name);
    for (const pk of cfg.primaryKeys) for (const c of pk.columns) key.push(c.name);
    const identity = cfg.columns.find((c) => c.primary && c.columnType === 'SQLiteInteger' && c.name === 'id')?.name;
    const parents = cfg.foreignKeys.map((fk) => getTableConfig(fk.reference().foreignTable as SQLiteTable).name);
    out.push({ name: cfg.name, columns, key: key.length > 0 ? key : columns, identity, parents });
  }
  // Parents first (for the foreign keys); otherwise in the schema's order.
  const ordered: TableShape[] = [];
  const placed = new Set<string>();
  const place = (t: TableShape) => {
    if (placed.has(t.name)) return;
    placed.add(t.name);
    for (const p of t.parents) {
      const parent = out.find((x) => x.name === p);
      if (parent !== undefined) place(parent);
    }
    ordered.push(t);
  };
  for (const t of out) place(t);
  return ordered;
}

let cached: TableShape[] | undefined;
/** The tables a copy carries, parents first. */
export function copiedTables(): readonly TableShape[] {
  return (cached ??= shapes());
}

const id = (name: string) => sql.identifier(name);
const list = (names: readonly string[]) =>
  sql.join(
    names.map((n) => id(n)),
    sql`, `,
  );

/** A value as a parameter both engines take. */
const param = (v: unknown): SQL => sql`${typeof v === 'boolean' ? (v ? 1 : 0) : v}`;

/** The copied tables that hold rows, with their counts (an empty store: none). */
export async function tablesWithRows(r: Runner): Promise<{ table: string; rows: number }[]> {
  const out: { table: string; rows: number }[] = [];
  for (const t of copiedTables()) {
    const row = await r.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM ${id(t.name)}`);
    const n = Number(row?.n ?? 0);
    if (n > 0) out.push({ table: t.name, rows: n });
  }
  return out;
}

/**
 * Copy every row of the copied tables from one store to another whose tables are empty. Run it
 * inside a transaction on each side (a snapshot to read, all or nothing to write). Returns the
 * rows copied per table.
 */
export async function copyRows(from: Runner, to: Runner, pageRows = 5_000): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of copiedTables()) {
    let copied = 0;
    for (let offset = 0; ; offset += pageRows) {
      const rows = await from.all<Record<string, unknown>>(sql`SELECT ${list(t.columns)} FROM ${id(t.name)} ORDER BY ${list(t.key)} LIMIT ${pageRows} OFFSET ${offset}`);
      for (let i = 0; i < rows.length; i += BATCH_ROWS) {
        const values = rows.slice(i, i + BATCH_ROWS).map(
          (row) =>
            sql`(${sql.join(
              t.columns.map((c) => param(row[c] ?? null)),
              sql`, `,
            )})`,
        );
        await to.run(sql`INSERT INTO ${id(t.name)} (${list(t.columns)}) VALUES ${sql.join(values, sql`, `)}`);
      }
      copied += rows.length;
      if (rows.length < pageRows) break;
    }
    counts[t.name] = copied;
  }
  // PostgreSQL numbers new rows from a sequence of its own: it goes on after the copied ones.
  if (to.dialect === 'postgres') {
    for (const t of copiedTables()) {
      if (t.identity === undefined) continue;
      await to.run(sql`SELECT setval(pg_get_serial_sequence(${t.name}, ${t.identity}), COALESCE((SELECT max(${id(t.identity)}) FROM ${id(t.name)}), 0) + 1, false)`);
    }
  }
  return counts;
}

/** A snapshot to copy from, taken at the first read: PostgreSQL reads one point in time. */
export async function readSnapshot(tx: Runner): Promise<void> {
  if (tx.dialect === 'postgres') await tx.run(sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`);
}
