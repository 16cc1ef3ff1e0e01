// Sign-in, TOTP enrolment on first sign-in, sign-out.
import { Hono } from 'hono';
import { randomBytes } from 'node:crypto';
import { countAdmins, findAdminById, findAdminByName, findSessionPendingSeed, openAdminSeed, recordAdminSignIn, setAdminSeed, type AdminRow } from '../db/queries/admins.js';
import { DUMMY_HASH, verifyPassword } from '../lib/password.js';
import { redirect } from '../middleware/htmx.js';
import { sourceOf } from '../middleware/remote.js';
import { endSession, startSession } from '../middleware/session.js';
import { afterFailure, lockVerdict } from '../mfa/lockout.js';
import { checkTotp, codeEquals, DEFAULT_TOTP, otpauthUri } from '../mfa/otp.js';
import { CodePage, EnrolPage, LoginPage } from '../views/session.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';
import { setupOffered } from './setup.js';
import { ADMIN_LOCKOUT, failureDelayMs } from './signin-limits.js';

const PENDING_PURPOSE = 'admin_sessions.pending_seed';
const GENERIC = 'The name, password or code is not correct, or the account is locked for a while.';

export function createSessionRoutes(d: WebDeps) {
  const app = new Hono<WebEnv>();

  const fail = async (admin: AdminRow | undefined, reason: string, source: string) => {
    if (admin !== undefined) {
      const next = afterFailure({ locked: false, lockedUntil: admin.lockedUntil, failedAttempts: admin.failedAttempts }, d.now(), ADMIN_LOCKOUT);
      recordAdminSignIn(d.store, admin.id, false, next.lockedUntil, next.failedAttempts);
      if (next.lockedNow) d.audit.record({ event: 'admin.lockout', outcome: 'ok', actor: `admin:${admin.name}`, source, reason: 'too_many_failures' });
    }
    d.audit.record({ event: 'admin.signin', outcome: 'reject', actor: admin ? `admin:${admin.name}` : null, reason, source });
    await d.delay(failureDelayMs(admin?.failedAttempts ?? 3));
  };

  app.get('/login', (c) => {
    if (c.get('session')?.stage === 'full') return redirect(c, '/');
    const noAdmins = countAdmins(d.store) === 0;
    return c.html(<LoginPage assets={d.assets} csrf={c.get('csrf')} noAdmins={noAdmins} setupOffered={noAdmins && setupOffered(d)} created={c.req.query('setup') === 'done'} />);
  });

  app.post('/login', async (c) => {
    const body = await c.req.parseBody();
    const name = typeof body['name'] === 'string' ? body['name'].trim().slice(0, 64) : '';
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    const admin = name === '' ? undefined : findAdminByName(d.store, name);
    const passwordOk = await verifyPassword(password, admin?.passwordHash ?? DUMMY_HASH);
    const locked = admin !== undefined && lockVerdict({ locked: false, lockedUntil: admin.lockedUntil, failedAttempts: admin.failedAttempts }, d.now()).locked;
    if (admin === undefined || !passwordOk || locked) {
      await fail(admin, admin === undefined ? 'unknown_admin' : locked ? 'locked' : 'bad_password', sourceOf(c));
      const noAdmins = countAdmins(d.store) === 0;
      return c.html(<LoginPage assets={d.assets} csrf={c.get('csrf')} name={name} noAdmins={noAdmins} setupOffered={noAdmins && setupOffered(d)} error={GENERIC} />, 401);
    }
    endSession(c, d.store);
    if (admin.hasTotp) {
      startSession(c, d.store, admin.id, 'password', d.now());
      return redirect(c, '/login/code');
    }
    const seed = randomBytes(20);
    startSession(c, d.store, admin.id, 'password', d.now(), d.sealer.seal(seed, PENDING_PURPOSE));
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
    const admin = findAdminById(d.store, s.adminId);
    const seed = admin ? openAdminSeed(d.store, d.sealer, admin.id) : undefined;
    const body = await c.req.parseBody();
    const code = typeof body['code'] === 'string' ? body['code'].trim() : '';
    if (admin === undefined || seed === undefined) return redirect(c, '/login');
    const locked = lockVerdict({ locked: false, lockedUntil: admin.lockedUntil, failedAttempts: admin.failedAttempts }, d.now()).locked;
    const check = locked ? undefined : checkTotp(seed, codeEquals(code), d.now(), DEFAULT_TOTP, admin.totpLastUsedStep);
    seed.fill(0);
    if (check === undefined || !check.ok) {
      await fail(admin, locked ? 'locked' : check?.ok === false && check.reason === 'replayed' ? 'totp_replayed' : 'totp_wrong', sourceOf(c));
      return c.html(<CodePage assets={d.assets} csrf={c.get('csrf')} name={admin.name} error={GENERIC} />, 401);
    }
    recordAdminSignIn(d.store, admin.id, true, null, 0, check.step);
    endSession(c, d.store);
    startSession(c, d.store, admin.id, 'full', d.now());
    d.audit.record({ event: 'admin.signin', outcome: 'accept', actor: `admin:${admin.name}`, reason: 'totp_ok', source: sourceOf(c) });
    return redirect(c, '/');
  });

  const pendingSeed = (sessionId: string): Buffer | undefined => {
    const sealed = findSessionPendingSeed(d.store, sessionId);
    return sealed === null ? undefined : d.sealer.open(sealed, PENDING_PURPOSE);
  };

  app.get('/login/enrol', (c) => {
    const s = halfSignedIn(c);
    const seed = s ? pendingSeed(s.id) : undefined;
    if (s === undefined || seed === undefined) return redirect(c, '/login');
    const uri = otpauthUri(`${d.admin.totpIssuer()} admin`, s.adminName, seed, DEFAULT_TOTP);
    seed.fill(0);
    c.header('Cache-Control', 'no-store');
    return c.html(<EnrolPage assets={d.assets} csrf={c.get('csrf')} name={s.adminName} uri={uri} />);
  });

  app.post('/login/enrol', async (c) => {
    const s = halfSignedIn(c);
    const seed = s ? pendingSeed(s.id) : undefined;
    if (s === undefined || seed === undefined) return redirect(c, '/login');
    const body = await c.req.parseBody();
    const code = typeof body['code'] === 'string' ? body['code'].trim() : '';
    const check = checkTotp(seed, codeEquals(code), d.now(), DEFAULT_TOTP, -1);
    if (!check.ok) {
      const uri = otpauthUri(`${d.admin.totpIssuer()} admin`, s.adminName, seed, DEFAULT_TOTP);
      seed.fill(0);
      d.audit.record({ event: 'admin.enrol', outcome: 'reject', actor: `admin:${s.adminName}`, reason: 'totp_wrong', source: sourceOf(c) });
      return c.html(<EnrolPage assets={d.assets} csrf={c.get('csrf')} name={s.adminName} uri={uri} error="That code does not match. Check the app and try the next code." />, 400);
    }
    setAdminSeed(d.store, d.sealer, s.adminId, seed, check.step);
    seed.fill(0);
    endSession(c, d.store);
    startSession(c, d.store, s.adminId, 'full', d.now());
    d.audit.record({ event: 'admin.enrol', outcome: 'ok', actor: `admin:${s.adminName}`, source: sourceOf(c) });
    d.audit.record({ event: 'admin.signin', outcome: 'accept', actor: `admin:${s.adminName}`, reason: 'totp_enrolled', source: sourceOf(c) });
    return redirect(c, '/');
  });

  app.post('/logout', (c) => {
    const s = c.get('session');
    if (s !== undefined) d.audit.record({ event: 'admin.signout', outcome: 'ok', actor: `admin:${s.adminName}`, source: sourceOf(c) });
    endSession(c, d.store);
    return redirect(c, '/login');
  });

  return app;
}
