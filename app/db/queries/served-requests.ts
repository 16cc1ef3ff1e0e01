// Requests of the push API served to others, shared by the appliances of a cluster (schema:
// served_requests). What a request is and who may read it is app/push/served.ts's.
import { sql } from 'drizzle-orm';
import type { Runner } from '../store.js';

export interface ServedRow {
  uuid: string;
  applicationId: number;
  createdAt: number;
  expiresAt: number;
  /** JSON: the request as created. */
  entry: string;
  state: string;
  endedAt: number | null;
}

export async function insertServed(r: Runner, row: Omit<ServedRow, 'endedAt'>): Promise<void> {
  await r.run(sql`INSERT INTO served_requests (uuid, application_id, created_at, expires_at, entry, state) VALUES (${row.uuid}, ${row.applicationId}, ${row.createdAt}, ${row.expiresAt}, ${row.entry}, ${row.state})`);
}

/** The request's end, once its record is committed. */
export async function endServed(r: Runner, uuid: string, state: string, endedAt: number): Promise<void> {
  await r.run(sql`UPDATE served_requests SET state = ${state}, ended_at = ${endedAt} WHERE uuid = ${uuid}`);
}

export async function findServed(r: Runner, uuid: string): Promise<ServedRow | undefined> {
  return r.get(sql`SELECT uuid, application_id AS "applicationId", created_at AS "createdAt", expires_at AS "expiresAt", entry, state, ended_at AS "endedAt" FROM served_requests WHERE uuid = ${uuid}`);
}

/** Forget requests that ended (or whose time was up) before `before`. */
export async function sweepServed(r: Runner, before: number): Promise<number> {
  return r.run(sql`DELETE FROM served_requests WHERE COALESCE(ended_at, expires_at) < ${before}`);
}
