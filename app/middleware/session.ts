// Admin sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure and __Host-
// over HTTPS); the store keeps only its SHA-256. Idle and absolute timeouts end a session.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { deleteSession, findSession, insertSession, touchSession, type SessionRow } from '../db/queries/admins.js';
import type { SharedStore } from '../db/store.js';
import { newToken, tokenHash } from '../lib/tokens.js';
import type { WebEnv } from '../web-env.js';
import { POLL_HEADER } from '../views/layout.js';
import { redirect } from './htmx.js';

export const IDLE_MS = 30 * 60_000;
export const ABSOLUTE_MS = 12 * 3600_000;
const TOUCH_EVERY_MS = 60_000;

const cookieName = (secure: boolean) => (secure ? '__Host-gh_session' : 'gh_session');

export function loadSession(store: SharedStore, now: () => number) {
  return createMiddleware<WebEnv>(async (c, next) => {
    const secure = c.get('secure');
    const token = getCookie(c, cookieName(secure));
    let session: SessionRow | undefined;
    if (token !== undefined && token.length < 200) {
      const id = tokenHash(token);
      const found = await findSession(store, id);
      const t = now();
      if (found !== undefined && (t - found.lastSeenAt > IDLE_MS || t - found.createdAt > ABSOLUTE_MS)) await deleteSession(store, id);
      else if (found !== undefined) {
        session = found;
        // A page refreshing itself is not the admin at work: it must not keep the session from
        // going idle (an open dashboard would otherwise never time out).
        if (t - found.lastSeenAt > TOUCH_EVERY_MS && c.req.header(POLL_HEADER) === undefined) await touchSession(store, id, t);
      }
    }
    c.set('session', session);
    await next();
  });
}

/** Start a session for an admin whose password was right; returns its id (the token's hash). */
export async function startSession(c: Context<WebEnv>, store: SharedStore, adminId: number, stage: 'password' | 'full', now: number, pendingSeedSealed: Buffer | null = null): Promise<string> {
  const token = newToken();
  const id = tokenHash(token);
  await insertSession(store, { id, adminId, stage, csrfToken: newToken(), createdAt: now, lastSeenAt: now, pendingSeedSealed });
  const secure = c.get('secure');
  setCookie(c, cookieName(secure), token, { httpOnly: true, sameSite: 'Strict', secure, path: '/', maxAge: ABSOLUTE_MS / 1000 });
  return id;
}

export async function endSession(c: Context<WebEnv>, store: SharedStore): Promise<void> {
  const s = c.get('session');
  if (s !== undefined) await deleteSession(store, s.id);
  const secure = c.get('secure');
  // Only a cookie the browser sent needs clearing (no empty cookie on every sign-in step).
  if (getCookie(c, cookieName(secure)) !== undefined) deleteCookie(c, cookieName(secure), { path: '/', secure });
}

/** Pages behind sign-in: anyone else is sent to the sign-in page. */
export const requireAdmin = createMiddleware<WebEnv>(async (c, next) => {
  const s = c.get('session');
  if (s === undefined || s.stage !== 'full') return redirect(c, '/login');
  await next();
});
