// Push approvals shared by the appliances of a cluster (schema: pending_pushes). Who may join
// which push, and when another appliance takes one over, is app/cluster/shared-pushes.ts's.
// Written once for both engines; each step is one statement, so of two appliances asking at once
// one wins.
import { sql } from 'drizzle-orm';
import type { Runner } from '../store.js';

export interface SharedPushRow {
  id: string;
  node: string;
  ref: string | null;
  expiresAt: number;
  /** JSON, once decided. */
  outcome: string | null;
  /** The following node's last heartbeat and health (JSON) from `nodes`; null: no such node. */
  heartbeatAt: number | null;
  health: string | null;
}

export interface NewSharedPush {
  id: string;
  joinKey: string;
  username: string;
  node: string;
  startedAt: number;
  expiresAt: number;
  /** Number matching: the push's number. */
  number?: number | undefined;
}

/**
 * Start the push for a join key, unless one is live: true when this row went in. A live row whose
 * time is up is retired first (its node died and nobody took it over), so it blocks nobody.
 */
export async function insertSharedPush(r: Runner, p: NewSharedPush): Promise<boolean> {
  await r.run(sql`UPDATE pending_pushes SET live = 0 WHERE join_key = ${p.joinKey} AND live = 1 AND expires_at <= ${p.startedAt}`);
  const got = await r.get<{ id: string }>(sql`INSERT INTO pending_pushes (id, join_key, live, username, node, started_at, expires_at, number)
    VALUES (${p.id}, ${p.joinKey}, 1, ${p.username}, ${p.node}, ${p.startedAt}, ${p.expiresAt}, ${p.number ?? null})
    ON CONFLICT (join_key) WHERE live = 1 DO NOTHING RETURNING id`);
  return got !== undefined;
}

/** The live push for a join key, if any. */
export async function liveSharedPush(r: Runner, joinKey: string): Promise<{ id: string } | undefined> {
  return r.get(sql`SELECT id FROM pending_pushes WHERE join_key = ${joinKey} AND live = 1`);
}

/** The newest push for a join key, live or ended (a number-matched push, by its ticket's key). */
export async function latestSharedPush(r: Runner, joinKey: string): Promise<{ id: string; username: string; number: number | null; expiresAt: number; outcome: string | null } | undefined> {
  return r.get(sql`SELECT id, username, number, expires_at AS "expiresAt", outcome FROM pending_pushes WHERE join_key = ${joinKey} ORDER BY started_at DESC LIMIT 1`);
}

/** The push service's name for the push, once it gave one. */
export async function setSharedPushRef(r: Runner, id: string, ref: string): Promise<void> {
  await r.run(sql`UPDATE pending_pushes SET ref = ${ref} WHERE id = ${id}`);
}

/** Record the decision, once: false when it was already recorded. */
export async function settleSharedPush(r: Runner, id: string, outcome: string): Promise<boolean> {
  return (await r.run(sql`UPDATE pending_pushes SET outcome = ${outcome}, live = 0 WHERE id = ${id} AND outcome IS NULL`)) > 0;
}

/** Move an undecided push from the node following it to another: false when someone else did. */
export async function moveSharedPush(r: Runner, id: string, from: string, to: string): Promise<boolean> {
  return (await r.run(sql`UPDATE pending_pushes SET node = ${to} WHERE id = ${id} AND node = ${from} AND outcome IS NULL`)) > 0;
}

/** The pushes by id, with the heartbeat of the node following each. */
export async function readSharedPushes(r: Runner, ids: readonly string[]): Promise<SharedPushRow[]> {
  if (ids.length === 0) return [];
  return r.all(sql`SELECT p.id, p.node, p.ref, p.expires_at AS "expiresAt", p.outcome, n.heartbeat_at AS "heartbeatAt", n.health
    FROM pending_pushes p LEFT JOIN nodes n ON n.name = p.node
    WHERE p.id IN (${sql.join(
      ids.map((id) => sql`${id}`),
      sql`, `,
    )})`);
}

/** Forget pushes that ended before `before`. */
export async function sweepSharedPushes(r: Runner, before: number): Promise<number> {
  return r.run(sql`DELETE FROM pending_pushes WHERE expires_at < ${before}`);
}
