// The browser UI's routes through the whole HTTP app (app.request(), no socket), as scenario rows:
// each gets a fresh app and store and a signed-in admin, sends one request, and is checked for
// status, content, and the audit records it wrote (with the admin's name as actor).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { insertAdmin } from '../../app/db/queries/admins.js';
import { hashPassword } from '../../app/lib/password.js';
import { addClient } from '../../app/admin/clients.js';
import { addUser, enrolUserTotp, setUserProfile } from '../../app/admin/users.js';
import { makeWebApp, type WebApp, type WebAppOptions } from '../helpers/web.js';

interface Scenario {
  name: string;
  method?: 'GET' | 'POST';
  url: string;
  /** Form fields; the session's CSRF token is added unless `csrf` is false. */
  form?: Record<string, string>;
  /** The admin's password and current code, as the re-check before a sensitive operation asks. */
  reauth?: boolean;
  /** 'admin' (default): a signed-in admin; 'none': no session; 'half': password checked, code not. */
  session?: 'admin' | 'none' | 'half';
  csrf?: boolean;
  htmx?: boolean;
  headers?: Record<string, string>;
  opts?: WebAppOptions;
  setup?(w: WebApp): void | Promise<void>;
  status: number;
  contains?: (string | RegExp)[];
  notContains?: (string | RegExp)[];
  auditEvents?: string[];
  location?: string;
  /**
   * Post/redirect/get: the answer is 303 to a URL matching this, and `contains` / `notContains`
   * are checked on the page there, fetched with the session and the notice cookie the 303 set.
   */
  follow?: RegExp;
  /** Response headers the answer must carry. */
  headersExpected?: Record<string, string>;
}

/** Users u000, u001, ... (three digits, so name order is number order). */
const manyUsers = (n: number) => async (w: WebApp) => {
  for (let i = 0; i < n; i++) assert.ok((await addUser(w.deps.admin, 'test', `u${String(i).padStart(3, '0')}`)).ok);
};

/** Login decisions at WEB_START (the app's clock) for the dashboard chart, and an event that is not one. */
async function recordDecisions(w: WebApp): Promise<void> {
  const a = w.deps.audit;
  for (let i = 0; i < 2; i++) await a.record({ event: 'radius.auth', outcome: 'accept', reason: 'totp_ok', username: 'pia' });
  for (let i = 0; i < 3; i++) await a.record({ event: 'radius.auth', outcome: 'reject', reason: 'downstream_reject', username: 'pia' });
  await a.record({ event: 'windows.auth', outcome: 'reject', reason: 'push_denied', username: 'tobi' });
  await a.record({ event: 'admin.signin', outcome: 'reject', reason: 'wrong_code_typed', actor: 'root' });
}

async function run(s: Scenario): Promise<void> {
  const w = await makeWebApp(s.opts);
  try {
    await s.setup?.(w);
    const admin = s.session === 'none' ? undefined : await w.adminSession('root', { stage: s.session === 'half' ? 'password' : 'full' });
    const creds = s.reauth ? await w.adminCredentials('root') : undefined;
    const headers: Record<string, string> = { ...(admin ? { Cookie: admin.cookie } : {}), ...(s.htmx ? { 'HX-Request': 'true' } : {}), ...s.headers };
    let body: string | undefined;
    if (s.method === 'POST') {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams({ ...(s.csrf === false || !admin ? {} : { _csrf: admin.csrf }), ...(creds ? { reauth_password: creds.password, reauth_code: creds.code() } : {}), ...s.form }).toString();
    }
    const before = w.auditRows().length;
    const res = await w.app.request(s.url, { method: s.method ?? 'GET', headers, ...(body !== undefined ? { body } : {}) });
    let text = await res.text();
    assert.is(res.status, s.status, `${s.name}: status (${text.slice(0, 200)})`);
    if (s.follow !== undefined) {
      const to = res.headers.get('location') ?? '';
      assert.match(to, s.follow, `${s.name}: redirected to the page`);
      const notice = /(gh_notice=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
      const page = await w.app.request(to, { headers: { Cookie: [admin?.cookie, notice].filter(Boolean).join('; ') } });
      assert.is(page.status, 200, `${s.name}: the page after the redirect`);
      text = await page.text();
    }
    const has = (p: string | RegExp) => (typeof p === 'string' ? text.includes(p) : p.test(text));
    for (const c of s.contains ?? []) assert.ok(has(c), `${s.name}: body should contain ${String(c)}\n${text.slice(0, 800)}`);
    for (const c of s.notContains ?? []) assert.not.ok(has(c), `${s.name}: body should not contain ${String(c)}`);
    for (const [h, v] of Object.entries(s.headersExpected ?? {})) assert.is(res.headers.get(h), v, `${s.name}: header ${h}`);
    if (s.location !== undefined) assert.is(res.headers.get('location') ?? res.headers.get('hx-redirect'), s.location, `${s.name}: redirect`);
    const written = w.auditRows().slice(before);
    assert.equal(written.map((r) => r.event), s.auditEvents ?? [], `${s.name}: audit events`);
    for (const r of written) if (r.actor !== null) assert.is(r.actor, 'admin:root', `${s.name}: actor`);
    // Every page carries the security headers.
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.is(res.headers.get('x-content-type-options'), 'nosniff');
  } finally {
    w.close();
  }
}

const SCENARIOS: Scenario[] = [
  // --- post/redirect/get: every action's URL is a page, a secret is shown once
  { name: "an action's URL opened in the browser leads to its page", url: '/users/lock', status: 303, location: '/users' },
  { name: 'a shown-once id of another session, or an unknown one, shows nothing', url: '/clients?shown=AAAAAAAAAAAAAAAA', status: 200, notContains: ['new-secret'] },
  { name: 'a refused form stays on its page (HX-Replace-Url), with the error next to the field', method: 'POST', url: '/clients', htmx: true, form: { address: '999.1.1.1/40' }, status: 400, contains: ['aria-invalid="true"', 'address must be an IP address or CIDR'], headersExpected: { 'hx-replace-url': '/clients' } },
  // --- sign-in and the gate
  { name: 'sign-in page without admins says how to create one', url: '/login', session: 'none', status: 200, contains: ['gatehouse admin add NAME', 'Admin name'] },
  { name: 'pages need a session: redirect to sign-in', url: '/clients', session: 'none', status: 303, location: '/login' },
  { name: 'htmx requests without a session get HX-Redirect', url: '/users', session: 'none', htmx: true, status: 200, location: '/login' },
  { name: 'a half signed-in session (code not entered) cannot see pages', url: '/', session: 'half', status: 303, location: '/login' },
  { name: 'sign-in without the pre-session CSRF token is refused', method: 'POST', url: '/login', session: 'none', form: { name: 'alice', password: 'whatever it is' }, status: 403, contains: ['CSRF'] },
  { name: 'sign-out ends the session', method: 'POST', url: '/logout', status: 303, location: '/login', auditEvents: ['admin.signout'] },
  // --- CSRF
  { name: 'POST without the CSRF token is refused', method: 'POST', url: '/clients', csrf: false, form: { address: '10.0.0.1' }, status: 403, auditEvents: [] },
  { name: 'POST with a wrong CSRF token is refused', method: 'POST', url: '/clients', csrf: false, form: { _csrf: 'x'.repeat(43), address: '10.0.0.1' }, status: 403 },
  { name: 'POST from a foreign Origin is refused', method: 'POST', url: '/clients', headers: { Origin: 'https://evil.example', Host: 'localhost' }, form: { address: '10.0.0.1' }, status: 403 },
  { name: 'Origin: null counts as absent (Chromium with no-referrer)', method: 'POST', url: '/users', headers: { Origin: 'null' }, form: { username: 'nina' }, status: 303, auditEvents: ['user.add'] },
  // --- pages render
  { name: 'dashboard', url: '/', status: 200, contains: ['Dashboard', 'Requests', 'Health'] },
  { name: 'dashboard as an htmx fragment: no page frame', url: '/', htmx: true, headers: { 'HX-Target': 'live' }, status: 200, contains: ['id="live"'], notContains: ['<html', 'id="chart"'] },
  {
    name: 'dashboard chart: login decisions of the last hour from the audit log, by outcome and reason; other events left out',
    url: '/',
    setup: recordDecisions,
    status: 200,
    contains: ['Logins over time', 'aria-current="true">Last hour', /Accepted <strong>2<\/strong>/, /Rejected: wrong password <strong>3<\/strong>/, /Rejected: denied on the phone <strong>1<\/strong>/, /2 accepted, 0 challenged, 4 rejected \(3 wrong password, 1 denied on the phone\)/],
    notContains: ['Rejected: wrong code typed'],
  },
  { name: 'dashboard chart range: the last day, per hour', url: '/?range=day', setup: recordDecisions, status: 200, contains: ['aria-current="true">Last day', 'Logins per hour', '2025-06-02 10:00'] },
  { name: 'an unknown chart range is the last hour', url: '/?range=year', status: 200, contains: ['aria-current="true">Last hour'] },
  { name: 'the chart alone, for its range picker (htmx): no page frame, no live part', url: '/?range=week', htmx: true, headers: { 'HX-Target': 'chart' }, setup: recordDecisions, status: 200, contains: ['id="chart"', 'Logins per 6 hours', /Accepted <strong>2<\/strong>/], notContains: ['<html', 'id="live"'] },
  {
    name: 'the API reference, from the OpenAPI document: every operation with its parameters and answers',
    url: '/api-docs',
    status: 200,
    contains: ['API reference', 'id="op-listUsers"', '/api/v1/users/{name}/totp/confirm', 'next_after', 'no token needed', 'href="/api/v1/openapi.json"'],
    notContains: ['<script>'],
  },
  { name: 'approvals', url: '/approvals', status: 200, contains: ['Waiting for the phone'] },
  { name: 'settings shows values fixed by flags as read-only with their flag', url: '/settings', opts: { argv: ['--failmode', 'safe'] }, status: 200, contains: ['set by --failmode', 'readonly'] },
  { name: 'downstream set by the environment is read-only', url: '/downstream', opts: { env: { DOWNSTREAM_ADDRESS: '192.0.2.10', SECRET_OUT: 'envsecret1' } }, status: 200, contains: ['DOWNSTREAM_ADDRESS', 'read-only'], notContains: ['envsecret1'] },
  { name: 'admins', url: '/admins', status: 200, contains: ['root', '(you)'] },
  { name: 'tokens', url: '/tokens', status: 200, contains: ['Create a token'] },
  { name: 'unknown page: 404', url: '/nope', status: 404 },
  // --- clients
  {
    name: 'add a client: secret shown once, audited',
    method: 'POST',
    url: '/clients',
    form: { name: 'Branch VPN', address: '10.1.0.0/16', secret: 'branch-secret-1', requireMessageAuthenticator: 'yes' },
    status: 303,
    follow: /^\/clients\?shown=[A-Za-z0-9_-]{16}$/,
    contains: ['branch-secret-1', 'shown only now', '10.1.0.0/16'],
    auditEvents: ['client.add'],
  },
  { name: 'add a client with a generated secret', method: 'POST', url: '/clients', form: { address: '10.2.0.1' }, status: 303, follow: /^\/clients\?shown=/, contains: [/id="new-secret">[A-Za-z0-9]{32}</], auditEvents: ['client.add'] },
  { name: 'bad address: 400 naming the field', method: 'POST', url: '/clients', form: { address: '10.0.0.300' }, status: 400, contains: ['address must be an IP address or CIDR'], auditEvents: [] },
  { name: 'a flag client cannot be added again', method: 'POST', url: '/clients', opts: { argv: ['--address-secret-in', '10.9.9.9:flagsecret1'] }, form: { address: '10.9.9.9' }, status: 409, contains: ['--address-secret-in'] },
  {
    name: 'the client list never shows a secret; names are escaped',
    url: '/clients',
    setup: async (w) => void await addClient(w.deps.admin, 'test', { name: '<script>alert(1)</script>', address: '10.3.0.1', secret: 'listed-secret-1' }),
    status: 200,
    contains: ['&lt;script&gt;alert(1)&lt;/script&gt;'],
    notContains: ['listed-secret-1', '<script>alert'],
  },
  {
    name: 'add a client whose passwords the directory checks: the list says so',
    method: 'POST',
    url: '/clients',
    form: { address: '10.6.0.1', firstFactor: 'directory' },
    status: 303,
    follow: /^\/clients\?shown=/,
    contains: ['<td>Directory (PAP only)</td>', 'Default (Downstream RADIUS server)'],
    auditEvents: ['client.add'],
  },
  { name: 'a first factor that does not exist: 400 naming it', method: 'POST', url: '/clients', form: { address: '10.6.0.2', firstFactor: 'ldap' }, status: 400, contains: ['first factor must be downstream, directory or default'], auditEvents: [] },
  { name: 'a policy rule: password and code asked first', method: 'POST', url: '/policy', form: { name: 'Break glass', groups: 'BreakGlass', action: 'password_only' }, status: 403, contains: ['password or code is not correct'], auditEvents: ['admin.reauth'] },
  {
    name: 'a policy rule, confirmed: listed, and every page warns while it lets people in on the password alone',
    method: 'POST',
    url: '/policy',
    reauth: true,
    form: { name: 'Break glass', groups: 'BreakGlass; Service', action: 'password_only', replyAttributes: 'Class = breakglass' },
    status: 303,
    follow: /^\/policy$/,
    contains: ['Rule Break glass added', 'members of breakglass, service', 'Password only: the policy rule &quot;Break glass&quot;', 'Class = breakglass'],
    auditEvents: ['policy.add'],
  },
  { name: 'a policy rule with an attribute that does not exist: shown next to the field, nothing asked', method: 'POST', url: '/policy', form: { name: 'VPN', groups: 'VPN-Users', action: 'require', replyAttributes: 'Klass = x' }, status: 400, contains: ['id="f-replyAttributes-hint">unknown attribute Klass', 'Klass = x</textarea>'], auditEvents: [] },
  { name: 'an enrolment code for a user who does not exist: 404', method: 'POST', url: '/users/enrol-code', form: { username: 'carla' }, status: 404, contains: ['no user carla'], auditEvents: [] },
  {
    name: 'an enrolment code for a user: shown once on their page, audited without it',
    method: 'POST',
    url: '/users/enrol-code',
    setup: async (w) => void await addUser(w.deps.admin, 'test', 'pat'),
    form: { username: 'pat' },
    status: 303,
    follow: /^\/users\/u\/pat\?code=[A-Za-z0-9_-]{16}#self-service$/,
    contains: [/id="enrol-code">[A-Z2-9]{5}-[A-Z2-9]{5}</, 'works once'],
    auditEvents: ['enrolment.code'],
  },
  { name: 'edit a client', method: 'POST', url: '/clients/edit', setup: async (w) => void await addClient(w.deps.admin, 'test', { address: '10.4.0.1', secret: 'edit-secret-1' }), form: { address: '10.4.0.1/32', name: 'Renamed', requireMessageAuthenticator: 'no' }, status: 303, follow: /^\/clients$/, contains: ['saved', 'Renamed'], auditEvents: ['client.edit'] },
  { name: 'remove a client', method: 'POST', url: '/clients/remove', setup: async (w) => void await addClient(w.deps.admin, 'test', { address: '10.5.0.1', secret: 'rm-secret-1' }), form: { address: '10.5.0.1/32' }, status: 303, follow: /^\/clients$/, contains: ['Client 10.5.0.1/32 removed'], notContains: ['10.5.0.1/32</td>'], auditEvents: ['client.remove'] },
  // --- users
  { name: 'add a user', method: 'POST', url: '/users', form: { username: 'Nina' }, status: 303, follow: /^\/users$/, contains: ['User nina added.'], auditEvents: ['user.add'] },
  {
    name: "enrol a user: the user's page with the QR code and URI shown once, and the code to confirm it",
    method: 'POST',
    url: '/users/enrol',
    form: { username: 'omar' },
    status: 303,
    follow: /^\/users\/u\/omar\?shown=/,
    contains: ['<svg', 'otpauth://totp/Gatehouse:omar?secret=', 'waiting for its first code', 'action="/users/confirm"', 'TOTP waiting for a code'],
    auditEvents: ['totp.enroll'],
  },
  {
    name: 'a user page: profile, factors, state, last login and recent events from the audit log',
    url: '/users/u/PIA',
    setup: async (w) => {
      assert.ok((await enrolUserTotp(w.deps.admin, 'test', 'pia', { activate: 'now' })).ok);
      assert.ok((await setUserProfile(w.deps.admin, 'test', 'pia', { displayName: 'Pia Berg', email: 'pia@example.org', groups: 'VPN;Finance' })).ok);
      await w.deps.audit.record({ event: 'radius.auth', outcome: 'accept', reason: 'totp_ok', username: 'pia', source: '192.0.2.7' });
      await w.deps.audit.record({ event: 'radius.auth', outcome: 'reject', reason: 'totp_wrong', username: 'pia', source: '192.0.2.7' });
      await w.deps.audit.record({ event: 'radius.auth', outcome: 'accept', reason: 'totp_ok', username: 'someone-else' });
    },
    status: 200,
    contains: ['Pia Berg', 'pia@example.org', 'finance, vpn', '2025-06-02 10:00:00Z (RADIUS from 192.0.2.7)', 'totp_wrong', 'id="user-events"', 'Remove TOTP', 'action="/users/profile"'],
    notContains: ['someone-else', 'otpauth://'],
  },
  { name: 'a user page for nobody: 404', url: '/users/u/ghost', status: 404, contains: ['no user ghost'] },
  {
    name: 'confirm an enrolment with a wrong code: the error next to the code field, on the user page',
    method: 'POST',
    url: '/users/confirm',
    setup: async (w) => void await enrolUserTotp(w.deps.admin, 'test', 'omar', { activate: 'after-code' }),
    form: { username: 'omar', code: '12345' },
    status: 400,
    contains: ['the code is 6 digits', 'aria-invalid="true"', 'waiting for its first code'],
    headersExpected: { 'HX-Replace-Url': '/users/u/omar' },
  },
  {
    name: 'save a profile: groups folded and sorted',
    method: 'POST',
    url: '/users/profile',
    setup: async (w) => void await addUser(w.deps.admin, 'test', 'pat'),
    form: { username: 'pat', displayName: 'Pat Doe', email: 'pat@example.org', groups: 'Ops, VPN users' },
    status: 303,
    follow: /^\/users\/u\/pat$/,
    contains: ['profile saved.', 'Pat Doe', 'ops, vpn users'],
    auditEvents: ['user.update'],
  },
  {
    name: 'a bad email in a profile: the error next to the field, what was typed kept',
    method: 'POST',
    url: '/users/profile',
    setup: async (w) => void await addUser(w.deps.admin, 'test', 'pat'),
    form: { username: 'pat', displayName: 'Pat Doe', email: 'pat at example', groups: '' },
    status: 400,
    contains: ['pat at example&#39; is not an email address', 'value="Pat Doe"', 'value="pat at example"', 'aria-invalid="true"'],
  },
  { name: 'lock from the user page returns to it', method: 'POST', url: '/users/lock', setup: async (w) => void await addUser(w.deps.admin, 'test', 'pat'), form: { username: 'pat', back: 'user' }, status: 303, follow: /^\/users\/u\/pat$/, contains: ['pat locked.', 'Locked'], auditEvents: ['user.lock'] },
  {
    name: 'users in pages of 50 in name order, with the count and a link to the next page',
    url: '/users',
    setup: manyUsers(120),
    status: 200,
    contains: ['120 users', '>u000<', '>u049<', 'href="/users?after=u049"'],
    notContains: ['>u050<'],
  },
  { name: 'the next page continues after the last name', url: '/users?after=u049', setup: manyUsers(120), status: 200, contains: ['>u050<', '>u099<', 'href="/users?after=u099"', 'First page'], notContains: ['>u049<', '>u100<'] },
  { name: 'the last page ends the list', url: '/users?after=u099', setup: manyUsers(120), status: 200, contains: ['>u119<', 'End of the list'], notContains: ['after=u119'] },
  { name: 'search counts its matches and pages within them', url: '/users?q=u11', setup: manyUsers(120), status: 200, contains: ['10 matches for', '>u110<', '>u119<'], notContains: ['>u011<'] },
  {
    name: 'export: every user as CSV, the import columns first, formulas neutralised',
    url: '/users/export.csv',
    setup: async (w) => {
      await manyUsers(3)(w);
      assert.ok((await setUserProfile(w.deps.admin, 'test', 'u001', { displayName: '=HYPERLINK("x")', groups: 'b;a' })).ok);
    },
    status: 200,
    contains: ['username,display_name,email,groups,totp,locked,created_at\r\nu000,,,,none,no,', `u001,"'=HYPERLINK(""x"")",,a;b,none,no,`],
    headersExpected: { 'Content-Type': 'text/csv; charset=utf-8' },
    auditEvents: ['user.export'],
  },
  { name: 'lock a user', method: 'POST', url: '/users/lock', setup: async (w) => void await addUser(w.deps.admin, 'test', 'pat'), form: { username: 'pat' }, status: 303, follow: /^\/users$/, contains: ['pat locked.', 'Locked'], auditEvents: ['user.lock'] },
  { name: 'unknown user: 404', method: 'POST', url: '/users/unlock', form: { username: 'ghost' }, status: 404, contains: ['no user ghost'] },
  {
    name: 'search filters users, as a fragment for htmx',
    url: '/users?q=ali',
    htmx: true,
    headers: { 'HX-Target': 'user-table' },
    setup: async (w) => {
      await addUser(w.deps.admin, 'test', 'alice');
      await addUser(w.deps.admin, 'test', 'bob');
    },
    status: 200,
    contains: ['alice', 'id="user-table"'],
    notContains: ['>bob<', '<html'],
  },
  { name: 'the user list never shows a seed', url: '/users', setup: async (w) => void await enrolUserTotp(w.deps.admin, 'test', 'quinn', { activate: 'now' }), status: 200, contains: ['quinn', 'TOTP'], notContains: ['otpauth://'] },
  // --- settings
  { name: 'store a setting', method: 'POST', url: '/settings', form: { key: 'message-title', value: 'Corp VPN' }, status: 303, follow: /^\/settings$/, contains: ['message-title saved.', 'Corp VPN'], auditEvents: ['settings.set'] },
  { name: 'an invalid value is refused', method: 'POST', url: '/settings', form: { key: 'failmode', value: 'open' }, status: 400, contains: ['must be one of secure, safe'] },
  { name: 'a setting that decides who gets in asks for the password and a code first', method: 'POST', url: '/settings', form: { key: 'failmode', value: 'safe' }, status: 200, contains: ['Confirm the change', 'Set <strong>failmode</strong> to <code>safe</code>', 'reauth_password'], auditEvents: [] },
  { name: 'a setting that decides who gets in, confirmed: saved', method: 'POST', url: '/settings', reauth: true, form: { key: 'unenrolled-users', value: 'allow' }, status: 303, follow: /^\/settings$/, contains: ['unenrolled-users saved.'], auditEvents: ['settings.set'] },
  { name: 'a setting that decides who gets in, with a wrong code: not saved', method: 'POST', url: '/settings', reauth: true, form: { key: 'notakey-host', value: 'https://attacker.example/api/', reauth_code: '000000' }, status: 403, contains: ['password or code is not correct'], auditEvents: ['admin.reauth'] },
  { name: 'a setting fixed by the environment cannot be changed', method: 'POST', url: '/settings', opts: { env: { FAILMODE: 'safe' } }, form: { key: 'failmode', value: 'secure' }, status: 409, contains: ['FAILMODE'] },
  // --- downstream
  { name: 'set the downstream server', method: 'POST', url: '/downstream', reauth: true, form: { host: '192.0.2.20', port: '1812', secret: 'down-secret-1' }, status: 303, follow: /^\/downstream$/, contains: ['192.0.2.20:1812', 'Downstream server saved'], notContains: ['down-secret-1'], auditEvents: ['downstream.set'] },
  { name: 'set the downstream server: a session alone is not enough (it checks every password)', method: 'POST', url: '/downstream', form: { host: '192.0.2.20', port: '1812', secret: 'down-secret-1' }, status: 403, contains: ['password or code is not correct'], auditEvents: ['admin.reauth'] },
  { name: 'a short downstream secret is refused', method: 'POST', url: '/downstream', form: { host: '192.0.2.20', secret: 'short' }, status: 400, contains: ['at least 8 characters'] },
  // --- admins and tokens
  { name: 'add an admin', method: 'POST', url: '/admins', reauth: true, form: { name: 'bob', password: 'a long enough passphrase' }, status: 303, follow: /^\/admins$/, contains: ['Admin bob added'], auditEvents: ['admin.add'] },
  { name: 'add an admin: a session alone is not enough', method: 'POST', url: '/admins', form: { name: 'bob', password: 'a long enough passphrase' }, status: 403, contains: ['password or code is not correct'], notContains: ['Admin bob added'], auditEvents: ['admin.reauth'] },
  { name: 'a weak admin password is refused', method: 'POST', url: '/admins', form: { name: 'bob', password: 'short' }, status: 400, contains: ['at least 12 characters'] },
  { name: 'an admin cannot remove themselves', method: 'POST', url: '/admins/remove', form: { name: 'root' }, status: 409, contains: ['cannot remove yourself'] },
  { name: 'create a token: shown once', method: 'POST', url: '/tokens', reauth: true, form: { name: 'provisioning' }, status: 303, follow: /^\/tokens\?shown=/, contains: [/gh_[A-Za-z0-9_-]{43}/], auditEvents: ['token.create'] },
  { name: 'create a token: a session alone is not enough (password and code asked again)', method: 'POST', url: '/tokens', form: { name: 'provisioning' }, status: 403, contains: ['password or code is not correct'], notContains: [/gh_[A-Za-z0-9_-]{43}/], auditEvents: ['admin.reauth'] },
  { name: 'create a token: a wrong code is refused and counted', method: 'POST', url: '/tokens', reauth: true, form: { name: 'provisioning', reauth_code: '000000' }, status: 403, notContains: [/gh_[A-Za-z0-9_-]{43}/], auditEvents: ['admin.reauth'] },
  // --- backup download
  { name: 'backup page', url: '/backup', status: 200, contains: ['Download a backup', 'Passphrase again'] },
  { name: 'backup download: a file, audited', method: 'POST', url: '/backup', reauth: true, form: { passphrase: 'a long enough passphrase', confirm: 'a long enough passphrase' }, status: 200, contains: ['GHBACKUP'], auditEvents: ['backup.create'] },
  { name: 'backup download: a session alone is not enough (it holds the master key)', method: 'POST', url: '/backup', form: { passphrase: 'a long enough passphrase', confirm: 'a long enough passphrase' }, status: 403, contains: ['password or code is not correct'], notContains: ['GHBACKUP'], auditEvents: ['admin.reauth'] },
  { name: 'backup download: a wrong password is refused', method: 'POST', url: '/backup', reauth: true, form: { passphrase: 'a long enough passphrase', confirm: 'a long enough passphrase', reauth_password: 'not the password' }, status: 403, notContains: ['GHBACKUP'], auditEvents: ['admin.reauth'] },
  { name: 'backup: passphrases that differ', method: 'POST', url: '/backup', form: { passphrase: 'a long enough passphrase', confirm: 'another passphrase!' }, status: 400, contains: ['differ'], auditEvents: [] },
  { name: 'backup: a short passphrase', method: 'POST', url: '/backup', reauth: true, form: { passphrase: 'short', confirm: 'short' }, status: 400, contains: ['at least 12'], auditEvents: [] },
  // --- audit log
  {
    name: 'audit log filtered by user',
    url: '/audit?username=nina',
    setup: async (w) => {
      await addUser(w.deps.admin, 'test', 'nina');
      await addUser(w.deps.admin, 'test', 'zed');
    },
    status: 200,
    contains: ['user.add', 'nina'],
    notContains: ['zed'],
  },
  { name: 'audit log: a bad time is reported', url: '/audit?from=yesterday', status: 200, contains: ['From is not a date and time'] },
  { name: 'audit export as CSV', url: '/audit/export.csv', setup: async (w) => void await addUser(w.deps.admin, 'test', 'nina'), status: 200, contains: ['id,time,event,outcome,username', 'user.add'], auditEvents: ['audit.export'] },
  { name: 'audit chain verification', url: '/audit/verify', setup: async (w) => void await addUser(w.deps.admin, 'test', 'nina'), status: 200, contains: ['Chain intact'] },
];

const UiRoutes = suite('routes/ui');
for (const s of SCENARIOS) UiRoutes(s.name, () => run(s));

UiRoutes('sign-in with a wrong password: 401 with a generic message, audited without the password; the right one leads to the code page', async () => {
  const w = await makeWebApp();
  try {
    await insertAdmin(w.store, 'alice', await hashPassword('the right passphrase'));
    const page = await w.app.request('/login');
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const post = (password: string) =>
      w.app.request('/login', { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf, name: 'alice', password }).toString() });
    const bad = await post('the wrong passphrase');
    assert.is(bad.status, 401);
    assert.match(await bad.text(), /not correct/);
    const rows = w.auditRows();
    assert.is(rows.at(-1)!.event, 'admin.signin');
    assert.is(rows.at(-1)!.outcome, 'reject');
    assert.is(rows.at(-1)!.reason, 'bad_password');
    assert.not.ok(JSON.stringify(rows).includes('wrong passphrase'));
    const good = await post('the right passphrase');
    assert.is(good.status, 303);
    assert.is(good.headers.get('location'), '/login/enrol');
    assert.match(good.headers.get('set-cookie') ?? '', /gh_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict/);
  } finally {
    w.close();
  }
});

UiRoutes('audit pages are 50 records, newest first, with a link to the older ones', async () => {
  const w = await makeWebApp();
  try {
    for (let i = 0; i < 120; i++) await addUser(w.deps.admin, 'test', `user${i}`);
    const admin = await w.adminSession();
    const first = await (await w.app.request('/audit', { headers: { Cookie: admin.cookie } })).text();
    assert.is((first.match(/<tr>/g) ?? []).length, 51); // header + 50
    assert.match(first, /user119/);
    const older = /href="(\/audit\?before=\d+)"/.exec(first.replace(/&amp;/g, '&'))?.[1];
    assert.ok(older, 'a link to older records');
    const second = await (await w.app.request(older!, { headers: { Cookie: admin.cookie } })).text();
    assert.match(second, /user69/);
    assert.not.match(second, /user119/);
  } finally {
    w.close();
  }
});

UiRoutes('a secret shown once is shown once: a reload of its page, or another session, no longer sees it', async () => {
  const w = await makeWebApp();
  try {
    const admin = await w.adminSession();
    const res = await w.app.request('/clients', { method: 'POST', headers: admin.form, body: new URLSearchParams({ _csrf: admin.csrf, address: '10.7.0.1', secret: 'once-only-secret-1' }).toString() });
    assert.is(res.status, 303);
    const to = res.headers.get('location')!;
    const other = await w.adminSession('ann');
    assert.not.match(await (await w.app.request(to, { headers: { Cookie: other.cookie } })).text(), /once-only-secret-1/, 'another session');
    const first = await w.app.request(to, { headers: { Cookie: admin.cookie } });
    assert.match(await first.text(), /once-only-secret-1/);
    assert.is(first.headers.get('cache-control'), 'no-store');
    assert.not.match(await (await w.app.request(to, { headers: { Cookie: admin.cookie } })).text(), /once-only-secret-1/, 'the reload');
  } finally {
    w.close();
  }
});

UiRoutes.run();
