// Sign-in, TOTP enrolment on first sign-in, sign-out.
import { Hono, type Context } from 'hono';
import { randomBytes } from 'node:crypto';
import { countAdmins, findAdminByName, findSessionPendingSeed, setAdminSeed } from '../db/queries/admins.js';
import { redirect } from '../middleware/htmx.js';
import { sourceOf } from '../middleware/remote.js';
import { endSession, startSession } from '../middleware/session.js';
import { checkTotp, codeEquals, DEFAULT_TOTP, otpauthUri } from '../mfa/otp.js';
import { CodePage, EnrolPage, LoginPage } from '../views/session.js';
import type { WebEnv } from '../web-env.js';
import type { AdminAuth } from './admin-auth.js';
import type { WebDeps } from './deps.js';
import { setupOffered } from './setup.js';
import { failureDelayMs } from './signin-limits.js';

const PENDING_PURPOSE = 'admin_sessions.pending_seed';
const GENERIC = 'The name, password or code is not correct, or the account is locked for a while.';

export function createSessionRoutes(d: WebDeps, auth: AdminAuth) {
  const app = new Hono<WebEnv>();

  const loginPage = async (c: Context<WebEnv>, extra: { name?: string; error?: string } = {}, status: 200 | 401 | 429 = 200) => {
    const noAdmins = await countAdmins(d.store) === 0;
    return c.html(<LoginPage assets={d.assets} csrf={c.get('csrf')} noAdmins={noAdmins} setupOffered={noAdmins && await setupOffered(d)} created={c.req.query('setup') === 'done'} {...extra} />, status);
  };
  /**
   * Take a place for this attempt before anything is awaited, or answer 429 when the source is
   * locked out (or has as many attempts in flight as failures left).
   */
  const attempt = (c: Context<WebEnv>, source: string, render: (error: string) => Response | Promise<Response>): { end(): void } | Response | Promise<Response> => {
    const a = auth.begin(source, 'admin.signin');
    if (a.ok) return a;
    const seconds = Math.max(1, Math.ceil(a.retryAfterMs / 1000));
    c.header('Retry-After', String(seconds));
    c.status(429);
    return render(`Too many failed sign-ins from this address. Try again in ${Math.ceil(seconds / 60)} minute${seconds > 60 ? 's' : ''}.`);
  };

  app.get('/login', async (c) => {
    if (c.get('session')?.stage === 'full') return redirect(c, '/');
    return await loginPage(c);
  });

  app.post('/login', async (c) => {
    const source = sourceOf(c);
    const place = attempt(c, source, async (error) => await loginPage(c, { error }, 429));
    if (!('end' in place)) return place;
    let check;
    let name: string;
    let admin;
    try {
      const body = await c.req.parseBody();
      name = typeof body['name'] === 'string' ? body['name'].trim().slice(0, 64) : '';
      const password = typeof body['password'] === 'string' ? body['password'] : '';
      admin = name === '' ? undefined : await findAdminByName(d.store, name);
      check = await auth.password(admin, password, source, 'admin.signin');
    } finally {
      place.end();
    }
    if (!check.ok) {
      await d.delay(failureDelayMs(check.failures));
      return await loginPage(c, { name, error: GENERIC }, 401);
    }
    await endSession(c, d.store);
    if (admin!.hasTotp) {
      await startSession(c, d.store, admin!.id, 'password', d.now());
      return redirect(c, '/login/code');
    }
    const seed = randomBytes(20);
    await startSession(c, d.store, admin!.id, 'password', d.now(), d.sealer.seal(seed, PENDING_PURPOSE));
    return redirect(c, '/login/enrol');
  });

  const halfSignedIn = (c: { get(k: 'session'): WebEnv['Variables']['session'] }) => {
    const s = c.get('session');
    return s !== undefined && s.stage === 'password' ? s : undefined;
  };

  app.get('/login/code', (c) => {
    const s = halfSignedIn(c);
    if (s === undefined) return redirect(c, '/login');
    return c.html(<CodePage assets={d.assets} csrf={c.get('csrf')} name={s.adminName} />);
  });

  app.post('/login/code', async (c) => {
    const s = halfSignedIn(c);
    if (s === undefined) return redirect(c, '/login');
    const source = sourceOf(c);
    const page = (error: string, status: 401 | 429) => c.html(<CodePage assets={d.assets} csrf={c.get('csrf')} name={s.adminName} error={error} />, status);
    const place = attempt(c, source, (error) => page(error, 429));
    if (!('end' in place)) return place;
    let check;
    try {
      const body = await c.req.parseBody();
      const code = typeof body['code'] === 'string' ? body['code'] : '';
      // The code's step is claimed by one statement (that also finds no lockout), failures are
      // counted in one transaction: atomic across requests and nodes.
      check = await auth.code(s.adminId, code, source, 'admin.signin');
    } finally {
      place.end();
    }
    if (!check.ok) {
      if (check.reason === 'unknown_admin' || check.reason === 'no_totp') return redirect(c, '/login');
      await d.delay(failureDelayMs(check.failures));
      return page(GENERIC, 401);
    }
    await endSession(c, d.store);
    await startSession(c, d.store, s.adminId, 'full', d.now());
    await d.audit.record({ event: 'admin.signin', outcome: 'accept', actor: `admin:${s.adminName}`, reason: 'totp_ok', source });
    return redirect(c, '/');
  });

  const pendingSeed = async (sessionId: string): Promise<Buffer | undefined> => {
    const sealed = await findSessionPendingSeed(d.store, sessionId);
    return sealed === null ? undefined : d.sealer.open(sealed, PENDING_PURPOSE);
  };

  app.get('/login/enrol', async (c) => {
    const s = halfSignedIn(c);
    const seed = s ? await pendingSeed(s.id) : undefined;
    if (s === undefined || seed === undefined) return redirect(c, '/login');
    const uri = otpauthUri(`${d.admin.totpIssuer()} admin`, s.adminName, seed, DEFAULT_TOTP);
    seed.fill(0);
    c.header('Cache-Control', 'no-store');
    return c.html(<EnrolPage assets={d.assets} csrf={c.get('csrf')} name={s.adminName} uri={uri} />);
  });

  app.post('/login/enrol', async (c) => {
    const s = halfSignedIn(c);
    const seed = s ? await pendingSeed(s.id) : undefined;
    if (s === undefined || seed === undefined) return redirect(c, '/login');
    const body = await c.req.parseBody();
    const code = typeof body['code'] === 'string' ? body['code'].trim() : '';
    const check = checkTotp(seed, codeEquals(code), d.now(), DEFAULT_TOTP, -1);
    if (!check.ok) {
      const uri = otpauthUri(`${d.admin.totpIssuer()} admin`, s.adminName, seed, DEFAULT_TOTP);
      seed.fill(0);
      await d.audit.record({ event: 'admin.enrol', outcome: 'reject', actor: `admin:${s.adminName}`, reason: 'totp_wrong', source: sourceOf(c) });
      return c.html(<EnrolPage assets={d.assets} csrf={c.get('csrf')} name={s.adminName} uri={uri} error="That code does not match. Check the app and try the next code." />, 400);
    }
    await setAdminSeed(d.store, d.sealer, s.adminId, seed, check.step);
    seed.fill(0);
    await endSession(c, d.store);
    await startSession(c, d.store, s.adminId, 'full', d.now());
    await d.audit.record({ event: 'admin.enrol', outcome: 'ok', actor: `admin:${s.adminName}`, source: sourceOf(c) });
    await d.audit.record({ event: 'admin.signin', outcome: 'accept', actor: `admin:${s.adminName}`, reason: 'totp_enrolled', source: sourceOf(c) });
    return redirect(c, '/');
  });

  app.post('/logout', async (c) => {
    const s = c.get('session');
    if (s !== undefined) await d.audit.record({ event: 'admin.signout', outcome: 'ok', actor: `admin:${s.adminName}`, source: sourceOf(c) });
    await endSession(c, d.store);
    return redirect(c, '/login');
  });

  return app;
}
