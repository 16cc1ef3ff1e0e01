// The self-service portal at /my (issue 14): people sign in with their first factor (the
// directory, else the downstream RADIUS server with PAP), pass the factor they have, and manage
// their own factors. Same hardening as the admin UI (CSRF on every form, the security headers,
// body limits): failed attempts are counted per source address (ten in a row lock it out for 15
// minutes, each failure slows the next answer), at most as many attempts in flight per source as
// it has failures left; TOTP codes go through the user's own lockout and replay protection.
// Enrolling a first factor needs the self-enrolment window (--enrol-window) or a one-time code
// from an admin; adding or removing a factor once one exists needs that factor passed first.
// Every step is audited (event `portal.*`, and the factor events with actor `self:NAME`).
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { inEnrolWindow, normalEnrolmentCode } from '../admin/enrolment.js';
import { phoneEnrolmentLink, removePhone, userPhones } from '../admin/phones.js';
import { addUser, changeUser, cleanUserName, confirmUserTotp, enrolUserTotp } from '../admin/users.js';
import { claimEnrolmentCode, findEnrolmentCode } from '../db/queries/enrolment-codes.js';
import { DUMMY_HASH, verifyPassword } from '../lib/password.js';
import { findUserDetail } from '../db/queries/users.js';
import { sourceOf } from '../middleware/remote.js';
import type { TotpResult } from '../mfa/totp.js';
import { createPortalSessions, PORTAL_MAX_MS, type PortalSession } from '../portal/sessions.js';
import { pushProviderOf } from '../push/provider.js';
import { PortalHome, PortalSecondStep, PortalSignIn } from '../views/portal.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';
import { seeOther, takeNotice } from './flash.js';
import { createSourceFailures, failureDelayMs } from './signin-limits.js';

/** What the portal needs from the running appliance (app/main.ts). */
export interface PortalDeps {
  /** Which first factor checks passwords here: the directory, else the downstream RADIUS server. */
  how(): 'directory' | 'radius' | 'none';
  /** The first factor. `unavailable`: it could not be asked (not the person's fault). */
  checkPassword(username: string, password: string): Promise<{ ok: true } | { ok: false; reason: string; unavailable: boolean }>;
  /** A TOTP code of the user's, with replay protection and the lockout of every door. */
  verifyCode(username: string, code: string): Promise<TotpResult>;
  /**
   * Whether a push can reach the user: their phones (Gatehouse's own approver), or any user when
   * the push service is Notakey (Gatehouse cannot tell who is enrolled there, so it asks them).
   */
  pushable(username: string): Promise<boolean>;
  /** A push to the user's phones, answered when they approve, deny or it expires. */
  approve(username: string, source: string): Promise<{ ok: true } | { ok: false; reason: string }>;
}

const COOKIE = 'gh_my';
const RECENT = 10;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function createPortalRoutes(d: WebDeps, p: PortalDeps) {
  const sessions = createPortalSessions(d.now);
  const failures = createSourceFailures();
  const inFlight = new Map<string, number>();
  const base = (c: Context<WebEnv>) => ({ assets: d.assets, csrf: c.get('csrf') });
  const current = (c: Context<WebEnv>): PortalSession | undefined => sessions.get(getCookie(c, COOKIE));
  const actor = (s: PortalSession) => `self:${s.username}`;
  const audit = async (c: Context<WebEnv>, event: string, outcome: 'ok' | 'reject', username: string | null, reason?: string) =>
    await d.audit.record({ event, outcome, username, source: sourceOf(c), ...(reason !== undefined ? { reason } : {}) });

  /**
   * One attempt from the source: refused while it is locked out or has as many attempts in
   * flight as failures left (so parallel requests cannot outrun the count). Taken synchronously.
   */
  function begin(c: Context<WebEnv>): { ok: true; end(failed: boolean): Promise<void> } | { ok: false; error: string } {
    const src = sourceOf(c);
    const now = d.now();
    const until = failures.lockedUntil(src, now);
    const busy = inFlight.get(src) ?? 0;
    if (until !== undefined || busy >= 10 - failures.failures(src, now)) {
      return { ok: false, error: `Too many failed attempts from this address; try again ${until !== undefined ? `after ${new Date(until).toISOString().slice(11, 16)} UTC` : 'in a moment'}.` };
    }
    inFlight.set(src, busy + 1);
    return {
      ok: true,
      async end(failed) {
        const n = (inFlight.get(src) ?? 1) - 1;
        if (n <= 0) inFlight.delete(src);
        else inFlight.set(src, n);
        if (!failed) return failures.clear(src);
        const f = failures.fail(src, d.now());
        if (f.lockedNow) await d.audit.record({ event: 'portal.lockout', outcome: 'ok', source: src, reason: 'too_many_failures' });
        await d.delay(failureDelayMs(f.failures));
      },
    };
  }

  async function factorsOf(username: string) {
    const u = await findUserDetail(d.store, username);
    const phones = await userPhones(d.admin, username);
    const push = await p.pushable(username);
    return { user: u, totp: u?.hasTotp ? ('active' as const) : u?.pendingTotp ? ('pending' as const) : ('none' as const), phones, push, hasFactor: u?.hasTotp === true || push };
  }

  const signIn = (c: Context<WebEnv>, extra: { error?: { message: string; field?: string }; name?: string; notice?: string | undefined } = {}, status: 200 | 400 | 401 | 429 | 503 = 200) =>
    c.render(<PortalSignIn {...base(c)} how={p.how()} {...extra} />, status);

  const home = async (c: Context<WebEnv>, s: PortalSession, extra: { error?: { message: string; field?: string }; notice?: string | undefined } = {}, status: 200 | 400 | 403 | 409 = 200) => {
    c.header('Cache-Control', 'no-store');
    const f = await factorsOf(s.username);
    if (s.stage === 'password') return c.render(<PortalSecondStep {...base(c)} username={s.username} hasTotp={f.totp === 'active'} hasPhone={f.push} {...extra} />, status);
    const settings = d.resolved().settings;
    const recent = await d.auditStore.page({ username: s.username, events: ['radius.auth', 'windows.auth'] }, undefined, RECENT);
    return c.render(
      <PortalHome
        {...base(c)}
        {...extra}
        username={s.username}
        displayName={f.user?.displayName ?? null}
        totp={f.totp}
        pendingUri={f.totp === 'pending' ? s.pendingUri : undefined}
        phones={f.phones}
        phoneLink={s.phoneLink}
        ownPush={pushProviderOf(settings) === 'gatehouse'}
        mayEnrol={f.hasFactor || s.mayEnrol}
        windowEnded={settings.enrolWindow !== 'never'}
        recent={recent}
        now={d.now()}
      />,
      status,
    );
  };

  /** A change to the person's factors: allowed once they passed the factor they have, or may enrol a first. */
  const mayChange = async (s: PortalSession): Promise<boolean> => s.stage === 'full' && (s.mayEnrol || (await factorsOf(s.username)).hasFactor);

  return new Hono<WebEnv>()
    .get('/my', (c) => {
      const s = current(c);
      if (s === undefined) return signIn(c, { notice: takeNotice(c)?.text });
      return home(c, s, { notice: takeNotice(c)?.text });
    })
    .post('/my/signin', async (c) => {
      const b = await c.req.parseBody();
      const typed = (str(b['username']) ?? '').trim();
      const password = str(b['password']) ?? '';
      if (p.how() === 'none') return signIn(c, { error: { message: 'Self-service is not available: nothing is configured to check passwords.' } }, 503);
      const attempt = begin(c);
      if (!attempt.ok) return signIn(c, { error: { message: attempt.error }, name: typed }, 429);
      const name = cleanUserName(d.admin, typed);
      if (!name.ok || password === '') {
        await attempt.end(true);
        return signIn(c, { error: { message: 'Give your user name and password.' }, name: typed }, 400);
      }
      let r: Awaited<ReturnType<PortalDeps['checkPassword']>>;
      try {
        r = await p.checkPassword(name.value, password);
      } catch (e) {
        await attempt.end(false);
        throw e;
      }
      if (!r.ok) {
        await audit(c, 'portal.signin', 'reject', name.value, r.reason);
        await attempt.end(!r.unavailable);
        return r.unavailable
          ? signIn(c, { error: { message: 'Your password cannot be checked right now; try again later.' }, name: typed }, 503)
          : signIn(c, { error: { message: 'The user name or password is not correct.' }, name: typed }, 401);
      }
      await attempt.end(false);
      // Someone the store does not know yet is first seen now (the enrolment window starts).
      if (await findUserDetail(d.store, name.value) === undefined) await addUser(d.admin, `self:${name.value}`, name.value);
      const f = await factorsOf(name.value);
      const inWindow = f.user !== undefined && inEnrolWindow(d.resolved().settings, f.user.createdAt, d.now());
      const s = sessions.create(name.value, f.hasFactor ? 'password' : 'full', !f.hasFactor && inWindow);
      setCookie(c, COOKIE, s.id, { httpOnly: true, sameSite: 'Strict', secure: c.get('secure'), path: '/my', maxAge: PORTAL_MAX_MS / 1000 });
      await audit(c, 'portal.signin', 'ok', name.value, f.hasFactor ? 'factor_next' : inWindow ? 'may_enrol' : 'needs_code');
      return seeOther(c, '/my');
    })
    .post('/my/code', async (c) => {
      const s = current(c);
      if (s === undefined || s.stage !== 'password') return seeOther(c, '/my');
      const b = await c.req.parseBody();
      const attempt = begin(c);
      if (!attempt.ok) return home(c, s, { error: { message: attempt.error } }, 403);
      const r = await p.verifyCode(s.username, (str(b['code']) ?? '').replace(/\s+/g, ''));
      await attempt.end(!r.ok);
      if (!r.ok) {
        await audit(c, 'portal.second_factor', 'reject', s.username, r.reason);
        return home(c, s, { error: { message: r.reason === 'locked' ? 'Your account is locked after too many wrong codes; try again later or ask your administrator.' : r.reason === 'totp_replayed' ? 'That code was already used; wait for the next one.' : 'The code is not correct.', field: 'code' } }, 403);
      }
      s.stage = 'full';
      await audit(c, 'portal.second_factor', 'ok', s.username);
      return seeOther(c, '/my');
    })
    .post('/my/push', async (c) => {
      const s = current(c);
      if (s === undefined || s.stage !== 'password') return seeOther(c, '/my');
      const attempt = begin(c);
      if (!attempt.ok) return home(c, s, { error: { message: attempt.error } }, 403);
      let r: Awaited<ReturnType<PortalDeps['approve']>>;
      try {
        r = await p.approve(s.username, sourceOf(c));
      } catch (e) {
        await attempt.end(false);
        throw e;
      }
      // A denial counts as a failure; a push nobody answered does not (nobody guessed anything).
      await attempt.end(!r.ok && r.reason === 'push_denied');
      await audit(c, 'portal.second_factor', r.ok ? 'ok' : 'reject', s.username, r.ok ? 'push_approved' : r.reason);
      if (!r.ok) return home(c, s, { error: { message: r.reason === 'push_denied' ? 'The sign-in was denied on your phone.' : r.reason === 'push_expired' ? 'The sign-in was not approved in time; try again.' : 'Your phone could not be asked right now; try again later.' } }, 403);
      s.stage = 'full';
      return seeOther(c, '/my');
    })
    .post('/my/enrol-code', async (c) => {
      const s = current(c);
      if (s === undefined || s.stage !== 'full') return seeOther(c, '/my');
      const b = await c.req.parseBody();
      const attempt = begin(c);
      if (!attempt.ok) return home(c, s, { error: { message: attempt.error, field: 'enrolcode' } }, 403);
      // Checked against the slow hash (a dummy one when there is none, so timing tells nothing),
      // then claimed by one statement: a code works once, whatever arrives at the same time.
      const stored = await findEnrolmentCode(d.store, s.username, d.now());
      const matches = await verifyPassword(normalEnrolmentCode(str(b['code']) ?? ''), stored ?? DUMMY_HASH);
      const claimed = stored !== undefined && matches && await claimEnrolmentCode(d.store, s.username, stored, d.now());
      await attempt.end(!claimed);
      await audit(c, 'portal.enrolment_code', claimed ? 'ok' : 'reject', s.username, claimed ? undefined : 'wrong_or_expired');
      if (!claimed) return home(c, s, { error: { message: 'That code is not right, was used already, or has expired; ask your administrator for a new one.', field: 'enrolcode' } }, 403);
      s.mayEnrol = true;
      return seeOther(c, '/my', { kind: 'ok', text: 'Code accepted: set up your sign-in method now.' });
    })
    .post('/my/totp/start', async (c) => {
      const s = current(c);
      if (s === undefined) return seeOther(c, '/my');
      if (!(await mayChange(s))) return home(c, s, { error: { message: 'Pass your current sign-in method, or give an enrolment code, first.' } }, 403);
      const r = await enrolUserTotp(d.admin, actor(s), s.username, { activate: 'after-code' });
      if (!r.ok) return home(c, s, { error: { message: r.error } }, r.status === 404 ? 409 : r.status);
      s.pendingUri = r.value.uri;
      return seeOther(c, '/my');
    })
    .post('/my/totp/confirm', async (c) => {
      const s = current(c);
      if (s === undefined || !(await mayChange(s))) return seeOther(c, '/my');
      const b = await c.req.parseBody();
      const r = await confirmUserTotp(d.admin, actor(s), s.username, str(b['code']));
      if (!r.ok) return home(c, s, { error: { message: r.error, field: 'code' } }, r.status === 404 ? 409 : r.status);
      s.pendingUri = undefined;
      s.mayEnrol = false;
      return seeOther(c, '/my', { kind: 'ok', text: 'Your authenticator app is set up: sign-ins ask for its code from now on.' });
    })
    .post('/my/totp/remove', async (c) => {
      const s = current(c);
      if (s === undefined || s.stage !== 'full' || (await factorsOf(s.username)).totp !== 'active') return seeOther(c, '/my');
      const r = await changeUser(d.admin, actor(s), s.username, 'reset-totp');
      if (!r.ok) return home(c, s, { error: { message: r.error } }, r.status === 404 ? 409 : r.status);
      return seeOther(c, '/my', { kind: 'ok', text: 'Your authenticator app was removed.' });
    })
    .post('/my/phone/link', async (c) => {
      const s = current(c);
      if (s === undefined || !(await mayChange(s))) return seeOther(c, '/my');
      const r = await phoneEnrolmentLink(d.admin, actor(s), s.username);
      if (!r.ok) return home(c, s, { error: { message: r.error } }, 409);
      s.phoneLink = { url: r.value.url, expiresAt: r.value.expiresAt };
      return seeOther(c, '/my');
    })
    .post('/my/phone/remove', async (c) => {
      const s = current(c);
      if (s === undefined || s.stage !== 'full') return seeOther(c, '/my');
      const b = await c.req.parseBody();
      const id = /^\d{1,9}$/.test(str(b['id']) ?? '') ? Number(b['id']) : -1;
      const r = await removePhone(d.admin, actor(s), s.username, id);
      if (!r.ok) return home(c, s, { error: { message: r.error } }, 409);
      return seeOther(c, '/my', { kind: 'ok', text: `${r.value} removed; it cannot approve sign-ins any more.` });
    })
    .post('/my/signout', async (c) => {
      const s = current(c);
      if (s !== undefined) {
        sessions.drop(s.id);
        await audit(c, 'portal.signout', 'ok', s.username);
      }
      deleteCookie(c, COOKIE, { path: '/my', secure: c.get('secure') });
      return seeOther(c, '/my', { kind: 'ok', text: 'Signed out.' });
    })
    // The actions' own URLs, should a browser show them: the portal.
    .get('/my/*', (c) => c.redirect('/my', 303));
}
