import { Hono, type Context } from 'hono';
import { stream } from 'hono/streaming';
import { exportUsersCsv, importUsers, planImport, type ImportPlan } from '../admin/user-import.js';
import { phoneEnrolmentLink, removePhone, userPhones } from '../admin/phones.js';
import { pushProviderOf } from '../push/provider.js';
import { addUser, changeUser, confirmUserTotp, enrolUserTotp, pageOfUsers, setUserProfile, userDetail, type UserAction } from '../admin/users.js';
import { isHtmx } from '../middleware/htmx.js';
import { UserImportPage } from '../views/user-import.js';
import { UserPage, type UserPageProps } from '../views/user-page.js';
import { userHref, UsersPage, UserTable, type UsersProps } from '../views/users.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';
import { seeOther, ShownOnce, stayOn, takeNotice } from './flash.js';
import { createEnrolmentCode } from '../admin/enrolment.js';

const ACTIONS: Record<UserAction, string> = {
  remove: 'removed',
  lock: 'locked',
  unlock: 'unlocked',
  'reset-totp': 'has no TOTP authenticator any more',
  'cancel-enrolment': ': the new authenticator was cancelled',
};
/** The events a user's page lists, newest first. */
const RECENT = 15;
/** A checked import file waits this long for its Import button (ms). */
const IMPORT_TTL = 30 * 60_000;

type Form = Record<string, string | File | (string | File)[]>;
const field = (b: Form, k: string): string => (typeof b[k] === 'string' ? b[k] : '');

export function createUserRoutes(d: WebDeps) {
  /** A TOTP enrolment's URI, shown once on the user's page the enrolment redirects to. */
  const enrolled = new ShownOnce<{ username: string; uri: string }>(d.now);
  /** A phone enrolment link, shown once on the user's page. */
  const phoneLinks = new ShownOnce<{ url: string; expiresAt: number }>(d.now);
  /** A self-enrolment code, shown once on the user's page. */
  const enrolCodes = new ShownOnce<{ code: string; expiresAt: number }>(d.now);
  /** A checked CSV file, for its preview page and its Import button (this session only). */
  const checked = new ShownOnce<{ fileName: string; text: string; plan: ImportPlan }>(d.now, IMPORT_TTL, 20);
  const actor = (c: Context<WebEnv>) => `admin:${c.get('session')!.adminName}`;
  const frame = (c: Context<WebEnv>) => ({ assets: d.assets, csrf: c.get('csrf'), admin: c.get('session')!.adminName });

  const listProps = async (c: Context<WebEnv>): Promise<Omit<UsersProps, 'assets' | 'csrf' | 'admin'>> => {
    const q = (c.req.query('q') ?? '').slice(0, 253);
    const after = c.req.query('after');
    const page = await pageOfUsers(d.admin, q, after === '' ? undefined : after);
    return { now: d.now(), q, users: page.users, total: page.total, firstPage: after === undefined || after === '', next: page.next };
  };
  const listPage = async (c: Context<WebEnv>, extra: Partial<UsersProps> = {}, status: 200 | 400 | 404 | 409 = 200) => c.render(<UsersPage {...frame(c)} {...await listProps(c)} {...extra} />, status);

  /** A user's page (404 when there is none), with what the request adds: a notice, an error. */
  /** The rule at doors without a client condition, then per RADIUS client named by some rule. */
  const effectiveRules = async (name: string) => {
    const table = d.policy();
    const clients = [...new Set(table.rules.flatMap((r) => (r.client === undefined ? [] : [r.client])))].sort();
    const doors: { where: string; client: string | undefined }[] = [{ where: 'Any door', client: undefined }, ...clients.map((cl) => ({ where: `Via ${cl}`, client: cl }))];
    const rules = [];
    for (const door of doors) rules.push({ where: door.where, rule: await table.match(name, door.client) });
    return rules;
  };
  const userPage = async (c: Context<WebEnv>, raw: string, extra: Partial<UserPageProps> = {}, status: 200 | 400 | 404 | 409 = 200) => {
    const u = await userDetail(d.admin, raw);
    if (!u.ok) return c.render(<UsersPage {...frame(c)} {...await listProps(c)} error={u.error} />, 404);
    const name = u.value.username;
    const recent = await d.auditStore.page({ username: name }, undefined, RECENT);
    const lastLogin = recent.find((r) => r.outcome === 'accept' && (r.event === 'radius.auth' || r.event === 'windows.auth')) ?? (await d.auditStore.page({ username: name, events: ['radius.auth', 'windows.auth'], outcome: 'accept' }, undefined, 1))[0];
    const ownPush = pushProviderOf(d.resolved().settings) === 'gatehouse';
    return c.render(<UserPage {...frame(c)} now={d.now()} user={u.value} recent={recent} lastLogin={lastLogin} phones={await userPhones(d.admin, name)} ownPush={ownPush} rules={await effectiveRules(name)} {...extra} />, status);
  };
  /** After an action: the user's page (`back=user`) or the list. */
  const backTo = (b: Form, username: string) => (field(b, 'back') === 'user' ? userHref(username) : '/users');

  const app = new Hono<WebEnv>()
    .get('/users', async (c) => {
      if (isHtmx(c) && c.req.header('HX-Target') === 'user-table') {
        const p = await listProps(c);
        return c.render(<UserTable csrf={c.get('csrf')} {...p} />);
      }
      return await listPage(c, { notice: takeNotice(c)?.text });
    })
    .get('/users/u/:name', (c) => {
      const shown = enrolled.take(c.get('session')!.id, c.req.query('shown'));
      const phoneLink = phoneLinks.take(c.get('session')!.id, c.req.query('phone'));
      const enrolCode = enrolCodes.take(c.get('session')!.id, c.req.query('code'));
      if (shown !== undefined || phoneLink !== undefined || enrolCode !== undefined) c.header('Cache-Control', 'no-store');
      return userPage(c, c.req.param('name'), { enrolled: shown?.uri, phoneLink, enrolCode, notice: takeNotice(c)?.text });
    })
    .get('/users/export.csv', async (c) => {
      c.header('Content-Type', 'text/csv; charset=utf-8');
      c.header('Content-Disposition', `attachment; filename="gatehouse-users-${new Date(d.now()).toISOString().slice(0, 10)}.csv"`);
      c.header('Cache-Control', 'no-store');
      await d.audit.record({ event: 'user.export', outcome: 'ok', actor: actor(c) });
      return stream(c, async (s) => {
        for await (const chunk of exportUsersCsv(d.admin)) await s.write(chunk);
      });
    })
    .post('/users', async (c) => {
      const b = await c.req.parseBody();
      const raw = field(b, 'username');
      const r = await addUser(d.admin, actor(c), raw);
      if (r.ok) return seeOther(c, '/users', { kind: 'ok', text: `User ${r.value} added.` });
      stayOn(c, '/users');
      return await listPage(c, { error: r.error, form: { username: raw } }, r.status);
    })
    .post('/users/enrol', async (c) => {
      const b = await c.req.parseBody();
      // In the browser a new authenticator waits for a code from the user's app before it counts.
      const r = await enrolUserTotp(d.admin, actor(c), field(b, 'username'), { activate: 'after-code' });
      if (!r.ok) {
        stayOn(c, '/users');
        return await listPage(c, { error: r.error }, r.status);
      }
      return seeOther(c, `${userHref(r.value.username)}?shown=${enrolled.put(c.get('session')!.id, r.value)}`);
    })
    .post('/users/phone-link', async (c) => {
      const b = await c.req.parseBody();
      const r = await phoneEnrolmentLink(d.admin, actor(c), field(b, 'username'));
      if (!r.ok) {
        stayOn(c, '/users');
        return await listPage(c, { error: r.error }, r.status);
      }
      return seeOther(c, `${userHref(r.value.username)}?phone=${phoneLinks.put(c.get('session')!.id, { url: r.value.url, expiresAt: r.value.expiresAt })}#phones`);
    })
    .post('/users/enrol-code', async (c) => {
      const b = await c.req.parseBody();
      const r = await createEnrolmentCode(d.admin, actor(c), field(b, 'username'));
      if (!r.ok) {
        stayOn(c, '/users');
        return await listPage(c, { error: r.error }, r.status);
      }
      return seeOther(c, `${userHref(r.value.username)}?code=${enrolCodes.put(c.get('session')!.id, { code: r.value.code, expiresAt: r.value.expiresAt })}#self-service`);
    })
    .post('/users/phone-remove', async (c) => {
      const b = await c.req.parseBody();
      const raw = field(b, 'username');
      const r = await removePhone(d.admin, actor(c), raw, Number(field(b, 'device')));
      const u = await userDetail(d.admin, raw);
      if (!u.ok) return await listPage(c, { error: u.error }, 404);
      if (r.ok) return seeOther(c, userHref(u.value.username), { kind: 'ok', text: `${r.value} removed: it approves nothing from now on.` });
      stayOn(c, userHref(u.value.username));
      return userPage(c, raw, { error: { message: r.error, form: 'action' } }, r.status);
    })
    .post('/users/confirm', async (c) => {
      const b = await c.req.parseBody();
      const raw = field(b, 'username');
      const r = await confirmUserTotp(d.admin, actor(c), raw, field(b, 'code'));
      if (r.ok) return seeOther(c, userHref(r.value), { kind: 'ok', text: `${r.value}'s new authenticator is confirmed: it counts for logins now.` });
      const u = await userDetail(d.admin, raw);
      if (!u.ok) return await listPage(c, { error: r.error }, 404);
      stayOn(c, userHref(u.value.username));
      return userPage(c, raw, { error: { message: r.error, field: r.ok ? undefined : r.field, form: 'confirm' } }, r.status);
    })
    .post('/users/profile', async (c) => {
      const b = await c.req.parseBody();
      const raw = field(b, 'username');
      const input = { displayName: field(b, 'displayName'), email: field(b, 'email'), groups: field(b, 'groups') };
      const r = await setUserProfile(d.admin, actor(c), raw, input);
      if (r.ok) return seeOther(c, userHref(r.value), { kind: 'ok', text: `${r.value}'s profile saved.` });
      const u = await userDetail(d.admin, raw);
      if (!u.ok) return await listPage(c, { error: r.error }, 404);
      stayOn(c, userHref(u.value.username));
      return userPage(c, raw, { error: { message: r.error, field: r.field, form: 'profile' }, profile: input }, r.status);
    })
    .get('/users/import', (c) => {
      const id = c.req.query('preview');
      const preview = checked.peek(c.get('session')!.id, id);
      if (id !== undefined && preview === undefined) return seeOther(c, '/users/import', { kind: 'info', text: 'That check has expired: choose the file again.' });
      return c.render(<UserImportPage {...frame(c)} preview={preview && id ? { id, fileName: preview.fileName, plan: preview.plan } : undefined} />);
    })
    .post('/users/import', async (c) => {
      const b = await c.req.parseBody();
      const file = b['file'];
      const refuse = (error: string) => c.render(<UserImportPage {...frame(c)} error={error} />, 400);
      if (!(file instanceof File) || file.size === 0) return refuse('choose a CSV file (its first line names the columns)');
      const text = new TextDecoder('utf-8', { fatal: false }).decode(await file.arrayBuffer());
      const plan = await planImport(d.admin, text);
      if (!plan.ok) return refuse(plan.error);
      const fileName = file.name.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 120) || 'the file';
      return seeOther(c, `/users/import?preview=${checked.put(c.get('session')!.id, { fileName, text, plan: plan.value })}`);
    })
    .post('/users/import/apply', async (c) => {
      const b = await c.req.parseBody();
      const item = checked.take(c.get('session')!.id, field(b, 'id'));
      if (item === undefined) return seeOther(c, '/users/import', { kind: 'info', text: 'That check has expired or was imported already: choose the file again.' });
      // Planned again against the users as they are now, and written all or nothing.
      const r = await importUsers(d.admin, actor(c), item.text);
      if (!r.ok) {
        stayOn(c, '/users/import');
        return c.render(<UserImportPage {...frame(c)} error={r.error} />, r.status);
      }
      const p = r.value;
      return seeOther(c, '/users', { kind: 'ok', text: `Imported ${item.fileName}: ${p.creates} users added, ${p.updates} changed, ${p.unchanged} unchanged.` });
    });
  for (const action of Object.keys(ACTIONS) as UserAction[]) {
    app.post(`/users/${action}`, async (c) => {
      const b = await c.req.parseBody();
      const r = await changeUser(d.admin, actor(c), field(b, 'username'), action);
      if (r.ok) return seeOther(c, action === 'remove' ? '/users' : backTo(b, r.value), { kind: 'ok', text: `${r.value}${ACTIONS[action].startsWith(':') ? '' : ' '}${ACTIONS[action]}.` });
      const back = backTo(b, field(b, 'username'));
      if (back !== '/users') {
        const u = await userDetail(d.admin, field(b, 'username'));
        if (u.ok) {
          stayOn(c, userHref(u.value.username));
          return userPage(c, u.value.username, { error: { message: r.error, form: 'action' } }, r.status);
        }
      }
      stayOn(c, '/users');
      return await listPage(c, { error: r.error }, r.status);
    });
  }
  // An action's own URL, should a browser show it: the page it belongs to.
  for (const path of [...Object.keys(ACTIONS), 'enrol', 'confirm', 'profile', 'import/apply', 'phone-link', 'phone-remove', 'enrol-code']) app.get(`/users/${path}`, (c) => c.redirect(path === 'import/apply' ? '/users/import' : '/users', 303));
  return app;
}
