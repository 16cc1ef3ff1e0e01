// The Directory page: where users and passwords come from (Active Directory, OpenLDAP). Its
// settings are edited in place (the same forms as the Settings page); the service account's
// password is typed here and never shown; "Test connection" and "Test user" ask the directory now.
import type { DirectoryUser } from '../directory/ldap.js';
import type { BindPasswordSource } from '../directory/settings.js';
import { Allowed } from './frame.js';
import type { SyncReport } from '../directory/sync.js';
import { ago, Csrf, Field, isoTime, Layout, POLL_HEADERS } from './layout.js';
import { errorOf, Messages, Reauth, SettingsGroup, type Page, type SettingRow } from './system.js';

/** What "Test connection" or "Test user" found, shown under its button. */
export type DirectoryTest =
  | { kind: 'connection'; ok: true; url: string }
  | { kind: 'connection'; ok: false; reason: string; detail: string }
  | { kind: 'user'; username: string; ok: true; user: DirectoryUser; password?: 'right' | { reason: string } | undefined }
  | { kind: 'user'; username: string; ok: false; reason: string; detail: string };

const PASSWORD_SOURCE: Record<BindPasswordSource, string> = { env: 'set by LDAP_BIND_PASSWORD', file: 'set by --ldap-bind-password-file', stored: 'stored (sealed)' };

export function DirectoryPage(p: Page & { rows: SettingRow[]; problem: string | undefined; configured: boolean; bindPassword: BindPasswordSource | undefined; test?: DirectoryTest | undefined; sync: { running: boolean; last: SyncReport | undefined; intervalMinutes: number }; now: number }) {
  const t = p.test;
  return (
    <Layout title="Directory" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/directory">
      <Messages notice={p.notice} error={p.field === undefined ? p.error : undefined} />
      <p class="muted">
        Gatehouse can check passwords against Active Directory or OpenLDAP instead of a downstream RADIUS server: choose it for a client on the <a href="/clients">RADIUS clients</a> page, or for all of them with first-factor below. Only PAP can be checked this way.
      </p>
      <section class="card" aria-labelledby="h-dir-status">
        <h2 id="h-dir-status">Status</h2>
        {!p.configured ? (
          <p class="empty">No directory is configured: set ldap-url and ldap-base-dn below.</p>
        ) : p.problem !== undefined ? (
          <p class="hint error" role="alert">
            The directory cannot be used: {p.problem}
          </p>
        ) : (
          <p>
            <span class="badge ok">configured</span> Test it with the buttons below.
          </p>
        )}
        <Allowed path="/directory/test">
          <form method="post" action="/directory/test" class="inline-form">
            <Csrf token={p.csrf} />
            <button type="submit" class="secondary" disabled={!p.configured || p.problem !== undefined}>
              Test connection
            </button>
          </form>
          {t?.kind === 'connection' ? (
            t.ok ? (
              <p class="flash ok" role="status">
                Connected to {t.url} and signed in as the service account.
              </p>
            ) : (
              <p class="flash error" role="alert">
                The connection failed ({t.reason}): {t.detail}
              </p>
            )
          ) : null}
        </Allowed>
      </section>
      <SyncStatus sync={p.sync} now={p.now} csrf={p.csrf} usable={p.configured && p.problem === undefined} />
      <Allowed path="/directory/test-user">
        <section class="card" aria-labelledby="h-dir-user">
          <h2 id="h-dir-user">Test user</h2>
          <p class="muted">Look a user up as a login would (and, if you give one, check their password by binding as them; nothing is stored or logged).</p>
          <form method="post" action="/directory/test-user">
            <Csrf token={p.csrf} />
            <div class="row">
              <Field label="User name" name="username" required value={t?.kind === 'user' ? t.username : undefined} autocomplete="off" error={errorOf(p, 'username')} />
              <Field label="Password (optional)" name="password" type="password" autocomplete="off" />
            </div>
            <button type="submit" class="secondary" disabled={!p.configured || p.problem !== undefined}>
              Test user
            </button>
          </form>
          {t?.kind === 'user' ? <UserResult t={t} /> : null}
        </section>
      </Allowed>
      <SettingsGroup {...p} title="Directory settings" rows={p.rows} back="/directory" />
      <section class="card" aria-labelledby="h-dir-password">
        <h2 id="h-dir-password">Service account password</h2>
        <p>
          The password of ldap-bind-dn:{' '}
          {p.bindPassword === undefined ? <span class="badge">not set (anonymous searches)</span> : <span class="badge ok">{PASSWORD_SOURCE[p.bindPassword]}</span>} It is never shown.
        </p>
        {p.bindPassword === 'env' || p.bindPassword === 'file' ? null : (
          <Allowed path="/directory/password">
            <form method="post" action="/directory/password">
              <Csrf token={p.csrf} />
              <Field label="New password" name="password" type="password" autocomplete="new-password" hint="Leave empty to remove the stored one" error={errorOf(p, 'password')} />
              <Reauth />
              <button type="submit">Save the password</button>
            </form>
          </Allowed>
        )}
      </section>
    </Layout>
  );
}

function UserResult(p: { t: Extract<DirectoryTest, { kind: 'user' }> }) {
  const t = p.t;
  if (!t.ok) {
    return (
      <p class="flash error" role="alert">
        {t.username}: not usable ({t.reason}): {t.detail}
      </p>
    );
  }
  const u = t.user;
  return (
    <div role="status">
      <dl class="facts">
        <dt>Entry</dt>
        <dd class="mono">{u.dn}</dd>
        <dt>Account name</dt>
        <dd>{u.username}</dd>
        <dt>Display name</dt>
        <dd>{u.displayName ?? <span class="muted">none</span>}</dd>
        <dt>Email</dt>
        <dd>{u.email ?? <span class="muted">none</span>}</dd>
        <dt>UPN</dt>
        <dd>{u.upn ?? <span class="muted">none</span>}</dd>
        <dt>Account</dt>
        <dd>{u.disabled ? <span class="badge warn">disabled</span> : u.locked ? <span class="badge warn">locked</span> : <span class="badge ok">enabled</span>}</dd>
        <dt>Groups ({u.groups.length})</dt>
        <dd>
          {u.groups.length === 0 ? (
            <span class="muted">none</span>
          ) : (
            <ul class="groups">
              {u.groups.map((g) => (
                <li class="mono">{g}</li>
              ))}
            </ul>
          )}
        </dd>
        {t.password !== undefined ? (
          <>
            <dt>Password</dt>
            <dd>{t.password === 'right' ? <span class="badge ok">accepted by the directory</span> : <span class="badge warn">refused ({t.password.reason})</span>}</dd>
          </>
        ) : null}
      </dl>
    </div>
  );
}

/** The last sync and "Sync now"; while a run is going the card refreshes itself. */
function SyncStatus(p: { sync: { running: boolean; last: SyncReport | undefined; intervalMinutes: number }; now: number; csrf: string; usable: boolean }) {
  const r = p.sync.last;
  return (
    <section class="card" id="sync-status" aria-labelledby="h-dir-sync" {...(p.sync.running ? { 'hx-get': '/directory', 'hx-trigger': 'every 2s', 'hx-select': '#sync-status', 'hx-swap': 'outerHTML', 'hx-headers': POLL_HEADERS } : {})}>
      <h2 id="h-dir-sync">Users from the directory</h2>
      <p class="muted">{p.sync.intervalMinutes === 0 ? 'Synced only when you ask (ldap-sync-interval is 0).' : `Synced every ${p.sync.intervalMinutes} minutes.`}</p>
      {p.sync.running ? (
        <p role="status">
          <span class="badge">syncing…</span>
        </p>
      ) : r === undefined ? (
        <p class="empty">No sync yet.</p>
      ) : (
        <div role="status" id="sync-report">
          <p>
            Last sync <time datetime={isoTime(r.finished)}>{ago(r.finished, p.now)}</time> ({r.by === 'schedule' ? 'scheduled' : `by ${r.by.replace(/^admin:/, '')}`}, {Math.max(0, r.finished - r.started)} ms):{' '}
            {r.ok ? <span class="badge ok">done</span> : <span class="badge warn">failed</span>}
          </p>
          {r.error !== undefined ? (
            <p class="hint error" role="alert">
              {r.error}
            </p>
          ) : null}
          <p id="sync-counts">
            {r.seen} in scope: {r.added} added, {r.updated} updated, {r.disabled} disabled, {r.removed} removed, {r.restored} restored, {r.deleted} deleted after the grace period{r.skipped > 0 ? `, ${r.skipped} skipped (names Gatehouse cannot use)` : ''}.
          </p>
        </div>
      )}
      <Allowed path="/directory/sync">
        <form method="post" action="/directory/sync">
          <Csrf token={p.csrf} />
          <button type="submit" class="secondary" disabled={!p.usable || p.sync.running}>
            Sync now
          </button>
        </form>
      </Allowed>
    </section>
  );
}
