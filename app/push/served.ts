// The push API Gatehouse serves to others (DESIGN.md "Push API client" is its shape, so anything
// that speaks to Notakey speaks to this: an authentication proxy, a MikroTik script, another
// Gatehouse). A front door like RADIUS and the Windows pipe: it translates, the engine
// (app/mfa/engine.ts) decides, push only (`pushOnly`).
//
//   POST {base}token                     OAuth2 client credentials -> access token (scope urn:notakey:auth)
//   POST {base}v2/application/{access_id}/application_user/{username}/auth_request
//        {action, description, ttl_seconds (number or string), fingerprint} -> {uuid, ...}; 404: unknown user
//   GET  {base}v2/application/{access_id}/auth_request/{uuid}
//        -> {response_type: "ApproveRequest" | "DenyRequest" | null, expired, ...}
//
// A caller is an application (app/admin/push-apps.ts): with a bearer token from the token
// endpoint, or, where the application lists source addresses, without one from those addresses
// (Notakey's own MikroTik scripts and older plugins send none). Every call counts against the
// application's rate. Audited: each token issued or refused, each auth request with its decision
// (one record, written before a poll can see the decision), each refused call (at most
// REFUSALS_PER_MINUTE a minute, then one summary). Polls that are answered are not recorded one by
// one: a caller polls every second or two, and the request's own record says how it ended.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Auditor } from '../audit/audit.js';
import type { Settings } from '../config.js';
import type { SharedStore } from '../db/store.js';
import { findPushApplication, findPushAppToken, insertPushAppToken, touchPushApplication, type PushApplicationRow } from '../db/queries/push-apps.js';
import { endServed, findServed, insertServed, sweepServed } from '../db/queries/served-requests.js';
import { cidrContains, normalizeAddress, parseCidr } from '../lib/cidr.js';
import { TokenBuckets } from '../lib/rate-limit.js';
import { newToken, tokenHash } from '../lib/tokens.js';
import type { Engine, Verdict } from '../mfa/engine.js';

/** The one scope this API grants (Notakey's name for "may ask users to approve"). */
export const AUTH_SCOPE = 'urn:notakey:auth';
export const TOKEN_TTL_SECONDS = 7200;
/** How long a decided or expired request can still be read by its uuid. */
const KEEP_MS = 5 * 60_000;
/** Requests held at once (open and recently ended), whatever the applications' rates. */
const MAX_REQUESTS = 200_000;
const REFUSALS_PER_MINUTE = 100;
const MAX_TTL_SECONDS = 3600;

export interface ServedDeps {
  store: SharedStore;
  engine: Engine;
  audit: Auditor;
  settings(): Readonly<Settings>;
  now(): number;
  /**
   * Several appliances share the store: each request is also a row (served_requests), so that a
   * caller's poll is answered by whichever appliance it reaches. Absent: this appliance alone.
   */
  shared?: boolean;
}

type State = 'pending' | 'approved' | 'denied' | 'expired' | 'unreachable' | 'stopping';

interface Entry {
  uuid: string;
  applicationId: number;
  username: string;
  action: string;
  description: string;
  fingerprint: string;
  ttlSeconds: number;
  createdAt: number;
  expiresAt: number;
  state: State;
  endedAt: number | undefined;
}

/** A request as callers read it (Notakey's fields, and when it ends). */
export interface RequestView {
  uuid: string;
  username: string;
  action: string;
  description: string;
  fingerprint: string;
  ttl_seconds: number;
  created_at: string;
  expires_at: string;
  expired: boolean;
  response_type: 'ApproveRequest' | 'DenyRequest' | null;
}

/** An answer for the HTTP side: status and JSON body (and a challenge header on 401). */
export interface Answer {
  status: 200 | 400 | 401 | 403 | 404 | 429 | 502 | 503;
  body: Record<string, unknown>;
  wwwAuthenticate?: string;
}

export interface TokenRequest {
  grantType: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  scope: string | undefined;
  /** The client authenticated with HTTP Basic (a failure then answers a Basic challenge). */
  basic: boolean;
}

export interface ServedApi {
  token(req: TokenRequest, source: string): Promise<Answer>;
  /** Who may call `access_id` with this Authorization header from this address. */
  create(accessId: string, authorization: string | undefined, address: string, username: string, body: Record<string, unknown>): Promise<Answer>;
  status(accessId: string, authorization: string | undefined, address: string, uuid: string): Promise<Answer>;
  /** Requests held (open and recently ended). */
  size(): number;
  stop(): void;
}

const sha = (s: string) => Buffer.from(tokenHash(s), 'hex');

export function createServedApi(d: ServedDeps): ServedApi {
  const requests = new Map<string, Entry>();
  const buckets = new TokenBuckets();
  const touched = new Map<number, number>();
  let refusals = { minute: 0, written: 0, suppressed: 0 };

  const sweep = setInterval(() => {
    const now = d.now();
    for (const [uuid, e] of requests) if ((e.endedAt ?? e.expiresAt) + KEEP_MS <= now) requests.delete(uuid);
    if (d.shared === true) void sweepServed(d.store, now - KEEP_MS).catch(() => undefined);
  }, 60_000);
  sweep.unref();

  /** Another appliance's request, as its row says. */
  async function sharedEntry(uuid: string): Promise<Entry | undefined> {
    if (d.shared !== true) return undefined;
    const row = await findServed(d.store, uuid);
    if (row === undefined) return undefined;
    try {
      const created = JSON.parse(row.entry) as Pick<Entry, 'username' | 'action' | 'description' | 'fingerprint' | 'ttlSeconds'>;
      return { ...created, uuid: row.uuid, applicationId: Number(row.applicationId), createdAt: Number(row.createdAt), expiresAt: Number(row.expiresAt), state: row.state as State, endedAt: row.endedAt === null ? undefined : Number(row.endedAt) };
    } catch {
      return undefined;
    }
  }

  /** A refused call's record, at most REFUSALS_PER_MINUTE a minute (then one summary of the rest). */
  async function refused(reason: string, source: string, extra: { username?: string; client?: string; request?: string } = {}): Promise<void> {
    // The counts are decided before anything is awaited (one synchronous turn per call).
    const minute = Math.floor(d.now() / 60_000);
    let summary = 0;
    if (minute !== refusals.minute) {
      summary = refusals.suppressed;
      refusals = { minute, written: 0, suppressed: 0 };
    }
    const write = refusals.written < REFUSALS_PER_MINUTE;
    if (write) refusals.written++;
    else refusals.suppressed++;
    if (summary > 0) await d.audit.record({ event: 'pushapi.refused', outcome: 'reject', reason: 'refusal_summary', details: { suppressed: summary } });
    if (!write) return;
    await d.audit.record({ event: 'pushapi.refused', outcome: 'reject', reason, source, username: extra.username ?? null, client: extra.client ?? null, details: extra.request !== undefined ? { request: extra.request } : {} });
  }

  const overRate = (app: PushApplicationRow): boolean => app.rateLimit > 0 && !buckets.take(String(app.id), d.now(), app.rateLimit, app.rateLimit);

  function touch(app: PushApplicationRow): void {
    const now = d.now();
    if ((touched.get(app.id) ?? 0) + 60_000 > now) return;
    touched.set(app.id, now);
    // When it was last used is for people reading the list: a failed write loses nothing else.
    touchPushApplication(d.store, app.id, now).catch(() => undefined);
  }

  /** The application a call is for, if the caller may act for it; otherwise the refusal. */
  async function authorize(accessId: string, authorization: string | undefined, address: string, call: string): Promise<{ app: PushApplicationRow } | { answer: Answer }> {
    const source = `http:${address}`;
    const app = accessId.length <= 100 ? await findPushApplication(d.store, { accessId }) : undefined;
    if (app === undefined) {
      await refused('unknown_application', source, { request: call });
      return { answer: { status: 404, body: { error: 'unknown application' } } };
    }
    if (authorization !== undefined) {
      const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization.trim());
      const token = m === null ? undefined : await findPushAppToken(d.store, tokenHash(m[1]!), d.now());
      if (token === undefined || token.applicationId !== app.id || !token.scope.split(' ').includes(AUTH_SCOPE)) {
        await refused('bad_token', source, { client: app.name, request: call });
        return { answer: { status: 401, body: { error: 'invalid_token', error_description: 'the access token is missing, expired, or not for this application' }, wwwAuthenticate: 'Bearer realm="gatehouse", error="invalid_token"' } };
      }
    } else {
      const ip = normalizeAddress(address);
      if (!app.allowedSources.some((s) => { const c = parseCidr(s); return c !== null && cidrContains(c, ip); })) {
        await refused('source_not_allowed', source, { client: app.name, request: call });
        return { answer: { status: 401, body: { error: 'invalid_token', error_description: 'an access token is required (POST token with the client credentials)' }, wwwAuthenticate: 'Bearer realm="gatehouse"' } };
      }
    }
    if (overRate(app)) {
      await refused('rate_limited', source, { client: app.name, request: call });
      return { answer: { status: 429, body: { error: `too many calls for application ${app.name} (at most ${app.rateLimit} a second)` } } };
    }
    touch(app);
    return { app };
  }

  const view = (e: Entry, now: number): RequestView => ({
    uuid: e.uuid,
    username: e.username,
    action: e.action,
    description: e.description,
    fingerprint: e.fingerprint,
    ttl_seconds: e.ttlSeconds,
    created_at: new Date(e.createdAt).toISOString(),
    expires_at: new Date(e.expiresAt).toISOString(),
    expired: e.state === 'expired' || (e.state === 'pending' && e.expiresAt <= now),
    response_type: e.state === 'approved' ? 'ApproveRequest' : e.state === 'denied' ? 'DenyRequest' : null,
  });

  /** What a request's verdict leaves it as. */
  function stateOf(v: Verdict): State {
    if (v.kind === 'accept') return 'approved';
    if (v.kind === 'code_required') return 'denied';
    switch (v.reason) {
      case 'push_expired':
        return 'expired';
      case 'failmode_secure':
        return 'unreachable';
      case 'shutdown':
        return 'stopping';
      default:
        return 'denied';
    }
  }

  const text = (b: Record<string, unknown>, key: string, max: number, fallback: string): string | { error: string } => {
    const v = b[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') return { error: `${key} must be a string` };
    if (v.length > max) return { error: `${key} must be at most ${max} characters` };
    return v.replace(/[\u0000-\u001f\u007f]/g, ' ');
  };

  return {
    async token(req, source) {
      const invalidClient = async (): Promise<Answer> => {
        await refused('bad_client', source, { request: 'POST token' });
        return { status: 401, body: { error: 'invalid_client', error_description: 'unknown client or wrong secret' }, ...(req.basic ? { wwwAuthenticate: 'Basic realm="gatehouse"' } : {}) };
      };
      if (req.grantType !== 'client_credentials') {
        await refused('bad_grant', source, { request: 'POST token' });
        return { status: 400, body: req.grantType === undefined ? { error: 'invalid_request', error_description: 'grant_type is required' } : { error: 'unsupported_grant_type', error_description: 'only client_credentials is supported' } };
      }
      if (req.clientId === undefined || req.clientSecret === undefined || req.clientId.length > 100 || req.clientSecret.length > 200) return invalidClient();
      const app = await findPushApplication(d.store, { clientId: req.clientId });
      // The secret's hash is compared in constant time; an unknown client costs the same hash.
      const given = sha(req.clientSecret);
      const known = app === undefined ? given.map((b) => b ^ 0xff) : Buffer.from(app.clientSecretHash, 'hex');
      if (app === undefined || !timingSafeEqual(given, known)) return invalidClient();
      const asked = (req.scope ?? AUTH_SCOPE).split(' ').filter((s) => s !== '');
      if (!asked.includes(AUTH_SCOPE)) {
        await refused('bad_scope', source, { client: app.name, request: 'POST token' });
        return { status: 400, body: { error: 'invalid_scope', error_description: `this service grants ${AUTH_SCOPE} only` } };
      }
      if (overRate(app)) {
        await refused('rate_limited', source, { client: app.name, request: 'POST token' });
        return { status: 429, body: { error: `too many calls for application ${app.name} (at most ${app.rateLimit} a second)` } };
      }
      const now = d.now();
      const token = newToken('ght_');
      await insertPushAppToken(d.store, { tokenHash: tokenHash(token), applicationId: app.id, scope: AUTH_SCOPE, expiresAt: now + TOKEN_TTL_SECONDS * 1000 }, now);
      touch(app);
      await d.audit.record({ event: 'pushapi.token', outcome: 'ok', source, client: app.name });
      return { status: 200, body: { access_token: token, token_type: 'bearer', expires_in: TOKEN_TTL_SECONDS, scope: AUTH_SCOPE, created_at: Math.floor(now / 1000) } };
    },

    async create(accessId, authorization, address, username, body) {
      const auth = await authorize(accessId, authorization, address, 'POST auth_request');
      if ('answer' in auth) return auth.answer;
      const app = auth.app;
      const source = `http:${address}`;
      const s = d.settings();
      const action = text(body, 'action', 200, s.messageTitle);
      const description = text(body, 'description', 1000, s.messageDescription);
      const fingerprint = text(body, 'fingerprint', 200, '');
      for (const v of [action, description, fingerprint]) if (typeof v !== 'string') return { status: 400, body: v };
      const rawTtl = body['ttl_seconds'];
      const ttl = rawTtl === undefined || rawTtl === null ? s.messageTtlSeconds : typeof rawTtl === 'number' ? rawTtl : typeof rawTtl === 'string' && /^\s*\d{1,6}\s*$/.test(rawTtl) ? Number(rawTtl) : NaN;
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) return { status: 400, body: { error: `ttl_seconds must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}` } };
      const subject = await d.engine.subject(username);
      if (!subject.ok || !(await d.engine.pushable(subject.name))) {
        await d.audit.record({ event: 'pushapi.auth', outcome: 'reject', reason: 'unenrolled', username: subject.ok ? subject.name : username.slice(0, 200), source, client: app.name, details: { factor: 'none', ...(subject.ok ? {} : { message: subject.problem }) } });
        return { status: 404, body: { error: 'unknown user' } };
      }
      if (requests.size >= MAX_REQUESTS) return { status: 503, body: { error: 'too many requests held; try again shortly' } };
      const now = d.now();
      const e: Entry = { uuid: randomUUID(), applicationId: app.id, username: subject.name, action: action as string, description: description as string, fingerprint: fingerprint as string, ttlSeconds: ttl, createdAt: now, expiresAt: now + ttl * 1000, state: 'pending', endedAt: undefined };
      if (d.shared === true) {
        // Written before the uuid is handed out: a poll may reach another appliance at once.
        try {
          await insertServed(d.store, { uuid: e.uuid, applicationId: e.applicationId, createdAt: e.createdAt, expiresAt: e.expiresAt, state: e.state, entry: JSON.stringify({ username: e.username, action: e.action, description: e.description, fingerprint: e.fingerprint, ttlSeconds: e.ttlSeconds }) });
        } catch {
          return { status: 503, body: { error: 'the store is unreachable; try again shortly' } };
        }
      }
      requests.set(e.uuid, e);
      const ended = (state: State) => {
        e.state = state;
        e.endedAt = d.now();
        if (d.shared === true) void endServed(d.store, e.uuid, state, e.endedAt).catch(() => undefined);
      };
      const details = subject.sent !== subject.name ? { sentUsername: subject.sent } : {};
      void d.engine
        .decide({
          subject,
          // Each request is its own push (callers poll by uuid, so nothing joins it).
          origin: { door: 'api', source, nas: app.name, station: '', firstFactor: `application:${app.name}` },
          push: { title: e.action, description: e.description, fingerprint: e.fingerprint || `${app.name}`, ttlSeconds: ttl },
          view: { client: app.name, station: e.fingerprint || undefined },
          audit: { source, client: app.name },
          pushOnly: true,
        })
        .then(async (v) => {
          await d.audit.commit({ event: 'pushapi.auth', outcome: v.kind === 'accept' ? 'accept' : 'reject', reason: v.reason, username: subject.name, source, client: app.name, details: { ...v.details, ...details } });
          // Seen by polls only now that its record is committed.
          ended(stateOf(v));
        })
        .catch(() => ended('unreachable'));
      return { status: 200, body: { ...view(e, now) } };
    },

    async status(accessId, authorization, address, uuid) {
      const auth = await authorize(accessId, authorization, address, 'GET auth_request');
      if ('answer' in auth) return auth.answer;
      const e = requests.get(uuid) ?? (await sharedEntry(uuid));
      // Another application's request is not this caller's to read: as unknown.
      if (e === undefined || e.applicationId !== auth.app.id) return { status: 404, body: { error: 'unknown or expired request' } };
      if (e.state === 'unreachable') return { status: 502, body: { error: 'the push service could not deliver this request' } };
      if (e.state === 'stopping') return { status: 503, body: { error: 'Gatehouse is stopping' } };
      return { status: 200, body: { ...view(e, d.now()) } };
    },

    size: () => requests.size,
    stop: () => clearInterval(sweep),
  };
}
