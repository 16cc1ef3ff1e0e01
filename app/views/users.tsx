// Users: the list (search, pages of 50 in name order, keyset like the audit log), add, the
// quick actions, import and export; each user's own page is in user-page.tsx.
import type { UserListRow } from '../db/queries/users.js';
import { Allowed } from './frame.js';
import { Csrf, Field, Flash, isoTime, Layout, type Assets } from './layout.js';

export interface UsersProps {
  assets: Assets;
  csrf: string;
  admin: string;
  now: number;
  q: string;
  users: UserListRow[];
  /** Users matching the search, in all. */
  total: number;
  /** Whether this page is the first (no `after`). */
  firstPage: boolean;
  /** The `after` of the next page, when there is one. */
  next: string | undefined;
  notice?: string | undefined;
  error?: string | undefined;
  /** What the add form held when it was refused. */
  form?: { username: string } | undefined;
}

/** A user's page. Names are canonical (no slash, but any other character): always encoded. */
export const userHref = (username: string) => `/users/u/${encodeURIComponent(username)}`;

export function UserState(p: { u: Pick<UserListRow, 'locked' | 'lockedUntil' | 'directoryState'>; now: number }) {
  if (p.u.directoryState === 'disabled' || p.u.directoryState === 'removed') return <span class="badge bad">{p.u.directoryState === 'disabled' ? 'Disabled in the directory' : 'Gone from the directory'}</span>;
  if (p.u.locked) return <span class="badge bad">Locked</span>;
  if (p.u.lockedUntil !== null && p.u.lockedUntil > p.now) return <span class="badge warn">Locked out until {isoTime(p.u.lockedUntil)}</span>;
  return <span class="badge ok">{p.u.directoryState === 'active' ? 'Active (directory)' : 'Active'}</span>;
}

export function UserFactor(p: { u: Pick<UserListRow, 'hasTotp' | 'pendingTotp'> }) {
  return (
    <>
      {p.u.hasTotp ? <span class="badge ok">TOTP</span> : p.u.pendingTotp ? null : <span class="badge">Push or none</span>}
      {p.u.pendingTotp ? <span class="badge warn">{p.u.hasTotp ? 'New TOTP waiting for a code' : 'TOTP waiting for a code'}</span> : null}
    </>
  );
}

/** A one-button form for a user action (`back`: the page to return to, the user's or the list). */
export function UserAction(p: { csrf: string; action: string; username: string; label: string; danger?: boolean; confirm?: string; back?: 'user'; device?: number }) {
  return (
    <form method="post" action={`/users/${p.action}`} hx-confirm={p.confirm}>
      <Csrf token={p.csrf} />
      <input type="hidden" name="username" value={p.username} />
      {p.back ? <input type="hidden" name="back" value={p.back} /> : null}
      {p.device !== undefined ? <input type="hidden" name="device" value={String(p.device)} /> : null}
      <button type="submit" class={`small ${p.danger ? 'danger' : 'secondary'}`}>
        {p.label}
      </button>
    </form>
  );
}

export function UserTable(p: { csrf: string; now: number; users: UserListRow[]; q: string; total: number; firstPage: boolean; next: string | undefined }) {
  const query = p.q === '' ? '' : `q=${encodeURIComponent(p.q)}`;
  const link = (extra: string) => `/users${query || extra ? '?' : ''}${query}${query && extra ? '&' : ''}${extra}`;
  return (
    <div id="user-table">
      <p class="muted" id="user-count">
        {p.q === '' ? `${p.total.toLocaleString('en-US')} user${p.total === 1 ? '' : 's'}` : `${p.total.toLocaleString('en-US')} match${p.total === 1 ? '' : 'es'} for "${p.q}"`}
      </p>
      {p.users.length === 0 ? (
        <p class="empty">{p.q ? `No user matches "${p.q}".` : p.firstPage ? 'No users yet. Add one, import a CSV file, or enrol a TOTP authenticator for a user name.' : 'No more users.'}</p>
      ) : (
        <table>
            <thead>
              <tr><th>User</th><th>Display name</th><th>Groups</th><th>Second factor</th><th>State</th><th><span class="muted">Actions</span></th></tr>
            </thead>
            <tbody>
              {p.users.map((u) => {
                const lockedOut = u.lockedUntil !== null && u.lockedUntil > p.now;
                return (
                  <tr>
                    <td><a href={userHref(u.username)}>{u.username}</a></td>
                    <td>{u.displayName ?? ''}</td>
                    <td class="muted">{u.groups.join(', ')}</td>
                    <td><UserFactor u={u} /></td>
                    <td><UserState u={u} now={p.now} /></td>
                    <td class="actions">
                      <Allowed path="/users/lock">
                        <UserAction csrf={p.csrf} action="enrol" username={u.username} label={u.hasTotp ? 'Re-enrol TOTP' : 'Enrol TOTP'} confirm={u.hasTotp ? `Start a new authenticator for ${u.username}? Their current one keeps working until the new one is confirmed with a code.` : undefined} />{' '}
                        {u.locked || lockedOut ? <UserAction csrf={p.csrf} action="unlock" username={u.username} label="Unlock" /> : <UserAction csrf={p.csrf} action="lock" username={u.username} label="Lock" />}{' '}
                        <UserAction csrf={p.csrf} action="remove" username={u.username} label="Remove" danger confirm={`Remove ${u.username} and their authenticator?`} />
                      </Allowed>
                    </td>
                  </tr>
                );
              })}
            </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Pages">
        {p.firstPage ? <span /> : <a href={link('')}>First page</a>}
        {p.next !== undefined ? <a href={link(`after=${encodeURIComponent(p.next)}`)} rel="next">Next page</a> : <span class="muted">{p.users.length > 0 ? 'End of the list' : ''}</span>}
      </nav>
    </div>
  );
}

export function UsersPage(p: UsersProps) {
  const query = p.q === '' ? '' : `?q=${encodeURIComponent(p.q)}`;
  return (
    <Layout title="Users" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/users">
      {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
      {p.error && p.form === undefined ? <Flash kind="error">{p.error}</Flash> : null}
      <section class="card" aria-labelledby="h-users">
        <h2 id="h-users">
          People
          <span class="row">
            <Allowed path="/users/import">
              <a class="button small secondary" href="/users/import">Import CSV</a>
            </Allowed>
            <a class="button small secondary" href="/users/export.csv" hx-boost="false" download>Export CSV</a>
          </span>
        </h2>
        <form method="get" action="/users" class="inline-form" role="search">
          <div class="field">
            <label for="f-q">Search</label>
            <input id="f-q" type="search" name="q" value={p.q} placeholder="name, display name, email or group" hx-get="/users" hx-trigger="input changed delay:250ms, search" hx-target="#user-table" hx-select="#user-table" hx-swap="outerHTML" hx-push-url="true" />
          </div>
          <button type="submit" class="secondary">Search</button>
        </form>
        <p class="hint">A user name, display name or email containing what you type, or a group's exact name. {query ? <a href="/users">Show everyone</a> : null}</p>
        <UserTable csrf={p.csrf} now={p.now} users={p.users} q={p.q} total={p.total} firstPage={p.firstPage} next={p.next} />
      </section>
      <Allowed path="/users">
        <section class="card" aria-labelledby="h-add-user">
          <h2 id="h-add-user">Add a user</h2>
          <form method="post" action="/users" class="inline-form">
            <Csrf token={p.csrf} />
            <Field label="User name" name="username" required value={p.form?.username} hint="As the VPN or Windows sends it; matched without regard to case" error={p.error !== undefined && p.form !== undefined ? p.error : undefined} />
            <button type="submit">Add user</button>
          </form>
        </section>
      </Allowed>
    </Layout>
  );
}
