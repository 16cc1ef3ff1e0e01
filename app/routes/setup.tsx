// The VM appliance's one-time setup page: the first admin is created in the browser with the setup
// code from the console (DATA_DIR/setup-code). Offered only while no admin exists and the file is
// there; once an admin exists it is 404 for good, whatever the file. Wrong codes count per source
// address against the sign-in lockout (ten in a row lock that address out for 15 minutes) and
// slow the answers like wrong passwords do.
import { Hono, type Context } from 'hono';
import { countAdmins } from '../db/queries/admins.js';
import { readSetupCode, setupCodeMatches, setupCodePath } from '../lib/setup-code.js';
import { sourceOf } from '../middleware/remote.js';
import { redirect } from '../middleware/htmx.js';
import { addAdmin } from '../admin/admins.js';
import { NotFoundPage } from '../views/errors.js';
import { SetupPage } from '../views/setup.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';
import { ADMIN_LOCKOUT, createSourceFailures, failureDelayMs } from './signin-limits.js';

/** The actor of the first admin's `admin.add` record. */
export const SETUP_ACTOR = 'setup-code';
/** Where a successful setup sends the browser: the sign-in page, with a notice. */
export const SETUP_DONE = '/login?setup=done';

/** The stored setup code while setup is offered (no admin, a usable file); otherwise why not. */
export async function setupCode(d: WebDeps): Promise<{ code: string } | { problem: string | undefined }> {
  if (await countAdmins(d.store) > 0) return { problem: undefined };
  const file = readSetupCode(d.dataDir);
  if (file.state === 'present') return { code: file.code };
  return { problem: file.state === 'unusable' ? file.problem : undefined };
}

export async function setupOffered(d: WebDeps): Promise<boolean> {
  return 'code' in await setupCode(d);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

type Outcome =
  | { kind: 'gone' }
  | { kind: 'locked'; until: number }
  | { kind: 'wrong_code'; failures: number; lockedNow: boolean }
  | { kind: 'invalid'; error: string }
  | { kind: 'created'; name: string };

export function createSetupRoutes(d: WebDeps) {
  const failures = createSourceFailures(ADMIN_LOCKOUT);
  // One setup attempt at a time: two right codes sent together must not make two admins.
  let queue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T,>(f: () => Promise<T>): Promise<T> => {
    const run = queue.then(f, f);
    queue = run.catch(() => undefined);
    return run;
  };
  const offered = async (): Promise<string | undefined> => {
    const s = await setupCode(d);
    if ('code' in s) return s.code;
    if (s.problem !== undefined) d.log.warn('setup code file is unusable: /setup is not offered', { file: setupCodePath(d.dataDir), problem: s.problem });
    return undefined;
  };
  const page = (c: Context<WebEnv>, status: 200 | 422 | 429, extra: { name?: string; error?: string } = {}) => {
    c.header('Cache-Control', 'no-store');
    return c.html(<SetupPage assets={d.assets} csrf={c.get('csrf')} name={extra.name} error={extra.error} />, status);
  };
  const notFound = (c: Context<WebEnv>) => c.html(<NotFoundPage assets={d.assets} csrf={c.get('csrf')} path={c.req.path} />, 404);

  return new Hono<WebEnv>()
    .get('/setup', async (c) => (await offered() === undefined ? notFound(c) : page(c, 200)))
    .post('/setup', async (c) => {
      const body = await c.req.parseBody();
      const entered = str(body['code']);
      const rawName = str(body['name']);
      /** Only the name is shown again (escaped), never the code or a passphrase. */
      const name = rawName.trim().slice(0, 64);
      const password = str(body['password']);
      const confirm = str(body['confirm']);
      const source = sourceOf(c);
      const reject = (reason: string, details?: { count?: number; message?: string }) =>
        d.audit.record({ event: 'admin.setup', outcome: 'reject', actor: null, source, reason, ...(details ? { details } : {}) });

      const outcome = await oneAtATime(async (): Promise<Outcome> => {
        const stored = await offered();
        if (stored === undefined) return { kind: 'gone' };
        const now = d.now();
        const until = failures.lockedUntil(source, now);
        if (until !== undefined) {
          await reject('locked');
          return { kind: 'locked', until };
        }
        if (!setupCodeMatches(entered, stored)) {
          const f = failures.fail(source, now);
          await reject('wrong_code', { count: f.failures, ...(f.lockedNow ? { message: `source locked out for ${ADMIN_LOCKOUT.lockoutMs / 60_000} minutes` } : {}) });
          return { kind: 'wrong_code', ...f };
        }
        if (password !== confirm) {
          await reject('password_mismatch');
          return { kind: 'invalid', error: 'The two passphrases differ.' };
        }
        // The same operation (name rules, password policy, audit record) as adding an admin in the UI.
        const r = await addAdmin(d.admin, SETUP_ACTOR, rawName, password, source);
        if (!r.ok) {
          await reject(r.field === 'password' ? 'weak_password' : r.field === 'name' ? 'bad_name' : 'invalid');
          return { kind: 'invalid', error: `Not created: ${r.error}.` };
        }
        failures.clear(source);
        // Adding an admin removes the setup code file. If it could not be, /setup is gone anyway
        // (an admin exists); the file only keeps the console banner.
        if (readSetupCode(d.dataDir).state !== 'absent') d.log.error('the setup code was used but its file could not be removed; remove it by hand', { file: setupCodePath(d.dataDir) });
        return { kind: 'created', name: r.value };
      });

      switch (outcome.kind) {
        case 'gone':
          return notFound(c);
        case 'created':
          d.log.info('first admin created with the setup code', { name: outcome.name, source });
          return redirect(c, SETUP_DONE);
        case 'locked': {
          const minutes = Math.max(1, Math.ceil((outcome.until - d.now()) / 60_000));
          c.header('Retry-After', String(Math.max(1, Math.ceil((outcome.until - d.now()) / 1000))));
          return page(c, 429, { name, error: `Too many wrong setup codes from this address. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.` });
        }
        case 'wrong_code':
          await d.delay(failureDelayMs(outcome.failures));
          return page(c, 422, {
            name,
            error: outcome.lockedNow
              ? `That setup code is not correct. Too many wrong codes: this address must wait ${ADMIN_LOCKOUT.lockoutMs / 60_000} minutes before trying again.`
              : 'That setup code is not correct. It is shown on the appliance\'s console (and in the setup-code file of the data directory).',
          });
        case 'invalid':
          return page(c, 422, { name, error: outcome.error });
      }
    });
}
