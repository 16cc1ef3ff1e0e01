// app/routes/api.ts through the whole HTTP app (app.request(), no socket), PocketBase ApiScenario
// style: each row gets a fresh app and store, sends one request with the API token `ci`, and is
// checked for status, body text, the audit records it wrote (exactly those, each with actor
// token:ci) and that no secret of the row reached the audit log.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { deleteApiToken, findApiTokenByHash, insertAdmin } from '../../app/db/queries/admins.js';
import { tokenHash } from '../../app/lib/tokens.js';
import { addClient } from '../../app/admin/clients.js';
import { setDownstream } from '../../app/admin/downstream.js';
import { setSetting } from '../../app/admin/settings.js';
import { addUser, enrolUserTotp, setUserProfile } from '../../app/admin/users.js';
import { createApiRoutes } from '../../app/routes/api.js';
import type { OpenApiDocument } from '../../app/routes/openapi.js';
import { makeWebApp, WEB_START, type WebApp, type WebAppOptions } from '../helpers/web.js';
import { base32Decode, hotp, totpStep } from '../../app/mfa/otp.js';

/** The code an app shows at `ms` for a base32 seed (the enrolment defaults: SHA1, 6 digits, 30 s). */
const codeAt = (seed: string, ms: number, offset = 0) => hotp(base32Decode(seed), totpStep(ms, 30) + offset, 6);
/** Six digits that are none of the codes accepted at `ms`. */
function wrongCodeAt(seed: string, ms: number): string {
  const valid = new Set([-1, 0, 1].map((o) => codeAt(seed, ms, o)));
  for (let i = 0; ; i++) if (!valid.has(String(i).padStart(6, '0'))) return String(i).padStart(6, '0');
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const FLAG_SECRET = 'flag-secret-9f3k';
const STORED_SECRET = 'stored-secret-x7q2';
const DOWN_SECRET = 'down-secret-4hv8';

interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

interface Scenario {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  /** Extra or replacing headers. */
  headers?: Record<string, string>;
  /** Default: the token of `ci`; false: no Authorization header; a string: that header value. */
  auth?: false | string;
  /** An object is sent as JSON; a string as it is (with the headers given). */
  body?: unknown;
  opts?: WebAppOptions;
  setup?(w: WebApp): void | Promise<void>;
  status: number;
  contains?: string[];
  notContains?: string[];
  /** The events this request writes to the audit, in order; default none. */
  auditEvents?: string[];
  /** More strings that must never reach the audit log. */
  secrets?: string[];
  check?(res: Res, w: WebApp, token: string): void | Promise<void>;
}

const send = async (w: WebApp, method: string, url: string, token: string | false, body?: unknown, headers: Record<string, string> = {}): Promise<Res> => {
  const h: Record<string, string> = {};
  if (token !== false) h['Authorization'] = token.startsWith('Bearer ') || token.startsWith('Basic ') ? token : `Bearer ${token}`;
  let payload: string | undefined;
  if (typeof body === 'string') payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['Content-Type'] = 'application/json';
  }
  const res = await w.app.request(url, { method, headers: { ...h, ...headers }, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
};

async function run(s: Scenario): Promise<void> {
  const w = await makeWebApp(s.opts);
  try {
    const token = await w.apiToken('ci');
    await s.setup?.(w);
    const before = w.auditRows().length;
    const auth = s.auth === undefined ? token : s.auth;
    const res = await send(w, s.method, s.url, auth, s.body, s.headers);
    assert.is(res.status, s.status, `${s.name}: status (body ${res.text.slice(0, 300)})`);
    for (const c of s.contains ?? []) assert.ok(res.text.includes(c), `${s.name}: body should contain ${c}\n${res.text.slice(0, 600)}`);
    for (const c of s.notContains ?? []) assert.not.ok(res.text.includes(c), `${s.name}: body should not contain ${c}`);
    // Every answer but 204 is JSON; errors carry a message and never a stack trace.
    if (res.status !== 204) assert.match(res.headers.get('Content-Type') ?? '', /^application\/json/, `${s.name}: content type`);
    if (res.status >= 400) {
      assert.type(res.json?.error, 'string', `${s.name}: error message`);
      assert.not.match(res.text, /\bat .+:\d+:\d+|node_modules|\.ts\b/, `${s.name}: no stack trace`);
    }
    // Exactly the expected audit records, each naming the token.
    const written = w.auditRows().slice(before);
    assert.equal(
      written.map((r) => r.event),
      s.auditEvents ?? [],
      `${s.name}: audit events`,
    );
    for (const r of written) assert.is(r.actor, 'token:ci', `${s.name}: actor`);
    // No secret of this row in the audit log: the token, secrets sent or returned, TOTP seeds.
    const secrets = [token, tokenHash(token), FLAG_SECRET, STORED_SECRET, DOWN_SECRET, ...(s.secrets ?? [])];
    const b = s.body as Record<string, unknown> | undefined;
    if (typeof b === 'object' && typeof b?.['secret'] === 'string') secrets.push(b['secret'] as string);
    if (typeof res.json?.secret === 'string') secrets.push(res.json.secret as string);
    if (typeof res.json?.uri === 'string') secrets.push(new URL(res.json.uri as string).searchParams.get('secret') ?? 'no secret in the URI');
    const all = JSON.stringify(w.auditRows());
    for (const x of secrets) assert.not.ok(all.includes(x), `${s.name}: a secret reached the audit log`);
    await s.check?.(res, w, token);
  } finally {
    w.close();
  }
}

const fixedClient: WebAppOptions = { argv: ['--address-secret-in', `10.9.9.9:${FLAG_SECRET}`] };
const storedClient = async (w: WebApp) => assert.ok((await addClient(w.deps.admin, 'setup', { name: 'vpn', address: '10.0.0.0/24', secret: STORED_SECRET })).ok);
const users = (...names: string[]) => async (w: WebApp) => {
  for (const n of names) assert.ok((await addUser(w.deps.admin, 'setup', n)).ok);
};
const records = (n: number) => async (w: WebApp) => {
  for (let i = 1; i <= n; i++) {
    await w.deps.audit.record({ event: i % 2 ? 'radius.auth' : 'client.add', outcome: i % 3 ? 'accept' : 'reject', username: i % 2 ? 'alice' : 'bob', source: `192.0.2.${i}`, details: { packetId: i } });
    w.clock.advance(60_000);
  }
};

const scenarios: Scenario[] = [
  // --- authentication
  { name: 'no token: 401 with WWW-Authenticate', method: 'GET', url: '/api/v1/status', auth: false, status: 401, contains: ['Bearer <token>'], check: (r) => assert.match(r.headers.get('WWW-Authenticate') ?? '', /^Bearer/) },
  { name: 'wrong token: 401', method: 'GET', url: '/api/v1/status', auth: 'gh_not-a-real-token', status: 401, check: (r) => assert.match(r.headers.get('WWW-Authenticate') ?? '', /^Bearer .*invalid_token/) },
  { name: 'not a bearer header: 401', method: 'GET', url: '/api/v1/clients', auth: 'Basic YWRtaW46YWRtaW4=', status: 401 },
  { name: 'revoked token: 401', method: 'GET', url: '/api/v1/clients', status: 401, setup: async (w) => void await deleteApiToken(w.store, 'ci') },
  { name: 'no token on a change: 401 and nothing written', method: 'POST', url: '/api/v1/users', auth: false, body: { username: 'mallory' }, status: 401, check: async (_r, w, t) => assert.is((await send(w, 'GET', '/api/v1/users', t)).json.users.length, 0) },
  { name: 'a session cookie is not a token', method: 'GET', url: '/api/v1/status', auth: false, status: 401, check: async (_r, w) => assert.is((await send(w, 'GET', '/api/v1/status', false, undefined, (await w.adminSession()).headers)).status, 401) },
  { name: 'openapi.json needs no token', method: 'GET', url: '/api/v1/openapi.json', auth: false, status: 200, contains: ['"openapi":"3.1.0"', '"bearer"', `"version":"${VERSION}"`] },
  { name: 'unknown route: 404 JSON', method: 'GET', url: '/api/v1/nothing/here', status: 404, contains: ['no such endpoint'] },
  { name: 'unknown method on a known path: 404 JSON', method: 'DELETE', url: '/api/v1/status', status: 404 },
  { name: 'unknown route without a token: 401', method: 'GET', url: '/api/v1/nothing', auth: false, status: 401 },
  { name: 'the API root: 404 JSON', method: 'GET', url: '/api/v1', status: 404 },

  // --- bodies
  { name: 'wrong content type: 415', method: 'POST', url: '/api/v1/users', body: 'username=alice', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, status: 415, contains: ['application/json'] },
  { name: 'no content type: 415', method: 'POST', url: '/api/v1/users', body: '{"username":"alice"}', headers: { 'Content-Type': '' }, status: 415 },
  { name: 'malformed JSON: 400, body not echoed', method: 'POST', url: '/api/v1/clients', body: '{"address":"10.0.0.1","secret":"leaky-secret-123', headers: { 'Content-Type': 'application/json' }, status: 400, contains: ['not valid JSON'], notContains: ['leaky'] },
  { name: 'JSON that is not an object: 400', method: 'POST', url: '/api/v1/users', body: '["alice"]', headers: { 'Content-Type': 'application/json' }, status: 400, contains: ['JSON object'] },
  { name: 'a field of the wrong type: 400 with field', method: 'POST', url: '/api/v1/clients', body: { address: 10 }, status: 400, contains: ['"field":"address"'] },
  { name: 'JSON with a charset is fine', method: 'POST', url: '/api/v1/users', body: '{"username":"alice"}', headers: { 'Content-Type': 'application/json; charset=utf-8' }, status: 201, auditEvents: ['user.add'] },
  { name: 'oversized body (Content-Length): 413', method: 'POST', url: '/api/v1/users', body: JSON.stringify({ username: 'a', pad: 'x'.repeat(70_000) }), headers: { 'Content-Type': 'application/json', 'Content-Length': '70024' }, status: 413, contains: ['64 KiB'] },
  { name: 'oversized body (no Content-Length): 413', method: 'PUT', url: '/api/v1/settings/message-title', body: { value: 'x'.repeat(70_000) }, status: 413 },
  {
    name: 'internal errors: 500 without details',
    method: 'GET',
    url: '/api/v1/clients',
    opts: {
      overrides: {
        runtimeClients: () => {
          throw new Error('boom in /srv/secret/path.ts');
        },
      },
    },
    status: 500,
    contains: ['internal error'],
    notContains: ['boom', 'path'],
  },

  // --- status
  {
    name: 'status: version, health, totals, pending',
    method: 'GET',
    url: '/api/v1/status',
    setup: (w) => {
      w.counters.inc('requests', undefined, 7);
      w.counters.inc('accepts', 'push_approved', 3);
      w.counters.inc('drops', 'unknown_client');
      w.runtime.health = { downstream: 'ok', push: 'failing' };
      w.runtime.pending.push({ username: 'alice', door: 'radius', client: 'vpn', station: '198.51.100.4', startedAt: WEB_START, ttlSeconds: 60, waiting: 2 });
    },
    status: 200,
    check: (r) => {
      assert.is(r.json.version, VERSION);
      assert.equal(r.json.health, { downstream: 'ok', push: 'failing' });
      assert.is(r.json.totals.requests, 7);
      assert.is(r.json.totals.accepts, 3);
      assert.is(r.json.totals.drops, 1);
      assert.equal(r.json.pending, { pushes: 1, logins: 2 });
      assert.is(r.json.counters['drops{reason="unknown_client"}'], 1);
      assert.is(r.headers.get('Cache-Control'), 'no-store');
    },
  },

  // --- clients
  {
    name: 'clients: stored and flag ones, activity, no secrets',
    method: 'GET',
    url: '/api/v1/clients',
    opts: fixedClient,
    setup: async (w) => {
      await storedClient(w);
      w.runtime.activity.set('10.0.0.0/24', { lastSeen: WEB_START - 5000, sentMessageAuthenticator: true });
    },
    status: 200,
    notContains: [FLAG_SECRET, STORED_SECRET, 'secret'],
    check: (r) => {
      const byAddr = Object.fromEntries((r.json.clients as { address: string }[]).map((c) => [c.address, c]));
      assert.equal(byAddr['10.9.9.9/32'], { name: '10.9.9.9/32', address: '10.9.9.9/32', source: 'flag', readOnly: true, requireMessageAuthenticator: 'auto', messageAuthenticatorSeen: false, firstFactor: 'default', lastSeen: null, sendsMessageAuthenticator: null });
      assert.equal(byAddr['10.0.0.0/24'], { name: 'vpn', address: '10.0.0.0/24', source: 'db', readOnly: false, requireMessageAuthenticator: 'auto', messageAuthenticatorSeen: false, firstFactor: 'default', lastSeen: '2025-06-02T09:59:55.000Z', sendsMessageAuthenticator: true });
    },
  },
  {
    name: 'clients: add with a generated secret, shown once',
    method: 'POST',
    url: '/api/v1/clients',
    body: { name: 'Core VPN', address: '10.0.0.0/24', requireMessageAuthenticator: 'yes' },
    status: 201,
    auditEvents: ['client.add'],
    check: async (r, w, t) => {
      assert.equal(Object.keys(r.json).sort(), ['address', 'name', 'secret']);
      assert.is(r.json.address, '10.0.0.0/24');
      assert.match(r.json.secret, /^[A-Za-z0-9]{32}$/);
      assert.is(r.headers.get('Location'), '/api/v1/clients/10.0.0.0%2F24');
      assert.is(r.headers.get('Cache-Control'), 'no-store');
      assert.is(w.changes(), 1);
      const list = await send(w, 'GET', '/api/v1/clients', t);
      assert.ok(list.text.includes('Core VPN'));
      assert.ok(list.text.includes('"requireMessageAuthenticator":"yes"'));
      assert.not.ok(list.text.includes(r.json.secret), 'the secret is never listed');
    },
  },
  { name: 'clients: add with a chosen secret', method: 'POST', url: '/api/v1/clients', body: { address: '192.0.2.1', secret: 'chosen-secret-55' }, status: 201, contains: ['"secret":"chosen-secret-55"', '"address":"192.0.2.1/32"', '"name":"192.0.2.1/32"'], auditEvents: ['client.add'] },
  { name: 'clients: add IPv6', method: 'POST', url: '/api/v1/clients', body: { address: '2001:db8::/32' }, status: 201, contains: ['"address":"2001:db8::/32"'], auditEvents: ['client.add'] },
  { name: 'clients: bad address: 400 with field', method: 'POST', url: '/api/v1/clients', body: { address: '10.0.0.300' }, status: 400, contains: ['"field":"address"', 'IP address or CIDR'] },
  { name: 'clients: missing address: 400', method: 'POST', url: '/api/v1/clients', body: {}, status: 400, contains: ['"field":"address"'] },
  { name: 'clients: short secret: 400', method: 'POST', url: '/api/v1/clients', body: { address: '10.0.0.1', secret: 'short' }, status: 400, contains: ['"field":"secret"'], notContains: ['short"'] },
  { name: 'clients: bad Message-Authenticator choice: 400', method: 'POST', url: '/api/v1/clients', body: { address: '10.0.0.1', requireMessageAuthenticator: 'maybe' }, status: 400, contains: ['"field":"requireMessageAuthenticator"'] },
  { name: 'clients: bad first factor: 400', method: 'POST', url: '/api/v1/clients', body: { address: '10.0.0.1', firstFactor: 'ldap' }, status: 400, contains: ['"field":"firstFactor"', 'downstream, directory or default'] },
  {
    name: 'clients: the directory as first factor, then back to the default',
    method: 'PATCH',
    url: '/api/v1/clients/10.0.0.0%2F24',
    setup: storedClient,
    body: { firstFactor: 'directory' },
    status: 200,
    contains: ['"firstFactor":"directory"'],
    auditEvents: ['client.edit'],
    check: async (_r, w, t) => {
      const back = await send(w, 'PATCH', '/api/v1/clients/10.0.0.0%2F24', t, { firstFactor: 'default' });
      assert.is(back.status, 200);
      assert.match(back.text, /"firstFactor":"default"/);
    },
  },
  { name: 'clients: duplicate: 409', method: 'POST', url: '/api/v1/clients', setup: storedClient, body: { address: '10.0.0.0/24' }, status: 409, contains: ['already exists', '"field":"address"'] },
  { name: 'clients: address of a flag client: 409', method: 'POST', url: '/api/v1/clients', opts: fixedClient, body: { address: '10.9.9.9' }, status: 409, contains: ['--address-secret-in'] },
  {
    name: 'clients: edit (address URL-encoded)',
    method: 'PATCH',
    url: '/api/v1/clients/10.0.0.0%2F24',
    setup: storedClient,
    body: { name: 'Branch VPN', requireMessageAuthenticator: 'no' },
    status: 200,
    contains: ['"name":"Branch VPN"', '"requireMessageAuthenticator":"no"', '"address":"10.0.0.0/24"'],
    auditEvents: ['client.edit'],
  },
  {
    name: 'clients: new secret is audited as changed, not shown',
    method: 'PATCH',
    url: '/api/v1/clients/10.0.0.0%2F24',
    setup: storedClient,
    body: { secret: 'rotated-secret-77' },
    status: 200,
    notContains: ['rotated-secret-77'],
    auditEvents: ['client.edit'],
    check: (_r, w) => assert.ok(JSON.stringify(w.auditRows().at(-1)).includes('secret changed')),
  },
  { name: 'clients: edit unknown: 404', method: 'PATCH', url: '/api/v1/clients/10.1.1.1', body: { name: 'x' }, status: 404 },
  { name: 'clients: edit with a bad name: 400', method: 'PATCH', url: '/api/v1/clients/10.0.0.0%2F24', setup: storedClient, body: { name: '' }, status: 400, contains: ['"field":"name"'] },
  { name: 'clients: edit a flag client: 409', method: 'PATCH', url: '/api/v1/clients/10.9.9.9', opts: fixedClient, body: { name: 'x' }, status: 409 },
  { name: 'clients: edit without a JSON body: 415', method: 'PATCH', url: '/api/v1/clients/10.0.0.0%2F24', setup: storedClient, status: 415 },
  {
    name: 'clients: remove',
    method: 'DELETE',
    url: '/api/v1/clients/10.0.0.0%2F24',
    setup: storedClient,
    status: 204,
    auditEvents: ['client.remove'],
    check: async (r, w, t) => {
      assert.is(r.text, '');
      assert.equal((await send(w, 'GET', '/api/v1/clients', t)).json.clients, []);
    },
  },
  { name: 'clients: remove unknown: 404', method: 'DELETE', url: '/api/v1/clients/10.0.0.0%2F24', status: 404 },
  { name: 'clients: remove a flag client: 409', method: 'DELETE', url: '/api/v1/clients/10.9.9.9%2F32', opts: fixedClient, status: 409 },

  // --- downstream
  { name: 'downstream: none', method: 'GET', url: '/api/v1/downstream', status: 200, check: (r) => assert.equal(r.json, { downstream: null }) },
  {
    name: 'downstream: set',
    method: 'PUT',
    url: '/api/v1/downstream',
    body: { host: '192.0.2.10', port: 1813, secret: DOWN_SECRET, requireMessageAuthenticator: true },
    status: 200,
    notContains: [DOWN_SECRET],
    auditEvents: ['downstream.set'],
    check: async (r, w, t) => {
      const want = { name: '192.0.2.10:1813', host: '192.0.2.10', port: 1813, source: 'db', readOnly: false, requireMessageAuthenticator: true };
      assert.equal(r.json.downstream, want);
      assert.equal((await send(w, 'GET', '/api/v1/downstream', t)).json.downstream, want);
    },
  },
  { name: 'downstream: port as text, default port', method: 'PUT', url: '/api/v1/downstream', body: { host: 'radius.example', secret: DOWN_SECRET }, status: 200, contains: ['"port":1812', '"requireMessageAuthenticator":false'], auditEvents: ['downstream.set'] },
  { name: 'downstream: bad port: 400', method: 'PUT', url: '/api/v1/downstream', body: { host: '192.0.2.10', port: 70000, secret: DOWN_SECRET }, status: 400, contains: ['"field":"port"'] },
  { name: 'downstream: no secret: 400', method: 'PUT', url: '/api/v1/downstream', body: { host: '192.0.2.10' }, status: 400, contains: ['"field":"secret"'] },
  { name: 'downstream: Message-Authenticator must be boolean: 400', method: 'PUT', url: '/api/v1/downstream', body: { host: '192.0.2.10', secret: DOWN_SECRET, requireMessageAuthenticator: 'yes' }, status: 400, contains: ['"field":"requireMessageAuthenticator"'] },
  {
    name: 'downstream: set by the environment: read-only',
    method: 'GET',
    url: '/api/v1/downstream',
    opts: { env: { DOWNSTREAM_ADDRESS: '192.0.2.99', SECRET_OUT: DOWN_SECRET } },
    status: 200,
    notContains: [DOWN_SECRET],
    check: (r) => assert.equal(r.json.downstream, { name: '192.0.2.99:1812', host: '192.0.2.99', port: 1812, source: 'env', readOnly: true, requireMessageAuthenticator: false }),
  },
  { name: 'downstream: set by the environment: 409', method: 'PUT', url: '/api/v1/downstream', opts: { env: { DOWNSTREAM_ADDRESS: '192.0.2.99', SECRET_OUT: DOWN_SECRET } }, body: { host: '192.0.2.10', secret: 'other-secret-1' }, status: 409, contains: ['environment'] },
  { name: 'downstream: remove', method: 'DELETE', url: '/api/v1/downstream', setup: async (w) => assert.ok((await setDownstream(w.deps.admin, 'setup', { host: '192.0.2.10', secret: DOWN_SECRET })).ok), status: 204, auditEvents: ['downstream.remove'] },
  { name: 'downstream: remove when none: 404', method: 'DELETE', url: '/api/v1/downstream', status: 404 },

  // --- settings
  {
    name: 'settings: storable ones with value and source',
    method: 'GET',
    url: '/api/v1/settings',
    opts: { env: { MESSAGE_TITLE: 'Corp VPN' } },
    setup: async (w) => assert.ok((await setSetting(w.deps.admin, 'setup', 'failmode', 'safe')).ok),
    status: 200,
    notContains: ['"key":"data-dir"', '"key":"secret-out"', '"key":"address-secret-in"'],
    check: (r) => {
      interface Row {
        key: string;
        value: string | null;
        source: string;
        readOnly: boolean;
        help: string;
      }
      const by = new Map((r.json.settings as Row[]).map((x) => [x.key, x]));
      assert.equal(by.get('failmode'), { key: 'failmode', env: 'FAILMODE', value: 'safe', default: 'secure', source: 'stored', readOnly: false, help: by.get('failmode')?.help });
      assert.equal(by.get('message-title')?.value, 'Corp VPN');
      assert.is(by.get('message-title')?.source, 'env');
      assert.is(by.get('message-title')?.readOnly, true);
      assert.is(by.get('notakey-host')?.value, null);
      assert.is(by.get('notakey-timeout')?.value, '5');
    },
  },
  { name: 'settings: set', method: 'PUT', url: '/api/v1/settings/failmode', body: { value: 'safe' }, status: 200, contains: ['"value":"safe"', '"source":"stored"'], auditEvents: ['settings.set'] },
  { name: 'settings: a number is taken as text', method: 'PUT', url: '/api/v1/settings/notakey-timeout', body: { value: 10 }, status: 200, contains: ['"value":"10"'], auditEvents: ['settings.set'] },
  { name: 'settings: empty value goes back to the default', method: 'PUT', url: '/api/v1/settings/failmode', setup: async (w) => assert.ok((await setSetting(w.deps.admin, 'setup', 'failmode', 'safe')).ok), body: { value: '' }, status: 200, contains: ['"value":"secure"', '"source":"default"'], auditEvents: ['settings.unset'] },
  { name: 'settings: bad value: 400 with field', method: 'PUT', url: '/api/v1/settings/failmode', body: { value: 'sometimes' }, status: 400, contains: ['"field":"value"', 'secure, safe'] },
  { name: 'settings: value missing: 400', method: 'PUT', url: '/api/v1/settings/failmode', body: {}, status: 400, contains: ['"field":"value"'] },
  { name: 'settings: unknown key: 404', method: 'PUT', url: '/api/v1/settings/no-such-thing', body: { value: 'x' }, status: 404 },
  { name: 'settings: not storable: 404', method: 'PUT', url: '/api/v1/settings/secret-out', body: { value: 'x' }, status: 404 },
  { name: 'settings: fixed by the environment: 409', method: 'PUT', url: '/api/v1/settings/failmode', opts: { env: { FAILMODE: 'safe' } }, body: { value: 'secure' }, status: 409, contains: ['FAILMODE'] },
  { name: 'settings: fixed by a flag: 409', method: 'PUT', url: '/api/v1/settings/failmode', opts: { argv: ['--failmode', 'safe'] }, body: { value: 'secure' }, status: 409, contains: ['--failmode'] },

  // --- users
  { name: 'users: search', method: 'GET', url: '/api/v1/users?q=ALI', setup: users('alice', 'bob', 'malice'), status: 200, contains: ['"username":"alice"', '"username":"malice"'], notContains: ['bob'] },
  {
    name: 'users: list all with their state',
    method: 'GET',
    url: '/api/v1/users',
    setup: async (w) => {
      await users('alice', 'bob')(w);
      assert.ok((await enrolUserTotp(w.deps.admin, 'setup', 'bob', { activate: 'now' })).ok);
    },
    status: 200,
    check: (r) => {
      assert.equal(
        (r.json.users as { username: string; hasTotp: boolean; locked: boolean }[]).map((u) => [u.username, u.hasTotp, u.locked]),
        [
          ['alice', false, false],
          ['bob', true, false],
        ],
      );
      assert.equal(Object.keys(r.json.users[0]).sort(), ['createdAt', 'displayName', 'email', 'failedAttempts', 'groups', 'hasTotp', 'locked', 'lockedUntil', 'totpPending', 'username']);
      assert.is(r.json.total, 2);
      assert.is(r.json.next_after, null);
    },
  },
  { name: 'users: add (normalised)', method: 'POST', url: '/api/v1/users', body: { username: 'Alice' }, status: 201, contains: ['"username":"alice"', '"hasTotp":false'], auditEvents: ['user.add'], check: (r) => assert.is(r.headers.get('Location'), '/api/v1/users/alice') },
  { name: 'users: add duplicate: 409', method: 'POST', url: '/api/v1/users', setup: users('alice'), body: { username: 'ALICE' }, status: 409, contains: ['"field":"username"'] },
  { name: 'users: add without a name: 400', method: 'POST', url: '/api/v1/users', body: { username: '  ' }, status: 400, contains: ['"field":"username"'] },
  { name: 'users: remove', method: 'DELETE', url: '/api/v1/users/alice', setup: users('alice'), status: 204, auditEvents: ['user.remove'] },
  { name: 'users: remove unknown: 404', method: 'DELETE', url: '/api/v1/users/nobody', status: 404, contains: ['no user nobody'] },
  { name: 'users: lock (name URL-encoded)', method: 'POST', url: '/api/v1/users/CORP%5Cjdoe/lock', setup: users('corp\\jdoe'), status: 200, contains: ['"username":"corp\\\\jdoe"', '"locked":true'], auditEvents: ['user.lock'] },
  {
    name: 'users: unlock',
    method: 'POST',
    url: '/api/v1/users/alice/unlock',
    setup: async (w) => {
      await users('alice')(w);
      w.store.sqlite.prepare("UPDATE users SET locked = 1, failed_attempts = 5 WHERE username = 'alice'").run();
    },
    status: 200,
    contains: ['"locked":false', '"failedAttempts":0'],
    auditEvents: ['user.unlock'],
  },
  { name: 'users: lock unknown: 404', method: 'POST', url: '/api/v1/users/nobody/lock', status: 404 },
  {
    name: 'users: TOTP enrolment returns the otpauth URI once',
    method: 'POST',
    url: '/api/v1/users/Bob/totp',
    status: 201,
    auditEvents: ['totp.enroll'],
    check: async (r, w, t) => {
      assert.equal(Object.keys(r.json).sort(), ['confirmed', 'uri', 'username']);
      assert.is(r.json.username, 'bob');
      assert.is(r.json.confirmed, false);
      assert.match(r.json.uri, /^otpauth:\/\/totp\/Gatehouse:bob\?secret=[A-Z2-7]{32}&/);
      assert.is(r.headers.get('Cache-Control'), 'no-store');
      const seed = new URL(r.json.uri as string).searchParams.get('secret')!;
      // It waits for a code: it does not count yet.
      const before = await send(w, 'GET', '/api/v1/users/bob', t);
      assert.is(before.json.hasTotp, false);
      assert.is(before.json.totpPending, true);
      assert.not.ok(before.text.includes(seed));
      const wrong = await send(w, 'POST', '/api/v1/users/bob/totp/confirm', t, { code: wrongCodeAt(seed, w.clock.now()) });
      assert.is(wrong.status, 400);
      assert.is(wrong.json.field, 'code');
      const right = await send(w, 'POST', '/api/v1/users/bob/totp/confirm', t, { code: codeAt(seed, w.clock.now()) });
      assert.is(right.status, 200, right.text);
      assert.is(right.json.hasTotp, true);
      assert.is(right.json.totpPending, false);
      assert.equal(w.auditRows().slice(-2).map((x) => [x.event, x.outcome, x.reason]), [['totp.confirm', 'reject', 'wrong_code'], ['totp.confirm', 'ok', null]]);
      const again = await send(w, 'POST', '/api/v1/users/bob/totp/confirm', t, { code: codeAt(seed, w.clock.now()) });
      assert.is(again.status, 404, 'confirmed once');
    },
  },
  {
    name: 'users: TOTP enrolment with activate now counts at once (provisioning)',
    method: 'POST',
    url: '/api/v1/users/bob/totp',
    body: { activate: 'now' },
    status: 201,
    contains: ['"confirmed":true'],
    auditEvents: ['totp.enroll'],
    check: async (_r, w, t) => assert.is((await send(w, 'GET', '/api/v1/users/bob', t)).json.hasTotp, true),
  },
  { name: 'users: TOTP enrolment with a bad activate: 400', method: 'POST', url: '/api/v1/users/bob/totp', body: { activate: 'later' }, status: 400, contains: ['"field":"activate"'] },
  { name: 'users: confirm without an enrolment waiting: 404', method: 'POST', url: '/api/v1/users/alice/totp/confirm', setup: users('alice'), body: { code: '123456' }, status: 404, contains: ['no enrolment waiting'] },
  { name: 'users: confirm with letters: 400', method: 'POST', url: '/api/v1/users/bob/totp/confirm', setup: async (w) => assert.ok((await enrolUserTotp(w.deps.admin, 'setup', 'bob', { activate: 'after-code' })).ok), body: { code: 'abcdef' }, status: 400, contains: ['6 digits'] },
  { name: 'users: cancel an enrolment waiting', method: 'DELETE', url: '/api/v1/users/bob/totp/pending', setup: async (w) => assert.ok((await enrolUserTotp(w.deps.admin, 'setup', 'bob', { activate: 'after-code' })).ok), status: 204, auditEvents: ['totp.enroll.cancel'] },
  {
    name: 'users: pages in name order; next_after continues; total counts every match',
    method: 'GET',
    url: '/api/v1/users?limit=2',
    setup: users('dora', 'alice', 'carl', 'bob', 'erin'),
    status: 200,
    check: async (r, w, t) => {
      assert.equal(r.json.users.map((u: { username: string }) => u.username), ['alice', 'bob']);
      assert.is(r.json.total, 5);
      assert.is(r.json.next_after, 'bob');
      const p2 = await send(w, 'GET', '/api/v1/users?limit=2&after=bob', t);
      assert.equal(p2.json.users.map((u: { username: string }) => u.username), ['carl', 'dora']);
      const p3 = await send(w, 'GET', '/api/v1/users?limit=2&after=dora', t);
      assert.equal(p3.json.users.map((u: { username: string }) => u.username), ['erin']);
      assert.is(p3.json.next_after, null);
    },
  },
  { name: 'users: a bad limit: 400', method: 'GET', url: '/api/v1/users?limit=5000', status: 400, contains: ['"field":"limit"'] },
  {
    name: 'users: add with a profile; search finds display names and emails in any case, and groups by name',
    method: 'POST',
    url: '/api/v1/users',
    body: { username: 'Åsa', displayName: 'Åsa Öberg', email: 'asa@example.org', groups: ['VPN Users', 'finance'] },
    status: 201,
    contains: ['"displayName":"Åsa Öberg"', '"groups":["finance","vpn users"]'],
    auditEvents: ['user.add', 'user.update'],
    check: async (_r, w, t) => {
      await users('bob')(w);
      const q = async (text: string) => ((await send(w, 'GET', `/api/v1/users?q=${encodeURIComponent(text)}`, t)).json.users as { username: string }[]).map((u) => u.username);
      assert.equal(await q('öBERG'), ['åsa']);
      assert.equal(await q('EXAMPLE.org'), ['åsa']);
      assert.equal(await q('vpn users'), ['åsa']);
      assert.equal(await q('vpn'), [], 'a group is matched by its whole name');
    },
  },
  {
    name: 'users: PATCH sets the fields given, clears with empty, leaves the rest',
    method: 'PATCH',
    url: '/api/v1/users/alice',
    setup: async (w) => {
      await users('alice')(w);
      assert.ok((await setUserProfile(w.deps.admin, 'setup', 'alice', { displayName: 'Alice A', email: 'a@example.org', groups: 'x;y' })).ok);
    },
    body: { email: '', groups: 'Ops, ops ,Sec' },
    status: 200,
    contains: ['"displayName":"Alice A"', '"email":null', '"groups":["ops","sec"]'],
    auditEvents: ['user.update'],
  },
  { name: 'users: PATCH with a bad email: 400 naming it, nothing changed', method: 'PATCH', url: '/api/v1/users/alice', setup: users('alice'), body: { displayName: 'A', email: 'not an address' }, status: 400, contains: ['"field":"email"'], check: async (_r, w, t) => assert.is((await send(w, 'GET', '/api/v1/users/alice', t)).json.displayName, null) },
  { name: 'users: PATCH groups of the wrong type: 400', method: 'PATCH', url: '/api/v1/users/alice', setup: users('alice'), body: { groups: [1, 2] }, status: 400, contains: ['"field":"groups"'] },
  { name: 'users: GET one unknown: 404', method: 'GET', url: '/api/v1/users/nobody', status: 404 },
  { name: 'users: TOTP issuer from the settings', method: 'POST', url: '/api/v1/users/bob/totp', opts: { env: { TOTP_ISSUER: 'Acme VPN' } }, status: 201, contains: ['otpauth://totp/Acme%20VPN:bob'], auditEvents: ['totp.enroll'] },
  { name: 'users: remove TOTP', method: 'DELETE', url: '/api/v1/users/bob/totp', setup: async (w) => assert.ok((await enrolUserTotp(w.deps.admin, 'setup', 'bob', { activate: 'now' })).ok), status: 204, auditEvents: ['totp.remove'] },
  { name: 'users: remove TOTP when none: 404', method: 'DELETE', url: '/api/v1/users/alice/totp', setup: users('alice'), status: 404, contains: ['no TOTP'] },

  // --- approvals
  {
    name: 'approvals: pending pushes',
    method: 'GET',
    url: '/api/v1/approvals',
    setup: (w) => {
      w.runtime.pending.push({ username: 'alice', door: 'radius', client: 'vpn', station: undefined, startedAt: WEB_START, ttlSeconds: 60, waiting: 1 });
      w.runtime.pending.push({ username: 'bob', door: 'windows', client: 'agent:PC-7', station: 'PC-7', startedAt: WEB_START, ttlSeconds: 60, waiting: 1 });
    },
    status: 200,
    check: (r) =>
      assert.equal(r.json.approvals, [
        { username: 'alice', door: 'radius', client: 'vpn', station: null, callingStationId: null, startedAt: '2025-06-02T10:00:00.000Z', expiresAt: '2025-06-02T10:01:00.000Z', ttlSeconds: 60, waiting: 1 },
        { username: 'bob', door: 'windows', client: 'agent:PC-7', station: 'PC-7', callingStationId: null, startedAt: '2025-06-02T10:00:00.000Z', expiresAt: '2025-06-02T10:01:00.000Z', ttlSeconds: 60, waiting: 1 },
      ]),
  },
  { name: 'approvals: none', method: 'GET', url: '/api/v1/approvals', status: 200, check: (r) => assert.equal(r.json, { approvals: [] }) },

  // --- audit
  {
    name: 'audit: newest first, export record shape',
    method: 'GET',
    url: '/api/v1/audit',
    setup: records(3),
    status: 200,
    check: (r) => {
      assert.equal(
        (r.json.records as { id: number }[]).map((x) => x.id),
        [3, 2, 1],
      );
      assert.is(r.json.next_before, null);
      assert.equal(Object.keys(r.json.records[0]), ['id', 'time', 'event', 'outcome', 'username', 'reason', 'source', 'client', 'actor', 'details', 'hash']);
      assert.equal(r.json.records[2].details, { packetId: 1 });
      assert.is(r.json.records[2].time, '2025-06-02T10:00:00.000Z');
    },
  },
  {
    name: 'audit: pages with next_before',
    method: 'GET',
    url: '/api/v1/audit?limit=2',
    setup: records(5),
    status: 200,
    check: async (r, w, t) => {
      assert.equal(
        (r.json.records as { id: number }[]).map((x) => x.id),
        [5, 4],
      );
      assert.is(r.json.next_before, 4);
      const p2 = await send(w, 'GET', `/api/v1/audit?limit=2&before=${r.json.next_before}`, t);
      assert.equal(
        (p2.json.records as { id: number }[]).map((x) => x.id),
        [3, 2],
      );
      const p3 = await send(w, 'GET', `/api/v1/audit?limit=2&before=${p2.json.next_before}`, t);
      assert.equal(
        (p3.json.records as { id: number }[]).map((x) => x.id),
        [1],
      );
      assert.is(p3.json.next_before, null);
    },
  },
  {
    name: 'audit: filters by user, event and outcome',
    method: 'GET',
    url: '/api/v1/audit?username=ALICE&event=radius.auth&outcome=reject',
    setup: records(6),
    status: 200,
    check: (r) =>
      assert.equal(
        (r.json.records as { id: number }[]).map((x) => x.id),
        [3],
      ),
  },
  {
    name: 'audit: filters by time and source',
    method: 'GET',
    url: '/api/v1/audit?from=2025-06-02T10:01&to=2025-06-02T10:03&source=192.0.2.',
    setup: records(6),
    status: 200,
    check: (r) =>
      assert.equal(
        (r.json.records as { id: number }[]).map((x) => x.id),
        [4, 3, 2],
      ),
  },
  { name: 'audit: limit above 500: 400', method: 'GET', url: '/api/v1/audit?limit=501', status: 400, contains: ['"field":"limit"'] },
  { name: 'audit: limit not a number: 400', method: 'GET', url: '/api/v1/audit?limit=ten', status: 400, contains: ['"field":"limit"'] },
  { name: 'audit: bad before: 400', method: 'GET', url: '/api/v1/audit?before=-3', status: 400, contains: ['"field":"before"'] },
  { name: 'audit: bad time: 400', method: 'GET', url: '/api/v1/audit?from=yesterday', status: 400, contains: ['"field":"from"'] },
  { name: 'audit: default limit is 100', method: 'GET', url: '/api/v1/audit', setup: records(120), status: 200, check: (r) => (assert.is(r.json.records.length, 100), assert.is(r.json.next_before, 21)) },

  // --- admins and tokens
  {
    name: 'admins: names, never the hash',
    method: 'GET',
    url: '/api/v1/admins',
    setup: async (w) => void await insertAdmin(w.store, 'alice', 'scrypt$hash-that-must-not-leak'),
    status: 200,
    notContains: ['hash-that-must-not-leak', 'password'],
    check: (r) => assert.equal(r.json.admins, [{ name: 'alice', role: 'admin', hasTotp: false, createdAt: r.json.admins[0].createdAt }]),
  },
  {
    name: 'tokens: names, never the token',
    method: 'GET',
    url: '/api/v1/tokens',
    status: 200,
    contains: ['"name":"ci"', '"createdBy":"test"'],
    check: (r, _w, t) => {
      assert.not.ok(r.text.includes(t));
      assert.not.ok(r.text.includes(tokenHash(t)));
      assert.is(r.json.tokens[0].lastUsedAt, '2025-06-02T10:00:00.000Z');
    },
  },
];

const Api = suite('routes/api');
for (const s of scenarios) Api(s.name, () => run(s));

Api('the token is touched at most once a minute', async () => {
  const w = await makeWebApp();
  try {
    const t = await w.apiToken('ci');
    const lastUsed = async () => (await findApiTokenByHash(w.store, tokenHash(t)))?.lastUsedAt;
    assert.is(await lastUsed(), null);
    await send(w, 'GET', '/api/v1/status', t);
    assert.is(await lastUsed(), WEB_START);
    w.clock.advance(30_000);
    await send(w, 'GET', '/api/v1/status', t);
    assert.is(await lastUsed(), WEB_START);
    w.clock.advance(31_000);
    await send(w, 'GET', '/api/v1/status', t);
    assert.is(await lastUsed(), WEB_START + 61_000);
  } finally {
    w.close();
  }
});

Api('the browser UI middleware does not apply: no CSRF token, no cookie needed', async () => {
  const w = await makeWebApp();
  try {
    const t = await w.apiToken('ci');
    const r = await send(w, 'POST', '/api/v1/users', t, { username: 'alice' }, { Origin: 'https://evil.example' });
    assert.is(r.status, 201);
    assert.is(r.headers.get('Set-Cookie'), null);
    // And the UI itself still wants its session (the helper's session works).
    assert.is((await w.app.request('/users')).status, 303);
    const admin = await w.adminSession();
    const page = await w.app.request('/users', { headers: admin.headers });
    assert.is(page.status, 200);
    assert.ok((await page.text()).includes('alice'));
  } finally {
    w.close();
  }
});

Api('openapi.json describes every route of the API and nothing else', async () => {
  const w = await makeWebApp();
  try {
    const r = await send(w, 'GET', '/api/v1/openapi.json', false);
    const doc = r.json as OpenApiDocument;
    assert.is(doc.openapi, '3.1.0');
    assert.equal(doc.components.securitySchemes['bearer'], { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes['bearer']!.description });
    assert.ok(doc.components.schemas['Error']);
    // Routes as Hono holds them, with `:p` and `:p{a|b}` written the OpenAPI way.
    const fromApp = new Set<string>();
    for (const route of createApiRoutes(w.deps).routes) {
      if (route.method === 'ALL') continue;
      const alts = /:(\w+)\{([\w|]+)\}/.exec(route.path);
      const paths = alts ? alts[2]!.split('|').map((a) => route.path.replace(alts[0], a)) : [route.path];
      for (const p of paths) fromApp.add(`${route.method.toLowerCase()} ${p.replace(/:(\w+)/g, '{$1}')}`);
    }
    const fromDoc = new Set(Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`)));
    assert.equal([...fromDoc].sort(), [...fromApp].sort());
    // Every path parameter is declared; every $ref resolves; every operation names its errors.
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(item)) {
        const declared = (op!.parameters ?? []).filter((x) => x.in === 'path').map((x) => x.name);
        assert.equal(declared.sort(), [...p.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!).sort(), `${m} ${p}: path parameters`);
        if (p !== '/openapi.json') assert.ok(op!.responses['401'], `${m} ${p}: 401`);
        if (op!.requestBody) for (const code of ['400', '413', '415']) assert.ok(op!.responses[code], `${m} ${p}: ${code}`);
      }
    }
    const text = JSON.stringify(doc);
    for (const m of text.matchAll(/"\$ref":"#\/components\/(schemas|responses)\/(\w+)"/g)) {
      assert.ok((doc.components[m[1] as 'schemas' | 'responses'] as Record<string, unknown>)[m[2]!], `unresolved $ref ${m[2]}`);
    }
  } finally {
    w.close();
  }
});

Api('each change writes one audit record naming the token, and secrets stay out of it', async () => {
  const w = await makeWebApp();
  try {
    const t = await w.apiToken('deploy-bot');
    const steps: [string, string, unknown][] = [
      ['POST', '/api/v1/clients', { address: '10.1.0.0/16', secret: 'cycle-secret-001' }],
      ['PATCH', '/api/v1/clients/10.1.0.0%2F16', { secret: 'cycle-secret-002' }],
      ['PUT', '/api/v1/downstream', { host: '192.0.2.1', secret: 'cycle-secret-003' }],
      ['PUT', '/api/v1/settings/message-title', { value: 'Hello' }],
      ['POST', '/api/v1/users', { username: 'eve' }],
      ['POST', '/api/v1/users/eve/totp', { activate: 'now' }],
      ['POST', '/api/v1/users/eve/lock', undefined],
      ['POST', '/api/v1/users/eve/unlock', undefined],
      ['DELETE', '/api/v1/users/eve/totp', undefined],
      ['DELETE', '/api/v1/users/eve', undefined],
      ['DELETE', '/api/v1/downstream', undefined],
      ['DELETE', '/api/v1/clients/10.1.0.0%2F16', undefined],
    ];
    const leaks = [t, 'cycle-secret-001', 'cycle-secret-002', 'cycle-secret-003'];
    for (const [method, url, body] of steps) {
      const before = w.auditRows().length;
      const r = await send(w, method, url, t, body);
      assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${r.text}`);
      if (typeof r.json?.uri === 'string') leaks.push(new URL(r.json.uri as string).searchParams.get('secret')!);
      const rows = w.auditRows().slice(before);
      assert.is(rows.length, 1, `${method} ${url}: one record`);
      assert.is(rows[0]!.actor, 'token:deploy-bot');
    }
    const all = JSON.stringify(w.auditRows());
    for (const x of leaks) assert.not.ok(all.includes(x), 'secret in the audit');
    // The API's own audit view shows them, newest first.
    const page = await send(w, 'GET', '/api/v1/audit?limit=12', t);
    assert.equal(
      (page.json.records as { event: string }[]).map((x) => x.event).reverse(),
      ['client.add', 'client.edit', 'downstream.set', 'settings.set', 'user.add', 'totp.enroll', 'user.lock', 'user.unlock', 'totp.remove', 'user.remove', 'downstream.remove', 'client.remove'],
    );
  } finally {
    w.close();
  }
});

Api.run();
