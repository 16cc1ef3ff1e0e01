// The root HTTP app: health and metrics for now; the admin UI and API mount here later.
import { Hono } from 'hono';

export interface HttpDeps {
  ready(): boolean;
  metrics(): string;
}

export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => (deps.ready() ? c.json({ status: 'ok' }) : c.json({ status: 'starting' }, 503)));
  app.get('/metrics', (c) => c.text(deps.metrics(), 200, { 'content-type': 'text/plain; version=0.0.4' }));
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((err, c) => {
    void err;
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
