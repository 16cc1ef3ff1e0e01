// Applications of the push API Gatehouse serves: the list, a new one (its credentials shown once),
// and the page that changes one.
import type { PushApplicationRow } from '../db/queries/push-apps.js';
import type { NewApplication } from '../admin/push-apps.js';
import { SecretOnce } from './clients.js';
import { Allowed } from './frame.js';
import { ago, Csrf, Field, isoTime, Layout } from './layout.js';
import { errorOf, formText, Messages, NameAction, type Page } from './system.js';

const SOURCES_HINT = 'Addresses or CIDRs that may call without a token (e.g. a MikroTik router: 192.0.2.7), separated by commas. Empty: every call needs a token.';
const RATE_HINT = 'Calls a second from this application (new requests, polls, tokens); 0: no limit.';

export function ApplicationsPage(p: Page & { apps: PushApplicationRow[]; apiUrl: string; created?: (NewApplication & { renewed?: boolean }) | undefined; now: number }) {
  return (
    <Layout title="Push API" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/applications">
      <Messages {...p} />
      {p.created ? (
        <section class="card" role="status">
          <h2>{p.created.renewed ? `New client secret for ${p.created.name}` : `Application ${p.created.name} created`}</h2>
          <p>Configure the caller with these (a Notakey-compatible client calls them host, access id, client id and secret). The secret is shown only now.</p>
          <dl class="facts">
            <dt>API URL</dt>
            <dd><code>{p.created.apiUrl}</code></dd>
            <dt>Access id</dt>
            <dd><code>{p.created.accessId}</code></dd>
            <dt>Client id</dt>
            <dd><code>{p.created.clientId}</code></dd>
            <dt>Client secret</dt>
            <dd><SecretOnce id="new-secret" secret={p.created.clientSecret} /></dd>
          </dl>
        </section>
      ) : null}
      <section class="card">
        <p>
          Other systems (an authentication proxy, a MikroTik script, another Gatehouse) ask Gatehouse's users to approve on their phones through the push API at <code>{p.apiUrl}</code>: <code>POST token</code> (OAuth2 client credentials, scope <code>urn:notakey:auth</code>), then <code>POST v2/application/ACCESS_ID/application_user/NAME/auth_request</code> and <code>GET v2/application/ACCESS_ID/auth_request/UUID</code>.
        </p>
        {p.apps.length === 0 ? (
          <p class="empty">No applications.</p>
        ) : (
          <table>
            <thead><tr><th>Name</th><th>Access id</th><th>Without a token from</th><th>Rate limit</th><th>Last used</th><th><span class="muted">Actions</span></th></tr></thead>
            <tbody>
              {p.apps.map((a) => (
                <tr>
                  <td>{a.name}</td>
                  <td><code>{a.accessId}</code></td>
                  <td>{a.allowedSources.length === 0 ? <span class="muted">nowhere (token needed)</span> : a.allowedSources.join(', ')}</td>
                  <td>{a.rateLimit === 0 ? 'none' : `${a.rateLimit}/s`}</td>
                  <td>{a.lastUsedAt ? ago(a.lastUsedAt, p.now) : <span class="muted">never</span>}</td>
                  <td class="actions">
                    <Allowed path="/applications/edit" method="POST">
                      <a class="button small secondary" href={`/applications/edit?name=${encodeURIComponent(a.name)}`}>Change</a>
                    </Allowed>
                    <NameAction action="/applications/secret" name={a.name} csrf={p.csrf} confirm={`Make a new client secret for ${a.name}? The old one and its tokens stop working at once.`} label="New secret" kind="secondary" />
                    <NameAction action="/applications/remove" name={a.name} csrf={p.csrf} confirm={`Remove ${a.name}? Its calls are refused at once.`} label="Remove" kind="danger" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Allowed path="/applications">
        <section class="card">
          <h2>Add an application</h2>
          <form method="post" action="/applications">
            <Csrf token={p.csrf} />
            <div class="row">
              <Field label="Name" name="name" required placeholder="vpn-proxy" value={formText(p, 'name')} error={errorOf(p, 'name')} />
              <Field label="Rate limit" name="rate" inputmode="numeric" placeholder="10000" value={formText(p, 'rate')} error={errorOf(p, 'rate')} hint={RATE_HINT} />
            </div>
            <Field label="Calls without a token from" name="sources" placeholder="192.0.2.7, 10.1.0.0/24" value={formText(p, 'sources')} error={errorOf(p, 'sources')} hint={SOURCES_HINT} />
            <button type="submit">Add application</button>
          </form>
        </section>
      </Allowed>
    </Layout>
  );
}

export function ApplicationEditPage(p: Page & { app: PushApplicationRow }) {
  return (
    <Layout title={`Push API: ${p.app.name}`} assets={p.assets} csrf={p.csrf} admin={p.admin} active="/applications">
      <Messages {...p} />
      <section class="card">
        <p><a href="/applications">← All applications</a></p>
        <dl class="facts">
          <dt>Access id</dt>
          <dd><code>{p.app.accessId}</code></dd>
          <dt>Client id</dt>
          <dd><code>{p.app.clientId}</code></dd>
          <dt>Created</dt>
          <dd>{isoTime(p.app.createdAt)} by {p.app.createdBy}</dd>
        </dl>
        <form method="post" action="/applications/edit">
          <Csrf token={p.csrf} />
          <input type="hidden" name="name" value={p.app.name} />
          <Field label="Calls without a token from" name="sources" value={formText(p, 'sources') ?? p.app.allowedSources.join(', ')} error={errorOf(p, 'sources')} hint={SOURCES_HINT} />
          <Field label="Rate limit" name="rate" inputmode="numeric" value={formText(p, 'rate') ?? String(p.app.rateLimit)} error={errorOf(p, 'rate')} hint={RATE_HINT} />
          <button type="submit">Save</button>
        </form>
      </section>
    </Layout>
  );
}
