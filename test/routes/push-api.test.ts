// The push API Gatehouse serves (Notakey-compatible; app/push/served.ts), through the whole app
// with app.request(): OAuth2 client credentials, the two calls, decisions made on the approver's
// side (PushRequests.decide, as a verified passkey signature does), callers from listed sources
// without a token, and what is refused: a wrong secret, grant or scope, another application's
// token or request, an unknown user or application, bad fields, too many calls (in parallel). No
// secret reaches the audit log.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPushApplication } from '../../app/admin/push-apps.js';
import { addUser } from '../../app/admin/users.js';
import { enrolPushDevice, insertPushEnrolment } from '../../app/db/queries/push.js';
import { tokenHash } from '../../app/lib/tokens.js';
import { makeWebApp, type WebApp } from '../helpers/web.js';

interface Ctx {
  w: WebApp;
  app: { accessId: string; clientId: string; clientSecret: string };
}
const P = suite<Ctx>('routes/push-api', { w: undefined as unknown as WebApp, app: undefined as unknown as Ctx['app'] });

P.before.each(async (ctx) => {
  ctx.w = await makeWebApp();
  assert.ok((await addUser(ctx.w.deps.admin, 'test', 'alice')).ok);
  assert.ok((await addUser(ctx.w.deps.admin, 'test', 'nophone')).ok);
  assert.ok(await insertPushEnrolment(ctx.w.store, 'alice', 'link-hash', 'test', ctx.w.clock.now() + 60_000));
  await enrolPushDevice(ctx.w.store, 'link-hash', ctx.w.clock.now(), { name: 'Phone', credentialId: 'cred', publicKey: Buffer.alloc(77, 1), signCount: 0, transports: [], tokenHash: tokenHash('ghd_x') });
  const r = await createPushApplication(ctx.w.deps.admin, 'admin:test', { name: 'vpn-proxy' });
  assert.ok(r.ok);
  ctx.app = r.value;
});
P.after.each((ctx) => ctx.w.close());

/** A socket peer for app.request() (the listed-source check reads it). */
const from = (address: string) => ({ incoming: { socket: { remoteAddress: address, remotePort: 40000, remoteFamily: address.includes(':') ? 'IPv6' : 'IPv4' } } });

async function call(w: WebApp, method: string, path: string, o: { token?: string; body?: unknown; form?: Record<string, string>; basic?: string; address?: string } = {}) {
  const headers: Record<string, string> = {};
  if (o.token !== undefined) headers['Authorization'] = `Bearer ${o.token}`;
  if (o.basic !== undefined) headers['Authorization'] = `Basic ${Buffer.from(o.basic).toString('base64')}`;
  let body: string | undefined;
  if (o.form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  } else if (o.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  }
  const res = await w.app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) }, from(o.address ?? '192.0.2.50'));
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

async function token(ctx: Ctx): Promise<string> {
  const r = await call(ctx.w, 'POST', '/api/token', { form: { grant_type: 'client_credentials', client_id: ctx.app.clientId, client_secret: ctx.app.clientSecret } });
  assert.is(r.status, 200);
  return r.json['access_token'] as string;
}

const create = (ctx: Ctx, user: string, o: { token?: string; body?: unknown; address?: string; accessId?: string } = {}) =>
  call(ctx.w, 'POST', `/api/v2/application/${o.accessId ?? ctx.app.accessId}/application_user/${encodeURIComponent(user)}/auth_request`, { body: o.body ?? { action: 'VPN', description: 'Allow VPN for {0}?', ttl_seconds: 30, fingerprint: 'vpn.example' }, ...o });
const poll = (ctx: Ctx, uuid: string, o: { token?: string; address?: string; accessId?: string } = {}) => call(ctx.w, 'GET', `/api/v2/application/${o.accessId ?? ctx.app.accessId}/auth_request/${uuid}`, o);
/** Let the engine's verdict and its audit record land. */
const settle = () => new Promise((r) => setTimeout(r, 20));

P('client credentials: a form or JSON body, or HTTP Basic, gives a bearer token for urn:notakey:auth; it is not cached', async (ctx) => {
  const r = await call(ctx.w, 'POST', '/api/token', { form: { grant_type: 'client_credentials', client_id: ctx.app.clientId, client_secret: ctx.app.clientSecret, scope: 'urn:notakey:auth' } });
  assert.is(r.status, 200);
  assert.equal([r.json['token_type'], r.json['scope'], r.json['expires_in']], ['bearer', 'urn:notakey:auth', 7200]);
  assert.type(r.json['created_at'], 'number');
  assert.is(r.headers.get('cache-control'), 'no-store');
  const json = await call(ctx.w, 'POST', '/api/token', { body: { grant_type: 'client_credentials', client_id: ctx.app.clientId, client_secret: ctx.app.clientSecret } });
  assert.is(json.status, 200);
  const basic = await call(ctx.w, 'POST', '/api/token', { basic: `${ctx.app.clientId}:${ctx.app.clientSecret}`, form: { grant_type: 'client_credentials', scope: 'urn:notakey:auth urn:notakey:keyservice' } });
  assert.is(basic.status, 200);
  assert.is(basic.json['scope'], 'urn:notakey:auth', 'only the scope this service grants');
});

P('a wrong secret, an unknown client, another grant or scope: the OAuth2 errors', async (ctx) => {
  const wrong = await call(ctx.w, 'POST', '/api/token', { form: { grant_type: 'client_credentials', client_id: ctx.app.clientId, client_secret: 'ghs_wrong' } });
  assert.equal([wrong.status, wrong.json['error']], [401, 'invalid_client']);
  const basic = await call(ctx.w, 'POST', '/api/token', { basic: `${ctx.app.clientId}:nope`, form: { grant_type: 'client_credentials' } });
  assert.is(basic.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
  const unknown = await call(ctx.w, 'POST', '/api/token', { form: { grant_type: 'client_credentials', client_id: 'ghc_nobody', client_secret: ctx.app.clientSecret } });
  assert.equal([unknown.status, unknown.json['error']], [401, 'invalid_client']);
  const grant = await call(ctx.w, 'POST', '/api/token', { form: { grant_type: 'password', client_id: ctx.app.clientId, client_secret: ctx.app.clientSecret } });
  assert.equal([grant.status, grant.json['error']], [400, 'unsupported_grant_type']);
  const scope = await call(ctx.w, 'POST', '/api/token', { form: { grant_type: 'client_credentials', client_id: ctx.app.clientId, client_secret: ctx.app.clientSecret, scope: 'urn:notakey:keyservice' } });
  assert.equal([scope.status, scope.json['error']], [400, 'invalid_scope']);
  const junk = await call(ctx.w, 'POST', '/api/token', { body: '{"grant_type":' });
  assert.equal([junk.status, junk.json['error']], [400, 'invalid_request']);
});

P('approve and deny on the phone: the poll answers ApproveRequest or DenyRequest, each audited once', async (ctx) => {
  const t = await token(ctx);
  const a = await create(ctx, 'alice', { token: t, body: { action: 'VPN', description: 'Allow VPN for {0}?', ttl_seconds: '30', fingerprint: 'vpn.example' } });
  assert.is(a.status, 200);
  assert.equal([a.json['response_type'], a.json['expired'], a.json['ttl_seconds'], a.json['username']], [null, false, 30, 'alice']);
  const uuid = a.json['uuid'] as string;
  assert.match(uuid, /^[0-9a-f-]{36}$/);
  const pending = await poll(ctx, uuid, { token: t });
  assert.equal([pending.status, pending.json['response_type'], pending.json['expired']], [200, null, false]);
  // The phone sees it (title, text, where) and approves.
  const [req] = ctx.w.deps.pushRequests.forUser('alice');
  assert.equal([req!.title, req!.description, req!.fingerprint], ['VPN', 'Allow VPN for {0}?', 'vpn.example']);
  assert.ok(ctx.w.deps.pushRequests.decide(req!.id, 'approve'));
  await settle();
  const approved = await poll(ctx, uuid, { token: t });
  assert.equal([approved.json['response_type'], approved.json['expired']], ['ApproveRequest', false]);

  const d = await create(ctx, 'alice', { token: t });
  ctx.w.deps.pushRequests.decide(ctx.w.deps.pushRequests.forUser('alice')[0]!.id, 'deny');
  await settle();
  assert.is((await poll(ctx, d.json['uuid'] as string, { token: t })).json['response_type'], 'DenyRequest');

  const records = ctx.w.auditRows().filter((r) => r.event === 'pushapi.auth');
  assert.equal(
    records.map((r) => [r.outcome, r.reason, r.username, r.client]),
    [
      ['accept', 'push_approved', 'alice', 'vpn-proxy'],
      ['reject', 'push_denied', 'alice', 'vpn-proxy'],
    ],
  );
});

P('a request that runs out answers expired; a user without a phone or unknown is 404; bad fields are 400', async (ctx) => {
  const t = await token(ctx);
  const e = await create(ctx, 'alice', { token: t, body: { action: 'VPN', description: 'x', ttl_seconds: 1, fingerprint: 'f' } });
  await new Promise((r) => setTimeout(r, 1100));
  const expired = await poll(ctx, e.json['uuid'] as string, { token: t });
  assert.equal([expired.json['expired'], expired.json['response_type']], [true, null]);
  assert.is((await create(ctx, 'nophone', { token: t })).status, 404);
  assert.is((await create(ctx, 'nobody', { token: t })).status, 404);
  assert.ok(ctx.w.auditRows().some((r) => r.event === 'pushapi.auth' && r.username === 'nobody' && r.reason === 'unenrolled'));
  for (const body of [{ ttl_seconds: 'soon' }, { ttl_seconds: 0 }, { ttl_seconds: 999999 }, { action: 7 }, { description: 'x'.repeat(1001) }, '[1]']) {
    const r = await create(ctx, 'alice', { token: t, body });
    assert.is(r.status, 400, JSON.stringify(body));
    assert.type(r.json['error'], 'string');
  }
  assert.is((await poll(ctx, 'no-such-request', { token: t })).status, 404);
});

P('without a token only from a listed source; a token or request of another application is not this one', async (ctx) => {
  const bare = await create(ctx, 'alice');
  assert.is(bare.status, 401);
  assert.match(bare.headers.get('www-authenticate') ?? '', /^Bearer/);
  assert.is((await create(ctx, 'alice', { token: 'ght_forged' })).status, 401);
  const listed = await createPushApplication(ctx.w.deps.admin, 'admin:test', { name: 'mikrotik', sources: '192.0.2.7, 10.9.0.0/16' });
  assert.ok(listed.ok);
  const ok = await create(ctx, 'alice', { accessId: listed.value.accessId, address: '10.9.3.4' });
  assert.is(ok.status, 200);
  assert.is((await poll(ctx, ok.json['uuid'] as string, { accessId: listed.value.accessId, address: '::ffff:192.0.2.7' })).status, 200);
  assert.is((await create(ctx, 'alice', { accessId: listed.value.accessId, address: '192.0.2.8' })).status, 401);
  // vpn-proxy's token does not act for mikrotik, nor read its requests.
  const t = await token(ctx);
  assert.is((await create(ctx, 'alice', { accessId: listed.value.accessId, token: t })).status, 401);
  assert.is((await poll(ctx, ok.json['uuid'] as string, { token: t })).status, 404);
  assert.is((await create(ctx, 'alice', { accessId: '00000000-0000-0000-0000-000000000000', token: t })).status, 404);
  const refused = ctx.w.auditRows().filter((r) => r.event === 'pushapi.refused').map((r) => r.reason);
  assert.ok(['source_not_allowed', 'bad_token', 'unknown_application'].every((x) => refused.includes(x)), refused.join(','));
});

P('the rate limit per application holds under parallel calls: exactly the limit gets through', async (ctx) => {
  const slow = await createPushApplication(ctx.w.deps.admin, 'admin:test', { name: 'slow', sources: '192.0.2.0/24', rate: '5' });
  assert.ok(slow.ok);
  const results = await Promise.all(Array.from({ length: 40 }, () => create(ctx, 'alice', { accessId: slow.value.accessId })));
  // The clock stands still in these tests: nothing refills the bucket.
  assert.is(results.filter((r) => r.status === 200).length, 5);
  assert.is(results.filter((r) => r.status === 429).length, 35);
  assert.ok(ctx.w.auditRows().some((r) => r.event === 'pushapi.refused' && r.reason === 'rate_limited' && r.client === 'slow'));
});

P('no client secret, access token or device token reaches the audit log', async (ctx) => {
  const t = await token(ctx);
  await call(ctx.w, 'POST', '/api/token', { form: { grant_type: 'client_credentials', client_id: ctx.app.clientId, client_secret: `${ctx.app.clientSecret}x` } });
  await create(ctx, 'alice', { token: t });
  await create(ctx, 'alice', { token: `${t}x` });
  const all = JSON.stringify(ctx.w.auditRows());
  for (const secret of [ctx.app.clientSecret, t, 'ghd_x']) assert.not.ok(all.includes(secret), 'a secret in the audit log');
  assert.not.ok(JSON.stringify(ctx.w.logs()).includes(ctx.app.clientSecret));
});

P('the Push API page: an application added shows its credentials once; a refused form says why next to the field; change and remove', async (ctx) => {
  const me = await ctx.w.adminSession('root');
  const post = (path: string, fields: Record<string, string>) => ctx.w.app.request(path, { method: 'POST', headers: me.form, body: new URLSearchParams({ _csrf: me.csrf, ...fields }).toString() });
  const bad = await post('/applications', { name: 'gw', sources: '10.0.0.0/99' });
  assert.is(bad.status, 400);
  assert.match(await bad.text(), /10\.0\.0\.0\/99 is not an IP address or CIDR prefix/);
  const added = await post('/applications', { name: 'gw', sources: '10.0.0.1', rate: '50' });
  assert.is(added.status, 303);
  const shown = await ctx.w.app.request(added.headers.get('location')!, { headers: me.headers });
  const html = await shown.text();
  const secret = /<code id="new-secret">([^<]+)<\/code>/.exec(html)?.[1];
  assert.ok(secret?.startsWith('ghs_'), 'the client secret is on the page once');
  assert.match(html, /http:\/\/localhost:8080\/api\//);
  const again = await (await ctx.w.app.request(added.headers.get('location')!, { headers: me.headers })).text();
  assert.not.ok(again.includes(secret!), 'and not again');
  assert.match(again, /10\.0\.0\.1\/32/);
  const refused = await post('/applications/edit', { name: 'gw', sources: '', rate: 'fast' });
  assert.is(refused.status, 400);
  assert.match(await refused.text(), /rate limit must be a whole number/);
  assert.is((await post('/applications/edit', { name: 'gw', sources: '', rate: '0' })).status, 303);
  assert.match(await (await ctx.w.app.request('/applications', { headers: me.headers })).text(), /nowhere \(token needed\)/);
  assert.is((await post('/applications/remove', { name: 'gw' })).status, 303);
  assert.not.match(await (await ctx.w.app.request('/applications', { headers: me.headers })).text(), /<td>gw<\/td>/);
  assert.not.ok(JSON.stringify(ctx.w.auditRows()).includes(secret!));
});

P('the JSON API manages applications: the secret once, changes, a new secret revokes the old tokens', async (ctx) => {
  const admin = await ctx.w.apiToken('ops');
  const api = (method: string, path: string, body?: unknown) => ctx.w.app.request(`/api/v1${path}`, { method, headers: { Authorization: `Bearer ${admin}`, ...(body ? { 'Content-Type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const made = await api('POST', '/applications', { name: 'auth-proxy', allowedSources: ['192.0.2.0/28'], rateLimit: 100 });
  assert.is(made.status, 201);
  const created = (await made.json()) as { clientSecret: string; accessId: string; apiUrl: string };
  assert.is(created.apiUrl, 'http://localhost:8080/api/');
  const list = (await (await api('GET', '/applications')).json()) as { applications: Record<string, unknown>[] };
  assert.not.ok(JSON.stringify(list).includes(created.clientSecret));
  assert.equal(list.applications.find((a) => a['name'] === 'auth-proxy')!['allowedSources'], ['192.0.2.0/28']);
  const bad = await api('PATCH', '/applications/auth-proxy', { rateLimit: -1 });
  assert.equal([bad.status, ((await bad.json()) as { field: string }).field], [400, 'rateLimit']);
  const t = await token(ctx);
  const renewed = await api('POST', '/applications/vpn-proxy/secret');
  assert.is(renewed.status, 200);
  assert.is((await create(ctx, 'alice', { token: t })).status, 401, 'the old token is revoked with the old secret');
  assert.is((await api('DELETE', '/applications/auth-proxy')).status, 204);
  assert.is((await api('DELETE', '/applications/auth-proxy')).status, 404);
});

P.run();
