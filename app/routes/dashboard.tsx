import { Hono } from 'hono';
import { isHtmx } from '../middleware/htmx.js';
import { DashboardLive, DashboardPage, type DashboardProps } from '../views/dashboard.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';

export function createDashboardRoutes(d: WebDeps) {
  return new Hono<WebEnv>().get('/', (c) => {
    const k = d.counters;
    const health = d.health();
    const approvals = d.pendingApprovals();
    const props: DashboardProps = {
      now: d.now(),
      counters: k.snapshot(),
      totals: { requests: k.total('requests'), accepts: k.total('accepts'), rejects: k.total('rejects'), challenges: k.total('challenges'), drops: k.total('drops'), retransmissions: k.total('retransmissions') },
      pending: { logins: approvals.reduce((n, a) => n + a.waiting, 0), pushes: approvals.length },
      health: { ...health, downstreamName: d.downstream()?.name },
      recent: d.auditStore.page({}, undefined, 12),
    };
    if (isHtmx(c)) return c.html(<DashboardLive {...props} />);
    return c.render(<DashboardPage {...props} assets={d.assets} csrf={c.get('csrf')} admin={c.get('session')!.adminName} />);
  });
}
