// Downstream RADIUS servers, their pools and the realms that route to them, as stored from the UI,
// API or CLI. Written once for both engines. What a pool does with them: app/radius/pools.ts.
import { sql } from 'drizzle-orm';
import type { Sealer } from '../secrets.js';
import { bool, lockForWrite, type Runner, type SharedStore } from '../store.js';

const PURPOSE = 'downstream_servers.secret';

export type Transport = 'udp' | 'radsec';
export type PoolMode = 'fail-over' | 'load-balance';

/** A stored server: what was added, with its id and its secret opened. */
export type StoredDownstream = Omit<NewDownstream, 'secret'> & { id: number; secret: Buffer };

export interface NewDownstream {
  name: string;
  host: string;
  port: number;
  acctPort: number;
  transport: Transport;
  pool: string;
  secret: string;
  requireMessageAuthenticator: boolean;
}

export interface StoredPool {
  name: string;
  mode: PoolMode;
  responseWindowMs: number;
  deadAfter: number;
  checkIntervalMs: number;
}

export interface StoredRealm {
  name: string;
  pool: string;
  strip: boolean;
}

/** Every stored server, in the order they were added (a fail-over pool's order). */
export async function listDownstreams(r: Runner, sealer: Sealer): Promise<StoredDownstream[]> {
  const rows = await r.all<Omit<StoredDownstream, 'secret' | 'requireMessageAuthenticator'> & { secretSealed: Buffer; requireMessageAuthenticator: number | boolean }>(sql`
    SELECT id, name, host, port, acct_port AS "acctPort", transport, pool, secret_sealed AS "secretSealed", require_message_authenticator AS "requireMessageAuthenticator"
    FROM downstream_servers ORDER BY id`);
  return rows.map(({ secretSealed, ...d }) => ({ ...d, requireMessageAuthenticator: Boolean(d.requireMessageAuthenticator), secret: sealer.open(secretSealed, PURPOSE) }));
}

async function insert(r: Runner, sealer: Sealer, d: NewDownstream): Promise<number | undefined> {
  const sealed = sealer.seal(Buffer.from(d.secret, 'utf8'), PURPOSE);
  const row = await r.get<{ id: number }>(sql`INSERT INTO downstream_servers (name, host, port, acct_port, transport, pool, require_message_authenticator, secret_sealed, created_at)
      VALUES (${d.name}, ${d.host}, ${d.port}, ${d.acctPort}, ${d.transport}, ${d.pool}, ${bool(d.requireMessageAuthenticator)}, ${sealed}, ${Date.now()}) RETURNING id`);
  return row?.id;
}

/** The single-server form (`PUT /api/downstream`, the CLI): the default pool becomes this one server. */
export async function replaceDownstream(store: SharedStore, sealer: Sealer, d: NewDownstream): Promise<void> {
  await store.transaction(async (tx) => {
    await lockForWrite(tx, 'downstream_servers');
    await tx.run(sql`DELETE FROM downstream_servers WHERE pool = ${d.pool}`);
    await insert(tx, sealer, d);
  });
}

/** Add a server to a pool; undefined when the pool already has a server of that name. */
export async function addDownstream(store: SharedStore, sealer: Sealer, d: NewDownstream): Promise<number | undefined> {
  return store.transaction(async (tx) => {
    await lockForWrite(tx, 'downstream_servers');
    const dup = await tx.get<{ id: number }>(sql`SELECT id FROM downstream_servers WHERE pool = ${d.pool} AND name = ${d.name}`);
    if (dup !== undefined) return undefined;
    return insert(tx, sealer, d);
  });
}

export async function deleteDownstream(r: Runner, id: number): Promise<number> {
  return r.run(sql`DELETE FROM downstream_servers WHERE id = ${id}`);
}

/** The servers of one pool (the default pool: what the single-server form removes). */
export async function deleteDownstreams(r: Runner, pool = 'default'): Promise<number> {
  return r.run(sql`DELETE FROM downstream_servers WHERE pool = ${pool}`);
}

export async function listPools(r: Runner): Promise<StoredPool[]> {
  return r.all<StoredPool>(sql`SELECT name, mode, response_window_ms AS "responseWindowMs", dead_after AS "deadAfter", check_interval_ms AS "checkIntervalMs" FROM downstream_pools ORDER BY name`);
}

/** Create or change a pool's settings. */
export async function putPool(r: Runner, p: StoredPool): Promise<void> {
  await r.run(sql`INSERT INTO downstream_pools (name, mode, response_window_ms, dead_after, check_interval_ms, created_at)
    VALUES (${p.name}, ${p.mode}, ${p.responseWindowMs}, ${p.deadAfter}, ${p.checkIntervalMs}, ${Date.now()})
    ON CONFLICT (name) DO UPDATE SET mode = excluded.mode, response_window_ms = excluded.response_window_ms, dead_after = excluded.dead_after, check_interval_ms = excluded.check_interval_ms`);
}

/** Remove a pool and its servers, in one transaction; the number of rows that went. */
export async function deletePool(store: SharedStore, name: string): Promise<number> {
  return store.transaction(async (tx) => {
    await lockForWrite(tx, 'downstream_servers');
    return (await tx.run(sql`DELETE FROM downstream_servers WHERE pool = ${name}`)) + (await tx.run(sql`DELETE FROM downstream_pools WHERE name = ${name}`));
  });
}

export async function listRealms(r: Runner): Promise<StoredRealm[]> {
  const rows = await r.all<{ name: string; pool: string; strip: number | boolean }>(sql`SELECT name, pool, strip FROM realms ORDER BY name`);
  return rows.map((x) => ({ name: x.name, pool: x.pool, strip: Boolean(x.strip) }));
}

export async function putRealm(r: Runner, realm: StoredRealm): Promise<void> {
  await r.run(sql`INSERT INTO realms (name, pool, strip, created_at) VALUES (${realm.name}, ${realm.pool}, ${bool(realm.strip)}, ${Date.now()})
    ON CONFLICT (name) DO UPDATE SET pool = excluded.pool, strip = excluded.strip`);
}

export async function deleteRealm(r: Runner, name: string): Promise<number> {
  return r.run(sql`DELETE FROM realms WHERE name = ${name}`);
}
