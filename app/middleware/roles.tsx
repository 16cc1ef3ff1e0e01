// The role gate of the signed-in UI: after requireAdmin, every request is let through only if the
// admin's role includes it (decided in app/admin/roles.ts); a refusal is a styled 403 page and an
// audit record.
import { createMiddleware } from 'hono/factory';
import { ROLE_LABELS, uiAllows } from '../admin/roles.js';
import type { Auditor } from '../audit/audit.js';
import type { Assets } from '../views/layout.js';
import { sourceOf } from './remote.js';
import { ForbiddenPage } from '../views/errors.js';
import type { WebEnv } from '../web-env.js';

export function requireRole(audit: Auditor, assets: Assets) {
  return createMiddleware<WebEnv>(async (c, next) => {
    const s = c.get('session')!;
    const method = c.req.method;
    const path = c.req.path;
    if (uiAllows(s.adminRole, method, path)) return next();
    await audit.record({ event: 'admin.forbidden', outcome: 'reject', actor: `admin:${s.adminName}`, source: sourceOf(c), details: { role: s.adminRole, request: `${method} ${path.slice(0, 200)}` } });
    return c.render(<ForbiddenPage assets={assets} csrf={c.get('csrf')} admin={s.adminName} roleLabel={ROLE_LABELS[s.adminRole]} method={method} path={path} />, 403);
  });
}
