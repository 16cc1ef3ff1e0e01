// The self-service portal's hardening, against a real OpenLDAP: CSRF on its forms, its cookie,
// the per-source limit that parallel guesses cannot outrun, and a one-time enrolment code that
// parallel claims take once.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEnrolmentCode } from '../../app/admin/enrolment.js';
import { makeWebApp, type WebApp } from '../helpers/web.js';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, startSlapd, type Slapd } from '../helpers/slapd.js';

const P = suite<{ slapd: Slapd; w?: WebApp }>('routes/portal');

P.before(async (ctx) => {
  ctx.slapd = await startSlapd({ users: [{ uid: 'pat', password: 'pat-dir-pw' }] });
});
P.after(async (ctx) => {
  await ctx.slapd?.stop();
});
P.after.each((ctx) => {
  ctx.w?.close();
  ctx.w = undefined;
});

const configured = (s: Slapd) => ({ argv: ['--ldap-url', s.url, '--ldap-preset', 'openldap', '--ldap-base-dn', BASE_DN, '--ldap-bind-dn', ADMIN_DN, '--enrol-window', 'never'], env: { LDAP_BIND_PASSWORD: ADMIN_PASSWORD } });

/** A browser of its own: the pre-session CSRF cookie and token from GET /my, then its posts. */
async function visitor(w: WebApp) {
  const page = await w.app.request('/my');
  const cookies = new Map<string, string>();
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair!.split('=');
      cookies.set(k!, v!);
    }
  };
  keep(page);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const cookie = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    async post(url: string, form: Record<string, string>, withCsrf = true) {
      const res = await w.app.request(url, { method: 'POST', headers: { Cookie: cookie(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...(withCsrf ? { _csrf: csrf } : {}), ...form }).toString() });
      keep(res);
      return { status: res.status, text: await res.text(), setCookie: res.headers.getSetCookie() };
    },
    async get(url: string) {
      return (await w.app.request(url, { headers: { Cookie: cookie() } })).text();
    },
  };
}

P('with nothing to check passwords, /my says so', async (ctx) => {
  const w = (ctx.w = await makeWebApp());
  assert.match(await (await w.app.request('/my')).text(), /Self-service is not available/);
});

P('a form without its CSRF token is refused; a good sign-in sets a strict, HTTP-only cookie for /my alone', async (ctx) => {
  const w = (ctx.w = await makeWebApp(configured(ctx.slapd)));
  const v = await visitor(w);
  assert.is((await v.post('/my/signin', { username: 'pat', password: 'pat-dir-pw' }, false)).status, 403);
  const r = await v.post('/my/signin', { username: 'pat', password: 'pat-dir-pw' });
  assert.is(r.status, 303);
  const cookie = r.setCookie.find((c) => c.startsWith('gh_my='))!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.match(cookie, /Path=\/my/);
  // Outside the window (never): the page asks for an admin's code, and offers nothing to set up.
  const home = await v.get('/my');
  assert.match(home, /Setting up a first sign-in method here needs a code from your administrator/);
  assert.not.match(home, /Set up an authenticator app/);
  assert.is((await v.post('/my/totp/start', {})).status, 403);
});

P('parallel wrong passwords from one address: at most ten are checked, then the address is locked out', async (ctx) => {
  const w = (ctx.w = await makeWebApp(configured(ctx.slapd)));
  const v = await visitor(w);
  const rs = await Promise.all(Array.from({ length: 16 }, () => v.post('/my/signin', { username: 'pat', password: 'guess' })));
  const statuses = rs.map((r) => r.status);
  assert.is(statuses.filter((s) => s === 401).length, 10, statuses.join(','));
  assert.is(statuses.filter((s) => s === 429).length, 6);
  const rejects = w.auditRows().filter((r) => r.event === 'portal.signin' && r.outcome === 'reject');
  assert.is(rejects.length, 10);
  // Locked out: even the right password is not checked now.
  const right = await v.post('/my/signin', { username: 'pat', password: 'pat-dir-pw' });
  assert.is(right.status, 429);
  assert.match(right.text, /Too many failed attempts from this address/);
  assert.ok(w.auditRows().some((r) => r.event === 'portal.lockout'));
});

P('an enrolment code claimed by two sessions at once works once', async (ctx) => {
  const w = (ctx.w = await makeWebApp(configured(ctx.slapd)));
  const a = await visitor(w);
  const b = await visitor(w);
  for (const v of [a, b]) assert.is((await v.post('/my/signin', { username: 'pat', password: 'pat-dir-pw' })).status, 303);
  const made = await createEnrolmentCode(w.deps.admin, 'test', 'pat');
  assert.ok(made.ok);
  const code = made.ok ? made.value.code : '';
  const [ra, rb] = await Promise.all([a.post('/my/enrol-code', { code }), b.post('/my/enrol-code', { code })]);
  assert.equal([ra.status, rb.status].sort(), [303, 403]);
  const claims = w.auditRows().filter((r) => r.event === 'portal.enrolment_code').map((r) => r.outcome);
  assert.equal(claims.sort(), ['ok', 'reject']);
  assert.not.ok(JSON.stringify(w.auditRows()).includes(code), 'the code is not in the audit log');
});

P.run();
