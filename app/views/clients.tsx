// RADIUS clients: list (flag/env ones read-only), add (secret shown once), edit, remove.
import { Allowed } from './frame.js';
import { ago, Csrf, Field, Flash, Layout, type Assets } from './layout.js';

/** One RADIUS client as the page shows it. */
export interface ClientView {
  name: string;
  address: string;
  source: 'flag' | 'env' | 'db';
  requireMessageAuthenticator: 'yes' | 'no' | 'auto';
  messageAuthenticatorSeen: boolean;
  /** Who checks its passwords; undefined: the --first-factor setting. */
  firstFactor: 'downstream' | 'directory' | undefined;
  lastSeen: number | undefined;
  sendsMessageAuthenticator: boolean | undefined;
}

export interface ClientsProps {
  assets: Assets;
  csrf: string;
  admin: string;
  now: number;
  clients: ClientView[];
  /** The --first-factor setting, for clients that follow it. */
  defaultFirstFactor: 'downstream' | 'directory';
  created?: { name: string; address: string; secret: string } | undefined;
  error?: { message: string; field?: string | undefined } | undefined;
  form?: { name?: string | undefined; address?: string | undefined; requireMessageAuthenticator?: string | undefined; firstFactor?: string | undefined } | undefined;
  notice?: string | undefined;
}

const MA_LABEL: Record<string, string> = { yes: 'Required', no: 'Not required', auto: 'Auto (required once seen)' };

export function MaSelect(p: { value: string | undefined }) {
  return (
    <div class="field">
      <label for="f-requireMessageAuthenticator">Message-Authenticator</label>
      <select id="f-requireMessageAuthenticator" name="requireMessageAuthenticator">
        {(['auto', 'yes', 'no'] as const).map((v) => (
          <option value={v} selected={(p.value ?? 'auto') === v}>
            {MA_LABEL[v]}
          </option>
        ))}
      </select>
    </div>
  );
}

const FIRST_FACTOR_LABEL: Record<string, string> = { downstream: 'Downstream RADIUS server', directory: 'Directory (PAP only)' };

/** Who checks a client's passwords: the downstream server, the directory, or the setting's choice. */
export function FirstFactorSelect(p: { value: string | undefined; fallback: 'downstream' | 'directory' }) {
  return (
    <div class="field">
      <label for="f-firstFactor">Password checked by</label>
      <select id="f-firstFactor" name="firstFactor">
        <option value="default" selected={(p.value ?? 'default') === 'default'}>
          Default ({FIRST_FACTOR_LABEL[p.fallback]})
        </option>
        {(['downstream', 'directory'] as const).map((v) => (
          <option value={v} selected={p.value === v}>
            {FIRST_FACTOR_LABEL[v]}
          </option>
        ))}
      </select>
    </div>
  );
}

export function SecretOnce(p: { id: string; secret: string; children?: unknown }) {
  return (
    <div class="secret">
      <code id={p.id}>{p.secret}</code>
      <button type="button" class="small secondary" data-copy={p.id}>
        Copy
      </button>
    </div>
  );
}

export function ClientsPage(p: ClientsProps) {
  return (
    <Layout title="RADIUS clients" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/clients">
      {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
      {p.created ? (
        <div class="card" role="status">
          <h2>Client {p.created.name} added</h2>
          <p>Configure this shared secret on the device at {p.created.address}. It is shown only now: Gatehouse stores it encrypted and never displays it again.</p>
          <SecretOnce id="new-secret" secret={p.created.secret} />
        </div>
      ) : null}
      <section class="card" aria-labelledby="h-clients">
        <h2 id="h-clients">Clients</h2>
        {p.clients.length === 0 ? (
          <p class="empty">No RADIUS clients yet. Add the VPN concentrator, firewall or Wi-Fi controller that will send requests.</p>
        ) : (
          <table>
            <thead>
              <tr><th>Name</th><th>Address</th><th>Message-Authenticator</th><th>Password checked by</th><th>Last seen</th><th>Source</th><th><span class="muted">Actions</span></th></tr>
            </thead>
            <tbody>
              {p.clients.map((c) => (
                <tr>
                  <td>{c.name}</td>
                  <td class="mono">{c.address}</td>
                  <td>
                    {MA_LABEL[c.requireMessageAuthenticator]}
                    {c.sendsMessageAuthenticator === undefined ? null : c.sendsMessageAuthenticator ? <span class="badge ok">sends it</span> : <span class="badge warn">does not send it</span>}
                  </td>
                  <td>{c.firstFactor === undefined ? <span class="muted">{FIRST_FACTOR_LABEL[p.defaultFirstFactor]} (default)</span> : FIRST_FACTOR_LABEL[c.firstFactor]}</td>
                  <td>{c.lastSeen === undefined ? <span class="muted">never</span> : ago(c.lastSeen, p.now)}</td>
                  <td>{c.source === 'db' ? 'Stored' : c.source === 'flag' ? <span class="badge">--address-secret-in</span> : <span class="badge">ADDRESS_SECRET_IN</span>}</td>
                  <td class="actions">
                    {c.source === 'db' ? (
                      <Allowed path="/clients/edit">
                        <a class="button small secondary" href={`/clients/edit?address=${encodeURIComponent(c.address)}`}>Edit</a>{' '}
                        <form method="post" action="/clients/remove" hx-confirm={`Remove the client ${c.name}? Its requests will be dropped at once.`}>
                          <Csrf token={p.csrf} />
                          <input type="hidden" name="address" value={c.address} />
                          <button type="submit" class="small danger">Remove</button>
                        </form>
                      </Allowed>
                    ) : (
                      <span class="muted">read-only</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Allowed path="/clients">
      <section class="card" aria-labelledby="h-add">
        <h2 id="h-add">Add a client</h2>
        {p.error ? <Flash kind="error">{p.error.message}</Flash> : null}
        <form method="post" action="/clients">
          <Csrf token={p.csrf} />
          <div class="row">
            <Field label="Name" name="name" value={p.form?.name} placeholder="Branch VPN" hint="Shown in the audit log" error={p.error?.field === 'name' ? p.error.message : undefined} />
            <Field label="Address or CIDR" name="address" value={p.form?.address} required placeholder="10.0.0.5 or 10.0.0.0/24" error={p.error?.field === 'address' ? p.error.message : undefined} />
            <Field label="Shared secret" name="secret" type="password" autocomplete="new-password" hint="Leave empty to generate a strong one" error={p.error?.field === 'secret' ? p.error.message : undefined} />
            <MaSelect value={p.form?.requireMessageAuthenticator} />
            <FirstFactorSelect value={p.form?.firstFactor} fallback={p.defaultFirstFactor} />
          </div>
          <button type="submit">Add client</button>
        </form>
      </section>
      </Allowed>
    </Layout>
  );
}

export function ClientEditPage(p: { assets: Assets; csrf: string; admin: string; client: ClientView; defaultFirstFactor: 'downstream' | 'directory'; error?: { message: string; field?: string | undefined } | undefined }) {
  return (
    <Layout title={`Edit ${p.client.name}`} assets={p.assets} csrf={p.csrf} admin={p.admin} active="/clients">
      <section class="card">
        {p.error ? <Flash kind="error">{p.error.message}</Flash> : null}
        <form method="post" action="/clients/edit">
          <Csrf token={p.csrf} />
          <input type="hidden" name="address" value={p.client.address} />
          <Field label="Address" name="address-shown" value={p.client.address} readonly />
          <Field label="Name" name="name" value={p.client.name} required error={p.error?.field === 'name' ? p.error.message : undefined} />
          <Field label="New shared secret" name="secret" type="password" autocomplete="new-password" hint="Leave empty to keep the current secret" error={p.error?.field === 'secret' ? p.error.message : undefined} />
          <MaSelect value={p.client.requireMessageAuthenticator} />
          <FirstFactorSelect value={p.client.firstFactor} fallback={p.defaultFirstFactor} />
          <div class="row">
            <button type="submit">Save</button>
            <a class="button secondary" href="/clients">Cancel</a>
          </div>
        </form>
      </section>
    </Layout>
  );
}
