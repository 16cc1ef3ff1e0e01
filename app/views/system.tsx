// Approvals, downstream server, settings, admins and API tokens.
import type { AuditRecord } from '../audit/chain.js';
import type { Source } from '../config.js';
import type { AdminRow, TokenRow } from '../db/queries/admins.js';
import type { SessionRow } from '../db/queries/sessions.js';
import { ROLE_LABELS, ROLES } from '../admin/roles.js';
import { SecretOnce } from './clients.js';
import { Allowed, FrameContext } from './frame.js';
import { useContext } from 'hono/jsx';
import { ago, Csrf, Field, Flash, isoTime, Layout, type Assets, POLL_HEADERS } from './layout.js';

export interface Page {
  assets: Assets;
  csrf: string;
  admin: string;
  notice?: string | undefined;
  error?: string | undefined;
  /** The form field the error is about (shown next to it). */
  field?: string | undefined;
  /** What a refused form held (never secrets), to fill it in again. */
  form?: Record<string, string | boolean | undefined> | undefined;
}

/** The error, when it is about this field. */
export const errorOf = (p: Page, field: string) => (p.field === field ? p.error : undefined);
export const formText = (p: Page, field: string): string | undefined => {
  const v = p.form?.[field];
  return typeof v === 'string' ? v : undefined;
};

export function Messages(p: { notice?: string | undefined; error?: string | undefined }) {
  return (
    <>
      {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
      {p.error ? <Flash kind="error">{p.error}</Flash> : null}
    </>
  );
}

/** A small form that posts one `name` (after the browser confirms): the row actions of a list. */
export function NameAction(p: { action: string; name: string; csrf: string; confirm: string; label: string; kind: 'secondary' | 'danger' }) {
  return (
    <Allowed path={p.action}>
      <form method="post" action={p.action} hx-confirm={p.confirm}>
        <Csrf token={p.csrf} />
        <input type="hidden" name="name" value={p.name} />
        <button type="submit" class={`small ${p.kind}`}>{p.label}</button>
      </form>
    </Allowed>
  );
}

// --- approvals

/** A push waiting for a person, from any front door. */
export interface PendingRow {
  username: string;
  door: 'radius' | 'windows' | 'api' | 'portal';
  client: string;
  station: string | undefined;
  startedAt: number;
  ttlSeconds: number;
  waiting: number;
}

export function ApprovalsLive(p: { now: number; pending: PendingRow[]; recent: AuditRecord[] }) {
  return (
    <div id="approvals" hx-get="/approvals" hx-trigger="every 2s" hx-select="#approvals" hx-swap="outerHTML" hx-headers={POLL_HEADERS}>
      <section class="card" aria-labelledby="h-pending">
        <h2 id="h-pending">Waiting for the phone ({p.pending.length})</h2>
        {p.pending.length === 0 ? (
          <p class="empty">No login is waiting for approval.</p>
        ) : (
          <table>
            <thead><tr><th>User</th><th>Via</th><th>Client</th><th>Station</th><th>Waiting</th><th>Expires in</th><th>Logins</th></tr></thead>
            <tbody>
              {p.pending.map((a) => (
                <tr>
                  <td>{a.username}</td>
                  <td>{a.door === 'radius' ? 'RADIUS' : a.door === 'windows' ? 'Windows' : a.door === 'portal' ? 'Self-service' : 'Push API'}</td>
                  <td>{a.client}</td>
                  <td class="mono">{a.station ?? ''}</td>
                  <td>{Math.round((p.now - a.startedAt) / 1000)} s</td>
                  <td>{Math.max(0, Math.round(a.ttlSeconds - (p.now - a.startedAt) / 1000))} s</td>
                  <td>{a.waiting}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="card" aria-labelledby="h-decided">
        <h2 id="h-decided">Recent decisions</h2>
        {p.recent.length === 0 ? (
          <p class="empty">No second-factor decisions yet.</p>
        ) : (
          <table>
            <thead><tr><th>When</th><th>User</th><th>Outcome</th><th>Reason</th><th>Client</th></tr></thead>
            <tbody>
              {p.recent.map((r) => (
                <tr>
                  <td title={new Date(r.time).toISOString()}>{ago(r.time, p.now)}</td>
                  <td>{r.username ?? ''}</td>
                  <td><span class={`badge ${r.outcome}`}>{r.outcome}</span></td>
                  <td>{r.reason ?? ''}</td>
                  <td>{r.client ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

export function ApprovalsPage(p: Page & { now: number; pending: PendingRow[]; recent: AuditRecord[] }) {
  return (
    <Layout title="Approvals" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/approvals">
      <ApprovalsLive now={p.now} pending={p.pending} recent={p.recent} />
    </Layout>
  );
}

// --- active sessions (RADIUS accounting)

export type SessionView = Omit<SessionRow, 'sessionId'>;

function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function SessionsPage(p: Page & { now: number; sessions: SessionView[]; total: number; username: string | undefined }) {
  return (
    <Layout title="Active sessions" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/sessions">
      <section class="card" aria-labelledby="h-sessions">
        <h2 id="h-sessions">Who is connected now</h2>
        <p class="hint">From RADIUS accounting: a Start or Interim-Update adds or refreshes a session, a Stop ends it, Accounting-On or -Off ends every session of that NAS.</p>
        <form method="get" action="/sessions" class="row">
          <Field label="User" name="username" value={p.username} />
          <div class="field"><button type="submit" class="secondary">Filter</button></div>
        </form>
        {p.sessions.length === 0 ? (
          <p class="empty">{p.username === undefined ? 'No active sessions: no accounting Start has arrived, or every session has stopped.' : `No active sessions for ${p.username}.`}</p>
        ) : (
          <div class="scroll">
            <table>
              <thead>
                <tr><th>User</th><th>Client</th><th>NAS port</th><th>Address</th><th>Station</th><th>Since</th><th>In / out</th><th>Last update</th></tr>
              </thead>
              <tbody>
                {p.sessions.map((x) => (
                  <tr>
                    <td>{x.username === '' ? <span class="muted">(none)</span> : <a href={`/users/${encodeURIComponent(x.username)}`}>{x.username}</a>}</td>
                    <td>{x.client}<div class="muted small">{x.nas}</div></td>
                    <td class="mono">{x.nasPort ?? ''}</td>
                    <td class="mono">{x.framedIp ?? ''}</td>
                    <td class="mono">{x.callingStationId ?? ''}</td>
                    <td><time datetime={isoTime(x.startedAt)}>{ago(x.startedAt, p.now)}</time></td>
                    <td>{bytes(x.inputBytes)} / {bytes(x.outputBytes)}</td>
                    <td>{ago(x.updatedAt, p.now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {p.total > p.sessions.length ? <p class="muted">Showing the newest {p.sessions.length} of {p.total}.</p> : null}
      </section>
    </Layout>
  );
}

// --- downstream

export function DownstreamPage(p: Page & PoolsProps & { current: { name: string; host: string; port: number; source: 'flag' | 'env' | 'db' } | undefined; requireMa: boolean }) {
  const fixed = p.current !== undefined && p.current.source !== 'db';
  return (
    <Layout title="Downstream RADIUS server" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/downstream">
      <Messages notice={p.notice} error={p.error} />
      <section class="card">
        <h2>Current server</h2>
        {p.current === undefined ? (
          <p class="empty">None configured: every login is rejected until a server that checks passwords is set.</p>
        ) : (
          <dl class="kv">
            <dt>Name</dt><dd>{p.current.name}</dd>
            <dt>Address</dt><dd class="mono">{p.current.host}:{p.current.port}</dd>
            <dt>Set by</dt><dd>{p.current.source === 'db' ? 'this page (stored)' : p.current.source === 'flag' ? '--downstream-address, --secret-out, --port-out' : 'DOWNSTREAM_ADDRESS, SECRET_OUT, PORT_OUT'}</dd>
          </dl>
        )}
      </section>
      {fixed ? (
        <Flash kind="info">The server is set on the command line or in the environment, so it is read-only here.</Flash>
      ) : (
        <Allowed path="/downstream">
        <section class="card">
          <h2>{p.current ? 'Replace the server' : 'Set the server'}</h2>
          <form method="post" action="/downstream">
            <Csrf token={p.csrf} />
            <div class="row">
              <Field label="Host or IP address" name="host" required value={formText(p, 'host') ?? p.current?.host} error={errorOf(p, 'host')} />
              <Field label="Port" name="port" value={formText(p, 'port') ?? String(p.current?.port ?? 1812)} inputmode="numeric" error={errorOf(p, 'port')} />
              <Field label="Shared secret" name="secret" type="password" required autocomplete="new-password" error={errorOf(p, 'secret')} hint="At least 8 characters" />
            </div>
            <div class="field">
              <label><input type="checkbox" name="requireMessageAuthenticator" value="yes" checked={p.requireMa} /> Require Message-Authenticator in its answers</label>
              <p class="hint">Leave off for FreeRADIUS 3.2.1 and others that do not send one.</p>
            </div>
            <Reauth />
            <div class="row">
              <button type="submit">Save</button>
            </div>
          </form>
          {p.current ? (
            <form method="post" action="/downstream/remove" hx-confirm="Remove the downstream server? Logins are rejected until a new one is set.">
              <Csrf token={p.csrf} />
              <p><button type="submit" class="danger small">Remove</button></p>
            </form>
          ) : null}
        </section>
        </Allowed>
      )}
      <PoolsCards {...p} />
    </Layout>
  );
}

export interface ServerRow {
  id: number | undefined;
  name: string;
  address: string;
  acctPort: number;
  transport: 'udp' | 'radsec';
  pool: string;
  state: 'alive' | 'zombie' | 'dead';
  lastAnswer: number | undefined;
}
export interface PoolRow {
  name: string;
  mode: string;
  responseWindowMs: number;
  deadAfter: number;
  checkIntervalMs: number;
  servers: ServerRow[];
}
export interface PoolsProps {
  now: number;
  pools: PoolRow[];
  realms: readonly { name: string; pool: string; strip: boolean }[];
}

const STATE_BADGE: Record<ServerRow['state'], [string, string]> = { alive: ['ok', 'alive'], zombie: ['warn', 'zombie (not answering)'], dead: ['bad', 'dead (probing)'] };

/** Pools of servers (with each server's health), realms, and the forms that change them. */
function PoolsCards(p: Page & PoolsProps) {
  return (
    <>
      <section class="card" aria-labelledby="h-pools">
        <h2 id="h-pools">Pools and servers</h2>
        <p class="hint">A request tries the pool's first live server (fail-over) or the least busy one (load-balance); a server that does not answer within the response window is marked zombie and the next one is tried; after the set number of unanswered requests it is dead and probed with Status-Server until it answers again.</p>
        {p.pools.length === 0 ? <p class="empty">No pools yet.</p> : null}
        {p.pools.map((pool) => (
          <div class="pool">
            <h3>
              {pool.name} <span class="muted">· {pool.mode} · window {pool.responseWindowMs / 1000} s · dead after {pool.deadAfter} · probe every {pool.checkIntervalMs / 1000} s</span>
            </h3>
            {pool.servers.length === 0 ? (
              <p class="empty">No servers in this pool.</p>
            ) : (
              <div class="scroll">
                <table>
                  <thead>
                    <tr><th>Server</th><th>Address</th><th>Transport</th><th>Health</th><th>Last answer</th><th><span class="muted">Actions</span></th></tr>
                  </thead>
                  <tbody>
                    {pool.servers.map((s) => (
                      <tr>
                        <td>{s.name}</td>
                        <td class="mono">{s.address} <span class="muted">acct {s.acctPort}</span></td>
                        <td>{s.transport === 'radsec' ? 'RadSec (TLS)' : 'UDP'}</td>
                        <td><span class={`badge ${STATE_BADGE[s.state][0]}`}>{STATE_BADGE[s.state][1]}</span></td>
                        <td>{s.lastAnswer === undefined ? <span class="muted">not yet</span> : ago(s.lastAnswer, p.now)}</td>
                        <td class="actions">
                          {s.id === undefined ? (
                            <span class="muted">read-only</span>
                          ) : (
                            <Allowed path="/downstream/servers/remove">
                              <form method="post" action="/downstream/servers/remove" hx-confirm={`Remove the server ${s.name} from pool ${pool.name}?`}>
                                <Csrf token={p.csrf} />
                                <input type="hidden" name="id" value={String(s.id)} />
                                <button type="submit" class="small danger">Remove</button>
                              </form>
                            </Allowed>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        ))}
      </section>
      <Allowed path="/downstream/servers">
        <section class="card" aria-labelledby="h-add-server">
          <h2 id="h-add-server">Add a server to a pool</h2>
          <form method="post" action="/downstream/servers">
            <Csrf token={p.csrf} />
            <div class="row">
              <Field label="Pool" name="pool" required value={formText(p, 'pool') ?? 'default'} error={errorOf(p, 'pool')} />
              <Field label="Name" name="serverName" value={formText(p, 'serverName')} error={errorOf(p, 'serverName')} hint="Default: host:port" />
              <Field label="Host or IP address" name="serverHost" required value={formText(p, 'serverHost')} error={errorOf(p, 'serverHost')} />
            </div>
            <div class="row">
              <div class="field">
                <label for="f-transport">Transport</label>
                <select id="f-transport" name="transport">
                  <option value="udp" selected={formText(p, 'transport') !== 'radsec'}>UDP (shared secret)</option>
                  <option value="radsec" selected={formText(p, 'transport') === 'radsec'}>RadSec (TLS, certificates)</option>
                </select>
              </div>
              <Field label="Port" name="serverPort" value={formText(p, 'serverPort')} inputmode="numeric" error={errorOf(p, 'serverPort')} hint="Default 1812 (RadSec 2083)" />
              <Field label="Accounting port" name="acctPort" value={formText(p, 'acctPort')} inputmode="numeric" error={errorOf(p, 'acctPort')} hint="Default 1813" />
              <Field label="Shared secret" name="serverSecret" type="password" autocomplete="new-password" error={errorOf(p, 'serverSecret')} hint="UDP: at least 8 characters; RadSec: not used" />
            </div>
            <Reauth prefix="server-" />
            <div class="row">
              <button type="submit">Add server</button>
            </div>
          </form>
        </section>
        <section class="card" aria-labelledby="h-pool-settings">
          <h2 id="h-pool-settings">Pool settings</h2>
          <form method="post" action="/downstream/pools">
            <Csrf token={p.csrf} />
            <div class="row">
              <Field label="Pool" name="poolName" required value={formText(p, 'poolName')} error={errorOf(p, 'poolName')} />
              <div class="field">
                <label for="f-mode">Mode</label>
                <select id="f-mode" name="mode">
                  <option value="fail-over" selected={formText(p, 'mode') !== 'load-balance'}>fail-over</option>
                  <option value="load-balance" selected={formText(p, 'mode') === 'load-balance'}>load-balance</option>
                </select>
              </div>
              <Field label="Response window (s)" name="responseWindow" value={formText(p, 'responseWindow')} error={errorOf(p, 'responseWindow')} hint="Default 2" />
              <Field label="Dead after" name="deadAfter" value={formText(p, 'deadAfter')} inputmode="numeric" error={errorOf(p, 'deadAfter')} hint="Unanswered requests; default 3" />
              <Field label="Probe every (s)" name="checkInterval" value={formText(p, 'checkInterval')} error={errorOf(p, 'checkInterval')} hint="Default 10" />
            </div>
            <div class="row">
              <button type="submit">Save pool</button>
            </div>
          </form>
        </section>
      </Allowed>
      <section class="card" aria-labelledby="h-realms">
        <h2 id="h-realms">Realms</h2>
        <p class="hint">alice@corp.example and CORP\alice go to their realm's pool; names of other realms, or of none, go to the DEFAULT realm's pool, or to the pool named default.</p>
        {p.realms.length === 0 ? (
          <p class="empty">No realms: every request goes to the default pool.</p>
        ) : (
          <table>
            <thead>
              <tr><th>Realm</th><th>Pool</th><th>Name sent downstream</th><th><span class="muted">Actions</span></th></tr>
            </thead>
            <tbody>
              {p.realms.map((r) => (
                <tr>
                  <td class="mono">{r.name}</td>
                  <td>{r.pool}</td>
                  <td>{r.strip ? 'without the realm' : 'as sent'}</td>
                  <td class="actions">
                    <Allowed path="/downstream/realms/remove">
                      <form method="post" action="/downstream/realms/remove" hx-confirm={`Remove the realm ${r.name}?`}>
                        <Csrf token={p.csrf} />
                        <input type="hidden" name="realmName" value={r.name} />
                        <button type="submit" class="small danger">Remove</button>
                      </form>
                    </Allowed>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Allowed path="/downstream/realms">
          <form method="post" action="/downstream/realms">
            <Csrf token={p.csrf} />
            <div class="row">
              <Field label="Realm" name="realmName" required value={formText(p, 'realmName')} error={errorOf(p, 'realmName')} hint="corp.example, CORP or DEFAULT" />
              <Field label="Pool" name="realmPool" required value={formText(p, 'realmPool')} error={errorOf(p, 'realmPool')} />
              <div class="field">
                <label><input type="checkbox" id="f-strip" name="strip" value="yes" checked={p.form?.['strip'] === true} /> Strip the realm before sending</label>
              </div>
            </div>
            <div class="row">
              <button type="submit">Save realm</button>
            </div>
          </form>
        </Allowed>
      </section>
    </>
  );
}

// --- settings

/** How a setting is edited: free text, one of a few values, or a number in a range. */
export type SettingControlView = { kind: 'text' } | { kind: 'select'; choices: readonly string[] } | { kind: 'number'; min: number; max: number; step: number | 'any' };

export interface SettingRow {
  flag: string;
  env: string;
  help: string;
  /** The value in force (from wherever it comes). */
  value: string;
  source: Source;
  control: SettingControlView;
}

function SettingControl(p: { row: SettingRow; value: string; invalid: boolean }) {
  const r = p.row;
  const common = { id: `s-${r.flag}`, name: 'value', 'aria-invalid': p.invalid ? ('true' as const) : undefined, 'aria-describedby': `help-${r.flag}${p.invalid ? ` err-${r.flag}` : ''}` };
  if (r.control.kind === 'select') {
    return (
      <select {...common}>
        <option value="" selected={p.value === ''}>
          {r.source === 'stored' ? 'default' : `default (${r.value})`}
        </option>
        {r.control.choices.map((c) => (
          <option value={c} selected={p.value === c}>
            {c}
          </option>
        ))}
      </select>
    );
  }
  if (r.control.kind === 'number') return <input {...common} type="number" min={String(r.control.min)} max={String(r.control.max)} step={String(r.control.step)} value={p.value} placeholder={r.value} inputmode="decimal" />;
  return <input {...common} value={p.value} placeholder={r.value} />;
}

/** Pages that edit settings in place: the Settings page, and the Directory page for its group. */
export type SettingsBack = '/settings' | '/directory';

/** One group of settings, each with its own form (or read-only when a flag or variable sets it). */
export function SettingsGroup(p: Page & { title: string; rows: SettingRow[]; back: SettingsBack }) {
  const canChange = useContext(FrameContext).allows('POST', '/settings');
  const id = `g-${p.title.replace(/\W+/g, '-')}`;
  return (
    <section class="card settings" aria-labelledby={id}>
      <h2 id={id}>{p.title}</h2>
      {p.rows.map((r) => {
        const fixed = r.source === 'flag' || r.source === 'env' || !canChange;
        const invalid = p.field === r.flag && p.error !== undefined;
        const value = invalid ? (formText(p, 'value') ?? '') : r.source === 'stored' ? r.value : '';
        return (
          <div class="setting">
            <div class="about">
              <label for={`s-${r.flag}`}>
                <strong>{r.flag}</strong>
              </label>{' '}
              {r.source === 'flag' ? <span class="badge">set by --{r.flag}</span> : r.source === 'env' ? <span class="badge">set by {r.env}</span> : r.source === 'stored' ? <span class="badge ok">stored</span> : <span class="badge">default</span>}
              <p class="hint" id={`help-${r.flag}`}>
                {r.help}
              </p>
            </div>
            {fixed ? (
              <input id={`s-${r.flag}`} value={r.value} readonly aria-describedby={`help-${r.flag}`} />
            ) : (
              <form method="post" action="/settings" class="inline-form">
                <Csrf token={p.csrf} />
                <input type="hidden" name="key" value={r.flag} />
                {p.back !== '/settings' ? <input type="hidden" name="back" value={p.back} /> : null}
                <SettingControl row={r} value={value} invalid={invalid} />
                <button type="submit" class="small secondary">
                  Save
                </button>
                {invalid ? (
                  <p class="hint error" id={`err-${r.flag}`}>
                    {p.error}
                  </p>
                ) : null}
              </form>
            )}
          </div>
        );
      })}
    </section>
  );
}

export function SettingsPage(p: Page & { groups: { title: string; rows: SettingRow[] }[] }) {
  return (
    <Layout title="Settings" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/settings">
      <Messages notice={p.notice} error={p.error} />
      <p class="muted">Changes apply at once, except the listen addresses and ports, which apply at the next start. A value set by a flag or environment variable is shown here but cannot be changed. Empty a field (or choose "default") to return to the default.</p>
      {p.groups.map((g) => (
        <SettingsGroup {...p} title={g.title} rows={g.rows} back="/settings" />
      ))}
    </Layout>
  );
}

/** A change to a setting that decides who gets in, waiting for the admin's password and a code. */
export function ConfirmSettingPage(p: Page & { setting: string; value: string; back: SettingsBack }) {
  return (
    <Layout title="Confirm the change" assets={p.assets} csrf={p.csrf} admin={p.admin} active={p.back}>
      <Messages notice={p.notice} error={p.error} />
      <section class="card">
        <h2>Change {p.setting}</h2>
        <p>
          {p.value === '' ? <>Return <strong>{p.setting}</strong> to its default.</> : <>Set <strong>{p.setting}</strong> to <code>{p.value}</code>.</>} This setting decides who gets in, so your password and a fresh code are asked again.
        </p>
        <form method="post" action="/settings">
          <Csrf token={p.csrf} />
          <input type="hidden" name="key" value={p.setting} />
          <input type="hidden" name="value" value={p.value} />
          {p.back !== '/settings' ? <input type="hidden" name="back" value={p.back} /> : null}
          <Reauth />
          <div class="row">
            <button type="submit">Confirm the change</button> <a href={p.back} class="button secondary">Cancel</a>
          </div>
        </form>
      </section>
    </Layout>
  );
}

// --- admins

export function AdminsPage(p: Page & { admins: AdminRow[]; self: string }) {
  return (
    <Layout title="Admins" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/admins">
      <Messages notice={p.notice} error={p.error} />
      <section class="card">
        <table>
          <thead><tr><th>Name</th><th>Role</th><th>TOTP</th><th>Added</th><th><span class="muted">Actions</span></th></tr></thead>
          <tbody>
            {p.admins.map((a) => (
              <tr>
                <td>{a.name}{a.name === p.self ? <span class="muted"> (you)</span> : null}</td>
                <td>{ROLE_LABELS[a.role]}</td>
                <td>{a.hasTotp ? <span class="badge ok">enrolled</span> : <span class="badge warn">enrols at next sign-in</span>}</td>
                <td>{isoTime(a.createdAt)}</td>
                <td class="actions">
                  {a.name !== p.self ? (
                    <Allowed path="/admins/remove">
                      <form method="post" action="/admins/reset-totp" hx-confirm={`Reset ${a.name}'s TOTP? They set up a new one at their next sign-in.`}>
                        <Csrf token={p.csrf} /><input type="hidden" name="name" value={a.name} />
                        <button type="submit" class="small secondary">Reset TOTP</button>
                      </form>{' '}
                      <form method="post" action="/admins/remove" hx-confirm={`Remove the admin ${a.name}?`}>
                        <Csrf token={p.csrf} /><input type="hidden" name="name" value={a.name} />
                        <button type="submit" class="small danger">Remove</button>
                      </form>
                    </Allowed>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <Allowed path="/admins">
      <section class="card">
        <h2>Add an admin</h2>
        <form method="post" action="/admins">
          <Csrf token={p.csrf} />
          <div class="row">
            <Field label="Name" name="name" required autocomplete="off" value={formText(p, 'name')} error={errorOf(p, 'name')} />
            <Field label="Password" name="password" type="password" required autocomplete="new-password" hint="At least 12 characters" error={errorOf(p, 'password')} />
            <RoleSelect id="f-role" value={formText(p, 'role')} error={errorOf(p, 'role')} />
          </div>
          <p class="hint">The new admin sets up a TOTP code at their first sign-in.</p>
          <Reauth />
          <button type="submit">Add admin</button>
        </form>
      </section>
      {p.admins.some((a) => a.name !== p.self) ? (
        <section class="card">
          <h2>Change a role</h2>
          <form method="post" action="/admins/role">
            <Csrf token={p.csrf} />
            <div class="row">
              <div class={`field${errorOf(p, 'target') ? ' invalid' : ''}`}>
                <label for="f-target">Admin</label>
                <select id="f-target" name="target" aria-invalid={errorOf(p, 'target') ? 'true' : undefined}>
                  {p.admins.filter((a) => a.name !== p.self).map((a) => (
                    <option value={a.name} selected={formText(p, 'target') === a.name}>{a.name} ({ROLE_LABELS[a.role]})</option>
                  ))}
                </select>
                {errorOf(p, 'target') ? <p class="hint error">{errorOf(p, 'target')}</p> : null}
              </div>
              <RoleSelect id="f-newrole" value={formText(p, 'newrole')} error={errorOf(p, 'newrole')} name="newrole" label="New role" />
            </div>
            <p class="hint">It applies from the admin's next click. Your own role can only be changed by another full admin.</p>
            <Reauth />
            <button type="submit">Change role</button>
          </form>
        </section>
      ) : null}
      </Allowed>
    </Layout>
  );
}

// --- API tokens

export function TokensPage(p: Page & { tokens: TokenRow[]; created?: { name: string; token: string } | undefined; now: number }) {
  return (
    <Layout title="API tokens" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/tokens">
      <Messages notice={p.notice} error={p.error} />
      {p.created ? (
        <section class="card" role="status">
          <h2>Token {p.created.name} created</h2>
          <p>Use it as <code>Authorization: Bearer …</code> with the JSON API under <code>/api/v1</code> (see <a href="/api/v1/openapi.json" hx-boost="false">openapi.json</a>). It is shown only now.</p>
          <SecretOnce id="new-token" secret={p.created.token} />
        </section>
      ) : null}
      <section class="card">
        {p.tokens.length === 0 ? (
          <p class="empty">No API tokens.</p>
        ) : (
          <table>
            <thead><tr><th>Name</th><th>Role</th><th>Created by</th><th>Created</th><th>Last used</th><th><span class="muted">Actions</span></th></tr></thead>
            <tbody>
              {p.tokens.map((t) => (
                <tr>
                  <td>{t.name}</td>
                  <td>{ROLE_LABELS[t.role]}</td>
                  <td>{t.createdBy}</td>
                  <td>{isoTime(t.createdAt)}</td>
                  <td>{t.lastUsedAt ? ago(t.lastUsedAt, p.now) : <span class="muted">never</span>}</td>
                  <td class="actions">
                    <NameAction action="/tokens/revoke" name={t.name} csrf={p.csrf} confirm={`Revoke the token ${t.name}? Scripts using it stop working at once.`} label="Revoke" kind="danger" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Allowed path="/tokens">
      <section class="card">
        <h2>Create a token</h2>
        <form method="post" action="/tokens">
          <Csrf token={p.csrf} />
          <div class="row">
            <Field label="Name" name="name" required placeholder="provisioning-script" value={formText(p, 'name')} error={errorOf(p, 'name')} />
            <RoleSelect id="f-role" value={formText(p, 'role')} error={errorOf(p, 'role')} hint="What the token may do through the API" />
          </div>
          <Reauth />
          <button type="submit">Create token</button>
        </form>
      </section>
      </Allowed>
    </Layout>
  );
}

const ROLE_HELP = 'Full admin: everything. Help desk: users, locks, enrolment, approvals and the audit log. Read-only: every page, no change.';

function RoleSelect(p: { id: string; name?: string; label?: string; value: string | undefined; error: string | undefined; hint?: string }) {
  return (
    <div class={`field${p.error ? ' invalid' : ''}`}>
      <label for={p.id}>{p.label ?? 'Role'}</label>
      <select id={p.id} name={p.name ?? 'role'} aria-invalid={p.error ? 'true' : undefined} aria-describedby={`${p.id}-hint`}>
        {ROLES.map((r) => (
          <option value={r} selected={(p.value ?? 'admin') === r}>{ROLE_LABELS[r]}</option>
        ))}
      </select>
      <p class={`hint${p.error ? ' error' : ''}`} id={`${p.id}-hint`}>{p.error ?? p.hint ?? ROLE_HELP}</p>
    </div>
  );
}

/** The admin's own password and a fresh code, asked again before a sensitive operation. */
/** `prefix`: for a second such form on one page (its fields need ids of their own). */
export function Reauth(p: { prefix?: string } = {}) {
  const pre = p.prefix ?? '';
  return (
    <fieldset class="reauth">
      <legend>Confirm it is you</legend>
      <div class="row">
        <Field label="Your password" name="reauth_password" id={`f-${pre}reauth_password`} type="password" required autocomplete="current-password" />
        <Field label="Your current code" name="reauth_code" id={`f-${pre}reauth_code`} required autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" hint="A code works once: if you just signed in, wait for the next one" />
      </div>
    </fieldset>
  );
}

// --- backup

export function BackupPage(p: Page) {
  // (the passphrases are never filled in again)
  return (
    <Layout title="Backup" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/backup">
      <Messages notice={p.notice} error={p.error} />
      <section class="card">
        <h2>Download a backup</h2>
        <p>One file with the whole store (clients, users and their authenticators, settings, the audit log) and the master key, encrypted under the passphrase you choose. Keep the passphrase apart from the file: without it the backup cannot be restored (<code>gatehouse restore FILE</code>). Since the file holds the master key, your password and a fresh code are asked again.</p>
        <form method="post" action="/backup" hx-boost="false">
          <Csrf token={p.csrf} />
          <div class="row">
            <Field label="Passphrase" name="passphrase" type="password" required autocomplete="new-password" hint="At least 12 characters" error={errorOf(p, 'passphrase')} />
            <Field label="Passphrase again" name="confirm" type="password" required autocomplete="new-password" error={errorOf(p, 'confirm')} />
          </div>
          <Reauth />
          <button type="submit">Download backup</button>
        </form>
      </section>
    </Layout>
  );
}
