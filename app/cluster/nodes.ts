// Each appliance's name, version and health, written to the store at start, every heartbeat and
// at a clean stop, so any appliance sharing the store (several on PostgreSQL) shows them all.
// A node whose heartbeat is older than STALE_MS is shown as not heard from: stopped without
// saying so, cut off from the store, or hung.
import { hostname } from 'node:os';
import { listNodes, recordNode, type NodeRow } from '../db/queries/nodes.js';
import type { Runner } from '../db/store.js';
import type { Logger } from '../lib/log.js';

export const HEARTBEAT_MS = 3_000;
export const STALE_MS = 3 * HEARTBEAT_MS;

export type ServiceHealth = 'ok' | 'degraded' | 'unknown' | 'failing' | 'none';
export interface NodeHealth {
  downstream: ServiceHealth;
  push: ServiceHealth;
}

export interface NodeView {
  name: string;
  version: string;
  startedAt: number;
  heartbeatAt: number;
  /** up: heard from within STALE_MS; stopped: said so at shutdown; stale: not heard from since. */
  state: 'up' | 'stopped' | 'stale';
  health: Partial<NodeHealth>;
  /** This is the node answering. */
  self: boolean;
}

/** The node's name: --node-name, else the host name (cut to what a node name may hold). */
export function defaultNodeName(given: string | undefined): string {
  if (given !== undefined) return given;
  const h = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return h === '' ? 'gatehouse' : h;
}

function parseHealth(raw: string): { stopped: boolean; health: Partial<NodeHealth> } {
  try {
    const o = JSON.parse(raw) as { stopped?: unknown; downstream?: unknown; push?: unknown };
    const pick = (v: unknown): ServiceHealth | undefined => (v === 'ok' || v === 'degraded' || v === 'unknown' || v === 'failing' || v === 'none' ? v : undefined);
    const health: Partial<NodeHealth> = {};
    const ds = pick(o.downstream);
    const push = pick(o.push);
    if (ds !== undefined) health.downstream = ds;
    if (push !== undefined) health.push = push;
    return { stopped: o.stopped === true, health };
  } catch {
    return { stopped: false, health: {} };
  }
}

export function nodeViews(rows: readonly NodeRow[], self: string, now: number): NodeView[] {
  return rows.map((r) => {
    const h = parseHealth(r.health);
    const state = h.stopped ? 'stopped' : now - r.heartbeatAt > STALE_MS ? 'stale' : 'up';
    return { name: r.name, version: r.version, startedAt: r.startedAt, heartbeatAt: r.heartbeatAt, state, health: h.health, self: r.name === self };
  });
}

export interface Heartbeat {
  readonly name: string;
  /** Write the row now. */
  beat(): Promise<void>;
  /** Every node sharing the store, as the UI shows them. */
  list(): Promise<NodeView[]>;
  /** Stop beating and record a clean stop. */
  stop(): Promise<void>;
}

export function startHeartbeat(d: { store: Runner; name: string; version: string; health(): NodeHealth; now(): number; log: Logger }): Heartbeat {
  const startedAt = d.now();
  let failing = false;
  const write = async (stopped: boolean) => {
    await recordNode(d.store, { name: d.name, version: d.version, startedAt, heartbeatAt: d.now(), health: JSON.stringify(stopped ? { stopped: true } : d.health()) });
  };
  const beat = async () => {
    try {
      await write(false);
      if (failing) d.log.info('heartbeat written again', { node: d.name });
      failing = false;
    } catch (e) {
      // Said once per outage: the store being unreachable is reported where it matters (health).
      if (!failing) d.log.warn('writing the heartbeat failed', { node: d.name, error: (e as Error).message });
      failing = true;
    }
  };
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  timer.unref();
  return {
    name: d.name,
    beat,
    list: async () => nodeViews(await listNodes(d.store), d.name, d.now()),
    async stop() {
      clearInterval(timer);
      await write(true).catch(() => undefined);
    },
  };
}
