// The store's two dialects hold the same thing: PostgreSQL's migrations (migrations/postgres, from
// app/db/schema-pg.ts) applied to a real PostgreSQL give the same tables and columns, with the same
// nullability and defaults present, as SQLite's (migrations/sqlite, from app/db/schema.ts); and the
// audit log refuses updates and deletes on both.
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { join } from 'node:path';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../../app/db/open.js';
import { ROOT } from '../helpers/appliance.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';

interface Column {
  name: string;
  notNull: boolean;
  hasDefault: boolean;
}

const S = suite<{ pg: Postgres; url: string }>('store dialects');
S.before(async (ctx) => {
  ctx.pg = await startPostgres();
  ctx.url = await ctx.pg.createDatabase('gatehouse');
  const pool = new pg.Pool({ connectionString: ctx.url });
  await migrate(drizzle(pool), { migrationsFolder: join(ROOT, 'migrations', 'postgres') });
  await pool.end();
});
S.after(async (ctx) => {
  await ctx.pg?.stop();
});

function sqliteTables(): Map<string, Column[]> {
  const store = openStore(':memory:');
  const tables = store.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%'").pluck().all() as string[];
  const out = new Map<string, Column[]>();
  for (const t of tables) {
    const cols = store.sqlite.prepare(`PRAGMA table_info("${t}")`).all() as { name: string; notnull: number; dflt_value: string | null; pk: number }[];
    // An INTEGER PRIMARY KEY is NOT NULL and numbered by SQLite: as an identity column in PostgreSQL.
    out.set(
      t,
      cols.map((c) => ({ name: c.name, notNull: c.notnull === 1 || c.pk > 0, hasDefault: c.dflt_value !== null })).sort((a, b) => a.name.localeCompare(b.name)),
    );
  }
  store.close();
  return out;
}

async function postgresTables(p: Postgres): Promise<Map<string, Column[]>> {
  const r = await p.query(
    "SELECT table_name, column_name, is_nullable, column_default, is_identity FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name",
    'gatehouse',
  );
  const out = new Map<string, Column[]>();
  for (const row of r.rows as { table_name: string; column_name: string; is_nullable: string; column_default: string | null; is_identity: string }[]) {
    const cols = out.get(row.table_name) ?? [];
    cols.push({ name: row.column_name, notNull: row.is_nullable === 'NO', hasDefault: row.column_default !== null && row.is_identity !== 'YES' });
    out.set(row.table_name, cols);
  }
  for (const cols of out.values()) cols.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}

S('both dialects have the same tables and columns, nullability and defaults', async ({ pg: p }) => {
  const lite = sqliteTables();
  const post = await postgresTables(p);
  assert.equal([...post.keys()].sort(), [...lite.keys()].sort(), 'tables');
  for (const [table, cols] of lite) assert.equal(post.get(table), cols, `columns of ${table}`);
});

S('PostgreSQL: the audit log is append-only (update, delete and truncate refused)', async ({ pg: p }) => {
  await p.query("INSERT INTO audit_log (id, time, event, outcome, prev_hash, hash) VALUES (1, 0, 'test', 'ok', 'a', 'b')", 'gatehouse');
  for (const sql of ['UPDATE audit_log SET event = $$x$$', 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
    try {
      await p.query(sql, 'gatehouse');
      assert.unreachable(`${sql} was allowed`);
    } catch (e) {
      assert.match((e as Error).message, /append-only/, sql);
    }
  }
  assert.is((await p.query('SELECT count(*)::int AS n FROM audit_log', 'gatehouse')).rows[0].n, 1);
});

S('PostgreSQL: a default time is now in milliseconds', async ({ pg: p }) => {
  await p.query("INSERT INTO settings (key, value) VALUES ('k', 'v')", 'gatehouse');
  const r = await p.query("SELECT updated_at FROM settings WHERE key = 'k'", 'gatehouse');
  const at = Number(r.rows[0].updated_at);
  assert.ok(Math.abs(at - Date.now()) < 60_000, `updated_at ${at} is not now in ms`);
});

S.run();
