// The root HTTP app: middleware in one listed order, and every URL family mounted here.
import { Hono } from 'hono';
import { bodyLimit } from './middleware/body-limit.js';
import { IMPORT_MAX_BYTES } from './admin/user-import.js';
import { ROLE_LABELS, uiAllows } from './admin/roles.js';
import { failOpenWarnings } from './admin/settings.js';
import { policyWarnings } from './admin/policy.js';
import { createPortalRoutes, type PortalDeps } from './routes/portal.js';
import { csrf } from './middleware/csrf.js';
import { pageFrame } from './middleware/frame.js';
import { securityHeaders } from './middleware/security.js';
import { requireRole } from './middleware/roles.js';
import { loadSession, requireAdmin } from './middleware/session.js';
import { createAdminAuth } from './routes/admin-auth.js';
import { createApprover } from './push/approver.js';
import { localBoard } from './push/requests.js';
import { createApproverRoutes } from './routes/approver.js';
import { createApplicationRoutes } from './routes/applications.js';
import { createApiDocsRoutes } from './routes/api-docs.js';
import { createApiRoutes } from './routes/api.js';
import { createPushApiRoutes } from './routes/push-api.js';
import type { ServedApi } from './push/served.js';
import { createAgentRoutes, type AgentDeps } from './routes/agent.js';
import { createAuditRoutes } from './routes/audit.js';
import { createClientRoutes } from './routes/clients.js';
import { createDashboardRoutes } from './routes/dashboard.js';
import type { WebDeps } from './routes/deps.js';
import { createHealthRoutes, type HealthDeps } from './routes/health.js';
import { createSessionRoutes } from './routes/session.js';
import { createSetupRoutes } from './routes/setup.js';
import { createStaticRoutes, type loadAssets } from './routes/static.js';
import { createSystemRoutes } from './routes/system.js';
import { createUserRoutes } from './routes/users.js';
import { ErrorPage, NotFoundPage } from './views/errors.js';
import type { WebEnv } from './web-env.js';

export interface HttpDeps extends HealthDeps {
  web: WebDeps;
  /** Answers Windows logon requests that agents forward (the pipe protocol's handler). */
  agentHandler: AgentDeps['handle'];
  offline: AgentDeps['offline'];
  stripRealm: AgentDeps['stripRealm'];
  files: ReturnType<typeof loadAssets>['files'];
  /** The push API served to others (/api/token, /api/v2/...). */
  pushApi: ServedApi;
  /** Served over HTTPS: cookies get Secure and the __Host- prefix, HSTS is sent. */
  secure: boolean;
  /** The self-service portal's first and second factor (app/routes/portal.tsx); absent: /my is not served. */
  portal?: PortalDeps;
}

/** No form or JSON body of the UI or the API is near this; anything larger is refused unread. */
export const MAX_BODY = 64 * 1024;

export function createHttpApp(deps: HttpDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  // Sign-in checks and their failure counts, shared by the sign-in pages and the re-checks before
  // sensitive operations.
  const auth = createAdminAuth(deps.web);
  // 1. transport facts, 2. security headers on everything.
  app.use('*', async (c, next) => {
    c.set('secure', deps.secure);
    await next();
  });
  app.use('*', securityHeaders);
  // Public: health, metrics, assets.
  app.route('/', createHealthRoutes(deps));
  app.route('/', createStaticRoutes(deps.files));
  // The phone approver: no admin session; phones are known by their device cookie and sign every
  // decision with their passkey (app/push/approver.ts).
  app.use('/approve/*', bodyLimit({ maxSize: MAX_BODY, onError: (c) => c.json({ error: `request body too large (at most ${MAX_BODY / 1024} KiB)` }, 413) }));
  const web = deps.web;
  const board = web.pushBoard ?? localBoard(web.pushRequests);
  app.route(
    '/',
    createApproverRoutes({
      approver: createApprover({ store: web.store, audit: web.audit, requests: board, now: web.now, origin: () => web.admin.publicOrigin() }),
      requests: board,
      pushPublicKey: web.pushPublicKey,
      assets: web.assets,
      origin: () => web.admin.publicOrigin(),
    }),
  );
  // The push API served to others (Notakey-compatible): its own callers (applications), tokens
  // and errors (app/push/served.ts).
  app.use('/api/token', bodyLimit({ maxSize: MAX_BODY, onError: (c) => c.json({ error: `request body too large (at most ${MAX_BODY / 1024} KiB)` }, 413) }));
  app.use('/api/v2/*', bodyLimit({ maxSize: MAX_BODY, onError: (c) => c.json({ error: `request body too large (at most ${MAX_BODY / 1024} KiB)` }, 413) }));
  app.route('/api', createPushApiRoutes(deps.pushApi));
  // The JSON API: bearer tokens, its own errors, none of the browser UI's session or CSRF.
  app.route('/api/v1/agent', createAgentRoutes({ web: deps.web, handle: deps.agentHandler, offline: deps.offline, stripRealm: deps.stripRealm }));
  app.use('/api/v1/*', bodyLimit({ maxSize: MAX_BODY, onError: (c) => c.json({ error: `request body too large (at most ${MAX_BODY / 1024} KiB)` }, 413) }));
  app.route('/api/v1', createApiRoutes(deps.web));
  // The browser UI: 3. a body limit before anything reads a body (the CSRF check parses forms
  // before sign-in), 4. session, 5. CSRF, 6. the page frame, then sign-in pages and the one-time
  // setup page (the VM's first admin), 7. the admin gate and 8. the role gate
  // (app/admin/roles.ts), then the pages.
  const ui = new Hono<WebEnv>();
  // A CSV file of users (POST /users/import) may be larger than any form: its own limit, the
  // file's and some room for the multipart framing.
  const formLimit = bodyLimit({ maxSize: MAX_BODY, onError: (c) => c.text(`Request refused: the form is larger than ${MAX_BODY / 1024} KiB.`, 413) });
  const importLimit = bodyLimit({ maxSize: IMPORT_MAX_BYTES + MAX_BODY, onError: (c) => c.text(`Request refused: the file is larger than ${IMPORT_MAX_BYTES / 1024 / 1024} MiB; split it.`, 413) });
  ui.use('*', (c, next) => (c.req.path === '/users/import' ? importLimit : formLimit)(c, next));
  ui.use('*', loadSession(deps.web.store, deps.web.now));
  ui.use('*', csrf);
  // The page frame (what every page shows besides its own content: fail-open warnings, and
  // what the admin's role leaves out).
  ui.use(
    '*',
    pageFrame((c) => {
      const role = c.get('session')?.stage === 'full' ? c.get('session')!.adminRole : 'admin';
      return { warnings: [...failOpenWarnings(deps.web.resolved().settings), ...policyWarnings(deps.web.policy().rules)], roleLabel: role === 'admin' ? undefined : ROLE_LABELS[role], allows: (method, path) => uiAllows(role, method, path) };
    }),
  );
  ui.route('/', createSessionRoutes(deps.web, auth));
  ui.route('/', createSetupRoutes(deps.web));
  // The self-service portal (/my): people, not admins; its own sessions, the same CSRF and limits.
  if (deps.portal !== undefined) ui.route('/', createPortalRoutes(deps.web, deps.portal));
  ui.use('*', requireAdmin);
  ui.use('*', requireRole(deps.web.audit, deps.web.assets));
  ui.route('/', createDashboardRoutes(deps.web));
  ui.route('/', createClientRoutes(deps.web));
  ui.route('/', createUserRoutes(deps.web));
  ui.route('/', createApplicationRoutes(deps.web));
  ui.route('/', createAuditRoutes(deps.web));
  ui.route('/', createSystemRoutes(deps.web, auth));
  ui.route('/', createApiDocsRoutes(deps.web));
  // Any other URL, for a signed-in admin: a page that says so, with the navigation.
  ui.all('*', (c) => c.render(<NotFoundPage assets={deps.web.assets} csrf={c.get('csrf')} admin={c.get('session')?.adminName} path={c.req.path} />, 404));
  app.route('/', ui);
  app.notFound((c) => c.html(<NotFoundPage assets={deps.web.assets} csrf="" path={c.req.path} />, 404));
  app.onError((err, c) => {
    deps.web.log.error('HTTP request failed', { method: c.req.method, path: c.req.path, error: err.message });
    if (c.req.path.startsWith('/api/')) return c.json({ error: 'internal error' }, 500);
    return c.html(<ErrorPage assets={deps.web.assets} csrf="" />, 500);
  });
  return app;
}

/** The plain-HTTP side when HTTPS is on: health for probes, a redirect for everything else. */
export function createRedirectApp(httpsPort: number, ready: () => boolean): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => (ready() ? c.json({ status: 'ok' }) : c.json({ status: 'starting' }, 503)));
  app.all('*', (c) => {
    const url = new URL(c.req.url);
    url.protocol = 'https:';
    url.port = String(httpsPort);
    return c.redirect(url.toString(), 308);
  });
  return app;
}
