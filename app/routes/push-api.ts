// HTTP for the push API Gatehouse serves (app/push/served.ts decides every answer): the OAuth2
// token endpoint and the two Notakey-compatible calls, under /api/ (so a caller's "host" is
// `https://gatehouse.example/api/`). JSON in and out; no session, no CSRF (no cookies are read).
import { Hono, type Context } from 'hono';
import { addressOf } from '../middleware/remote.js';
import type { Answer, ServedApi } from '../push/served.js';

type Body = Record<string, unknown>;

/** A JSON object or a form (the OAuth2 spec's encoding); anything else is empty (then refused). */
async function readBody(c: Context): Promise<Body | undefined> {
  const type = c.req.header('Content-Type') ?? '';
  try {
    if (/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
      const text = await c.req.text();
      if (text.trim() === '') return {};
      const v: unknown = JSON.parse(text);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : undefined;
    }
    if (/^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(type)) return Object.fromEntries(new URLSearchParams(await c.req.text()));
    if (type === '' && (c.req.header('Content-Length') ?? '0') === '0') return {};
  } catch {
    // Not echoed: the body may hold a secret.
  }
  return undefined;
}

const stringOf = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `Authorization: Basic` client credentials (RFC 6749 2.3.1: each part form-urlencoded). */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const m = header === undefined ? null : /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (m === null) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { id: decodeURIComponent(text.slice(0, colon).replace(/\+/g, ' ')), secret: decodeURIComponent(text.slice(colon + 1).replace(/\+/g, ' ')) };
  } catch {
    return undefined;
  }
}

function send(c: Context, a: Answer) {
  if (a.wwwAuthenticate !== undefined) c.header('WWW-Authenticate', a.wwwAuthenticate);
  c.header('Cache-Control', 'no-store');
  return c.json(a.body, a.status);
}

export function createPushApiRoutes(api: ServedApi) {
  return new Hono()
    .post('/token', async (c) => {
      const body = await readBody(c);
      if (body === undefined) return send(c, { status: 400, body: { error: 'invalid_request', error_description: 'the body must be a form (application/x-www-form-urlencoded) or a JSON object' } });
      const authorization = c.req.header('Authorization');
      const basic = basicCredentials(authorization);
      const answer = await api.token(
        {
          grantType: stringOf(body['grant_type']),
          clientId: basic?.id ?? stringOf(body['client_id']),
          clientSecret: basic?.secret ?? stringOf(body['client_secret']),
          scope: stringOf(body['scope']),
          basic: basic !== undefined,
        },
        `http:${addressOf(c)}`,
      );
      c.header('Pragma', 'no-cache');
      return send(c, answer);
    })
    .post('/v2/application/:accessId/application_user/:username/auth_request', async (c) => {
      const body = await readBody(c);
      if (body === undefined) return send(c, { status: 400, body: { error: 'the body must be a JSON object (Content-Type: application/json)' } });
      return send(c, await api.create(c.req.param('accessId'), c.req.header('Authorization'), addressOf(c), c.req.param('username'), body));
    })
    .get('/v2/application/:accessId/auth_request/:uuid', async (c) => send(c, await api.status(c.req.param('accessId'), c.req.header('Authorization'), addressOf(c), c.req.param('uuid'))));
}
