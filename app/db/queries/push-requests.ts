// Gatehouse's own approver's requests shared by the appliances of a cluster (schema:
// push_requests). What a request holds and who may decide it is app/push/'s; which appliance
// takes a decision is app/cluster/push-requests.ts's.
import { sql } from 'drizzle-orm';
import type { Runner } from '../store.js';

export interface PushRequestRow {
  id: string;
  username: string;
  node: string;
  createdAt: number;
  expiresAt: number;
  /** JSON: what the phone is shown and signs over. */
  request: string;
}

export async function insertPushRequest(r: Runner, row: PushRequestRow): Promise<void> {
  await r.run(sql`INSERT INTO push_requests (id, username, node, created_at, expires_at, request) VALUES (${row.id}, ${row.username}, ${row.node}, ${row.createdAt}, ${row.expiresAt}, ${row.request})`);
}

const COLUMNS = sql`id, username, node, created_at AS "createdAt", expires_at AS "expiresAt", request`;

/** An undecided request whose time is not up. */
export async function openPushRequest(r: Runner, id: string, now: number): Promise<PushRequestRow | undefined> {
  return r.get(sql`SELECT ${COLUMNS} FROM push_requests WHERE id = ${id} AND decision IS NULL AND expires_at > ${now}`);
}

/** The undecided requests of users that other appliances than `node` opened, oldest first. */
export async function othersOpenPushRequests(r: Runner, usernames: readonly string[], node: string, now: number): Promise<PushRequestRow[]> {
  if (usernames.length === 0) return [];
  return r.all(sql`SELECT ${COLUMNS} FROM push_requests
    WHERE username IN (${sql.join(
      usernames.map((u) => sql`${u}`),
      sql`, `,
    )}) AND node <> ${node} AND decision IS NULL AND expires_at > ${now} ORDER BY created_at, id`);
}

/** Decide a request another appliance opened, once: false when it is decided, gone or expired. */
export async function decidePushRequest(r: Runner, id: string, decision: 'approve' | 'deny', picked: number | null, node: string, now: number): Promise<boolean> {
  return (await r.run(sql`UPDATE push_requests SET decision = ${decision}, picked = ${picked} WHERE id = ${id} AND node <> ${node} AND decision IS NULL AND expires_at > ${now}`)) > 0;
}

/** The decisions others made on this appliance's requests. */
export async function decisionsFor(r: Runner, node: string): Promise<{ id: string; decision: 'approve' | 'deny'; picked: number | null }[]> {
  return r.all(sql`SELECT id, decision, picked FROM push_requests WHERE node = ${node} AND decision IS NOT NULL`);
}

export async function deletePushRequest(r: Runner, id: string): Promise<void> {
  await r.run(sql`DELETE FROM push_requests WHERE id = ${id}`);
}

/** Forget requests whose time is up (their appliance stopped without removing them). */
export async function sweepPushRequests(r: Runner, before: number): Promise<number> {
  return r.run(sql`DELETE FROM push_requests WHERE expires_at < ${before}`);
}
