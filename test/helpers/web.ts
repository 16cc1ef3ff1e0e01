// The whole HTTP app (UI pages and JSON API) over real parts, for `app.request()` tests without a
// socket: a fresh in-memory store (migrated), a real sealer, audit chain, counters and assets, the
// real ops layer, and settings resolved from flags/environment like `gatehouse serve` does.
// What only the running proxy knows (pending approvals, client activity, health) is faked and can
// be replaced per test.
//
//   const web = makeWebApp();                             // fresh store, fixed clock
//   const admin = web.adminSession();                     // signed-in admin for UI pages
//   await web.app.request('/clients', { headers: admin.headers });
//   await web.app.request('/clients', { method: 'POST', headers: admin.form, body: new URLSearchParams({ _csrf: admin.csrf, address: '10.0.0.1' }) });
//   const token = web.apiToken('ci');                     // bearer token for /api/v1
//   web.auditRows();                                      // every audit record, oldest first
//   web.close();                                          // in suite.after.each
//
// Settings fixed by a flag or the environment: makeWebApp({ env: { FAILMODE: 'safe' } }) or
// makeWebApp({ argv: ['--address-secret-in', '10.9.9.9:secret12'] }), parsed by the real parser.
// The clock (`clock`) drives sessions, audit times and API-token use; columns that SQLite fills by
// default (created_at of users, clients, admins, tokens) carry the real time.
// A data directory: makeWebApp({ dataDir }) opens the store there as a real SQLite file, and the
// setup page reads DATA_DIR/setup-code from it; without one the store is in memory and the data
// directory a path that does not exist. Failure delays (sign-in, setup) return at once and are
// recorded in `delays()`.
import { nodeViews } from '../../app/cluster/nodes.js';
import { listNodes } from '../../app/db/queries/nodes.js';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditLog } from '../../app/audit/log.js';
import type { AuditRecord } from '../../app/audit/chain.js';
import { parseServeOptions, resolveSettings, type FixedOptions } from '../../app/config.js';
import { findAdminByName, insertAdmin, insertApiToken, insertSession, setAdminSeed, updateAdminPassword } from '../../app/db/queries/admins.js';
import { hashPassword } from '../../app/lib/password.js';
import { hotp, totpStep } from '../../app/mfa/otp.js';
import { listClients } from '../../app/db/queries/clients.js';
import { listDownstreams } from '../../app/db/queries/downstream.js';
import { readStoredSettings } from '../../app/db/queries/settings.js';
import { bindPasswordOf, directoryFromSettings, fixedBindPassword } from '../../app/directory/settings.js';
import { createDirectorySync, syncSettingsOf } from '../../app/directory/sync.js';
import { createGroupReader, listRules } from '../../app/db/queries/policy.js';
import { createPolicyTable } from '../../app/mfa/policy.js';
import { createPortalFactors } from '../../app/portal/factors.js';
import { createDirectoryUserStore } from '../../app/db/queries/directory-users.js';
import { openStore, type Store } from '../../app/db/open.js';
import { createSealer, type Sealer } from '../../app/db/secrets.js';
import { createHttpApp } from '../../app/http.js';
import { createLogger } from '../../app/lib/log.js';
import { BackupError, passphraseProblem } from '../../app/backup.js';
import { createUserFactorQueries } from '../../app/db/queries/users.js';
import { createEngine } from '../../app/mfa/engine.js';
import { createPendingApprovals, type PendingApproval } from '../../app/mfa/pending.js';
import { createPushLimiter } from '../../app/mfa/push-limits.js';
import { createOfflineIssuer } from '../../app/mfa/offline.js';
import { createTotpFactor } from '../../app/mfa/totp.js';
import { choosePushProvider, createGatehousePushProvider, publicOrigin } from '../../app/push/provider.js';
import { createServedApi, type ServedApi } from '../../app/push/served.js';
import { createPushRequests } from '../../app/push/requests.js';
import { generateVapidKeys } from '../../app/push/webpush.js';
import { vapidKeys } from '../../app/db/queries/push.js';
import { createPipeHandler } from '../../app/pipe/ops.js';
import { Counters } from '../../app/lib/metrics.js';
import { newToken, tokenHash } from '../../app/lib/tokens.js';
import type { AdminDeps } from '../../app/admin/deps.js';
import type { Role } from '../../app/admin/roles.js';
import type { ClientActivity, WebDeps } from '../../app/routes/deps.js';
import { loadAssets } from '../../app/routes/static.js';
import { buildClientTable } from '../../app/radius/clients.js';

/** The fixed clock's start: 2025-06-02T10:00:00Z. */
export const WEB_START = Date.UTC(2025, 5, 2, 10, 0, 0);

export interface WebAppOptions {
  /** Flags as on the `gatehouse serve` command line (they fix settings: read-only in the UI). */
  argv?: string[];
  /** Environment variables (they fix settings too; flags win). */
  env?: Record<string, string>;
  /** Cookies get the __Host- prefix and Secure, as over HTTPS. Default false (plain HTTP). */
  secure?: boolean;
  /** Start of the fixed clock (ms); default WEB_START. Move it with `clock.advance()`. */
  now?: number;
  /** The data directory: the store becomes a real SQLite file there (default: in memory, no directory). */
  dataDir?: string;
  /** The bearer token for /metrics from other hosts (default: none, loopback only). */
  metricsToken?: string;
  /** Replace any of the runtime views, e.g. `{ pendingApprovals: () => [...] }`. */
  overrides?: Partial<Pick<WebDeps, 'pendingApprovals' | 'clientActivity' | 'health' | 'runtimeClients' | 'downstream' | 'resolved'>>;
}

export interface AdminSession {
  name: string;
  adminId: number;
  /** The cookie value (`gh_session=...`, or `__Host-gh_session=...` when secure). */
  cookie: string;
  /** The session's CSRF token: send it as `X-CSRF-Token` or the form field `_csrf`. */
  csrf: string;
  /** Cookie and X-CSRF-Token: enough for GETs and htmx-style POSTs. */
  headers: Record<string, string>;
  /** The same plus a form Content-Type, for POSTs with a URLSearchParams body. */
  form: Record<string, string>;
}

export interface WebApp {
  app: ReturnType<typeof createHttpApp>;
  deps: WebDeps;
  store: Store;
  sealer: Sealer;
  counters: Counters;
  fixed: FixedOptions;
  clock: { now(): number; set(ms: number): void; advance(ms: number): void };
  /** How often the ops asked the running proxy to apply a change. */
  changes(): number;
  /** Every audit record, oldest first. */
  auditRows(): AuditRecord[];
  /** Lines the app logged at level error. */
  logs(): string[];
  /** The failure delays (ms) the app asked for, in order; they return at once. */
  delays(): number[];
  /** The push API served to others, over the same store and engine as the app. */
  pushApi: ServedApi;
  /** The fake runtime state behind the default views; push into these arrays and maps freely. */
  runtime: { pending: PendingApproval[]; activity: Map<string, ClientActivity>; health: ReturnType<WebDeps['health']> };
  /** Insert an admin (if not there yet; a full admin unless `role` says otherwise) and a 'full' session for them. */
  adminSession(name?: string, opts?: { stage?: 'password' | 'full'; role?: Role }): Promise<AdminSession>;
  /**
   * Give admin `name` (created when missing) a real password and TOTP seed, for sign-in and for
   * the re-checks before sensitive operations; `code(offset)` is the code of the app's clock.
   */
  adminCredentials(name?: string): Promise<{ password: string; code(offsetSteps?: number): string }>;
  /** Insert an API token named `name` (no audit record; a full admin's unless `role`) and return the bearer token. */
  apiToken(name?: string, role?: Role): Promise<string>;
  /** Load what the app holds from the store again (after a test wrote to the store itself). */
  reload(): Promise<void>;
  close(): void;
}

export async function makeWebApp(opts: WebAppOptions = {}): Promise<WebApp> {
  const fixed = parseServeOptions(opts.argv ?? [], opts.env ?? {}).fixed;
  const store = openStore(opts.dataDir ?? ':memory:');
  const dataDir = opts.dataDir ?? join(tmpdir(), `gatehouse-web-no-data-dir-${randomBytes(6).toString('hex')}`);
  const delays: number[] = [];
  const masterKey = randomBytes(32);
  const sealer = createSealer(masterKey);
  let t = opts.now ?? WEB_START;
  const clock = { now: () => t, set: (ms: number) => void (t = ms), advance: (ms: number) => void (t += ms) };
  const auditLog = await openAuditLog(store, masterKey, clock.now);
  const auditStore = auditLog.store;
  const audit = auditLog.auditor;
  const counters = new Counters();
  const { assets, files } = loadAssets();
  const runtime: WebApp['runtime'] = { pending: [], activity: new Map(), health: { downstream: 'none', push: 'none' } };
  let changes = 0;
  /** What the app logged (errors only), for tests that check nothing secret is logged. */
  const logLines: string[] = [];

  // What main.ts loads from the store, loaded again after every change through the ops (as
  // main.ts does) and by `reload()` (a test that wrote to the store itself).
  const load = async () => ({
    stored: await readStoredSettings(store),
    clients: await listClients(store, sealer),
    downstream: (await listDownstreams(store, sealer))[0],
    rules: await listRules(store),
    // As app/main.ts: LDAP_BIND_PASSWORD, else the sealed one stored from the Directory page.
    bindPassword: await bindPasswordOf(fixedBindPassword(opts.env ?? {}, fixed.values.ldapBindPasswordFile), store, sealer),
  });
  let loaded = await load();
  const reload = async () => {
    loaded = await load();
  };
  const resolved = () => resolveSettings(fixed, loaded.stored);
  const bindPassword = () => loaded.bindPassword;
  const admin: AdminDeps = {
    store,
    sealer,
    audit,
    dataDir,
    afterChange: async () => {
      changes++;
      await reload();
    },
    fixedSources: () => fixed.sources,
    fixedClients: () => {
      const s = resolved();
      const source = s.sources.addressSecretIn === 'env' ? 'env' : 'flag';
      return s.settings.addressSecretIn.map((c) => ({ address: c.address, source }));
    },
    totpIssuer: () => resolved().settings.totpIssuer,
    publicOrigin: () => publicOrigin(resolved().settings),
    nameRules: () => ({ stripRealm: resolved().settings.stripRealm === 'yes' }),
    now: clock.now,
  };
  const deps: WebDeps = {
    store,
    sealer,
    audit,
    pushRequests: createPushRequests(clock.now),
    pools: () => [],
    realms: () => [],
    pushPublicKey: (await vapidKeys(store, sealer, generateVapidKeys)).publicKey,
    auditStore,
    counters,
    admin,
    assets,
    log: createLogger('error', (line) => void logLines.push(line)),
    dataDir,
    now: clock.now,
    delay: async (ms) => void delays.push(ms),
    resolved,
    runtimeClients: () => {
      const s = resolved();
      const source = s.sources.addressSecretIn === 'env' ? 'env' : 'flag';
      return buildClientTable(s.settings.addressSecretIn, source, loaded.clients)
        .all()
        .map((c) => ({ name: c.name, address: c.cidr.text, source: c.source, requireMessageAuthenticator: c.requireMessageAuthenticator, messageAuthenticatorSeen: c.messageAuthenticatorSeen, firstFactor: c.firstFactor }));
    },
    clientActivity: (address) => runtime.activity.get(address),
    downstream: () => {
      const { settings: s, sources } = resolved();
      if (s.downstreamAddress !== undefined && s.secretOut !== undefined) {
        const src = sources.downstreamAddress;
        return { name: `${s.downstreamAddress}:${s.portOut}`, host: s.downstreamAddress, port: s.portOut, source: src === 'env' ? 'env' : 'flag' };
      }
      const d = loaded.downstream;
      return d === undefined ? undefined : { name: d.name, host: d.host, port: d.port, source: 'db' };
    },
    pendingApprovals: () => runtime.pending.map((p) => ({ ...p })),
    // The in-memory store cannot be copied with SQLite's backup API: a stand-in that checks the
    // passphrase rules like the real one, and returns a recognisable body.
    backup: async (passphrase) => {
      const problem = passphraseProblem(passphrase);
      if (problem !== null) throw new BackupError('passphrase', `passphrase ${problem}`);
      return Buffer.from('GHBACKUP-test');
    },
    health: () => ({ ...runtime.health }),
    // This app is node `test-node`; a test writes rows (recordNode) for it and for others.
    nodes: async () => nodeViews(await listNodes(store), 'test-node', clock.now()),
    directory: () => directoryFromSettings(resolved().settings, bindPassword()),
    policy: () => createPolicyTable(loaded.rules, createGroupReader(store)),
    directorySync: createDirectorySync({ directory: () => directoryFromSettings(resolved().settings, bindPassword()), settings: () => syncSettingsOf(resolved().settings), users: createDirectoryUserStore(store), audit, log: createLogger('error', (line) => void logLines.push(line)), now: clock.now }),
    bindPasswordSource: () => bindPassword()?.source,
    verifyAudit: async () => await auditLog.verify(),
    ...opts.overrides,
  };
  const secure = opts.secure ?? false;
  // Windows logon answers (for the agent API) from the real handler over the same store; no push.
  const userFactors = createUserFactorQueries(store, sealer);
  const totp = createTotpFactor(userFactors, () => ({ maxFailures: 5, lockoutMs: 15 * 60_000 }), clock.now);
  const offline = createOfflineIssuer({ find: (u) => userFactors.find(u), settings: () => resolved().settings, now: clock.now });
  const engine = createEngine({
    settings: () => resolved().settings,
    totp,
    // Gatehouse's own push service over deps.pushRequests (a test decides with pushRequests.decide);
    // with --notakey-host, a Notakey service that cannot be reached.
    push: choosePushProvider(() => resolved().settings, {
      gatehouse: createGatehousePushProvider({ store, requests: deps.pushRequests, settings: () => resolved().settings }),
      notakey: { configured: () => resolved().settings.notakeyHost !== undefined, approve: async () => ({ kind: 'unreachable', cause: 'unreachable', detail: 'no push service in route tests' }) },
    }),
    limits: createPushLimiter(clock.now),
    pending: createPendingApprovals(),
    audit,
    counters,
    now: clock.now,
  });
  const agentHandler = createPipeHandler({ engine, audit, settings: () => resolved().settings });
  const pushApi = createServedApi({ store, engine, audit, settings: () => resolved().settings, now: clock.now });
  // The self-service portal with its real factors: the directory as configured, the TOTP factor.
  const portal = createPortalFactors({ directory: () => deps.directory(), downstream: () => undefined, leg: { exchange: () => { throw new Error('no downstream RADIUS server in route tests'); }, stats: () => ({ inFlight: 0, sockets: 0, ignored: {} }), close: async () => undefined }, totp, engine, settings: () => resolved().settings, random: (n) => randomBytes(n) });
  const app = createHttpApp({ ready: () => true, metrics: () => counters.render({}), metricsToken: () => opts.metricsToken, web: deps, files, secure, agentHandler, offline, stripRealm: () => resolved().settings.stripRealm === 'yes', pushApi, portal });

  return {
    logs: () => [...logLines],
    delays: () => [...delays],
    app,
    deps,
    store,
    sealer,
    counters,
    fixed,
    clock,
    changes: () => changes,
    // Read straight from the SQLite file the app writes (synchronously: tests read it anywhere).
    auditRows: () =>
      store.sqlite
        .prepare('SELECT id, time, event, outcome, username, reason, source, client, actor, details, prev_hash AS prevHash, hash FROM audit_log ORDER BY id')
        .all() as AuditRecord[],
    runtime,
    pushApi,
    adminSession: async (name = 'root', o = {}) => await createAdminSession(store, { name, secure, now: clock.now(), stage: o.stage ?? 'full', ...(o.role !== undefined ? { role: o.role } : {}) }),
    adminCredentials: async (name = 'root') => {
      const password = `${name}-password-long`;
      const id = (await findAdminByName(store, name))?.id ?? await insertAdmin(store, name, 'placeholder');
      await updateAdminPassword(store, name, await hashPassword(password));
      const seed = randomBytes(20);
      await setAdminSeed(store, sealer, id, seed, -1);
      return { password, code: (offset = 0) => hotp(seed, totpStep(clock.now(), 30) + offset, 6) };
    },
    apiToken: async (name = 'ci', role: Role = 'admin') => {
      const token = newToken('gh_');
      await insertApiToken(store, name, tokenHash(token), 'test', role);
      return token;
    },
    reload,
    close: () => {
      void engine.shutdown();
      pushApi.stop();
      store.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Signing in as a browser does, through the forms:
//
//   const pre = await preSession(web);                    // GET /login: pre-session cookie, form token
//   const half = await passwordStep(web, 'root', creds.password);   // POST /login, then its next page
//   await postForm(web, '/login/code', half, { _csrf: half.csrf, code: creds.code() });

/** A browser as the app sees it: its Cookie header, the CSRF token of its last form, its address. */
export interface Visitor {
  cookie: string;
  csrf: string;
  from: string;
}

/** The third argument of app.request() that makes the app see the peer address `remoteAddress`. */
export const peer = (remoteAddress: string) => ({ incoming: { socket: { remoteAddress, remotePort: 50000, remoteFamily: remoteAddress.includes(':') ? 'IPv6' : 'IPv4' } } });

/** The `_csrf` field of a page's form, if it has one. */
export const formCsrf = (html: string): string | undefined => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

/** The Set-Cookie line of the session an answer starts (not the deletion of an old one), if any. */
export const sessionSetCookie = (res: Response): string | undefined =>
  res.headers
    .getSetCookie()
    .filter((c) => /^(__Host-)?gh_session=[^;]/.test(c))
    .at(-1);

/** The session cookie an answer sets, as `name=value` for a Cookie header (`__Host-gh_session` over HTTPS). */
export const sessionCookieOf = (res: Response): string | undefined => sessionSetCookie(res)?.split(';')[0];

/** A browser's pre-session: the sign-in page's cookie and its form's CSRF token. */
export async function preSession(w: WebApp, from = '198.51.100.10'): Promise<Visitor> {
  const res = await w.app.request('/login', {}, peer(from));
  const cookie = /gh_pre=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  const csrf = formCsrf(await res.text());
  if (cookie === undefined || csrf === undefined) throw new Error('the sign-in page set no pre-session cookie or form token');
  return { cookie: `gh_pre=${cookie}`, csrf, from };
}

/** POST a form as visitor `v` (its cookie, from its address). */
export function postForm(w: WebApp, url: string, v: { cookie: string; from: string }, form: Record<string, string>): Promise<Response> {
  return Promise.resolve(w.app.request(url, { method: 'POST', headers: { Cookie: v.cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() }, peer(v.from)));
}

/**
 * Through the password step from a fresh pre-session: the half-signed-in session's cookie, the
 * CSRF token of the page it leads to (/login/code, or /login/enrol for an admin without TOTP),
 * that page's path and HTML.
 */
export async function passwordStep(w: WebApp, name: string, password: string, from = '198.51.100.10'): Promise<Visitor & { page: string; html: string }> {
  const pre = await preSession(w, from);
  const res = await postForm(w, '/login', pre, { _csrf: pre.csrf, name, password });
  const page = res.headers.get('location');
  const cookie = sessionCookieOf(res);
  if (res.status !== 303 || page === null || cookie === undefined) throw new Error(`the password step for ${name} failed: ${res.status} ${await res.text()}`);
  const html = await (await w.app.request(page, { headers: { Cookie: cookie } }, peer(from))).text();
  const csrf = formCsrf(html);
  if (csrf === undefined) throw new Error(`${page} has no form token`);
  return { cookie, csrf, from, page, html };
}

/**
 * An admin (created when missing, with a placeholder password hash: sign-in by password is not
 * possible, use the session) and a session for them, as the sign-in page would leave it.
 */
export async function createAdminSession(store: Store, o: { name?: string; secure?: boolean; now?: number; stage?: 'password' | 'full'; role?: Role } = {}): Promise<AdminSession> {
  const name = o.name ?? 'root';
  const now = o.now ?? Date.now();
  const adminId = (await findAdminByName(store, name))?.id ?? await insertAdmin(store, name, 'placeholder-not-a-password-hash', o.role ?? 'admin');
  const token = newToken();
  const csrf = newToken();
  await insertSession(store, { id: tokenHash(token), adminId, stage: o.stage ?? 'full', csrfToken: csrf, createdAt: now, lastSeenAt: now, pendingSeedSealed: null });
  const cookie = `${o.secure ? '__Host-gh_session' : 'gh_session'}=${token}`;
  const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
  return { name, adminId, cookie, csrf, headers, form: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' } };
}
