// Who is connected right now, as RADIUS accounting tells it (app/radius/accounting.ts decides what
// each record means; this only stores it). Written once for both engines.
import { sql } from 'drizzle-orm';
import type { Runner } from '../store.js';

export interface SessionRow {
  client: string;
  nas: string;
  sessionId: string;
  username: string;
  nasPort: string | null;
  framedIp: string | null;
  callingStationId: string | null;
  startedAt: number;
  updatedAt: number;
  inputBytes: number;
  outputBytes: number;
}

/** A Start or Interim-Update: the session as it is now (one statement, so retransmissions and races settle on one row). */
export async function upsertSession(r: Runner, s: SessionRow): Promise<void> {
  await r.run(sql`INSERT INTO radius_sessions (client, nas, session_id, username, nas_port, framed_ip, calling_station_id, started_at, updated_at, input_bytes, output_bytes)
    VALUES (${s.client}, ${s.nas}, ${s.sessionId}, ${s.username}, ${s.nasPort}, ${s.framedIp}, ${s.callingStationId}, ${s.startedAt}, ${s.updatedAt}, ${s.inputBytes}, ${s.outputBytes})
    ON CONFLICT (client, nas, session_id) DO UPDATE SET username = excluded.username,
      nas_port = COALESCE(excluded.nas_port, radius_sessions.nas_port), framed_ip = COALESCE(excluded.framed_ip, radius_sessions.framed_ip),
      calling_station_id = COALESCE(excluded.calling_station_id, radius_sessions.calling_station_id),
      started_at = CASE WHEN excluded.started_at < radius_sessions.started_at THEN excluded.started_at ELSE radius_sessions.started_at END,
      updated_at = excluded.updated_at, input_bytes = excluded.input_bytes, output_bytes = excluded.output_bytes`);
}

/** A Stop: the session is over. */
export async function endSession(r: Runner, client: string, nas: string, sessionId: string): Promise<number> {
  return r.run(sql`DELETE FROM radius_sessions WHERE client = ${client} AND nas = ${nas} AND session_id = ${sessionId}`);
}

/** Accounting-On or -Off: the NAS restarted, and none of its sessions survived. */
export async function endSessionsOfNas(r: Runner, client: string, nas: string): Promise<number> {
  return r.run(sql`DELETE FROM radius_sessions WHERE client = ${client} AND nas = ${nas}`);
}

export async function listSessions(r: Runner, opts: { username?: string | undefined; limit: number }): Promise<SessionRow[]> {
  const where = opts.username !== undefined ? sql`WHERE username = ${opts.username}` : sql``;
  return r.all<SessionRow>(sql`SELECT client, nas, session_id AS "sessionId", username, nas_port AS "nasPort", framed_ip AS "framedIp", calling_station_id AS "callingStationId",
    started_at AS "startedAt", updated_at AS "updatedAt", input_bytes AS "inputBytes", output_bytes AS "outputBytes"
    FROM radius_sessions ${where} ORDER BY started_at DESC, id DESC LIMIT ${opts.limit}`);
}

export async function countSessions(r: Runner): Promise<number> {
  const row = await r.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM radius_sessions`);
  return Number(row?.n ?? 0);
}

/** Sessions not heard of since `before` (a NAS that went away without Stop or Accounting-Off). */
export async function pruneSessions(r: Runner, before: number): Promise<number> {
  return r.run(sql`DELETE FROM radius_sessions WHERE updated_at < ${before}`);
}
