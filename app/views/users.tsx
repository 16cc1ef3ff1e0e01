// Users: search, add, remove, lock and unlock, TOTP enrolment (QR code shown once) and reset.
import type { UserRow } from '../db/queries/users.js';
import { SecretOnce } from './clients.js';
import { Allowed } from './frame.js';
import { Csrf, Field, Flash, isoTime, Layout, type Assets } from './layout.js';
import { QrCode } from './parts/qr.js';

export interface UsersProps {
  assets: Assets;
  csrf: string;
  admin: string;
  now: number;
  q: string;
  users: UserRow[];
  enrolled?: { username: string; uri: string } | undefined;
  notice?: string | undefined;
  error?: string | undefined;
  /** What the add form held when it was refused. */
  form?: { username: string } | undefined;
}

function state(u: UserRow, now: number) {
  if (u.locked) return <span class="badge bad">Locked</span>;
  if (u.lockedUntil !== null && u.lockedUntil > now) return <span class="badge warn">Locked out until {isoTime(u.lockedUntil)}</span>;
  return <span class="badge ok">Active</span>;
}

function Action(p: { csrf: string; action: string; username: string; label: string; danger?: boolean; confirm?: string }) {
  return (
    <form method="post" action={`/users/${p.action}`} hx-confirm={p.confirm}>
      <Csrf token={p.csrf} />
      <input type="hidden" name="username" value={p.username} />
      <button type="submit" class={`small ${p.danger ? 'danger' : 'secondary'}`}>
        {p.label}
      </button>
    </form>
  );
}

export function UserTable(p: { csrf: string; now: number; users: UserRow[]; q: string }) {
  return (
    <div id="user-table">
      {p.users.length === 0 ? (
        <p class="empty">{p.q ? `No user matches "${p.q}".` : 'No users yet. Add one, or enrol a TOTP authenticator for a user name.'}</p>
      ) : (
        <table>
          <thead>
            <tr><th>User</th><th>Second factor</th><th>State</th><th>Failed codes</th><th><span class="muted">Actions</span></th></tr>
          </thead>
          <tbody>
            {p.users.map((u) => (
              <tr>
                <td>{u.username}</td>
                <td>{u.hasTotp ? <span class="badge ok">TOTP</span> : <span class="badge">Push or none</span>}</td>
                <td>{state(u, p.now)}</td>
                <td>{u.failedAttempts}</td>
                <td class="actions">
                  <Allowed path="/users/lock">
                  <Action csrf={p.csrf} action="enrol" username={u.username} label={u.hasTotp ? 'Re-enrol TOTP' : 'Enrol TOTP'} confirm={u.hasTotp ? `Replace ${u.username}'s authenticator? Their current codes stop working at once.` : undefined} />{' '}
                  {u.hasTotp ? <Action csrf={p.csrf} action="reset-totp" username={u.username} label="Reset TOTP" confirm={`Remove ${u.username}'s TOTP authenticator?`} /> : null}{' '}
                  {u.locked || (u.lockedUntil !== null && u.lockedUntil > p.now) ? <Action csrf={p.csrf} action="unlock" username={u.username} label="Unlock" /> : <Action csrf={p.csrf} action="lock" username={u.username} label="Lock" />}{' '}
                  <Action csrf={p.csrf} action="remove" username={u.username} label="Remove" danger confirm={`Remove ${u.username} and their authenticator?`} />
                  </Allowed>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function UsersPage(p: UsersProps) {
  return (
    <Layout title="Users" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/users">
      {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
      {p.error ? <Flash kind="error">{p.error}</Flash> : null}
      {p.enrolled ? (
        <section class="card" aria-labelledby="h-enrolled">
          <h2 id="h-enrolled">Authenticator for {p.enrolled.username}</h2>
          <div class="row">
            <QrCode text={p.enrolled.uri} label={`QR code of ${p.enrolled.username}'s TOTP authenticator`} />
            <div>
              <p>Have {p.enrolled.username} scan this code with an authenticator app. It is shown only now.</p>
              <SecretOnce id="enrol-uri" secret={p.enrolled.uri} />
            </div>
          </div>
        </section>
      ) : null}
      <section class="card" aria-labelledby="h-users">
        <h2 id="h-users">People</h2>
        <form method="get" action="/users" class="inline-form" role="search">
          <div class="field">
            <label for="f-q">Search</label>
            <input id="f-q" type="search" name="q" value={p.q} placeholder="user name" hx-get="/users" hx-trigger="input changed delay:250ms, search" hx-target="#user-table" hx-select="#user-table" hx-swap="outerHTML" hx-push-url="true" />
          </div>
          <button type="submit" class="secondary">Search</button>
        </form>
        <UserTable csrf={p.csrf} now={p.now} users={p.users} q={p.q} />
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
