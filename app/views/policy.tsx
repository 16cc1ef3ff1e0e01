// The Policy page: ordered rules by group and RADIUS client (app/mfa/policy.ts), the first that
// matches decides. "Password only" rules carry a warning wherever they are shown.
import type { PolicyRule } from '../mfa/policy.js';
import { Allowed } from './frame.js';
import { Csrf, Field, Layout } from './layout.js';
import { errorOf, formText, Messages, Reauth, type Page } from './system.js';

const ACTION_WORDS = { require: 'Require a second factor', password_only: 'Password only', deny: 'Deny' } as const;
const FACTOR_WORDS = { any: 'any factor', totp: 'TOTP only', push: 'push only' } as const;

export function ruleSummary(r: PolicyRule): string {
  return r.action === 'require' ? `${ACTION_WORDS.require} (${FACTOR_WORDS[r.factors]})` : ACTION_WORDS[r.action];
}

export function PolicyPage(p: Page & { rules: readonly PolicyRule[]; clients: readonly string[]; unenrolled: string }) {
  return (
    <Layout title="Policy" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/policy">
      <Messages notice={p.notice} error={p.field === undefined ? p.error : undefined} />
      <p class="muted">
        Rules are tried in order; the first whose groups and RADIUS client match a login decides. With no rule matching, a user's factor applies, and users with none follow unenrolled-users (now <strong>{p.unenrolled}</strong>). Each decision's audit record names the rule.
      </p>
      <section class="card" aria-labelledby="h-rules">
        <h2 id="h-rules">Rules</h2>
        {p.rules.length === 0 ? (
          <p class="empty">No rules: everyone needs their second factor.</p>
        ) : (
          <table id="rules">
            <thead>
              <tr><th>#</th><th>Name</th><th>Applies to</th><th>Decision</th><th>Reply attributes</th><th><span class="muted">Actions</span></th></tr>
            </thead>
            <tbody>
              {p.rules.map((r, i) => (
                <tr>
                  <td>{i + 1}</td>
                  <td>{r.name}</td>
                  <td>
                    {r.groups.length === 0 ? 'everyone' : `members of ${r.groups.join(', ')}`}
                    {r.client !== undefined ? <> via <strong>{r.client}</strong></> : null}
                  </td>
                  <td>
                    {ruleSummary(r)}
                    {r.action === 'password_only' ? (
                      <p class="hint error" role="note">
                        No second factor: a stolen password is enough for these people. Keep this for break-glass and service accounts.
                      </p>
                    ) : null}
                  </td>
                  <td class="mono">{r.replyAttributes === '' ? <span class="muted">none</span> : r.replyAttributes.split('\n').map((l) => <div>{l}</div>)}</td>
                  <td class="actions">
                    <Allowed path="/policy/move">
                      <form method="post" action="/policy/move">
                        <Csrf token={p.csrf} />
                        <input type="hidden" name="id" value={String(r.id)} />
                        <input type="hidden" name="by" value="up" />
                        <button type="submit" class="small secondary" disabled={i === 0} aria-label={`Move ${r.name} up`}>Up</button>
                      </form>
                      <form method="post" action="/policy/move">
                        <Csrf token={p.csrf} />
                        <input type="hidden" name="id" value={String(r.id)} />
                        <input type="hidden" name="by" value="down" />
                        <button type="submit" class="small secondary" disabled={i === p.rules.length - 1} aria-label={`Move ${r.name} down`}>Down</button>
                      </form>
                      <form method="post" action="/policy/remove" hx-confirm={`Remove the rule ${r.name}?`}>
                        <Csrf token={p.csrf} />
                        <input type="hidden" name="id" value={String(r.id)} />
                        <button type="submit" class="small danger">Remove</button>
                      </form>
                    </Allowed>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Allowed path="/policy">
        <section class="card" aria-labelledby="h-add-rule">
          <h2 id="h-add-rule">Add a rule</h2>
          <p class="muted">New rules go last; move them up to take effect before others.</p>
          <form method="post" action="/policy">
            <Csrf token={p.csrf} />
            <div class="row">
              <Field label="Name" name="name" required value={formText(p, 'name')} placeholder="VPN users" error={errorOf(p, 'name')} />
              <Field label="Groups" name="groups" value={formText(p, 'groups')} placeholder="VPN-Users; Engineering" hint="Semicolons between names; empty: everyone" error={errorOf(p, 'groups')} />
              <div class={`field${errorOf(p, 'client') ? ' invalid' : ''}`}>
                <label for="f-client">RADIUS client</label>
                <select id="f-client" name="client">
                  <option value="">Any (and Windows logon)</option>
                  {p.clients.map((c) => (
                    <option value={c} selected={formText(p, 'client') === c}>
                      {c}
                    </option>
                  ))}
                </select>
              </div>
            </div>
            <div class="row">
              <div class={`field${errorOf(p, 'action') ? ' invalid' : ''}`}>
                <label for="f-action">Decision</label>
                <select id="f-action" name="action">
                  {(['require', 'password_only', 'deny'] as const).map((a) => (
                    <option value={a} selected={(formText(p, 'action') ?? 'require') === a}>
                      {ACTION_WORDS[a]}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="f-factors">Factors (when required)</label>
                <select id="f-factors" name="factors">
                  {(['any', 'totp', 'push'] as const).map((f) => (
                    <option value={f} selected={(formText(p, 'factors') ?? 'any') === f}>
                      {FACTOR_WORDS[f]}
                    </option>
                  ))}
                </select>
              </div>
            </div>
            <div class={`field${errorOf(p, 'replyAttributes') ? ' invalid' : ''}`}>
              <label for="f-replyAttributes">RADIUS reply attributes on accept</label>
              <textarea id="f-replyAttributes" name="replyAttributes" rows={3} placeholder={'Class = "vpn-users"\nFilter-Id = "full-tunnel"'} aria-invalid={errorOf(p, 'replyAttributes') ? 'true' : undefined} aria-describedby="f-replyAttributes-hint">
                {formText(p, 'replyAttributes') ?? ''}
              </textarea>
              <p class={`hint${errorOf(p, 'replyAttributes') ? ' error' : ''}`} id="f-replyAttributes-hint">
                {errorOf(p, 'replyAttributes') ?? 'One Name = value per line: Class, Filter-Id, Session-Timeout, Tunnel-Private-Group-Id, Cisco-AVPair, Fortinet-Group-Name, PaloAlto-User-Group, ... or Vendor-V-Attr-N.'}
              </p>
            </div>
            <Reauth />
            <button type="submit">Add rule</button>
          </form>
        </section>
      </Allowed>
    </Layout>
  );
}
