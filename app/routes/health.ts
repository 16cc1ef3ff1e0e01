// Liveness/readiness and metrics for load balancers, container health checks and Prometheus.
import { Hono } from 'hono';

export interface HealthDeps {
  ready(): boolean;
  metrics(): string;
}

export function createHealthRoutes(deps: HealthDeps): Hono {
  return new Hono()
    .get('/healthz', (c) => (deps.ready() ? c.json({ status: 'ok' }) : c.json({ status: 'starting' }, 503)))
    .get('/metrics', (c) => c.text(deps.metrics(), 200, { 'content-type': 'text/plain; version=0.0.4' }));
}
