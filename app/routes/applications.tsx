// The Push API page: applications of the push API Gatehouse serves (app/admin/push-apps.ts).
import { Hono, type Context } from 'hono';
import { changePushApplication, createPushApplication, removePushApplication, renewPushApplicationSecret, type NewApplication } from '../admin/push-apps.js';
import { findPushApplication, listPushApplications } from '../db/queries/push-apps.js';
import { ApplicationEditPage, ApplicationsPage } from '../views/applications.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';
import { seeOther, ShownOnce, stayOn, takeNotice } from './flash.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
type Extra = { notice?: string | undefined; error?: string | undefined; field?: string | undefined; form?: Record<string, string | undefined> | undefined };

export function createApplicationRoutes(d: WebDeps) {
  const base = (c: Context<WebEnv>) => ({ assets: d.assets, csrf: c.get('csrf'), admin: c.get('session')!.adminName });
  const actor = (c: Context<WebEnv>) => `admin:${c.get('session')!.adminName}`;
  /** New credentials, shown once on the page the creation (or a new secret) redirects to. */
  const shown = new ShownOnce<NewApplication & { renewed?: boolean }>(d.now);
  const page = async (c: Context<WebEnv>, extra: Extra & { created?: (NewApplication & { renewed?: boolean }) | undefined } = {}, code: 200 | 400 | 404 | 409 = 200) =>
    c.render(<ApplicationsPage {...base(c)} {...extra} apps={await listPushApplications(d.store)} apiUrl={`${d.admin.publicOrigin()}/api/`} now={d.now()} />, code);

  return new Hono<WebEnv>()
    .get('/applications', (c) => page(c, { created: shown.take(c.get('session')!.id, c.req.query('shown')), notice: takeNotice(c)?.text }))
    .post('/applications', async (c) => {
      const b = await c.req.parseBody();
      const form = { name: str(b['name']), sources: str(b['sources']), rate: str(b['rate']) };
      const r = await createPushApplication(d.admin, actor(c), form);
      if (!r.ok) {
        stayOn(c, '/applications');
        return page(c, { error: r.error, field: r.field, form }, r.status);
      }
      return seeOther(c, `/applications?shown=${shown.put(c.get('session')!.id, r.value)}`);
    })
    .get('/applications/edit', async (c) => {
      const app = await findPushApplication(d.store, { name: c.req.query('name') ?? '' });
      if (app === undefined) {
        stayOn(c, '/applications');
        return page(c, { error: 'No such application.' }, 404);
      }
      return c.render(<ApplicationEditPage {...base(c)} app={app} />);
    })
    .post('/applications/edit', async (c) => {
      const b = await c.req.parseBody();
      const name = str(b['name']) ?? '';
      const form = { sources: str(b['sources']), rate: str(b['rate']) };
      const r = await changePushApplication(d.admin, actor(c), name, form);
      if (r.ok) return seeOther(c, '/applications', { kind: 'ok', text: `Application ${name} saved.` });
      const app = await findPushApplication(d.store, { name });
      if (app === undefined) {
        stayOn(c, '/applications');
        return page(c, { error: r.error }, r.status);
      }
      stayOn(c, `/applications/edit?name=${encodeURIComponent(name)}`);
      return c.render(<ApplicationEditPage {...base(c)} app={app} error={r.error} field={r.field} form={form} />, r.status);
    })
    .post('/applications/secret', async (c) => {
      const b = await c.req.parseBody();
      const r = await renewPushApplicationSecret(d.admin, actor(c), str(b['name']) ?? '');
      const app = r.ok ? await findPushApplication(d.store, { name: r.value.name }) : undefined;
      if (!r.ok || app === undefined) {
        stayOn(c, '/applications');
        return page(c, { error: r.ok ? 'No such application.' : r.error }, 404);
      }
      const fresh = { name: app.name, accessId: app.accessId, clientId: app.clientId, clientSecret: r.value.clientSecret, apiUrl: `${d.admin.publicOrigin()}/api/`, renewed: true };
      return seeOther(c, `/applications?shown=${shown.put(c.get('session')!.id, fresh)}`);
    })
    .post('/applications/remove', async (c) => {
      const b = await c.req.parseBody();
      const r = await removePushApplication(d.admin, actor(c), str(b['name']) ?? '');
      if (r.ok) return seeOther(c, '/applications', { kind: 'ok', text: `Application ${r.value} removed; its calls are refused from now on.` });
      stayOn(c, '/applications');
      return page(c, { error: r.error }, r.status);
    })
    // The actions' own URLs, should a browser show them: the page they belong to.
    .get('/applications/remove', (c) => c.redirect('/applications', 303))
    .get('/applications/secret', (c) => c.redirect('/applications', 303));
}
