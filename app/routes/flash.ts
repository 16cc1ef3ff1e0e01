// Post/redirect/get for the admin UI, so that every URL in the address bar is a page that exists
// and a reload never repeats an action:
//   - a change that worked answers 303 to its page, with a notice in a short-lived cookie that
//     the page shows once (seeOther / takeNotice);
//   - a secret shown once (a new client's secret, an API token, a TOTP enrolment) is never put
//     in a cookie or a URL: it is kept in memory for this session under a random id, and the
//     page it redirects to takes it (ShownOnce);
//   - a refused form is answered with its page and the error (4xx), and the address bar is set
//     to that page (stayOn), so a reload lands on the page, not on the action's URL.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { randomBytes } from 'node:crypto';
import type { WebEnv } from '../web-env.js';

export interface Notice {
  kind: 'ok' | 'info';
  text: string;
}

const COOKIE = 'gh_notice';
const MAX_TEXT = 300;

/** Answer 303 to `to`; the page there shows `notice` once. */
export function seeOther(c: Context<WebEnv>, to: string, notice?: Notice): Response {
  if (notice !== undefined) {
    const value = Buffer.from(JSON.stringify({ kind: notice.kind, text: notice.text.slice(0, MAX_TEXT) }), 'utf8').toString('base64url');
    setCookie(c, COOKIE, value, { httpOnly: true, sameSite: 'Strict', secure: c.get('secure'), path: '/', maxAge: 60 });
  }
  return c.redirect(to, 303);
}

/** The notice left by the change that redirected here, if any; it is shown once. */
export function takeNotice(c: Context<WebEnv>): Notice | undefined {
  const raw = getCookie(c, COOKIE);
  if (raw === undefined) return undefined;
  deleteCookie(c, COOKIE, { path: '/', secure: c.get('secure') });
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (v !== null && typeof v === 'object' && 'text' in v && typeof v.text === 'string' && 'kind' in v && (v.kind === 'ok' || v.kind === 'info')) {
      return { kind: v.kind, text: v.text.slice(0, MAX_TEXT) };
    }
  } catch {
    // a cookie we did not write: ignored
  }
  return undefined;
}

/**
 * A refused form is answered in place (4xx, with the error): set the address bar to the page the
 * form belongs to, so that a reload or Back lands on that page (htmx reads HX-Replace-Url).
 */
export function stayOn(c: Context<WebEnv>, page: string): void {
  c.header('HX-Replace-Url', page);
}

/** Values shown once after a redirect, held for their session only, for a short while. */
export class ShownOnce<T> {
  private readonly items = new Map<string, { session: string; value: T; until: number }>();
  constructor(
    private readonly now: () => number,
    private readonly ttlMs = 120_000,
    private readonly max = 1000,
  ) {}

  /** Keep `value` for `session`; returns the id to put in the redirect's URL. */
  put(session: string, value: T): string {
    const t = this.now();
    for (const [k, v] of this.items) if (v.until <= t || this.items.size >= this.max) this.items.delete(k);
    const id = randomBytes(12).toString('base64url');
    this.items.set(id, { session, value, until: t + this.ttlMs });
    return id;
  }

  /** The value, as often as asked until it is taken or expires, only for its session. */
  peek(session: string, id: string | undefined): T | undefined {
    if (id === undefined) return undefined;
    const v = this.items.get(id);
    return v === undefined || v.session !== session || v.until <= this.now() ? undefined : v.value;
  }

  /** The value, once, and only for the session it was put for. */
  take(session: string, id: string | undefined): T | undefined {
    if (id === undefined) return undefined;
    const v = this.items.get(id);
    if (v === undefined || v.session !== session || v.until <= this.now()) return undefined;
    this.items.delete(id);
    return v.value;
  }
}
