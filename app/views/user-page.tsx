// One user's page: who they are (display name, email, groups: editable), their factors (TOTP,
// an enrolment waiting for its first code, with the QR code shown once and the code to confirm
// it), lock state, their last login and recent decisions from the audit log, and the actions.
import type { AuditRecord } from '../audit/chain.js';
import type { PushDeviceRow } from '../db/queries/push.js';
import type { UserDetail } from '../db/queries/users.js';
import { SecretOnce } from './clients.js';
import { Allowed } from './frame.js';
import { Csrf, Field, Flash, isoTime, Layout, type Assets } from './layout.js';
import { QrCode } from './parts/qr.js';
import { UserAction, UserFactor, userHref, UserState } from './users.js';

import type { PolicyRule } from '../mfa/policy.js';
import { ruleSummary } from './policy.js';

export interface UserPageProps {
  assets: Assets;
  csrf: string;
  admin: string;
  now: number;
  user: UserDetail;
  /** The last accepted login (RADIUS or Windows), if the audit log holds one. */
  lastLogin: AuditRecord | undefined;
  /** The newest audit records about the user. */
  recent: AuditRecord[];
  /** The user's phones (Gatehouse's own approver). */
  phones: PushDeviceRow[];
  /** A new self-enrolment code, shown once (right after it was made). */
  enrolCode?: { code: string; expiresAt: number } | undefined;
  /** A new phone enrolment link, shown once (right after it was made). */
  phoneLink?: { url: string; expiresAt: number } | undefined;
  /** Whether Gatehouse's own approver is the push provider now. */
  ownPush: boolean;
  /** The policy rules that apply to this user: at doors without a client condition, and per RADIUS client. */
  rules: { where: string; rule: PolicyRule | undefined }[];
  /** A new enrolment's URI, shown once (right after it was started). */
  enrolled?: string | undefined;
  notice?: string | undefined;
  /** A refused form: its message and the field it is about. */
  error?: { message: string; field?: string | undefined; form: 'profile' | 'confirm' | 'action' } | undefined;
  /** What the profile form held when it was refused. */
  profile?: { displayName: string; email: string; groups: string } | undefined;
}

const DOOR: Record<string, string> = { 'radius.auth': 'RADIUS', 'windows.auth': 'Windows logon' };

export function UserPage(p: UserPageProps) {
  const u = p.user;
  const err = (form: NonNullable<UserPageProps['error']>['form'], field: string) => (p.error?.form === form && p.error.field === field ? p.error.message : undefined);
  const formError = (form: NonNullable<UserPageProps['error']>['form']) => (p.error?.form === form && (p.error.field === undefined || form === 'action') ? p.error.message : undefined);
  const lockedOut = u.lockedUntil !== null && u.lockedUntil > p.now;
  const profile = p.profile ?? { displayName: u.displayName ?? '', email: u.email ?? '', groups: u.groups.join(', ') };
  return (
    <Layout title={`User ${u.username}`} assets={p.assets} csrf={p.csrf} admin={p.admin} active="/users">
      <p><a href="/users">← All users</a></p>
      {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
      {formError('action') ? <Flash kind="error">{formError('action')}</Flash> : null}
      <div class="two">
        <section class="card" aria-labelledby="h-who">
          <h2 id="h-who">{u.displayName ?? u.username}</h2>
          <dl class="kv">
            <dt>User name</dt>
            <dd class="mono">{u.username}</dd>
            <dt>Email</dt>
            <dd>{u.email ?? <span class="muted">none</span>}</dd>
            <dt>Groups</dt>
            <dd>{u.groups.length > 0 ? u.groups.join(', ') : <span class="muted">none</span>}</dd>
            <dt>State</dt>
            <dd><UserState u={u} now={p.now} /></dd>
            <dt>Policy</dt>
            <dd id="user-policy">
              {p.rules.map((x) => (
                <div>
                  {x.where}: {x.rule === undefined ? <span class="muted">no rule (their factor)</span> : <><strong>{x.rule.name}</strong> ({ruleSummary(x.rule)}){x.rule.action === 'password_only' ? <span class="badge warn">no second factor</span> : null}</>}
                </div>
              ))}
            </dd>
            <dt>Wrong codes in a row</dt>
            <dd>{u.failedAttempts}</dd>
            <dt>Last login</dt>
            <dd>{p.lastLogin ? `${isoTime(p.lastLogin.time)} (${DOOR[p.lastLogin.event] ?? p.lastLogin.event}${p.lastLogin.source ? ` from ${p.lastLogin.source}` : ''})` : <span class="muted">none in the audit log</span>}</dd>
            <dt>Added</dt>
            <dd>{isoTime(u.createdAt)}</dd>
          </dl>
          <Allowed path="/users/lock">
            <div class="row actions">
              {u.locked || lockedOut ? <UserAction csrf={p.csrf} action="unlock" username={u.username} label="Unlock" back="user" /> : <UserAction csrf={p.csrf} action="lock" username={u.username} label="Lock" back="user" />}
              <UserAction csrf={p.csrf} action="remove" username={u.username} label="Remove user" danger confirm={`Remove ${u.username} and their authenticator?`} />
            </div>
          </Allowed>
        </section>
        <section class="card" aria-labelledby="h-factors">
          <h2 id="h-factors">Second factor</h2>
          <p><UserFactor u={u} /></p>
          <dl class="kv">
            <dt>TOTP authenticator</dt>
            <dd>{u.totpSince !== null ? `since ${isoTime(u.totpSince)}` : <span class="muted">none</span>}</dd>
            {u.pendingSince !== null ? (
              <>
                <dt>New authenticator</dt>
                <dd>started {isoTime(u.pendingSince)}, waiting for its first code</dd>
              </>
            ) : null}
          </dl>
          {p.enrolled ? (
            <div class="row" id="enrolment">
              <QrCode text={p.enrolled} label={`QR code of ${u.username}'s new TOTP authenticator`} />
              <div>
                <p>Have {u.username} scan this code with an authenticator app. It is shown only now.</p>
                <SecretOnce id="enrol-uri" secret={p.enrolled} />
              </div>
            </div>
          ) : null}
          <Allowed path="/users/confirm">
            {u.pendingSince !== null ? (
              <>
                <p class="hint">
                  {u.hasTotp ? 'The current authenticator keeps working until the new one is confirmed.' : 'It counts for logins once confirmed.'} Ask {u.username} for the code their app shows now.
                </p>
                {formError('confirm') ? <Flash kind="error">{formError('confirm')}</Flash> : null}
                <form method="post" action="/users/confirm" class="inline-form">
                  <Csrf token={p.csrf} />
                  <input type="hidden" name="username" value={u.username} />
                  <Field label="Code from the app" name="code" required inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,10}" error={err('confirm', 'code')} />
                  <button type="submit">Confirm</button>
                </form>
                <div class="row actions">
                  <UserAction csrf={p.csrf} action="cancel-enrolment" username={u.username} label="Cancel the new authenticator" back="user" />
                </div>
              </>
            ) : null}
            <div class="row actions">
              <UserAction csrf={p.csrf} action="enrol" username={u.username} label={u.hasTotp || u.pendingSince !== null ? 'Start a new authenticator' : 'Enrol TOTP'} confirm={u.pendingSince !== null ? `Start over? The QR code shown before stops working.` : undefined} />
              {u.hasTotp ? <UserAction csrf={p.csrf} action="reset-totp" username={u.username} label="Remove TOTP" danger back="user" confirm={`Remove ${u.username}'s TOTP authenticator? Their codes stop working at once.`} /> : null}
            </div>
          </Allowed>
        </section>
      </div>
      <section class="card" aria-labelledby="h-phones" id="phones">
        <h2 id="h-phones">Phones that approve</h2>
        {p.ownPush ? null : <p class="hint">Push approvals go to the Notakey-compatible service now (--push-provider); these phones approve when Gatehouse's own approver is the provider.</p>}
        {p.phoneLink ? (
          <div class="row" id="phone-link">
            <QrCode text={p.phoneLink.url} label={`QR code enrolling a phone for ${u.username}`} />
            <div>
              <p>Have {u.username} scan this with the phone's camera and follow it. It works once, until {isoTime(p.phoneLink.expiresAt)}, and is shown only now.</p>
              <SecretOnce id="phone-url" secret={p.phoneLink.url} />
            </div>
          </div>
        ) : null}
        {p.phones.length === 0 ? (
          <p class="empty">No phone yet.</p>
        ) : (
          <table id="phone-table">
            <thead><tr><th>Name</th><th>Added</th><th>Last used</th><th>Notifications</th><th><span class="muted">Actions</span></th></tr></thead>
            <tbody>
              {p.phones.map((ph) => (
                <tr>
                  <td>{ph.name}</td>
                  <td class="mono">{isoTime(ph.createdAt)}</td>
                  <td class="mono">{ph.lastUsedAt === null ? 'never' : isoTime(ph.lastUsedAt)}</td>
                  <td>{ph.subscription === null ? 'while the approver is open' : 'Web Push'}</td>
                  <td class="actions">
                    <Allowed path="/users/phone-remove">
                      <UserAction csrf={p.csrf} action="phone-remove" username={u.username} device={ph.id} label="Remove" danger confirm={`Remove ${ph.name}? It stops approving at once.`} />
                    </Allowed>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Allowed path="/users/phone-link">
          <div class="row actions">
            <UserAction csrf={p.csrf} action="phone-link" username={u.username} label="Enrol a phone" />
          </div>
        </Allowed>
      </section>
      <Allowed path="/users/enrol-code">
        <section class="card" aria-labelledby="h-self-service" id="self-service">
          <h2 id="h-self-service">Self-service</h2>
          <p class="muted">{u.username} can set up their own sign-in methods at /my. Past their self-enrolment window, they need a one-time enrolment code from you to set up a first one.</p>
          {p.enrolCode ? (
            <div role="status">
              <p>Give {u.username} this code (it works once, until {isoTime(p.enrolCode.expiresAt)}, and is shown only now):</p>
              <SecretOnce id="enrol-code" secret={p.enrolCode.code} />
            </div>
          ) : null}
          <div class="row actions">
            <UserAction csrf={p.csrf} action="enrol-code" username={u.username} label="Make an enrolment code" />
          </div>
        </section>
      </Allowed>
      <Allowed path="/users/profile">
        <section class="card" aria-labelledby="h-profile">
          <h2 id="h-profile">Profile</h2>
          {formError('profile') ? <Flash kind="error">{formError('profile')}</Flash> : null}
          <form method="post" action="/users/profile">
            <Csrf token={p.csrf} />
            <input type="hidden" name="username" value={u.username} />
            <Field label="Display name" name="displayName" value={profile.displayName} autocomplete="off" error={err('profile', 'displayName')} />
            <Field label="Email" name="email" type="email" value={profile.email} autocomplete="off" error={err('profile', 'email')} />
            <Field label="Groups" name="groups" value={profile.groups} hint="Separated by commas or semicolons; stored in lower case" error={err('profile', 'groups')} />
            <button type="submit">Save profile</button>
          </form>
        </section>
      </Allowed>
      <section class="card" aria-labelledby="h-recent">
        <h2 id="h-recent">
          Recent events
          <a class="button small secondary" href={`/audit?username=${encodeURIComponent(u.username)}`}>All in the audit log</a>
        </h2>
        {p.recent.length === 0 ? (
          <p class="empty">No events for {u.username} yet.</p>
        ) : (
          <table id="user-events">
            <thead><tr><th>Time (UTC)</th><th>Event</th><th>Outcome</th><th>Reason</th><th>Source</th><th>By</th></tr></thead>
            <tbody>
              {p.recent.map((r) => (
                <tr>
                  <td class="mono">{isoTime(r.time)}</td>
                  <td>{r.event}</td>
                  <td><span class={`badge ${r.outcome}`}>{r.outcome}</span></td>
                  <td>{r.reason ?? ''}</td>
                  <td class="mono">{r.source ?? ''}{r.client ? <span class="muted"> ({r.client})</span> : null}</td>
                  <td>{r.actor ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Layout>
  );
}

