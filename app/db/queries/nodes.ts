// The appliances sharing this store and their heartbeats (app/cluster/nodes.ts decides what a
// heartbeat says and when one is too old). Written once for both engines.
import { sql } from 'drizzle-orm';
import type { Runner } from '../store.js';

export interface NodeRow {
  name: string;
  version: string;
  startedAt: number;
  heartbeatAt: number;
  /** JSON, as the node wrote it. */
  health: string;
}

/** Write this node's row (one statement, whichever node else writes theirs). */
export async function recordNode(r: Runner, n: NodeRow): Promise<void> {
  await r.run(sql`INSERT INTO nodes (name, version, started_at, heartbeat_at, health) VALUES (${n.name}, ${n.version}, ${n.startedAt}, ${n.heartbeatAt}, ${n.health})
    ON CONFLICT (name) DO UPDATE SET version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, health = excluded.health`);
}

export async function listNodes(r: Runner): Promise<NodeRow[]> {
  return r.all(sql`SELECT name, version, started_at AS "startedAt", heartbeat_at AS "heartbeatAt", health FROM nodes ORDER BY name`);
}

/** Forget a node (one taken out of service for good). */
export async function deleteNode(r: Runner, name: string): Promise<boolean> {
  return (await r.run(sql`DELETE FROM nodes WHERE name = ${name}`)) > 0;
}
