// Approvals, downstream server, settings, admins and API tokens pages.
import { Hono, type Context } from 'hono';
import { OPTIONS } from '../config.js';
import { listAdmins, listApiTokens } from '../db/queries/admins.js';
import { listDownstreams } from '../db/queries/downstream.js';
import { addAdmin, changeAdmin, checkNewAdmin, checkRole, setAdminRole } from '../admin/admins.js';
import { addServer, checkDownstream, removeDownstream, removeRealm, removeServer, setDownstream, setPool, setRealm } from '../admin/downstream.js';
import { DEFAULT_POOL } from '../radius/pools.js';
import { countSessions, listSessions } from '../db/queries/sessions.js';

/** Active sessions shown on one page (the API takes a limit). */
const SESSIONS_SHOWN = 500;
import { checkSetting, SECURITY_SETTINGS, SETTING_CONTROLS, SETTING_GROUPS, setSetting } from '../admin/settings.js';
import { ROLE_LABELS } from '../admin/roles.js';
import { createApiToken, revokeApiToken } from '../admin/tokens.js';
import { AdminsPage, ApprovalsLive, ApprovalsPage, BackupPage, ConfirmSettingPage, DownstreamPage, SessionsPage, SettingsPage, TokensPage, type PoolRow, type SettingRow } from '../views/system.js';
import { isHtmx } from '../middleware/htmx.js';
import type { WebEnv } from '../web-env.js';
import { findAdminById } from '../db/queries/admins.js';
import { sourceOf } from '../middleware/remote.js';
import type { AdminAuth } from './admin-auth.js';
import type { WebDeps } from './deps.js';
import { seeOther, ShownOnce, stayOn, takeNotice } from './flash.js';
import { passphraseProblem } from '../backup.js';
import { setBindPassword } from '../admin/directory.js';
import { DirectoryPage, type DirectoryTest } from '../views/directory.js';
import { addRule, checkRule, moveRuleBy, removeRule } from '../admin/policy.js';
import { PolicyPage } from '../views/policy.js';
import { failureDelayMs } from './signin-limits.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
type Status = 200 | 400 | 403 | 404 | 409;
/** What a page shows besides its data: a notice, a refused form's error (and its field), the form's values. */
type PageExtra = { notice?: string | undefined; error?: string | undefined; field?: string | undefined; form?: Record<string, string | boolean | undefined> | undefined };

export function createSystemRoutes(d: WebDeps, auth: AdminAuth) {
  const base = (c: Context<WebEnv>) => ({ assets: d.assets, csrf: c.get('csrf'), admin: c.get('session')!.adminName });
  const actor = (c: Context<WebEnv>) => `admin:${c.get('session')!.adminName}`;
  const msg = (r: { ok: true } | { ok: false; error: string }, notice: string) => (r.ok ? { notice } : { error: r.error });
  const status = (r: { ok: true } | { ok: false; status: 400 | 404 | 409 }): Status => (r.ok ? 200 : r.status);

  /**
   * The signed-in admin's password and a fresh code again, before an operation that a stolen or
   * unattended session must not be enough for. Failures count like sign-in failures. Returns the
   * error to show, or undefined when confirmed.
   */
  const confirmed = async (c: Context<WebEnv>, b: Record<string, unknown>): Promise<string | undefined> => {
    const source = sourceOf(c);
    const place = auth.begin(source, 'admin.reauth');
    if (!place.ok) return 'Too many failed attempts from this address; try again in a while.';
    const s = c.get('session')!;
    let k;
    try {
      const p = await auth.password(await findAdminById(d.store, s.adminId), str(b['reauth_password']) ?? '', source, 'admin.reauth');
      k = p.ok ? await auth.code(s.adminId, str(b['reauth_code']) ?? '', source, 'admin.reauth') : p;
    } finally {
      place.end();
    }
    if (k.ok) return undefined;
    await d.delay(failureDelayMs(k.failures));
    return 'Your password or code is not correct (a code works once: wait for the next one). The operation was not done.';
  };

  const approvals = async (c: Context<WebEnv>) => {
    const now = d.now();
    const pending = d.pendingApprovals();
    const recent = (await d.auditStore.page({ events: ['radius.auth', 'windows.auth', 'pushapi.auth'] }, undefined, 25)).filter((r) => r.details !== null && /"factor":"(push|totp)"/.test(r.details));
    if (isHtmx(c)) return c.html(<ApprovalsLive now={now} pending={pending} recent={recent} />);
    return c.render(<ApprovalsPage {...base(c)} now={now} pending={pending} recent={recent} />);
  };

  const downstream = async (c: Context<WebEnv>, extra: PageExtra = {}, code: Status = 200) => {
    const stored = await listDownstreams(d.store, d.sealer);
    // Each server as the running pools see it, with its stored row's id where it has one (the
    // flag server of the default pool has none: read-only here).
    const pools: PoolRow[] = d.pools().map((p) => ({
      name: p.name,
      mode: p.mode,
      responseWindowMs: p.responseWindowMs,
      deadAfter: p.deadAfter,
      checkIntervalMs: p.checkIntervalMs,
      servers: p.servers.map((h) => ({
        id: h.id,
        name: h.server,
        address: h.address,
        acctPort: h.acctPort,
        transport: h.transport,
        pool: p.name,
        state: h.state,
        lastAnswer: h.lastAnswer,
      })),
    }));
    const defaultStored = stored.find((x) => x.pool === DEFAULT_POOL);
    return c.render(<DownstreamPage {...base(c)} {...extra} now={d.now()} pools={pools} realms={d.realms()} current={d.downstream()} requireMa={defaultStored?.requireMessageAuthenticator ?? false} />, code);
  };

  const settingRows = (): SettingRow[] => {
    const { settings: s, sources } = d.resolved();
    return OPTIONS.filter((o) => o.storable).map((o) => {
      const v = s[o.key];
      return { flag: o.flag, env: o.env, help: o.help, value: v === undefined ? '' : Array.isArray(v) ? '' : String(v), source: sources[o.key], control: SETTING_CONTROLS[o.flag] ?? { kind: 'text' } };
    });
  };
  const settings = (c: Context<WebEnv>, extra: PageExtra = {}, code: Status = 200) => {
    const rows = settingRows();
    const placed = new Set(SETTING_GROUPS.flatMap((g) => g.flags));
    const groups = [...SETTING_GROUPS.map((g) => ({ title: g.title, rows: g.flags.flatMap((f) => rows.filter((r) => r.flag === f)) })), { title: 'Other', rows: rows.filter((r) => !placed.has(r.flag)) }].filter((g) => g.rows.length > 0);
    return c.render(<SettingsPage {...base(c)} {...extra} groups={groups} />, code);
  };

  const directoryFlags = SETTING_GROUPS.find((g) => g.title === 'Directory')!.flags;
  const directory = async (c: Context<WebEnv>, extra: PageExtra & { test?: DirectoryTest } = {}, code: Status = 200) => {
    const rows = settingRows();
    const st = d.directory();
    return c.render(
      <DirectoryPage
        {...base(c)}
        {...extra}
        rows={directoryFlags.flatMap((f) => rows.filter((r) => r.flag === f))}
        configured={d.resolved().settings.ldapUrl !== undefined}
        problem={st.ok ? undefined : st.problem}
        bindPassword={d.bindPasswordSource()}
        sync={{ ...(await d.directorySync.status()), intervalMinutes: d.resolved().settings.ldapSyncInterval }}
        now={d.now()}
      />,
      code,
    );
  };
  /** The page a settings form came from (the Directory page edits its own group in place). */
  const settingsPage = (back: string) => (back === '/directory' ? directory : settings);

  const policy = (c: Context<WebEnv>, extra: PageExtra = {}, code: Status = 200) =>
    c.render(<PolicyPage {...base(c)} {...extra} rules={d.policy().rules} clients={[...new Set(d.runtimeClients().map((x) => x.name))].sort()} unenrolled={d.resolved().settings.unenrolledUsers} />, code);
  const ruleId = (v: unknown) => (typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : -1);

  const admins = async (c: Context<WebEnv>, extra: PageExtra = {}, code: Status = 200) =>
    c.render(<AdminsPage {...base(c)} {...extra} admins={await listAdmins(d.store)} self={c.get('session')!.adminName} />, code);

  /** A new API token, shown once on the page the creation redirects to. */
  const createdTokens = new ShownOnce<{ name: string; token: string }>(d.now);

  const tokens = async (c: Context<WebEnv>, extra: PageExtra & { created?: { name: string; token: string } | undefined } = {}, code: Status = 200) =>
    c.render(<TokensPage {...base(c)} {...extra} tokens={await listApiTokens(d.store)} now={d.now()} />, code);

  return new Hono<WebEnv>()
    .get('/approvals', approvals)
    .get('/sessions', async (c) => {
      const raw = (c.req.query('username') ?? '').trim();
      const username = raw === '' ? undefined : raw.slice(0, 256);
      const sessions = await listSessions(d.store, { username, limit: SESSIONS_SHOWN });
      return c.render(<SessionsPage {...base(c)} now={d.now()} sessions={sessions} total={username === undefined ? await countSessions(d.store) : sessions.length} username={username} />);
    })
    .get('/downstream', (c) => downstream(c, { notice: takeNotice(c)?.text }))
    .post('/downstream', async (c) => {
      stayOn(c, '/downstream');
      const b = await c.req.parseBody();
      if (d.downstream()?.source === 'flag' || d.downstream()?.source === 'env') return downstream(c, { error: 'The server is set by a flag or the environment.' }, 409);
      const input = { host: str(b['host']), port: str(b['port']), secret: str(b['secret']), requireMessageAuthenticator: b['requireMessageAuthenticator'] === 'yes' };
      // The server that checks every password: changing it needs the admin's password and a code.
      const checked = checkDownstream(input);
      if (!checked.ok) return downstream(c, { error: checked.error, field: checked.field, form: input }, checked.status);
      const refused = await confirmed(c, b);
      if (refused !== undefined) return downstream(c, { error: refused, form: input }, 403);
      const r = await setDownstream(d.admin, actor(c), input);
      if (!r.ok) return downstream(c, { error: r.error, field: r.field, form: input }, r.status);
      return seeOther(c, '/downstream', { kind: 'ok', text: 'Downstream server saved; new logins use it now.' });
    })
    .post('/downstream/remove', async (c) => {
      const r = await removeDownstream(d.admin, actor(c));
      if (r.ok) return seeOther(c, '/downstream', { kind: 'ok', text: 'Downstream server removed.' });
      stayOn(c, '/downstream');
      return downstream(c, { error: r.error }, r.status);
    })
    .get('/downstream/remove', (c) => c.redirect('/downstream', 303))
    .post('/downstream/servers', async (c) => {
      stayOn(c, '/downstream');
      const b = await c.req.parseBody();
      const input = { pool: str(b['pool']), name: str(b['serverName']), host: str(b['serverHost']), port: str(b['serverPort']), acctPort: str(b['acctPort']), transport: str(b['transport']), secret: str(b['serverSecret']) };
      // This form's fields are named apart from the single-server form's on the same page.
      const form = { pool: input.pool, serverName: input.name, serverHost: input.host, serverPort: input.port, acctPort: input.acctPort, transport: input.transport };
      const fieldOf = (f: string | undefined) => (f === undefined ? undefined : ({ name: 'serverName', host: 'serverHost', port: 'serverPort', secret: 'serverSecret' } as Record<string, string>)[f] ?? f);
      const checked = checkDownstream(input);
      if (!checked.ok) return downstream(c, { error: checked.error, field: fieldOf(checked.field), form }, checked.status);
      if (checked.value.pool === DEFAULT_POOL && (d.downstream()?.source === 'flag' || d.downstream()?.source === 'env')) return downstream(c, { error: 'The default pool is set by --downstream-address (or DOWNSTREAM_ADDRESS): add the server to another pool.', field: 'pool', form }, 409);
      // A server that checks passwords: adding one needs the admin's password and a code.
      const refused = await confirmed(c, b);
      if (refused !== undefined) return downstream(c, { error: refused, form }, 403);
      const r = await addServer(d.admin, actor(c), input);
      if (!r.ok) return downstream(c, { error: r.error, field: fieldOf(r.field), form }, r.status);
      return seeOther(c, '/downstream', { kind: 'ok', text: `Server ${r.value.name} added to pool ${r.value.pool}.` });
    })
    .get('/downstream/servers', (c) => c.redirect('/downstream', 303))
    .post('/downstream/servers/remove', async (c) => {
      const b = await c.req.parseBody();
      const id = Number(str(b['id']) ?? '');
      const r = Number.isSafeInteger(id) ? await removeServer(d.admin, actor(c), id) : ({ ok: false, status: 404, error: 'no such downstream server' } as const);
      if (r.ok) return seeOther(c, '/downstream', { kind: 'ok', text: 'Server removed.' });
      stayOn(c, '/downstream');
      return downstream(c, { error: r.error }, r.status);
    })
    .get('/downstream/servers/remove', (c) => c.redirect('/downstream', 303))
    .post('/downstream/pools', async (c) => {
      stayOn(c, '/downstream');
      const b = await c.req.parseBody();
      const name = (str(b['poolName']) ?? '').trim();
      const input = { mode: str(b['mode']), responseWindow: str(b['responseWindow']), deadAfter: str(b['deadAfter']), checkInterval: str(b['checkInterval']) };
      const r = await setPool(d.admin, actor(c), name, input);
      if (!r.ok) return downstream(c, { error: r.error, field: r.field === 'name' ? 'poolName' : r.field, form: { ...input, poolName: name } }, r.status);
      return seeOther(c, '/downstream', { kind: 'ok', text: `Pool ${r.value.name} saved.` });
    })
    .get('/downstream/pools', (c) => c.redirect('/downstream', 303))
    .post('/downstream/realms', async (c) => {
      stayOn(c, '/downstream');
      const b = await c.req.parseBody();
      const name = str(b['realmName']) ?? '';
      const input = { pool: str(b['realmPool']), strip: b['strip'] === 'yes' };
      const r = await setRealm(d.admin, actor(c), name, input);
      if (!r.ok) return downstream(c, { error: r.error, field: r.field === 'pool' ? 'realmPool' : 'realmName', form: { realmName: name, realmPool: input.pool, strip: input.strip } }, r.status);
      return seeOther(c, '/downstream', { kind: 'ok', text: `Realm ${r.value.name} routes to pool ${r.value.pool}.` });
    })
    .get('/downstream/realms', (c) => c.redirect('/downstream', 303))
    .post('/downstream/realms/remove', async (c) => {
      const b = await c.req.parseBody();
      const r = await removeRealm(d.admin, actor(c), str(b['realmName']) ?? '');
      if (r.ok) return seeOther(c, '/downstream', { kind: 'ok', text: 'Realm removed.' });
      stayOn(c, '/downstream');
      return downstream(c, { error: r.error }, r.status);
    })
    .get('/downstream/realms/remove', (c) => c.redirect('/downstream', 303))
    .get('/settings', (c) => settings(c, { notice: takeNotice(c)?.text }))
    .post('/settings', async (c) => {
      const b = await c.req.parseBody();
      const back = str(b['back']) === '/directory' ? '/directory' : '/settings';
      const page = settingsPage(back);
      stayOn(c, back);
      const key = str(b['key']) ?? '';
      const value = (str(b['value']) ?? '').trim();
      if (SECURITY_SETTINGS.has(key)) {
        // Settings that decide who gets in: checked, then confirmed with the password and a code
        // (a second page when the form did not carry them).
        const checked = checkSetting(d.admin, key, value);
        if (!checked.ok) return page(c, { error: checked.error, field: key, form: { key, value } }, checked.status);
        if (b['reauth_password'] === undefined) return c.render(<ConfirmSettingPage {...base(c)} setting={key} value={value} back={back} />);
        const refused = await confirmed(c, b);
        if (refused !== undefined) return c.render(<ConfirmSettingPage {...base(c)} setting={key} value={value} back={back} error={refused} />, 403);
      }
      const r = await setSetting(d.admin, actor(c), key, value);
      if (!r.ok) return page(c, { error: r.error, field: key, form: { key, value } }, r.status);
      return seeOther(c, back, { kind: 'ok', text: `${key} saved.` });
    })
    .get('/directory', (c) => directory(c, { notice: takeNotice(c)?.text }))
    .post('/directory/test', async (c) => {
      stayOn(c, '/directory');
      const st = d.directory();
      if (!st.ok) return directory(c, { error: `The directory cannot be used: ${st.problem}` }, 409);
      const r = await st.directory.test();
      await d.audit.record({ event: 'directory.test', outcome: r.ok ? 'ok' : 'error', actor: actor(c), ...(r.ok ? { details: { address: r.url } } : { reason: r.reason }) });
      return directory(c, { test: r.ok ? { kind: 'connection', ok: true, url: r.url } : { kind: 'connection', ok: false, reason: r.reason, detail: r.detail } });
    })
    .post('/directory/test-user', async (c) => {
      stayOn(c, '/directory');
      const b = await c.req.parseBody();
      const username = (str(b['username']) ?? '').trim();
      const password = str(b['password']) ?? '';
      if (username === '' || username.length > 256) return directory(c, { error: 'Give a user name (at most 256 characters).', field: 'username' }, 400);
      const st = d.directory();
      if (!st.ok) return directory(c, { error: `The directory cannot be used: ${st.problem}` }, 409);
      const found = await st.directory.findUser(username);
      let test: DirectoryTest;
      if (!found.ok) test = { kind: 'user', username, ok: false, reason: found.reason, detail: found.detail };
      else if (password === '') test = { kind: 'user', username, ok: true, user: found.user };
      else {
        // Checked exactly as a login's would be; each try is audited with the name (never the
        // password), and the directory's own lockout policy counts it like any other bind.
        const checked = await st.directory.checkPassword(username, password);
        test = { kind: 'user', username, ok: true, user: found.user, password: checked.ok ? 'right' : { reason: checked.reason } };
      }
      await d.audit.record({ event: 'directory.test_user', outcome: test.ok ? 'ok' : 'error', actor: actor(c), username, ...(test.ok ? (test.password !== undefined ? { reason: test.password === 'right' ? 'password_right' : `password_${test.password.reason}` } : {}) : { reason: test.reason }) });
      return directory(c, { test });
    })
    .post('/directory/password', async (c) => {
      stayOn(c, '/directory');
      const b = await c.req.parseBody();
      const password = str(b['password']) ?? '';
      const refused = await confirmed(c, b);
      if (refused !== undefined) return directory(c, { error: refused }, 403);
      const r = await setBindPassword(d.admin, actor(c), password, d.bindPasswordSource());
      if (!r.ok) return directory(c, { error: r.error, field: r.field }, r.status);
      return seeOther(c, '/directory', { kind: 'ok', text: r.value === 'stored' ? 'The service account password is stored; new lookups use it now.' : 'The stored service account password is removed.' });
    })
    .post('/directory/sync', (c) => {
      stayOn(c, '/directory');
      const st = d.directory();
      if (!st.ok) return directory(c, { error: `The directory cannot be used: ${st.problem}` }, 409);
      const started = d.directorySync.runNow(actor(c));
      return seeOther(c, '/directory', { kind: 'ok', text: started ? 'Sync started; the result shows here when it ends.' : 'A sync is already running.' });
    })
    .get('/directory/sync', (c) => c.redirect('/directory', 303))
    .get('/policy', (c) => policy(c, { notice: takeNotice(c)?.text }))
    .post('/policy', async (c) => {
      stayOn(c, '/policy');
      const b = await c.req.parseBody();
      const form = { name: str(b['name']), groups: str(b['groups']), client: str(b['client']), action: str(b['action']), factors: str(b['factors']), replyAttributes: str(b['replyAttributes']) };
      // Rules decide who gets in: the admin's password and a code, after the values are checked.
      const checked = await checkRule(d.admin, form);
      if (!checked.ok) return policy(c, { error: checked.error, field: checked.field, form }, checked.status);
      const refused = await confirmed(c, b);
      if (refused !== undefined) return policy(c, { error: refused, form }, 403);
      const r = await addRule(d.admin, actor(c), form);
      if (!r.ok) return policy(c, { error: r.error, field: r.field, form }, r.status);
      return seeOther(c, '/policy', { kind: 'ok', text: `Rule ${r.value.name} added; it applies to new logins now.` });
    })
    .post('/policy/move', async (c) => {
      const b = await c.req.parseBody();
      const r = await moveRuleBy(d.admin, actor(c), ruleId(b['id']), b['by'] === 'up' ? -1 : 1);
      if (!r.ok) {
        stayOn(c, '/policy');
        return policy(c, { error: r.error }, r.status);
      }
      return seeOther(c, '/policy', { kind: 'ok', text: `Rule ${r.value.name} moved.` });
    })
    .post('/policy/remove', async (c) => {
      const b = await c.req.parseBody();
      const r = await removeRule(d.admin, actor(c), ruleId(b['id']));
      if (!r.ok) {
        stayOn(c, '/policy');
        return policy(c, { error: r.error }, r.status);
      }
      return seeOther(c, '/policy', { kind: 'ok', text: `Rule ${r.value.name} removed.` });
    })
    .get('/policy/move', (c) => c.redirect('/policy', 303))
    .get('/policy/remove', (c) => c.redirect('/policy', 303))
    .get('/directory/test', (c) => c.redirect('/directory', 303))
    .get('/directory/test-user', (c) => c.redirect('/directory', 303))
    .get('/directory/password', (c) => c.redirect('/directory', 303))
    .get('/admins', async (c) => await admins(c, { notice: takeNotice(c)?.text }))
    .post('/admins', async (c) => {
      stayOn(c, '/admins');
      const b = await c.req.parseBody();
      const form = { name: str(b['name']) ?? '', role: str(b['role']) ?? '' };
      // A new admin is a way to everything: the adding admin's password and a code are asked again.
      const checked = await checkNewAdmin(d.admin, str(b['name']), str(b['password']), str(b['role']));
      if (!checked.ok) return await admins(c, { error: checked.error, field: checked.field, form }, checked.status);
      const refused = await confirmed(c, b);
      if (refused !== undefined) return await admins(c, { error: refused, form }, 403);
      const r = await addAdmin(d.admin, actor(c), str(b['name']), str(b['password']), undefined, str(b['role']));
      if (!r.ok) return await admins(c, { error: r.error, field: r.field, form }, r.status);
      return seeOther(c, '/admins', { kind: 'ok', text: `Admin ${r.value} added; they set up TOTP at their first sign-in.` });
    })
    .post('/admins/:action{remove|reset-totp}', async (c) => {
      const b = await c.req.parseBody();
      const action = c.req.param('action') as 'remove' | 'reset-totp';
      const r = await changeAdmin(d.admin, actor(c), c.get('session')!.adminName, str(b['name']) ?? '', action);
      if (r.ok) return seeOther(c, '/admins', { kind: 'ok', text: action === 'remove' ? `Admin ${r.value} removed.` : `${r.value}'s TOTP reset; they enrol again at their next sign-in.` });
      stayOn(c, '/admins');
      return await admins(c, { error: r.error }, r.status);
    })
    .get('/admins/:action{remove|reset-totp}', (c) => c.redirect('/admins', 303))
    .post('/admins/role', async (c) => {
      stayOn(c, '/admins');
      const b = await c.req.parseBody();
      const form = { target: str(b['target']) ?? '', newrole: str(b['newrole']) ?? '' };
      const role = checkRole(str(b['newrole']) || '-', 'newrole');
      if (!role.ok) return await admins(c, { error: role.error, field: role.field, form }, role.status);
      // A role is a way to more (or less) of everything: asked again like adding an admin.
      const refused = await confirmed(c, b);
      if (refused !== undefined) return await admins(c, { error: refused, form }, 403);
      const r = await setAdminRole(d.admin, actor(c), c.get('session')!.adminName, form.target, role.value);
      if (!r.ok) return await admins(c, { error: r.error, field: 'target', form }, r.status);
      return seeOther(c, '/admins', { kind: 'ok', text: `${r.value.name} is now: ${ROLE_LABELS[r.value.role]}.` });
    })
    .get('/admins/role', (c) => c.redirect('/admins', 303))
    .get('/tokens', async (c) => {
      const shown = createdTokens.take(c.get('session')!.id, c.req.query('shown'));
      if (shown !== undefined) c.header('Cache-Control', 'no-store');
      return await tokens(c, { created: shown, notice: takeNotice(c)?.text });
    })
    .post('/tokens', async (c) => {
      stayOn(c, '/tokens');
      const b = await c.req.parseBody();
      const form = { name: str(b['name']) ?? '', role: str(b['role']) ?? '' };
      const role = checkRole(str(b['role']));
      if (!role.ok) return await tokens(c, { error: role.error, field: role.field, form }, role.status);
      const refused = await confirmed(c, b);
      if (refused !== undefined) return await tokens(c, { error: refused, form }, 403);
      const r = await createApiToken(d.admin, actor(c), str(b['name']), role.value);
      if (!r.ok) return await tokens(c, { error: r.error, field: r.field, form }, r.status);
      return seeOther(c, `/tokens?shown=${createdTokens.put(c.get('session')!.id, r.value)}`);
    })
    .post('/tokens/revoke', async (c) => {
      const b = await c.req.parseBody();
      const r = await revokeApiToken(d.admin, actor(c), str(b['name']) ?? '');
      if (r.ok) return seeOther(c, '/tokens', { kind: 'ok', text: `Token ${r.value} revoked.` });
      stayOn(c, '/tokens');
      return await tokens(c, { error: r.error }, r.status);
    })
    .get('/tokens/revoke', (c) => c.redirect('/tokens', 303))
    .get('/backup', (c) => c.render(<BackupPage {...base(c)} />))
    .post('/backup', async (c) => {
      stayOn(c, '/backup');
      const b = await c.req.parseBody();
      const passphrase = str(b['passphrase']) ?? '';
      if (passphrase !== (str(b['confirm']) ?? '')) return c.render(<BackupPage {...base(c)} error="The two passphrases differ." field="confirm" />, 400);
      const problem = passphraseProblem(passphrase);
      if (problem !== null) return c.render(<BackupPage {...base(c)} error={`The passphrase ${problem}.`} field="passphrase" />, 400);
      // The file holds the master key: a session alone is not enough.
      const refused = await confirmed(c, b);
      if (refused !== undefined) return c.render(<BackupPage {...base(c)} error={refused} />, 403);
      let file: Buffer;
      try {
        file = await d.backup(passphrase);
      } catch (e) {
        return c.render(<BackupPage {...base(c)} error={(e as Error).message} />, 400);
      }
      const name = `gatehouse-${new Date(d.now()).toISOString().slice(0, 10)}.ghb`;
      await d.audit.record({ event: 'backup.create', outcome: 'ok', actor: actor(c), details: { name, count: file.length } });
      return c.body(new Uint8Array(file), 200, { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${name}"`, 'cache-control': 'no-store' });
    });
}
