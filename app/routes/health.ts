// Liveness/readiness and metrics for load balancers, container health checks and Prometheus.
import { Hono } from 'hono';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface HealthDeps {
  ready(): boolean;
  metrics(): string;
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

let loopDelay: LoopDelay | undefined;

export function createHealthRoutes(deps: HealthDeps): Hono {
  return new Hono()
    .get('/healthz', (c) => (deps.ready() ? c.json({ status: 'ok' }) : c.json({ status: 'starting' }, 503)))
    .get('/metrics', (c) => {
      loopDelay ??= new LoopDelay();
      return c.text(deps.metrics() + loopDelay.render(), 200, { 'content-type': 'text/plain; version=0.0.4' });
    });
}
