import { Hono } from 'hono';
import { packageVersion } from '../lib/package-root.js';
import { ApiDocsPage } from '../views/api-docs.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';
import { openApiDocument } from './openapi.js';

/** GET /api-docs: the JSON API's reference, from the same document /api/v1/openapi.json serves. */
export function createApiDocsRoutes(d: WebDeps) {
  const doc = openApiDocument(packageVersion());
  return new Hono<WebEnv>().get('/api-docs', (c) => c.render(<ApiDocsPage assets={d.assets} csrf={c.get('csrf')} admin={c.get('session')!.adminName} doc={doc} />));
}
