import { Hono, type Context } from 'hono';
import { isHtmx } from '../middleware/htmx.js';
import { addUser, changeUser, enrolUserTotp, searchUsers } from '../admin/users.js';
import { UserTable, UsersPage, type UsersProps } from '../views/users.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';
import { seeOther, ShownOnce, stayOn, takeNotice } from './flash.js';

const ACTIONS = { remove: 'removed', lock: 'locked', unlock: 'unlocked', 'reset-totp': 'has no TOTP authenticator any more' } as const;

export function createUserRoutes(d: WebDeps) {
  /** A TOTP enrolment's URI, shown once on the page the enrolment redirects to. */
  const enrolled = new ShownOnce<{ username: string; uri: string }>(d.now);
  const page = (c: Context<WebEnv>, extra: Partial<UsersProps> = {}, status: 200 | 400 | 404 | 409 = 200) => {
    const q = extra.q ?? '';
    return c.render(<UsersPage assets={d.assets} csrf={c.get('csrf')} admin={c.get('session')!.adminName} now={d.now()} q={q} users={searchUsers(d.admin, q)} {...extra} />, status);
  };
  const actor = (c: Context<WebEnv>) => `admin:${c.get('session')!.adminName}`;
  const name = async (c: Context<WebEnv>) => {
    const b = await c.req.parseBody();
    return typeof b['username'] === 'string' ? b['username'] : '';
  };

  const app = new Hono<WebEnv>()
    .get('/users', (c) => {
      const q = (c.req.query('q') ?? '').slice(0, 253);
      if (isHtmx(c) && c.req.header('HX-Target') === 'user-table') return c.render(<UserTable csrf={c.get('csrf')} now={d.now()} users={searchUsers(d.admin, q)} q={q} />);
      const shown = enrolled.take(c.get('session')!.id, c.req.query('shown'));
      if (shown !== undefined) c.header('Cache-Control', 'no-store');
      return page(c, { q, enrolled: shown, notice: takeNotice(c)?.text });
    })
    .post('/users', async (c) => {
      const raw = await name(c);
      const r = addUser(d.admin, actor(c), raw);
      if (r.ok) return seeOther(c, '/users', { kind: 'ok', text: `User ${r.value} added.` });
      stayOn(c, '/users');
      return page(c, { error: r.error, form: { username: raw } }, r.status);
    })
    .post('/users/enrol', async (c) => {
      const r = enrolUserTotp(d.admin, actor(c), await name(c));
      if (!r.ok) {
        stayOn(c, '/users');
        return page(c, { error: r.error }, r.status);
      }
      return seeOther(c, `/users?shown=${enrolled.put(c.get('session')!.id, r.value)}`);
    });
  for (const action of Object.keys(ACTIONS) as (keyof typeof ACTIONS)[]) {
    app.post(`/users/${action}`, async (c) => {
      const r = changeUser(d.admin, actor(c), await name(c), action);
      if (r.ok) return seeOther(c, '/users', { kind: 'ok', text: `${r.value} ${ACTIONS[action]}.` });
      stayOn(c, '/users');
      return page(c, { error: r.error }, r.status);
    });
    // The action's own URL, should a browser show it: the page it belongs to.
    app.get(`/users/${action}`, (c) => c.redirect('/users', 303));
  }
  app.get('/users/enrol', (c) => c.redirect('/users', 303));
  return app;
}
