// Admin roles against every route (issue 12): the table below classifies each route the app has
// (the test fails on a route it does not know, so a new page must be decided here), and every
// signed-in route is requested by an admin or a token of each role. A refusal is a 403 (a styled
// page in the UI, JSON in the API) with one audit record and nothing else written; what a role
// may do is let through (whatever the operation itself then answers).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { changeAdmin } from '../../app/admin/admins.js';
import { ROLES, type Role } from '../../app/admin/roles.js';
import { addUser } from '../../app/admin/users.js';
import { addClient } from '../../app/admin/clients.js';
import { findAdminByName } from '../../app/db/queries/admins.js';
import { readStoredSettings } from '../../app/db/queries/settings.js';
import { makeWebApp, type WebApp } from '../helpers/web.js';

/** Outside the role gate: sign-in, setup, health, metrics, assets, the API description, agents. */
const PUBLIC = 'public';
type Access = typeof PUBLIC | readonly Role[];
const ALL: readonly Role[] = ['admin', 'helpdesk', 'readonly'];
const SUPPORT: readonly Role[] = ['admin', 'helpdesk'];
const READERS: readonly Role[] = ['admin', 'readonly'];
const ADMIN: readonly Role[] = ['admin'];

/** Every route, as `METHOD path` of the app's route table, and who may use it. */
const TABLE: Record<string, Access> = {
  // Public
  'GET /login': PUBLIC,
  'POST /login': PUBLIC,
  'GET /login/code': PUBLIC,
  'POST /login/code': PUBLIC,
  'GET /login/enrol': PUBLIC,
  'POST /login/enrol': PUBLIC,
  // The self-service portal: people with their own sign-in (app/routes/portal.tsx), no admin role.
  'GET /my': PUBLIC,
  'POST /my/signin': PUBLIC,
  'POST /my/code': PUBLIC,
  'POST /my/push': PUBLIC,
  'POST /my/enrol-code': PUBLIC,
  'POST /my/totp/start': PUBLIC,
  'POST /my/totp/confirm': PUBLIC,
  'POST /my/totp/remove': PUBLIC,
  'POST /my/phone/link': PUBLIC,
  'POST /my/phone/remove': PUBLIC,
  'POST /my/signout': PUBLIC,
  'GET /setup': PUBLIC,
  'POST /setup': PUBLIC,
  'GET /healthz': PUBLIC,
  'GET /metrics': PUBLIC,
  // The phone approver: phones, not admins (a device cookie and a passkey; app/routes/approver.tsx)
  'GET /approve': PUBLIC,
  'GET /approve/manifest.webmanifest': PUBLIC,
  'GET /approve/icon.svg': PUBLIC,
  'GET /approve/sw.js': PUBLIC,
  'POST /approve/api/enrol/options': PUBLIC,
  'POST /approve/api/enrol': PUBLIC,
  'GET /approve/api/requests': PUBLIC,
  'GET /approve/api/events': PUBLIC,
  'GET /approve/api/push-key': PUBLIC,
  'POST /approve/api/subscription': PUBLIC,
  'POST /approve/api/requests/:id/options': PUBLIC,
  'POST /approve/api/requests/:id/decision': PUBLIC,
  // The push API served to others: applications, not admins (client credentials or a listed source; app/push/served.ts)
  'POST /api/token': PUBLIC,
  'POST /api/v2/application/:accessId/application_user/:username/auth_request': PUBLIC,
  'GET /api/v2/application/:accessId/auth_request/:uuid': PUBLIC,
  'GET /favicon.ico': PUBLIC,
  'GET /api/v1/openapi.json': PUBLIC,
  'GET /api/v1/agent/health': PUBLIC,
  'POST /api/v1/agent/authenticate': PUBLIC,
  'POST /api/v1/agent/offline-logons': PUBLIC,
  // Every role: what people look at, and signing out
  'GET /': ALL,
  'GET /approvals': ALL,
  'GET /api-docs': ALL,
  'GET /users': ALL,
  'GET /users/u/:name': ALL,
  'GET /users/export.csv': ALL,
  'GET /audit': ALL,
  'GET /audit/verify': ALL,
  'GET /audit/export.csv': ALL,
  'GET /audit/export.jsonl': ALL,
  'POST /logout': ALL,
  // Help desk: the users
  'POST /users': SUPPORT,
  'POST /users/enrol': SUPPORT,
  'POST /users/lock': SUPPORT,
  'POST /users/unlock': SUPPORT,
  'POST /users/remove': SUPPORT,
  'POST /users/reset-totp': SUPPORT,
  'POST /users/cancel-enrolment': SUPPORT,
  'POST /users/confirm': SUPPORT,
  'POST /users/profile': SUPPORT,
  'GET /users/import': SUPPORT,
  'POST /users/import': SUPPORT,
  'POST /users/import/apply': SUPPORT,
  'POST /users/phone-link': SUPPORT,
  'POST /users/enrol-code': SUPPORT,
  'POST /users/phone-remove': SUPPORT,
  // (an action's own URL only redirects to the page it belongs to)
  'GET /users/enrol': ALL,
  'GET /users/lock': ALL,
  'GET /users/unlock': ALL,
  'GET /users/remove': ALL,
  'GET /users/reset-totp': ALL,
  'GET /users/cancel-enrolment': ALL,
  'GET /users/confirm': ALL,
  'GET /users/profile': ALL,
  'GET /users/import/apply': ALL,
  'GET /users/phone-link': ALL,
  'GET /users/enrol-code': ALL,
  'GET /users/phone-remove': ALL,
  // Configuration: read-only admins read it, only full admins change it
  'GET /clients': READERS,
  'GET /clients/edit': READERS,
  'GET /downstream': READERS,
  'GET /directory': READERS,
  'GET /policy': READERS,
  'GET /settings': READERS,
  'GET /admins': READERS,
  'GET /tokens': READERS,
  'GET /applications': READERS,
  'GET /applications/edit': READERS,
  'POST /applications': ADMIN,
  'POST /applications/edit': ADMIN,
  'POST /applications/secret': ADMIN,
  'POST /applications/remove': ADMIN,
  'GET /applications/secret': ADMIN,
  'GET /applications/remove': ADMIN,
  'POST /clients': ADMIN,
  'POST /clients/edit': ADMIN,
  'POST /clients/remove': ADMIN,
  'GET /clients/remove': ADMIN,
  'POST /downstream': ADMIN,
  'POST /downstream/remove': ADMIN,
  'GET /downstream/remove': ADMIN,
  'GET /sessions': ALL,
  'POST /downstream/servers': ADMIN,
  'GET /downstream/servers': ADMIN,
  'POST /downstream/servers/remove': ADMIN,
  'GET /downstream/servers/remove': ADMIN,
  'POST /downstream/pools': ADMIN,
  'GET /downstream/pools': ADMIN,
  'POST /downstream/realms': ADMIN,
  'GET /downstream/realms': ADMIN,
  'POST /downstream/realms/remove': ADMIN,
  'GET /downstream/realms/remove': ADMIN,
  'POST /directory/test': ADMIN,
  'POST /directory/test-user': ADMIN,
  'POST /directory/password': ADMIN,
  'POST /directory/sync': ADMIN,
  'POST /policy': ADMIN,
  'POST /policy/move': ADMIN,
  'POST /policy/remove': ADMIN,
  'GET /policy/move': ADMIN,
  'GET /policy/remove': ADMIN,
  'GET /directory/sync': ADMIN,
  'GET /directory/test': ADMIN,
  'GET /directory/test-user': ADMIN,
  'GET /directory/password': ADMIN,
  'POST /settings': ADMIN,
  'POST /admins': ADMIN,
  'POST /admins/:action{remove|reset-totp}': ADMIN,
  'GET /admins/:action{remove|reset-totp}': ADMIN,
  'POST /admins/role': ADMIN,
  'GET /admins/role': ADMIN,
  'POST /tokens': ADMIN,
  'POST /tokens/revoke': ADMIN,
  'GET /tokens/revoke': ADMIN,
  'GET /backup': ADMIN,
  'POST /backup': ADMIN,
  // The API, by the token's role
  'GET /api/v1/status': ALL,
  'GET /api/v1/nodes': ALL,
  'GET /api/v1/approvals': ALL,
  'GET /api/v1/audit': ALL,
  'GET /api/v1/users': ALL,
  'GET /api/v1/users/:name': ALL,
  'PATCH /api/v1/users/:name': SUPPORT,
  'POST /api/v1/users/:name/totp/confirm': SUPPORT,
  'DELETE /api/v1/users/:name/totp/pending': SUPPORT,
  'POST /api/v1/users': SUPPORT,
  'DELETE /api/v1/users/:name': SUPPORT,
  'POST /api/v1/users/:name/:action{lock|unlock}': SUPPORT,
  'POST /api/v1/users/:name/totp': SUPPORT,
  'DELETE /api/v1/users/:name/totp': SUPPORT,
  'GET /api/v1/clients': READERS,
  'GET /api/v1/downstream': READERS,
  'GET /api/v1/settings': READERS,
  'GET /api/v1/admins': READERS,
  'GET /api/v1/tokens': READERS,
  'GET /api/v1/applications': READERS,
  'POST /api/v1/applications': ADMIN,
  'PATCH /api/v1/applications/:name': ADMIN,
  'POST /api/v1/applications/:name/secret': ADMIN,
  'DELETE /api/v1/applications/:name': ADMIN,
  'POST /api/v1/clients': ADMIN,
  'PATCH /api/v1/clients/:address': ADMIN,
  'DELETE /api/v1/clients/:address': ADMIN,
  'PUT /api/v1/downstream': ADMIN,
  'DELETE /api/v1/downstream': ADMIN,
  'GET /api/v1/pools': READERS,
  'PUT /api/v1/pools/:name': ADMIN,
  'DELETE /api/v1/pools/:name': ADMIN,
  'POST /api/v1/pools/:name/servers': ADMIN,
  'DELETE /api/v1/pools/:name/servers/:id': ADMIN,
  'GET /api/v1/realms': READERS,
  'GET /api/v1/sessions': ALL,
  'PUT /api/v1/realms/:name': ADMIN,
  'DELETE /api/v1/realms/:name': ADMIN,
  'PUT /api/v1/settings/:key': ADMIN,
};

/** The app's routes as `METHOD path`, handlers only (not middleware nor catch-alls), assets aside. */
function routesOf(w: WebApp): string[] {
  const seen = new Set<string>();
  for (const r of w.app.routes) {
    if (r.method === 'ALL' || r.path.endsWith('*') || r.path.startsWith('/static/')) continue;
    seen.add(`${r.method} ${r.path}`);
  }
  return [...seen].sort();
}

/** A concrete URL for a route pattern (parameters filled with values that exist in the store). */
function urlOf(path: string): string {
  return path
    .replace(':action{remove|reset-totp}', 'remove')
    .replace(':action{lock|unlock}', 'lock')
    .replace(':address', encodeURIComponent('10.0.0.0/24'))
    .replace(':name', 'carol')
    .replace(':key', 'failmode')
    .replace(':id', '1');
}

/** A body the operation would accept, so that "let through" is not hidden behind a 400. */
function bodyOf(method: string, path: string): Record<string, string> {
  if (path.startsWith('/api/v1/')) {
    if (path === '/api/v1/users') return { username: 'dave' };
    if (path === '/api/v1/clients') return { address: '10.1.0.0/24', secret: 'a-long-enough-secret' };
    if (path === '/api/v1/downstream') return { host: '192.0.2.9', secret: 'a-long-enough-secret' };
    if (path.startsWith('/api/v1/settings/')) return { value: 'secure' };
    if (path.startsWith('/api/v1/pools/') && path.endsWith('/servers')) return { host: '192.0.2.9', secret: 'a-long-enough-secret' };
    if (path.startsWith('/api/v1/realms/')) return { pool: 'default' };
    if (path.startsWith('/api/v1/clients/')) return { name: 'renamed' };
    return {};
  }
  if (method !== 'POST') return {};
  if (path.startsWith('/users')) return { username: 'carol' };
  if (path === '/clients') return { address: '10.1.0.0/24' };
  if (path.startsWith('/clients/')) return { address: '10.0.0.0/24', name: 'renamed' };
  if (path === '/settings') return { key: 'totp-max-failures', value: '4' };
  if (path === '/admins/role') return { target: 'other', newrole: 'readonly' };
  if (path.startsWith('/admins')) return { name: 'other' };
  if (path.startsWith('/tokens')) return { name: 'ci' };
  return {};
}

async function seed(w: WebApp): Promise<void> {
  assert.ok((await addUser(w.deps.admin, 'setup', 'carol')).ok);
  assert.ok((await addClient(w.deps.admin, 'setup', { name: 'vpn', address: '10.0.0.0/24', secret: 'stored-secret-x7q2' })).ok);
  await w.adminSession('other');
}

const Table = suite('roles: every route classified, every role tried');

Table('every route of the app is in the table, and every row of the table is a route', async () => {
  const w = await makeWebApp();
  try {
    const routes = routesOf(w);
    const unclassified = routes.filter((r) => !(r in TABLE));
    assert.equal(unclassified, [], `routes nobody decided for (add them to TABLE here and to app/admin/roles.ts): ${unclassified.join(', ')}`);
    const stale = Object.keys(TABLE).filter((r) => !routes.includes(r));
    assert.equal(stale, [], `rows for routes that do not exist: ${stale.join(', ')}`);
  } finally {
    w.close();
  }
});

for (const role of ROLES) {
  Table(`${role}: every signed-in UI route and API operation, allowed or refused as the table says`, async () => {
    const w = await makeWebApp();
    try {
      await seed(w);
      const routes = routesOf(w).filter((r) => TABLE[r] !== PUBLIC);
      const refusals: string[] = [];
      let tokens = 0;
      for (const route of routes) {
        const [method, path] = route.split(' ') as [string, string];
        const allowed = (TABLE[route] as readonly Role[]).includes(role);
        const before = w.auditRows().length;
        const storedBefore = JSON.stringify([...(await readStoredSettings(w.store))]);
        let res: Response;
        const api = path.startsWith('/api/v1/');
        if (api) {
          const token = await w.apiToken(`t-${role}-${++tokens}`, role);
          const body = bodyOf(method, path);
          res = await w.app.request(urlOf(path), { method, headers: { Authorization: `Bearer ${token}`, ...(method === 'GET' ? {} : { 'Content-Type': 'application/json' }) }, ...(method === 'GET' ? {} : { body: JSON.stringify(body) }) });
        } else {
          // A fresh session each time (POST /logout ends one).
          const me = await w.adminSession(`${role}-user`, { role });
          const form = new URLSearchParams({ _csrf: me.csrf, ...bodyOf(method, path) }).toString();
          res = await w.app.request(urlOf(path), method === 'GET' ? { headers: me.headers } : { method, headers: me.form, body: form });
        }
        const text = await res.text();
        const written = w.auditRows().slice(before);
        const forbidden = written.filter((r) => r.event.endsWith('.forbidden'));
        if (allowed) {
          assert.is(forbidden.length, 0, `${role} ${route}: let through (${res.status} ${text.slice(0, 120)})`);
          assert.not.ok(res.status === 401, `${role} ${route}: signed in`);
        } else {
          refusals.push(route);
          assert.is(res.status, 403, `${role} ${route}: refused with 403 (got ${res.status})`);
          assert.equal(written.map((r) => r.event), [api ? 'token.forbidden' : 'admin.forbidden'], `${role} ${route}: one audit record, nothing else done`);
          assert.is(written[0]!.outcome, 'reject');
          assert.ok(written[0]!.details!.includes(`"role":"${role}"`), `${role} ${route}: the record names the role`);
          assert.is(JSON.stringify([...(await readStoredSettings(w.store))]), storedBefore, `${role} ${route}: settings untouched`);
          if (api) assert.match(text, /does not allow/, `${role} ${route}: a JSON error saying why`);
          else assert.match(text, /Not open to your role[\s\S]*does not include/, `${role} ${route}: the styled page saying why`);
        }
      }
      // The refusals are exactly the routes the table keeps from this role (none for a full admin).
      assert.is(refusals.length, routes.filter((r) => !(TABLE[r] as readonly Role[]).includes(role)).length);
      if (role === 'admin') assert.is(refusals.length, 0);
    } finally {
      w.close();
    }
  });
}

Table('unknown URLs are full admins only; the role is read on each request, so a change applies at once', async () => {
  const w = await makeWebApp();
  try {
    const me = await w.adminSession('helen', { role: 'helpdesk' });
    assert.is((await w.app.request('/settings', { headers: me.headers })).status, 403);
    assert.is((await w.app.request('/no/such/page', { headers: me.headers })).status, 403);
    // Promoted by another admin (the CLI here): the same session may now read the settings.
    await w.adminSession('root');
    assert.ok((await changeAdmin(w.deps.admin, 'cli:test', undefined, 'nobody', 'remove')).ok === false);
    const { setAdminRole } = await import('../../app/admin/admins.js');
    assert.ok((await setAdminRole(w.deps.admin, 'cli:test', undefined, 'helen', 'admin')).ok);
    assert.is((await w.app.request('/settings', { headers: me.headers })).status, 200);
    assert.is((await findAdminByName(w.store, 'helen'))!.role, 'admin');
  } finally {
    w.close();
  }
});

Table('the navigation and the pages leave out what a role cannot use', async () => {
  const w = await makeWebApp();
  try {
    await seed(w);
    const page = async (role: Role, path: string) => {
      const me = await w.adminSession(`${role}-nav`, { role });
      return (await w.app.request(path, { headers: me.headers })).text();
    };
    const nav = (html: string) => [...html.matchAll(/<li><a href="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(nav(await page('admin', '/')), ['/', '/approvals', '/users', '/clients', '/downstream', '/sessions', '/directory', '/policy', '/settings', '/audit', '/admins', '/tokens', '/applications', '/backup', '/api-docs']);
    assert.equal(nav(await page('helpdesk', '/')), ['/', '/approvals', '/users', '/sessions', '/audit', '/api-docs']);
    assert.equal(nav(await page('readonly', '/')), ['/', '/approvals', '/users', '/clients', '/downstream', '/sessions', '/directory', '/policy', '/settings', '/audit', '/admins', '/tokens', '/applications', '/api-docs']);
    // The role is named next to the admin's name.
    assert.match(await page('helpdesk', '/'), /helpdesk-nav<span class="role"> · Help desk<\/span>/);
    // Help desk: the user actions are there; read-only: no form that would be refused.
    const helpdeskUsers = await page('helpdesk', '/users');
    assert.match(helpdeskUsers, /action="\/users\/lock"/);
    assert.match(helpdeskUsers, /action="\/users"/);
    for (const [path, action] of [['/users', '/users'], ['/users', '/users/lock'], ['/clients', '/clients'], ['/clients', '/clients/remove'], ['/settings', '/settings'], ['/admins', '/admins'], ['/tokens', '/tokens']] as const) {
      const html = await page('readonly', path);
      assert.not.match(html, new RegExp(`method="post" action="${action}"`), `read-only ${path}: no form posting to ${action}`);
    }
    assert.not.match(await page('readonly', '/clients'), /href="\/clients\/edit/);
    // The live search of the users page leaves the actions out too.
    const ro = await w.adminSession('readonly-live', { role: 'readonly' });
    const live = await (await w.app.request('/users?q=car', { headers: { ...ro.headers, 'HX-Request': 'true', 'HX-Target': 'user-table' } })).text();
    assert.match(live, /carol/);
    assert.not.match(live, /action="\/users\//);
  } finally {
    w.close();
  }
});

Table('roles are given with a step-up, the last full admin stays one, and a race of demotions leaves one', async () => {
  const w = await makeWebApp();
  try {
    const root = await w.adminSession('root');
    const creds = await w.adminCredentials('root');
    const post = (s: typeof root, url: string, form: Record<string, string>) => w.app.request(url, { method: 'POST', headers: s.form, body: new URLSearchParams({ _csrf: s.csrf, ...form }).toString() });
    // Adding a help-desk admin.
    let res = await post(root, '/admins', { name: 'helen', password: 'a-long-password-1', role: 'helpdesk', reauth_password: creds.password, reauth_code: creds.code() });
    assert.is(res.status, 303);
    assert.is((await findAdminByName(w.store, 'helen'))!.role, 'helpdesk');
    assert.ok(w.auditRows().some((r) => r.event === 'admin.add' && r.details === '{"name":"helen","role":"helpdesk"}'));
    // A role that does not exist: refused next to the field, nothing asked.
    res = await post(root, '/admins', { name: 'ivan', password: 'a-long-password-1', role: 'superuser' });
    assert.is(res.status, 400);
    assert.match(await res.text(), /role must be one of admin, helpdesk, readonly/);
    // A role change needs the password and a fresh code.
    res = await post(root, '/admins/role', { target: 'helen', newrole: 'readonly', reauth_password: 'wrong', reauth_code: '000000' });
    assert.is(res.status, 403);
    assert.is((await findAdminByName(w.store, 'helen'))!.role, 'helpdesk');
    w.clock.advance(30_000);
    res = await post(root, '/admins/role', { target: 'helen', newrole: 'readonly', reauth_password: creds.password, reauth_code: creds.code() });
    assert.is(res.status, 303);
    assert.is((await findAdminByName(w.store, 'helen'))!.role, 'readonly');
    assert.ok(w.auditRows().some((r) => r.event === 'admin.role' && r.details === '{"name":"helen","previous":"helpdesk","role":"readonly"}'));
    // Nobody changes their own role; the last full admin cannot be demoted or removed.
    const { setAdminRole } = await import('../../app/admin/admins.js');
    assert.equal(await setAdminRole(w.deps.admin, 'admin:root', 'root', 'root', 'readonly'), { ok: false, status: 409, error: 'you cannot change your own role (another full admin can)' });
    const cli = await setAdminRole(w.deps.admin, 'cli:test', undefined, 'root', 'readonly');
    assert.ok(!cli.ok && /last full admin/.test(cli.error));
    const removal = await changeAdmin(w.deps.admin, 'cli:test', undefined, 'root', 'remove');
    assert.ok(!removal.ok && /last full admin/.test(removal.error));
    // Two full admins demoting each other at the same moment: exactly one of them stays full.
    assert.ok((await setAdminRole(w.deps.admin, 'cli:test', undefined, 'helen', 'admin')).ok);
    const helen = await w.adminSession('helen');
    const hcreds = await w.adminCredentials('helen');
    // root demotes helen while helen demotes root; the CLI also tries to remove both.
    w.clock.advance(30_000);
    const results = await Promise.all([
      post(root, '/admins/role', { target: 'helen', newrole: 'readonly', reauth_password: creds.password, reauth_code: creds.code() }),
      post(helen, '/admins/role', { target: 'root', newrole: 'readonly', reauth_password: hcreds.password, reauth_code: hcreds.code() }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses, [303, 409], `one demotion done, the other refused (got ${statuses.join(', ')})`);
    const full = (await Promise.all(['root', 'helen'].map((n) => findAdminByName(w.store, n)))).filter((a) => a!.role === 'admin');
    assert.is(full.length, 1, 'exactly one full admin left');
  } finally {
    w.close();
  }
});

Table('API tokens carry a role: created with one, listed with it, refused outside it', async () => {
  const w = await makeWebApp();
  try {
    const root = await w.adminSession('root');
    const creds = await w.adminCredentials('root');
    const res = await w.app.request('/tokens', { method: 'POST', headers: root.form, body: new URLSearchParams({ _csrf: root.csrf, name: 'helpdesk-bot', role: 'helpdesk', reauth_password: creds.password, reauth_code: creds.code() }).toString() });
    assert.is(res.status, 303);
    const shown = await (await w.app.request(res.headers.get('location')!, { headers: root.headers })).text();
    const token = /(gh_[A-Za-z0-9_-]{20,})/.exec(shown)?.[1];
    assert.ok(token, 'the new token is shown once');
    assert.match(shown, /<td>helpdesk-bot<\/td>\s*<td>Help desk<\/td>/);
    const api = (method: string, path: string, body?: unknown) =>
      w.app.request(`/api/v1${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    assert.is((await api('POST', '/users', { username: 'erin' })).status, 201);
    const refused = await api('PUT', '/settings/failmode', { value: 'safe' });
    assert.is(refused.status, 403);
    assert.equal(await refused.json(), { error: "this token's role (helpdesk) does not allow PUT /api/v1/settings/failmode" });
    assert.is((await readStoredSettings(w.store)).get('failmode'), undefined, 'the setting was not stored');
    const admins = (await (await w.app.request('/api/v1/tokens', { headers: { Authorization: `Bearer ${await w.apiToken('lister')}` } })).json()) as { tokens: { name: string; role: string }[] };
    assert.equal(admins.tokens.map((t) => [t.name, t.role]), [['helpdesk-bot', 'helpdesk'], ['lister', 'admin']]);
  } finally {
    w.close();
  }
});

Table.run();
