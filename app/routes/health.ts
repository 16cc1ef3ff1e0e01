// Liveness/readiness and metrics for load balancers, container health checks and Prometheus.
// /healthz is public (it says only whether the appliance is up). /metrics tells who logs in how
// often and why logins fail: it is served to loopback callers only, or to any caller with the
// metrics bearer token (--metrics-token-file or METRICS_TOKEN), as Prometheus sends it with
// `authorization: { credentials_file: ... }` in its scrape config.
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { createHash, timingSafeEqual } from 'node:crypto';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { isLoopbackHost } from '../lib/loopback.js';

export interface HealthDeps {
  ready(): boolean;
  /** Whether the store answers (absent: not watched, taken as reachable). */
  store?(): { reachable: boolean; since?: number };
  metrics(): string;
  /** The bearer token that lets callers other than loopback read /metrics; undefined: loopback only. */
  metricsToken(): string | undefined;
}

/** The peer's address, or undefined without a socket. */
function peerAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

function sameToken(sent: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(sent), digest(expected));
}

/** Whether this request may read /metrics. */
export function metricsAllowed(c: Context, token: string | undefined): boolean {
  const peer = peerAddress(c);
  if (peer !== undefined && isLoopbackHost(peer)) return true;
  const m = /^Bearer (\S{1,512})$/.exec(c.req.header('Authorization') ?? '');
  return token !== undefined && m !== null && sameToken(m[1]!, token);
}

const RESOLUTION_MS = 10;
const WINDOW_MS = 10_000;

interface Snapshot {
  p50: number;
  p99: number;
  max: number;
}

/**
 * Event-loop delay, from perf_hooks.monitorEventLoopDelay(): how late a 10 ms timer fires, which
 * is what every RADIUS answer and HTTP response waits behind. Reported over the last 10–20 s (the
 * current window of 10 s and the one before it, the larger of the two), so a scraper sees every
 * stall as long as it reads at least every 10 s, and any number of scrapers can read. It starts
 * with the first read of /metrics, so start-up work is not counted.
 */
class LoopDelay {
  private readonly histogram: IntervalHistogram;
  private previous: Snapshot = { p50: 0, p99: 0, max: 0 };

  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    setInterval(() => {
      this.previous = this.current();
      this.histogram.reset();
    }, WINDOW_MS).unref();
  }

  /** The histogram records the whole interval between two ticks: the delay is what exceeds it. */
  private current(): Snapshot {
    const h = this.histogram;
    if (h.count === 0) return { p50: 0, p99: 0, max: 0 };
    const late = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS) / 1000;
    return { p50: late(h.percentile(50)), p99: late(h.percentile(99)), max: late(h.max) };
  }

  render(): string {
    const now = this.current();
    const p = this.previous;
    const gauges: [string, string, number][] = [
      ['gatehouse_event_loop_delay_p50_seconds', 'Event-loop delay, median over the last 10-20 s.', Math.max(now.p50, p.p50)],
      ['gatehouse_event_loop_delay_p99_seconds', 'Event-loop delay, 99th percentile over the last 10-20 s.', Math.max(now.p99, p.p99)],
      ['gatehouse_event_loop_delay_max_seconds', 'Event-loop delay, maximum over the last 10-20 s.', Math.max(now.max, p.max)],
    ];
    return gauges.map(([name, help, v]) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${v.toFixed(6)}\n`).join('');
  }
}

export function createHealthRoutes(deps: HealthDeps): Hono {
  let loopDelay: LoopDelay | undefined;
  return new Hono()
    .get('/healthz', (c) => {
      if (!deps.ready()) return c.json({ status: 'starting' }, 503);
      const store = deps.store?.();
      // Up, but unable to answer logins: a load balancer should send them elsewhere.
      if (store !== undefined && !store.reachable) {
        return c.json({ status: 'unavailable', store: 'unreachable', since: store.since === undefined ? null : new Date(store.since).toISOString(), reason: 'the store cannot be reached: logins are not answered until it is back' }, 503);
      }
      return c.json({ status: 'ok' });
    })
    .get('/metrics', (c) => {
      if (!metricsAllowed(c, deps.metricsToken())) {
        c.header('WWW-Authenticate', 'Bearer realm="gatehouse-metrics"');
        return c.text('Forbidden: /metrics is served to loopback, or with the metrics token (--metrics-token-file or METRICS_TOKEN)\n', 403);
      }
      loopDelay ??= new LoopDelay();
      return c.text(deps.metrics() + loopDelay.render(), 200, { 'content-type': 'text/plain; version=0.0.4' });
    });
}
