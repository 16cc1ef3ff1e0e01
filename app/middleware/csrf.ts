// CSRF defence for every state-changing request of the web UI: a token tied to the session (or,
// before sign-in, to a short-lived cookie) must come back in the form field `_csrf` or the
// X-CSRF-Token header (htmx). A foreign Origin is refused; `Origin: null` (sent by Chromium with
// Referrer-Policy: no-referrer) counts as absent.
import { getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { timingSafeEqual } from 'node:crypto';
import { newToken } from '../lib/tokens.js';
import type { WebEnv } from '../web-env.js';

const PRE = 'gh_pre';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export const csrf = createMiddleware<WebEnv>(async (c, next) => {
  const session = c.get('session');
  let token = session?.csrfToken;
  if (token === undefined) {
    token = getCookie(c, PRE);
    if (token === undefined || token.length !== 43) {
      token = newToken();
      setCookie(c, PRE, token, { httpOnly: true, sameSite: 'Strict', secure: c.get('secure'), path: '/', maxAge: 3600 });
    }
  }
  c.set('csrf', token);
  if (SAFE.has(c.req.method)) return next();

  const origin = c.req.header('Origin');
  if (origin !== undefined && origin !== 'null') {
    const host = c.req.header('Host');
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (host === undefined || originHost !== host) return c.text('Forbidden: cross-origin request', 403);
  }
  let sent = c.req.header('X-CSRF-Token');
  if (sent === undefined && (c.req.header('Content-Type') ?? '').match(/^(application\/x-www-form-urlencoded|multipart\/form-data)/)) {
    const body = await c.req.parseBody();
    const f = body['_csrf'];
    sent = typeof f === 'string' ? f : undefined;
  }
  if (sent === undefined || !same(sent, token)) return c.text('Forbidden: missing or wrong CSRF token; reload the page and try again', 403);
  return next();
});
