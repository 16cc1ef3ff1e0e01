// Downstream server pools: which server a request goes to, and what Gatehouse believes about each
// server's health. The states are FreeRADIUS's home_server states:
//
//   alive   answers; used in the pool's order (fail-over) or by fewest outstanding (load-balance).
//   zombie  a request went unanswered within the pool's response window since the last answer.
//           Used only when no server of the pool is alive; probed with Status-Server (RFC 5997)
//           every check interval. Any answer makes it alive again.
//   dead    `deadAfter` requests or probes in a row went unanswered. Not used while another server
//           of the pool is alive or zombie; probed every check interval, alive again after
//           REVIVE_ANSWERS probe answers in a row (one answer is not proof of recovery: a server
//           that restarts in a loop answers once).
//
// A request tries at most two servers (the first, then once the next): the response window of the
// first attempt is the pool's, short enough that the retry lands before a NAS's own retransmission
// gives up; the last attempt waits the whole --proxy-receive-timeout. Health is kept per server
// (by name, host and ports) across configuration reloads. Decisions about people are not made here.
import { randomBytes } from 'node:crypto';
import type { Attribute } from './codec.js';
import type { DownstreamLeg, DownstreamTarget, Exchange, ExchangeKind } from './downstream.js';
import { DownstreamError } from './downstream.js';

export type PoolMode = 'fail-over' | 'load-balance';
export const POOL_MODES: readonly PoolMode[] = ['fail-over', 'load-balance'];
export type ServerState = 'alive' | 'zombie' | 'dead';
export const SERVER_STATES: readonly ServerState[] = ['alive', 'zombie', 'dead'];

/** Probe answers in a row that bring a dead server back. */
export const REVIVE_ANSWERS = 3;
/**
 * A dead server that has never answered a probe is tried again with real requests after this long
 * (as FreeRADIUS's revive_interval): servers that do not answer Status-Server (Windows NPS among
 * them) would otherwise never come back. One that answers probes comes back by its probes. If it is still down, one request waits a response window and
 * goes on to the next server, and the server is dead again.
 */
export const REVIVE_INTERVAL_MS = 120_000;
/** The pool every request goes to when no realm says otherwise, and the one the flags fill. */
export const DEFAULT_POOL = 'default';

export interface PoolSpec {
  name: string;
  mode: PoolMode;
  /** How long one attempt waits before the next server is tried. */
  responseWindowMs: number;
  /** Unanswered requests or probes in a row that make a server dead. */
  deadAfter: number;
  /** How often zombie and dead servers are probed with Status-Server. */
  checkIntervalMs: number;
  servers: DownstreamTarget[];
}

export const POOL_DEFAULTS = { mode: 'fail-over' as PoolMode, responseWindowMs: 2000, deadAfter: 3, checkIntervalMs: 10_000 };

export interface ServerHealth {
  /** The stored server's id; undefined for the one --downstream-address gives (read-only). */
  id: number | undefined;
  pool: string;
  server: string;
  address: string;
  acctPort: number;
  transport: 'udp' | 'radsec';
  state: ServerState;
  /** Unanswered requests and probes since the last answer. */
  unanswered: number;
  outstanding: number;
  lastAnswer: number | undefined;
  since: number;
}

interface Health {
  state: ServerState;
  /** It has answered a Status-Server probe at least once (then probes, not time, bring it back). */
  answersProbes: boolean;
  unanswered: number;
  answersInRow: number;
  outstanding: number;
  lastAnswer: number | undefined;
  since: number;
  nextProbe: number;
  probing: boolean;
}

export type PoolView = Omit<PoolSpec, 'servers'> & { servers: ServerHealth[] };

export interface PoolEvents {
  /** A server changed state (audited and logged by the caller). */
  onStateChange(pool: string, server: DownstreamTarget, from: ServerState, to: ServerState): void;
}

export interface Attempted {
  server: DownstreamTarget;
  exchange: Exchange;
  /** This is the last server this request will try. */
  last: boolean;
}

const key = (t: DownstreamTarget): string => `${t.name}|${t.host}|${t.port}|${t.acctPort ?? ''}|${t.transport ?? 'udp'}`;

export interface Pools {
  /** Replace the configuration; health of servers that stay is kept. */
  update(pools: readonly PoolSpec[]): void;
  get(name: string): PoolSpec | undefined;
  all(): readonly PoolSpec[];
  /**
   * The servers one request tries, in order (at most two). `preferred`: the server that issued the
   * State this request carries (an EAP conversation stays with its server).
   */
  plan(pool: PoolSpec, preferred?: string): DownstreamTarget[];
  /** Send through the leg and keep the server's health from the outcome. */
  send(pool: PoolSpec, server: DownstreamTarget, kind: ExchangeKind, attributes: readonly Attribute[], authenticator: Buffer, timeouts: { sendMs: number; receiveMs: number }): Exchange;
  health(): ServerHealth[];
  /** The pools with their settings and each server's health (no secrets). */
  views(): PoolView[];
  /** `ok` when every server answers, `failing` when some pool has none alive, `degraded` between. */
  summary(): 'ok' | 'degraded' | 'failing' | 'none';
  close(): void;
}

export function createPools(leg: DownstreamLeg, events: PoolEvents, now: () => number = Date.now, tickMs = 250): Pools {
  let pools: PoolSpec[] = [];
  const byName = new Map<string, PoolSpec>();
  let health = new Map<string, Health>();
  let rotation = 0;

  const fresh = (): Health => ({ state: 'alive', answersProbes: false, unanswered: 0, answersInRow: 0, outstanding: 0, lastAnswer: undefined, since: now(), nextProbe: 0, probing: false });
  const of = (t: DownstreamTarget): Health => {
    let h = health.get(key(t));
    if (h === undefined) {
      h = fresh();
      health.set(key(t), h);
    }
    return h;
  };

  function move(pool: PoolSpec, t: DownstreamTarget, h: Health, to: ServerState): void {
    if (h.state === to) return;
    const from = h.state;
    h.state = to;
    h.since = now();
    h.nextProbe = now() + (to === 'alive' ? 0 : Math.min(pool.checkIntervalMs, pool.responseWindowMs));
    events.onStateChange(pool.name, t, from, to);
  }

  function answered(pool: PoolSpec, t: DownstreamTarget, h: Health, probe: boolean): void {
    if (probe) h.answersProbes = true;
    h.unanswered = 0;
    h.lastAnswer = now();
    if (h.state === 'dead') {
      // A dead server comes back only after several probe answers in a row; a request it answered
      // because nothing else was left counts the same.
      if (++h.answersInRow >= REVIVE_ANSWERS || !probe) move(pool, t, h, 'alive');
    } else move(pool, t, h, 'alive');
    if (h.state === 'alive') h.answersInRow = 0;
  }

  function unanswered(pool: PoolSpec, t: DownstreamTarget, h: Health): void {
    h.answersInRow = 0;
    h.unanswered++;
    if (h.unanswered >= pool.deadAfter) move(pool, t, h, 'dead');
    else if (h.state === 'alive') move(pool, t, h, 'zombie');
  }

  function send(pool: PoolSpec, server: DownstreamTarget, kind: ExchangeKind, attributes: readonly Attribute[], authenticator: Buffer, timeouts: { sendMs: number; receiveMs: number }): Exchange {
    const h = of(server);
    h.outstanding++;
    const exchange = leg.exchange(server, attributes, authenticator, timeouts, kind);
    // Health is about answering logins: accounting may go unanswered on a server that only checks
    // passwords (its accounting port closed) without that server being down.
    const counts = kind !== 'accounting';
    exchange.answer.then(
      () => {
        h.outstanding--;
        if (counts) answered(pool, server, h, kind === 'status');
      },
      (e: unknown) => {
        h.outstanding--;
        // Only silence counts against a server: a send that failed locally or a shutdown does not.
        if (counts && e instanceof DownstreamError && (e.reason === 'timeout' || e.reason === 'closed_by_peer')) unanswered(pool, server, h);
      },
    );
    return exchange;
  }

  const ticker = setInterval(() => {
    const t = now();
    for (const pool of pools) {
      for (const server of pool.servers) {
        const h = of(server);
        if (h.state === 'dead' && !h.answersProbes && t - h.since >= REVIVE_INTERVAL_MS) {
          h.unanswered = 0;
          move(pool, server, h, 'alive');
          continue;
        }
        if (h.state === 'alive' || h.probing || t < h.nextProbe) continue;
        h.probing = true;
        h.nextProbe = t + pool.checkIntervalMs;
        // RFC 5997 3: a random Request Authenticator, so that no answer can be replayed.
        const ex = send(pool, server, 'status', [], randomBytes(16), { sendMs: pool.responseWindowMs, receiveMs: pool.responseWindowMs });
        ex.answer.then(
          () => (h.probing = false),
          () => (h.probing = false),
        );
      }
    }
  }, tickMs);
  ticker.unref();

  function plan(pool: PoolSpec, preferred?: string): DownstreamTarget[] {
    const servers = pool.servers;
    if (servers.length <= 1) return [...servers];
    const rank = (s: DownstreamTarget): number => ({ alive: 0, zombie: 1, dead: 2 })[of(s).state];
    let ordered: DownstreamTarget[];
    if (pool.mode === 'load-balance') {
      // Fewest outstanding first; ties broken by a rotating start so equal servers share the load.
      const start = rotation++ % servers.length;
      const rotated = [...servers.slice(start), ...servers.slice(0, start)];
      ordered = rotated.map((s, i) => ({ s, i })).sort((a, b) => rank(a.s) - rank(b.s) || of(a.s).outstanding - of(b.s).outstanding || a.i - b.i).map((x) => x.s);
    } else {
      ordered = servers.map((s, i) => ({ s, i })).sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i).map((x) => x.s);
    }
    if (preferred !== undefined) {
      const p = ordered.find((s) => s.name === preferred);
      if (p !== undefined && of(p).state !== 'dead') ordered = [p, ...ordered.filter((s) => s !== p)];
    }
    return ordered.slice(0, 2);
  }

  function healthList(): ServerHealth[] {
    const out: ServerHealth[] = [];
    for (const p of pools) {
      for (const s of p.servers) {
        const h = of(s);
        out.push({ id: s.id, pool: p.name, server: s.name, address: `${s.host}:${s.port}`, acctPort: s.acctPort ?? 1813, transport: s.transport ?? 'udp', state: h.state, unanswered: h.unanswered, outstanding: h.outstanding, lastAnswer: h.lastAnswer, since: h.since });
      }
    }
    return out;
  }

  return {
    update(next) {
      pools = [...next];
      byName.clear();
      for (const p of pools) byName.set(p.name, p);
      const kept = new Map<string, Health>();
      for (const p of pools) for (const s of p.servers) kept.set(key(s), health.get(key(s)) ?? fresh());
      health = kept;
    },
    get: (name) => byName.get(name),
    all: () => pools,
    plan,
    send,
    health: healthList,
    views() {
      const all = healthList();
      return pools.map(({ servers: _servers, ...settings }) => ({ ...settings, servers: all.filter((h) => h.pool === settings.name) }));
    },
    summary() {
      const populated = pools.filter((p) => p.servers.length > 0);
      if (populated.length === 0) return 'none';
      let allAlive = true;
      for (const p of populated) {
        const states = p.servers.map((s) => of(s).state);
        if (!states.includes('alive')) return 'failing';
        if (states.some((s) => s !== 'alive')) allAlive = false;
      }
      return allAlive ? 'ok' : 'degraded';
    },
    close: () => clearInterval(ticker),
  };
}

/** What the store and the flags say, as pools: the flag server (if any) is the default pool. */
export function poolSpecs(
  servers: readonly (DownstreamTarget & { pool: string })[],
  settings: readonly { name: string; mode: PoolMode; responseWindowMs: number; deadAfter: number; checkIntervalMs: number }[],
  fixed: DownstreamTarget | undefined,
): PoolSpec[] {
  const out = new Map<string, PoolSpec>();
  const ensure = (name: string): PoolSpec => {
    let p = out.get(name);
    if (p === undefined) {
      const s = settings.find((x) => x.name === name);
      p = { name, mode: s?.mode ?? POOL_DEFAULTS.mode, responseWindowMs: s?.responseWindowMs ?? POOL_DEFAULTS.responseWindowMs, deadAfter: s?.deadAfter ?? POOL_DEFAULTS.deadAfter, checkIntervalMs: s?.checkIntervalMs ?? POOL_DEFAULTS.checkIntervalMs, servers: [] };
      out.set(name, p);
    }
    return p;
  };
  for (const s of settings) ensure(s.name);
  if (fixed !== undefined) ensure(DEFAULT_POOL).servers.push(fixed);
  for (const s of servers) {
    // A server given by flag or environment wins over the stored default pool.
    if (fixed !== undefined && s.pool === DEFAULT_POOL) continue;
    const { pool, ...target } = s;
    ensure(pool).servers.push(target);
  }
  return [...out.values()];
}

const promLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Each server's state as Prometheus gauges (1 for the state it is in, 0 for the others). */
export function renderPoolMetrics(health: readonly ServerHealth[], prefix: string): string {
  const name = `${prefix}downstream_server_state`;
  const lines = [`# HELP ${name} Downstream RADIUS server health (1: the state it is in): alive, zombie (a request went unanswered), dead (probed with Status-Server).`, `# TYPE ${name} gauge`];
  for (const h of health) {
    for (const st of SERVER_STATES) lines.push(`${name}{pool="${promLabel(h.pool)}",server="${promLabel(h.server)}",state="${st}"} ${h.state === st ? 1 : 0}`);
  }
  const out = `${prefix}downstream_server_outstanding`;
  lines.push(`# HELP ${out} Requests sent to a downstream server and not answered yet.`, `# TYPE ${out} gauge`);
  for (const h of health) lines.push(`${out}{pool="${promLabel(h.pool)}",server="${promLabel(h.server)}"} ${h.outstanding}`);
  return `${lines.join('\n')}\n`;
}
