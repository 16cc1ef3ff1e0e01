import { Hono } from 'hono';
import { isHtmx } from '../middleware/htmx.js';
import { DashboardLive, DashboardPage, type DashboardProps } from '../views/dashboard.js';
import { chartWindow, DecisionChart, parseChartRange, type DecisionChartProps } from '../views/decision-chart.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';

export function createDashboardRoutes(d: WebDeps) {
  return new Hono<WebEnv>().get('/', async (c) => {
    const now = d.now();
    const range = parseChartRange(c.req.query('range'));
    const chart = async (): Promise<DecisionChartProps> => {
      const w = chartWindow(range, now);
      return { range, now, counts: await d.auditStore.countLoginDecisions(w.since, w.until, w.bucketMs) };
    };
    // htmx asks for one part by its id: the chart (its range picker, its redraw) or the live part
    // (every 3 s). Anything else, a boosted link to the dashboard included, gets the whole page.
    const part = isHtmx(c) ? c.req.header('HX-Target') : undefined;
    c.header('Vary', 'HX-Target', { append: true });
    if (part === 'chart' || part === 'chart-body') return c.html(<DecisionChart {...await chart()} />);
    const k = d.counters;
    const health = d.health();
    const approvals = d.pendingApprovals();
    const props: DashboardProps = {
      now,
      counters: k.snapshot(),
      totals: { requests: k.total('requests'), accepts: k.total('accepts'), rejects: k.total('rejects'), challenges: k.total('challenges'), drops: k.total('drops'), retransmissions: k.total('retransmissions') },
      pending: { logins: approvals.reduce((n, a) => n + a.waiting, 0), pushes: approvals.length },
      health: { ...health, downstreamName: d.downstream()?.name },
      servers: d.pools().flatMap((pool) => pool.servers.map((x) => ({ pool: pool.name, server: x.server, state: x.state }))),
      recent: await d.auditStore.page({}, undefined, 12),
      nodes: await d.nodes(),
    };
    if (part === 'live') return c.html(<DashboardLive {...props} />);
    return c.render(<DashboardPage {...props} chart={await chart()} assets={d.assets} csrf={c.get('csrf')} admin={c.get('session')!.adminName} />);
  });
}
