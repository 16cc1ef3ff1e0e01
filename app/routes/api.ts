// The JSON API for automation under /api/v1: bearer tokens (created in the UI or with
// `gatehouse token create NAME`, stored hashed), the same operations as the pages (app/ops), JSON
// in and out, errors as {"error": message, "field"?: name}. No session and no CSRF: a bearer token
// is never sent by a browser on its own. The OpenAPI document (app/routes/openapi.ts) is public.
import { Hono, type Context } from 'hono';
import { bodyLimit } from '../middleware/body-limit.js';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { exportRow } from '../audit/export.js';
import type { AuditRecord } from '../audit/chain.js';
import { OPTIONS } from '../config.js';
import { findApiTokenByHash, listAdmins, listApiTokens, touchApiToken } from '../db/queries/admins.js';
import { listDownstreams } from '../db/queries/downstream.js';
import type { UserListRow } from '../db/queries/users.js';
import { packageVersion } from '../lib/package-root.js';
import { tokenHash } from '../lib/tokens.js';
import { changePushApplication, createPushApplication, removePushApplication, renewPushApplicationSecret } from '../admin/push-apps.js';
import { findPushApplication, listPushApplications, type PushApplicationRow } from '../db/queries/push-apps.js';
import { addClient, editClient, removeClient } from '../admin/clients.js';
import type { Result } from '../admin/deps.js';
import { addServer, removeDownstream, removePool, removeRealm, removeServer, setDownstream, setPool, setRealm } from '../admin/downstream.js';
import { DEFAULT_POOL } from '../radius/pools.js';
import { listSessions } from '../db/queries/sessions.js';
import { setSetting } from '../admin/settings.js';
import { apiAllows } from '../admin/roles.js';
import { addUser, changeUser, cleanDisplayName, cleanEmail, cleanGroups, confirmUserTotp, enrolUserTotp, pageOfUsers, setUserProfile, userDetail } from '../admin/users.js';
import { sourceOf } from '../middleware/remote.js';
import { auditFilterFromQuery } from './audit.js';
import type { RuntimeClient, WebDeps } from './deps.js';
import { openApiDocument } from './openapi.js';

export const API_BODY_LIMIT = 64 * 1024;
export const AUDIT_LIMIT_DEFAULT = 100;
export const AUDIT_LIMIT_MAX = 500;
/** last_used_at is written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

interface ApiEnv {
  Variables: { actor: string };
}

/** Where this app is mounted (app/http.tsx); the role rules name paths below it. */
const MOUNT = '/api/v1';

/** An error answered as JSON with its status; thrown by the body helpers, caught by onError. */
class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 415,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

type Body = Record<string, unknown>;

/** The request body as a JSON object: 415 unless Content-Type is JSON, 400 unless it parses. */
async function readJson(c: Context<ApiEnv>, opts: { optional?: boolean } = {}): Promise<Body> {
  const type = c.req.header('Content-Type') ?? '';
  // An optional body may be left out: none (or an empty one, whatever its Content-Type) is `{}`.
  if (opts.optional && (type === '' || c.req.header('Content-Length') === '0')) return {};
  const text = opts.optional ? await c.req.text() : undefined;
  if (text !== undefined && text.trim() === '') return {};
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) throw new ApiError(415, 'the request body must be JSON (Content-Type: application/json)');
  const body = text ?? (await c.req.text());
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // The parser's message may quote the body (and a secret in it): not echoed.
    throw new ApiError(400, 'the request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ApiError(400, 'the request body must be a JSON object');
  return parsed as Body;
}

function str(b: Body, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ApiError(400, `${key} must be a string`, key);
  return v;
}

function bool(b: Body, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ApiError(400, `${key} must be true or false`, key);
  return v;
}

/** A number or a string of digits, handed to the ops as text (they validate the range). */
function numText(b: Body, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '')) return String(v).trim();
  throw new ApiError(400, `${key} must be a number`, key);
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function createApiRoutes(d: WebDeps) {
  const version = packageVersion();
  const openapi = openApiDocument(version);
  const api = new Hono<ApiEnv>();

  const fail = (c: Context<ApiEnv>, r: Extract<Result<unknown>, { ok: false }>) => c.json(r.field === undefined ? { error: r.error } : { error: r.error, field: r.field }, r.status);
  const unauthorized = (c: Context<ApiEnv>, error: string, invalid: boolean) => {
    c.header('WWW-Authenticate', invalid ? 'Bearer realm="gatehouse", error="invalid_token"' : 'Bearer realm="gatehouse"');
    return c.json({ error }, 401);
  };

  const clientView = (r: RuntimeClient) => {
    const a = d.clientActivity(r.address);
    return {
      name: r.name,
      address: r.address,
      source: r.source,
      readOnly: r.source !== 'db',
      requireMessageAuthenticator: r.requireMessageAuthenticator,
      messageAuthenticatorSeen: r.messageAuthenticatorSeen,
      firstFactor: r.firstFactor ?? 'default',
      lastSeen: iso(a?.lastSeen),
      sendsMessageAuthenticator: a?.sentMessageAuthenticator ?? null,
    };
  };
  const downstreamView = async () => {
    const ds = d.downstream();
    if (ds === undefined) return null;
    const stored = ds.source === 'db' ? (await listDownstreams(d.store, d.sealer)).find((x) => x.pool === DEFAULT_POOL) : undefined;
    return { name: ds.name, host: ds.host, port: ds.port, source: ds.source, readOnly: ds.source !== 'db', requireMessageAuthenticator: stored?.requireMessageAuthenticator ?? false };
  };
  const settingViews = () => {
    const { settings, sources } = d.resolved();
    const text = (v: unknown): string | null => (v === undefined || v === null || Array.isArray(v) ? null : String(v));
    return OPTIONS.filter((o) => o.storable).map((o) => ({
      key: o.flag,
      env: o.env,
      value: text(settings[o.key]),
      default: text(o.fallback),
      source: sources[o.key],
      readOnly: sources[o.key] === 'flag' || sources[o.key] === 'env',
      help: o.help,
    }));
  };
  const userView = (u: UserListRow) => ({
    username: u.username,
    displayName: u.displayName,
    email: u.email,
    groups: u.groups,
    locked: u.locked,
    lockedUntil: iso(u.lockedUntil),
    failedAttempts: u.failedAttempts,
    hasTotp: u.hasTotp,
    totpPending: u.pendingTotp,
    createdAt: iso(u.createdAt),
  });
  /** The user as the API shows them (after a change that worked: they exist). */
  const userJson = async (c: Context<ApiEnv>, name: string, status: 200 | 201 = 200) => {
    const u = await userDetail(d.admin, name);
    return u.ok ? c.json(userView(u.value), status) : fail(c, u);
  };
  /** Profile fields of a body, checked: undefined where absent; groups as an array or one string. */
  const profileOf = (b: Body) => {
    const groups = b['groups'];
    if (groups !== undefined && groups !== null && typeof groups !== 'string' && !(Array.isArray(groups) && groups.every((g) => typeof g === 'string'))) throw new ApiError(400, 'groups must be an array of strings', 'groups');
    const input = { displayName: str(b, 'displayName'), email: str(b, 'email'), groups: (groups ?? undefined) as string | string[] | undefined };
    for (const r of [cleanDisplayName(input.displayName), cleanEmail(input.email), cleanGroups(input.groups)]) if (!r.ok) throw new ApiError(r.status, r.error, r.field);
    return input;
  };
  const auditView = (r: AuditRecord) => ({ ...exportRow(r), details: r.details === null ? null : (JSON.parse(r.details) as unknown) });

  api.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.field === undefined ? { error: err.message } : { error: err.message, field: err.field }, err.status);
    if (err instanceof HTTPException) return c.json({ error: err.message || 'request failed' }, err.status);
    // Never a stack trace or an internal message (it might name a file or carry data).
    return c.json({ error: 'internal error' }, 500);
  });

  // Public: the description of this API.
  api.get('/openapi.json', (c) => c.json(openapi));

  // Everything below needs a token.
  api.use(
    '*',
    createMiddleware<ApiEnv>(async (c, next) => {
      c.header('Cache-Control', 'no-store');
      const header = c.req.header('Authorization');
      if (header === undefined) return unauthorized(c, 'an API token is required: Authorization: Bearer <token>', false);
      const m = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]{1,200})[ \t]*$/i.exec(header);
      const row = m === null ? undefined : await findApiTokenByHash(d.store, tokenHash(m[1]!));
      if (row === undefined) return unauthorized(c, 'the API token is missing, unknown or revoked', true);
      const now = d.now();
      if (row.lastUsedAt === null || now - row.lastUsedAt >= TOUCH_EVERY_MS) await touchApiToken(d.store, row.id, now);
      c.set('actor', `token:${row.name}`);
      // The token's role decides what it may do (app/admin/roles.ts), like an admin's in the UI.
      const path = c.req.path.startsWith(MOUNT) ? c.req.path.slice(MOUNT.length) || '/' : c.req.path;
      if (!apiAllows(row.role, c.req.method, path)) {
        await d.audit.record({ event: 'token.forbidden', outcome: 'reject', actor: `token:${row.name}`, source: sourceOf(c), details: { role: row.role, request: `${c.req.method} ${path.slice(0, 200)}` } });
        return c.json({ error: `this token's role (${row.role}) does not allow ${c.req.method} ${MOUNT}${path}` }, 403);
      }
      await next();
    }),
  );
  api.use('*', bodyLimit({ maxSize: API_BODY_LIMIT, onError: (c) => c.json({ error: `the request body is larger than ${API_BODY_LIMIT / 1024} KiB` }, 413) }));

  api.get('/nodes', async (c) =>
    c.json({ nodes: (await d.nodes()).map((n) => ({ name: n.name, self: n.self, state: n.state, version: n.version, startedAt: iso(n.startedAt), heartbeatAt: iso(n.heartbeatAt), health: n.health })) }),
  );
  api.get('/status', (c) => {
    const k = d.counters;
    const approvals = d.pendingApprovals();
    return c.json({
      version,
      time: iso(d.now()),
      health: d.health(),
      downstream: d.downstream()?.name ?? null,
      totals: {
        requests: k.total('requests'),
        accepts: k.total('accepts'),
        rejects: k.total('rejects'),
        challenges: k.total('challenges'),
        drops: k.total('drops'),
        retransmissions: k.total('retransmissions'),
        errors: k.total('errors'),
      },
      pending: { pushes: approvals.length, logins: approvals.reduce((n, a) => n + a.waiting, 0) },
      counters: k.snapshot(),
    });
  });

  // --- RADIUS clients

  api.get('/clients', (c) => c.json({ clients: d.runtimeClients().map(clientView) }));
  api.post('/clients', async (c) => {
    const b = await readJson(c);
    const input = { name: str(b, 'name'), address: str(b, 'address'), secret: str(b, 'secret'), requireMessageAuthenticator: str(b, 'requireMessageAuthenticator'), firstFactor: str(b, 'firstFactor') };
    const r = await addClient(d.admin, c.get('actor'), input);
    if (!r.ok) return fail(c, r);
    c.header('Location', `/api/v1/clients/${encodeURIComponent(r.value.address)}`);
    // The secret is shown this once; GET /clients never returns it.
    return c.json({ name: r.value.name, address: r.value.address, secret: r.value.secret }, 201);
  });
  api.patch('/clients/:address', async (c) => {
    const address = c.req.param('address');
    const b = await readJson(c);
    const r = await editClient(d.admin, c.get('actor'), address, { name: str(b, 'name'), secret: str(b, 'secret'), requireMessageAuthenticator: str(b, 'requireMessageAuthenticator'), firstFactor: str(b, 'firstFactor') });
    if (!r.ok) return fail(c, r);
    const now = d.runtimeClients().find((x) => x.address === r.value.address);
    return c.json(now === undefined ? { address: r.value.address } : clientView(now));
  });
  api.delete('/clients/:address', async (c) => {
    const address = c.req.param('address');
    const r = await removeClient(d.admin, c.get('actor'), address);
    return r.ok ? c.body(null, 204) : fail(c, r);
  });

  // --- downstream server

  api.get('/downstream', async (c) => c.json({ downstream: await downstreamView() }));
  api.put('/downstream', async (c) => {
    const b = await readJson(c);
    const current = d.downstream();
    if (current !== undefined && current.source !== 'db') return c.json({ error: `the downstream server is set by ${current.source === 'flag' ? 'a flag' : 'the environment'} and cannot be changed here` }, 409);
    const r = await setDownstream(d.admin, c.get('actor'), { host: str(b, 'host'), port: numText(b, 'port'), secret: str(b, 'secret'), requireMessageAuthenticator: bool(b, 'requireMessageAuthenticator'), name: str(b, 'name') });
    return r.ok ? c.json({ downstream: await downstreamView() }) : fail(c, r);
  });
  api.delete('/downstream', async (c) => {
    const r = await removeDownstream(d.admin, c.get('actor'));
    return r.ok ? c.body(null, 204) : fail(c, r);
  });

  // --- pools of downstream servers, and realms

  const poolsView = async () => {
    return d.pools().map((p) => ({
      name: p.name,
      mode: p.mode,
      responseWindowSeconds: p.responseWindowMs / 1000,
      deadAfter: p.deadAfter,
      checkIntervalSeconds: p.checkIntervalMs / 1000,
      servers: p.servers.map((h) => ({
        id: h.id ?? null,
        name: h.server,
        address: h.address,
        acctPort: h.acctPort,
        transport: h.transport,
        state: h.state,
        unanswered: h.unanswered,
        outstanding: h.outstanding,
        lastAnswer: iso(h.lastAnswer),
        since: iso(h.since),
      })),
    }));
  };
  api.get('/pools', async (c) => c.json({ pools: await poolsView() }));
  api.put('/pools/:name', async (c) => {
    const b = await readJson(c);
    const r = await setPool(d.admin, c.get('actor'), c.req.param('name'), { mode: str(b, 'mode'), responseWindow: numText(b, 'responseWindowSeconds'), deadAfter: numText(b, 'deadAfter'), checkInterval: numText(b, 'checkIntervalSeconds') });
    return r.ok ? c.json({ pools: await poolsView() }) : fail(c, r);
  });
  api.delete('/pools/:name', async (c) => {
    const r = await removePool(d.admin, c.get('actor'), c.req.param('name'));
    return r.ok ? c.body(null, 204) : fail(c, r);
  });
  api.post('/pools/:name/servers', async (c) => {
    const b = await readJson(c);
    const pool = c.req.param('name');
    if (pool === DEFAULT_POOL && (d.downstream()?.source === 'flag' || d.downstream()?.source === 'env')) return c.json({ error: 'the default pool is set by --downstream-address (or DOWNSTREAM_ADDRESS) and cannot be changed here' }, 409);
    const r = await addServer(d.admin, c.get('actor'), { pool, name: str(b, 'name'), host: str(b, 'host'), port: numText(b, 'port'), acctPort: numText(b, 'acctPort'), transport: str(b, 'transport'), secret: str(b, 'secret'), requireMessageAuthenticator: bool(b, 'requireMessageAuthenticator') });
    return r.ok ? c.json({ id: r.value.id, pools: await poolsView() }, 201) : fail(c, r);
  });
  api.delete('/pools/:name/servers/:id', async (c) => {
    const id = Number(c.req.param('id'));
    const found = (await listDownstreams(d.store, d.sealer)).find((x) => x.id === id && x.pool === c.req.param('name'));
    if (found === undefined) return c.json({ error: 'no such server in this pool' }, 404);
    const r = await removeServer(d.admin, c.get('actor'), id);
    return r.ok ? c.body(null, 204) : fail(c, r);
  });
  api.get('/realms', (c) => c.json({ realms: d.realms() }));
  api.get('/sessions', async (c) => {
    const raw = (c.req.query('username') ?? '').trim();
    const limitRaw = c.req.query('limit') ?? '1000';
    if (!/^\d{1,5}$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > 10000) throw new ApiError(400, 'limit must be 1-10000', 'limit');
    const rows = await listSessions(d.store, { username: raw === '' ? undefined : raw, limit: Number(limitRaw) });
    return c.json({ sessions: rows.map((r) => ({ ...r, startedAt: iso(r.startedAt), updatedAt: iso(r.updatedAt) })) });
  });
  api.put('/realms/:name', async (c) => {
    const b = await readJson(c);
    const r = await setRealm(d.admin, c.get('actor'), c.req.param('name'), { pool: str(b, 'pool'), strip: bool(b, 'strip') });
    return r.ok ? c.json({ realm: r.value }) : fail(c, r);
  });
  api.delete('/realms/:name', async (c) => {
    const r = await removeRealm(d.admin, c.get('actor'), c.req.param('name'));
    return r.ok ? c.body(null, 204) : fail(c, r);
  });

  // --- settings

  api.get('/settings', (c) => c.json({ settings: settingViews() }));
  api.put('/settings/:key', async (c) => {
    const key = c.req.param('key');
    const b = await readJson(c);
    if (!('value' in b)) throw new ApiError(400, 'value is required ("" or null goes back to the default)', 'value');
    const v = b['value'];
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new ApiError(400, 'value must be a string', 'value');
    const r = await setSetting(d.admin, c.get('actor'), key, v === null ? '' : String(v).trim());
    // A value the setting does not accept is a problem with the body's `value`.
    if (!r.ok) return fail(c, r.status === 400 ? { ...r, field: 'value' } : r);
    return c.json(settingViews().find((s) => s.key === key) ?? { key });
  });

  // --- users

  api.get('/users', async (c) => {
    const limit = c.req.query('limit') === undefined ? 100 : Number(c.req.query('limit'));
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ApiError(400, 'limit must be a whole number from 1 to 1000', 'limit');
    const page = await pageOfUsers(d.admin, (c.req.query('q') ?? '').slice(0, 253), c.req.query('after') || undefined, limit);
    return c.json({ users: page.users.map(userView), total: page.total, next_after: page.next ?? null });
  });
  api.get('/users/:name', async (c) => await userJson(c, c.req.param('name')));
  api.post('/users', async (c) => {
    const b = await readJson(c);
    const profile = profileOf(b);
    const r = await addUser(d.admin, c.get('actor'), str(b, 'username'));
    if (!r.ok) return fail(c, r);
    if (profile.displayName !== undefined || profile.email !== undefined || profile.groups !== undefined) {
      const p = await setUserProfile(d.admin, c.get('actor'), r.value, profile);
      if (!p.ok) return fail(c, p);
    }
    c.header('Location', `/api/v1/users/${encodeURIComponent(r.value)}`);
    return await userJson(c, r.value, 201);
  });
  api.patch('/users/:name', async (c) => {
    const b = await readJson(c);
    const r = await setUserProfile(d.admin, c.get('actor'), c.req.param('name'), profileOf(b));
    return r.ok ? await userJson(c, r.value) : fail(c, r);
  });
  api.delete('/users/:name', async (c) => {
    const r = await changeUser(d.admin, c.get('actor'), c.req.param('name'), 'remove');
    return r.ok ? c.body(null, 204) : fail(c, r);
  });
  api.post('/users/:name/:action{lock|unlock}', async (c) => {
    const r = await changeUser(d.admin, c.get('actor'), c.req.param('name'), c.req.param('action') as 'lock' | 'unlock');
    return r.ok ? await userJson(c, r.value) : fail(c, r);
  });
  api.post('/users/:name/totp', async (c) => {
    // The body is optional: without one, the new authenticator waits for a code, as in the UI.
    const b = await readJson(c, { optional: true });
    const activate = str(b, 'activate') ?? 'after-code';
    if (activate !== 'now' && activate !== 'after-code') throw new ApiError(400, 'activate must be "after-code" or "now"', 'activate');
    const r = await enrolUserTotp(d.admin, c.get('actor'), c.req.param('name'), { activate });
    // The URI carries the seed: shown this once.
    return r.ok ? c.json({ username: r.value.username, uri: r.value.uri, confirmed: r.value.confirmed }, 201) : fail(c, r);
  });
  api.post('/users/:name/totp/confirm', async (c) => {
    const b = await readJson(c);
    const r = await confirmUserTotp(d.admin, c.get('actor'), c.req.param('name'), str(b, 'code'));
    return r.ok ? await userJson(c, r.value) : fail(c, r);
  });
  api.delete('/users/:name/totp/pending', async (c) => {
    const r = await changeUser(d.admin, c.get('actor'), c.req.param('name'), 'cancel-enrolment');
    return r.ok ? c.body(null, 204) : fail(c, r);
  });
  api.delete('/users/:name/totp', async (c) => {
    const r = await changeUser(d.admin, c.get('actor'), c.req.param('name'), 'reset-totp');
    return r.ok ? c.body(null, 204) : fail(c, r);
  });

  // --- applications of the push API Gatehouse serves (app/push/served.ts)

  const applicationView = (a: PushApplicationRow) => ({ name: a.name, accessId: a.accessId, clientId: a.clientId, allowedSources: a.allowedSources, rateLimit: a.rateLimit, createdBy: a.createdBy, createdAt: iso(a.createdAt), lastUsedAt: iso(a.lastUsedAt) });
  api.get('/applications', async (c) => c.json({ applications: (await listPushApplications(d.store)).map(applicationView) }));
  api.post('/applications', async (c) => {
    const b = await readJson(c);
    const sources = b['allowedSources'];
    if (sources !== undefined && sources !== null && !(Array.isArray(sources) && sources.every((x) => typeof x === 'string'))) throw new ApiError(400, 'allowedSources must be a list of addresses or CIDRs', 'allowedSources');
    const r = await createPushApplication(d.admin, c.get('actor'), { name: str(b, 'name'), sources: Array.isArray(sources) ? sources.join(',') : undefined, rate: numText(b, 'rateLimit') });
    if (!r.ok) return fail(c, r.field === 'sources' ? { ...r, field: 'allowedSources' } : r.field === 'rate' ? { ...r, field: 'rateLimit' } : r);
    c.header('Location', `/api/v1/applications/${encodeURIComponent(r.value.name)}`);
    // The client secret is shown this once; it is stored hashed.
    return c.json(r.value, 201);
  });
  api.patch('/applications/:name', async (c) => {
    const b = await readJson(c);
    const name = c.req.param('name');
    const current = await findPushApplication(d.store, { name });
    if (current === undefined) return c.json({ error: `no application ${name}` }, 404);
    const sources = b['allowedSources'];
    if (sources !== undefined && sources !== null && !(Array.isArray(sources) && sources.every((x) => typeof x === 'string'))) throw new ApiError(400, 'allowedSources must be a list of addresses or CIDRs', 'allowedSources');
    const r = await changePushApplication(d.admin, c.get('actor'), name, { sources: (Array.isArray(sources) ? sources : current.allowedSources).join(','), rate: numText(b, 'rateLimit') ?? current.rateLimit });
    if (!r.ok) return fail(c, r.field === 'sources' ? { ...r, field: 'allowedSources' } : r.field === 'rate' ? { ...r, field: 'rateLimit' } : r);
    return c.json(applicationView((await findPushApplication(d.store, { name }))!));
  });
  api.post('/applications/:name/secret', async (c) => {
    const r = await renewPushApplicationSecret(d.admin, c.get('actor'), c.req.param('name'));
    return r.ok ? c.json(r.value) : fail(c, r);
  });
  api.delete('/applications/:name', async (c) => {
    const r = await removePushApplication(d.admin, c.get('actor'), c.req.param('name'));
    return r.ok ? c.body(null, 204) : fail(c, r);
  });

  // --- approvals, audit, admins, tokens (read only)

  api.get('/approvals', (c) =>
    c.json({
      approvals: d.pendingApprovals().map((p) => ({
        username: p.username,
        door: p.door,
        client: p.client,
        station: p.station ?? null,
        callingStationId: p.door === 'radius' ? (p.station ?? null) : null,
        startedAt: iso(p.startedAt),
        expiresAt: iso(p.startedAt + p.ttlSeconds * 1000),
        ttlSeconds: p.ttlSeconds,
        waiting: p.waiting,
      })),
    }),
  );

  api.get('/audit', async (c) => {
    const { filter, error } = auditFilterFromQuery((k) => c.req.query(k));
    if (error !== undefined) throw new ApiError(400, error, error.startsWith('From') ? 'from' : 'to');
    const limitRaw = c.req.query('limit');
    const limit = limitRaw === undefined || limitRaw === '' ? AUDIT_LIMIT_DEFAULT : /^\d{1,4}$/.test(limitRaw) ? Number(limitRaw) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_LIMIT_MAX) throw new ApiError(400, `limit must be a whole number from 1 to ${AUDIT_LIMIT_MAX}`, 'limit');
    const beforeRaw = c.req.query('before');
    const before = beforeRaw === undefined || beforeRaw === '' ? undefined : /^\d{1,15}$/.test(beforeRaw) ? Number(beforeRaw) : NaN;
    if (before !== undefined && !(before > 0)) throw new ApiError(400, 'before must be a record id (a positive whole number)', 'before');
    const rows = await d.auditStore.page(filter, before, limit + 1);
    const shown = rows.slice(0, limit);
    return c.json({ records: shown.map(auditView), next_before: rows.length > limit ? shown[shown.length - 1]!.id : null });
  });

  api.get('/admins', async (c) => c.json({ admins: (await listAdmins(d.store)).map((a) => ({ name: a.name, role: a.role, hasTotp: a.hasTotp, createdAt: iso(a.createdAt) })) }));
  api.get('/tokens', async (c) => c.json({ tokens: (await listApiTokens(d.store)).map((t) => ({ name: t.name, role: t.role, createdBy: t.createdBy, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt) })) }));

  // Anything else under /api/v1 ends here, so the browser UI's middleware never sees API requests.
  api.all('*', (c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));
  return api;
}
