// The store's engines behind one asynchronous interface: SQLite in the data directory (the
// embedded default, one appliance) or PostgreSQL (`--database-url`, several appliances on one
// database: issue 15). Queries are written once, as SQL both engines read the same way, with
// drizzle's `sql` template rendering each engine's parameters. What differs is said here, once:
//
// - Parameters: JS booleans become 1/0 (better-sqlite3 binds no booleans; PostgreSQL reads '1'
//   and '0' as booleans); read booleans back with Boolean() (SQLite returns 1/0).
// - PostgreSQL's bigint comes back as a JS number (times in ms and counters, all far below 2^53).
// - Column aliases are double-quoted (`AS "camelCase"`): PostgreSQL folds unquoted ones.
// - No engine's own functions in shared SQL; where one is needed, the dialect helpers below.
//
// Atomicity as everywhere in Gatehouse: a check-then-write is one statement (UPDATE ... WHERE
// ... RETURNING, DELETE ... RETURNING, INSERT ... ON CONFLICT), or a transaction. A SQLite
// transaction holds the one connection: whatever else the process asks of the file waits for it
// to end, and its body must not wait for anything but the store (one that does is rolled back).
import { sql, type SQL } from 'drizzle-orm';
import type { PgDialect } from 'drizzle-orm/pg-core';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type pg from 'pg';
import { packageRoot } from '../lib/package-root.js';
import type Database from 'better-sqlite3';
import type { Store as SqliteStore } from './open.js';

export type Dialect = 'sqlite' | 'postgres';

/** A connection or a transaction: queries in, rows out. */
export interface Runner {
  readonly dialect: Dialect;
  all<T>(query: SQL): Promise<T[]>;
  get<T>(query: SQL): Promise<T | undefined>;
  /** The number of rows the statement changed. */
  run(query: SQL): Promise<number>;
}

export interface SharedStore extends Runner {
  /** Run `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Runner) => Promise<T>): Promise<T>;
  /**
   * Call `changed` when another process (SQLite: a CLI command) or another appliance
   * (PostgreSQL) may have changed the configuration, within about a second; also after the
   * store was out of reach and is back (what changed meanwhile is not known). Returns stop.
   * Changes made through this store itself are the caller's to apply.
   */
  watch(changed: () => void): () => void;
}

/** How often SQLite's data_version is read, and how long PostgreSQL's listener waits to reconnect. */
export const WATCH_MS = 1000;

/**
 * Inside a transaction that reads a table and then writes it by what it read (positions, counts,
 * replace-all): no other transaction writes the table until this one ends. SQLite's immediate
 * transactions already serialise every writer; PostgreSQL's READ COMMITTED does not, so the
 * table is locked against other writers (readers go on).
 */
export async function lockForWrite(tx: Runner, table: 'admins' | 'policy_rules' | 'downstream_servers' | 'enrolment_codes'): Promise<void> {
  if (tx.dialect === 'postgres') await tx.run(sql.raw(`LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`));
}

/**
 * Inside a transaction that counts rows of one key (a user) and then writes by what it counted:
 * no other transaction holding the same key goes on until this one ends. SQLite's immediate
 * transactions already serialise every writer; PostgreSQL takes a transaction-scoped advisory
 * lock on a hash of the key (other keys go on).
 */
export async function lockKey(tx: Runner, key: string): Promise<void> {
  if (tx.dialect === 'postgres') await tx.run(sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
}

/** A JS boolean as a parameter both engines take. */
export const bool = (b: boolean): number => (b ? 1 : 0);

/** The strings of `column` over the rows, joined by newlines (null when there are none). */
export function linesOf(r: Runner, column: SQL): SQL {
  return r.dialect === 'sqlite' ? sql`group_concat(${column}, char(10))` : sql`string_agg(${column}, E'\\n')`;
}

/** Whether `haystack` contains `needle` (a plain substring, case as given). */
export function contains(r: Runner, haystack: SQL, needle: string): SQL {
  return r.dialect === 'sqlite' ? sql`instr(${haystack}, ${needle}) > 0` : sql`strpos(${haystack}, ${needle}) > 0`;
}

// --- SQLite: better-sqlite3 (synchronous) behind the asynchronous interface

const prepared = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * The statement for `sql`, prepared once per connection and kept (preparing costs more than
 * running a small query): for queries on a request's path. A statement's modes (pluck, raw)
 * stay set, so one SQL text must always be used the same way.
 */
export function statement<P extends unknown[] | {} = unknown[], R = unknown>(store: Pick<SqliteStore, 'sqlite'>, sql: string): Database.Statement<P, R> {
  let map = prepared.get(store.sqlite);
  if (map === undefined) prepared.set(store.sqlite, (map = new Map()));
  let st = map.get(sql);
  if (st === undefined) map.set(sql, (st = store.sqlite.prepare(sql)));
  return st as unknown as Database.Statement<P, R>;
}

const sqliteDialect = new SQLiteSyncDialect();

/**
 * While a transaction is open on a database file, everything else this process asks of that file
 * waits for it: the transaction's body yields between its statements (each is awaited), and what
 * other requests run meanwhile must not land inside it, nor start a transaction of their own.
 */
const gates = new Map<string, { busy: Promise<void> | undefined }>();
const memoryGates = new WeakMap<Database.Database, { busy: Promise<void> | undefined }>();
function gateOf(db: Database.Database): { busy: Promise<void> | undefined } {
  if (db.memory) {
    let g = memoryGates.get(db);
    if (g === undefined) memoryGates.set(db, (g = { busy: undefined }));
    return g;
  }
  let g = gates.get(db.name);
  if (g === undefined) gates.set(db.name, (g = { busy: undefined }));
  return g;
}

/**
 * Resolves when no transaction of this process is open on the store's file: for code that writes
 * through its own prepared statements (the login path, app/db/queries/users.ts) rather than the
 * runner, so its writes never land inside someone else's transaction.
 */
export async function sqliteIdle(store: Pick<SqliteStore, 'sqlite'>): Promise<void> {
  const gate = gateOf(store.sqlite);
  while (gate.busy !== undefined) await gate.busy;
}

/**
 * The runner of an open SQLite store (app/db/open.ts). Statements are prepared once per text.
 * Inside a transaction, use the runner it hands the body (the store's own would wait for the
 * transaction to end, which waits for the body: never).
 */
export function sqliteRunner(store: Pick<SqliteStore, 'sqlite'>): SharedStore {
  const gate = gateOf(store.sqlite);
  const prepare = (q: SQL) => {
    const { sql: text, params } = sqliteDialect.sqlToQuery(q);
    return { st: statement(store, text), params };
  };
  const inside: Runner = {
    dialect: 'sqlite',
    all: async <T>(q: SQL) => {
      const { st, params } = prepare(q);
      return st.all(...params) as T[];
    },
    get: async <T>(q: SQL) => {
      const { st, params } = prepare(q);
      return st.get(...params) as T | undefined;
    },
    run: async (q: SQL) => {
      const { st, params } = prepare(q);
      return st.run(...params).changes;
    },
  };
  const wait = async () => {
    while (gate.busy !== undefined) await gate.busy;
  };
  const dataVersion = store.sqlite.prepare('PRAGMA data_version').pluck();
  return {
    dialect: 'sqlite',
    watch(changed) {
      // data_version changes when another connection commits (never for this one's own commits).
      let version = dataVersion.get() as number;
      const timer = setInterval(() => {
        let v: number;
        try {
          v = dataVersion.get() as number;
        } catch {
          // Busy or closed now: asked again at the next tick.
          return;
        }
        if (v === version) return;
        version = v;
        changed();
      }, WATCH_MS);
      timer.unref();
      return () => clearInterval(timer);
    },
    all: async <T>(q: SQL) => {
      if (gate.busy !== undefined) await wait();
      return inside.all<T>(q);
    },
    get: async <T>(q: SQL) => {
      if (gate.busy !== undefined) await wait();
      return inside.get<T>(q);
    },
    run: async (q: SQL) => {
      if (gate.busy !== undefined) await wait();
      return inside.run(q);
    },
    async transaction<T>(fn: (tx: Runner) => Promise<T>): Promise<T> {
      // Checked and taken in one synchronous step (several may be waiting for the same end).
      while (gate.busy !== undefined) await gate.busy;
      let release!: () => void;
      gate.busy = new Promise<void>((r) => (release = r));
      // The write lock is held from BEGIN to COMMIT, against other processes too (the CLI): a
      // body that waited for I/O would hold it that long. It is rolled back instead, as the
      // programming error it is.
      let crossed = false;
      const probe = setImmediate(() => (crossed = true));
      try {
        store.sqlite.exec('BEGIN IMMEDIATE');
        const result = await fn(inside);
        if (crossed) throw new Error('a SQLite transaction waited for something other than the store; rolled back');
        store.sqlite.exec('COMMIT');
        return result;
      } catch (e) {
        if (store.sqlite.inTransaction) store.sqlite.exec('ROLLBACK');
        throw e;
      } finally {
        clearImmediate(probe);
        gate.busy = undefined;
        release();
      }
    },
  };
}

// --- PostgreSQL: node-postgres, a pool per process

// The driver and its drizzle parts are loaded by openPostgres, when a store is PostgreSQL: one on
// SQLite (the default) never loads them, which keeps them out of the start-up time.
let pgDialect: PgDialect | undefined;
const names = new Map<string, string>();

/** A query with a name per text: each connection prepares it once (parse and plan) and reuses it. */
function namedQuery(q: SQL): pg.QueryConfig {
  const { sql: text, params } = pgDialect!.sqlToQuery(q);
  let name = names.get(text);
  if (name === undefined) names.set(text, (name = `gh${createHash('sha256').update(text).digest('hex').slice(0, 24)}`));
  return { name, text, values: params as unknown[] };
}

export interface PostgresOptions {
  url: string;
  /** A password that is not in the URL (DATABASE_PASSWORD); PGPASSFILE is read by the driver. */
  password?: string;
  /** PEM of the CA that signed the server's certificate: TLS, with the certificate verified. */
  ca?: Buffer;
  /** Shown in pg_stat_activity: the node's name. */
  applicationName?: string;
  /** Connections per process (default 10). */
  max?: number;
}

export interface PostgresStore extends SharedStore {
  readonly dialect: 'postgres';
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/** Connect to PostgreSQL and apply the migrations (one node at a time: drizzle takes a lock). */
export async function openPostgres(o: PostgresOptions): Promise<PostgresStore> {
  const [{ default: pg }, { PgDialect }, { drizzle: drizzlePg }, { migrate: migratePg }] = await Promise.all([
    import('pg'),
    import('drizzle-orm/pg-core'),
    import('drizzle-orm/node-postgres'),
    import('drizzle-orm/node-postgres/migrator'),
  ]);
  pgDialect ??= new PgDialect();
  // bigint (int8) as a JS number: every bigint Gatehouse stores is a time in ms or a counter.
  pg.types.setTypeParser(20, (v) => Number(v));
  const config = {
    // node-postgres lets what the connection string says win over the other options, a password
    // it does not hold included: the password given apart goes into the string.
    connectionString: o.password !== undefined ? withPassword(o.url, o.password) : o.url,
    ...(o.ca !== undefined ? { ssl: { ca: o.ca, rejectUnauthorized: true } } : {}),
    application_name: o.applicationName ?? 'gatehouse',
    connectionTimeoutMillis: 5000,
    // A statement that takes longer is a database in trouble: fail (closed) rather than wait.
    statement_timeout: 10_000,
  };
  const pool = new pg.Pool({ ...config, max: o.max ?? 10, idleTimeoutMillis: 30_000 });
  // An idle connection the server closed (a restart, a fail-over) is dropped from the pool; the
  // next query opens a new one. Without a listener the error would end the process.
  pool.on('error', () => undefined);
  try {
    // Appliances starting together on a new database take turns: without the lock, two would
    // create drizzle's own schema and table at once, and one would fail.
    const client = await pool.connect();
    try {
      await client.query("SELECT pg_advisory_lock(hashtextextended('gatehouse migrations', 0))");
      try {
        await migratePg(drizzlePg(client), { migrationsFolder: join(packageRoot(), 'migrations', 'postgres') });
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtextextended('gatehouse migrations', 0))");
      }
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end();
    throw e;
  }
  const on = (client: pg.Pool | pg.PoolClient): Runner => {
    const query = (q: SQL) => client.query(namedQuery(q));
    return {
      dialect: 'postgres',
      all: async <T>(q: SQL) => (await query(q)).rows as T[],
      get: async <T>(q: SQL) => (await query(q)).rows[0] as T | undefined,
      run: async (q: SQL) => (await query(q)).rowCount ?? 0,
    };
  };
  return {
    ...on(pool),
    dialect: 'postgres',
    pool,
    watch(changed) {
      // One connection of its own, LISTENing on the channel the configuration tables' triggers
      // notify (migration 0003). When it is lost (a restart, a fail-over, the network), it is
      // opened again every WATCH_MS; once back, `changed` is called, as notifications sent
      // meanwhile were lost.
      let stopped = false;
      let client: pg.Client | undefined;
      let timer: NodeJS.Timeout | undefined;
      let lost = false;
      const listen = async () => {
        if (stopped) return;
        const c = new pg.Client({ ...config, application_name: `${config.application_name}-listen` });
        client = c;
        c.on('error', () => retry(c));
        c.on('end', () => retry(c));
        c.on('notification', () => changed());
        try {
          await c.connect();
          await c.query('LISTEN gatehouse_config');
          if (lost) changed();
          lost = false;
        } catch {
          retry(c);
        }
      };
      const retry = (c: pg.Client) => {
        if (stopped || c !== client) return;
        client = undefined;
        lost = true;
        void c.end().catch(() => undefined);
        timer = setTimeout(() => void listen(), WATCH_MS);
        timer.unref();
      };
      void listen();
      return () => {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        void client?.end().catch(() => undefined);
        client = undefined;
      };
    },
    async transaction<T>(fn: (tx: Runner) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(on(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** The password for a database URL from DATABASE_PASSWORD, when the URL has none. */
export function databasePassword(url: string, env: NodeJS.ProcessEnv): string | undefined {
  const given = env['DATABASE_PASSWORD'];
  if (given === undefined || given === '') return undefined;
  try {
    if (new URL(url).password !== '') return undefined;
  } catch {
    return given;
  }
  return given;
}

/** The URL with this password in it (never logged: see redactDatabaseUrl). */
function withPassword(url: string, password: string): string {
  try {
    const u = new URL(url);
    u.password = encodeURIComponent(password);
    return u.toString();
  } catch {
    return url;
  }
}

/** A URL fit for logs and pages: the password (if any) replaced by `***`. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unreadable URL)';
  }
}
