// The root HTTP app: every URL family is mounted here, in one place.
import { Hono } from 'hono';
import { createHealthRoutes, type HealthDeps } from './routes/health.js';

export type HttpDeps = HealthDeps;

export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  app.route('/', createHealthRoutes(deps));
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((_err, c) => c.json({ error: 'internal error' }, 500));
  return app;
}
