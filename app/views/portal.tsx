// The self-service portal at /my: sign in with the first factor, pass the factor you have, then
// see and manage your own factors and recent sign-ins. Pages work at a phone's width.
import type { AuditRecord } from '../audit/chain.js';
import type { PushDeviceRow } from '../db/queries/push.js';
import { Csrf, Field, Flash, isoTime, Layout, type Assets } from './layout.js';
import { QrCode } from './parts/qr.js';

interface Base {
  assets: Assets;
  csrf: string;
  error?: { message: string; field?: string | undefined } | undefined;
  notice?: string | undefined;
}
const err = (p: Base, field: string) => (p.error?.field === field ? p.error.message : undefined);
const general = (p: Base) => (p.error !== undefined && p.error.field === undefined ? p.error.message : undefined);

export function PortalSignIn(p: Base & { name?: string | undefined; how: 'directory' | 'radius' | 'none' }) {
  return (
    <Layout title="Your sign-in methods" assets={p.assets} csrf={p.csrf}>
      <div class="card narrow login">
        <div class="brand">◆ Gatehouse</div>
        <h1>Your sign-in methods</h1>
        <p class="muted">Sign in with your {p.how === 'directory' ? 'network (directory)' : 'VPN'} user name and password to set up or change how you confirm your sign-ins.</p>
        {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
        {general(p) ? <Flash kind="error">{general(p)}</Flash> : null}
        {p.how === 'none' ? (
          <Flash kind="info">Self-service is not available: no directory or RADIUS server is configured to check passwords. Ask your administrator.</Flash>
        ) : (
          <form method="post" action="/my/signin" hx-boost="false">
            <Csrf token={p.csrf} />
            <Field label="User name" name="username" value={p.name} required autocomplete="username" />
            <Field label="Password" name="password" type="password" required autocomplete="current-password" />
            <button type="submit">Sign in</button>
          </form>
        )}
      </div>
    </Layout>
  );
}

export function PortalSecondStep(p: Base & { username: string; hasTotp: boolean; hasPhone: boolean }) {
  return (
    <Layout title="Confirm it is you" assets={p.assets} csrf={p.csrf}>
      <div class="card narrow login">
        <div class="brand">◆ Gatehouse</div>
        <h1>Confirm it is you</h1>
        {general(p) ? <Flash kind="error">{general(p)}</Flash> : null}
        {p.hasTotp ? (
          <form method="post" action="/my/code" hx-boost="false">
            <Csrf token={p.csrf} />
            <p>{p.username}: enter the code your authenticator app shows now.</p>
            <Field label="Code" name="code" required autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6,8}" error={err(p, 'code')} />
            <button type="submit">Continue</button>
          </form>
        ) : null}
        {p.hasPhone ? (
          <form method="post" action="/my/push" hx-boost="false">
            <Csrf token={p.csrf} />
            <p>{p.hasTotp ? 'Or approve' : `${p.username}: approve`} this sign-in on your phone: press the button, then approve on the phone.</p>
            <button type="submit" class={p.hasTotp ? 'secondary' : ''}>
              Send to my phone
            </button>
          </form>
        ) : null}
        <SignOut csrf={p.csrf} />
      </div>
    </Layout>
  );
}

function SignOut(p: { csrf: string }) {
  return (
    <form method="post" action="/my/signout" hx-boost="false">
      <Csrf token={p.csrf} />
      <button type="submit" class="link">
        Sign out
      </button>
    </form>
  );
}

const OUTCOME: Record<string, string> = { accept: 'allowed', reject: 'refused', challenge: 'asked for a code', error: 'failed' };

export function PortalHome(
  p: Base & {
    username: string;
    displayName: string | null;
    totp: 'none' | 'active' | 'pending';
    pendingUri: string | undefined;
    phones: PushDeviceRow[];
    phoneLink: { url: string; expiresAt: number } | undefined;
    ownPush: boolean;
    /** May add a factor now (has one, is within the window, or gave an admin's code). */
    mayEnrol: boolean;
    /** Why not, when they may not: the window ended or self-enrolment is off. */
    windowEnded: boolean;
    recent: AuditRecord[];
    now: number;
  },
) {
  const hasFactor = p.totp === 'active' || p.phones.length > 0;
  return (
    <Layout title="Your sign-in methods" assets={p.assets} csrf={p.csrf}>
      <div class="card narrow portal">
        <div class="brand">◆ Gatehouse</div>
        <h1>Your sign-in methods</h1>
        <p>
          Signed in as <strong>{p.displayName ?? p.username}</strong>
          {p.displayName !== null && p.displayName !== p.username ? <span class="muted"> ({p.username})</span> : null}
        </p>
        {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
        {general(p) ? <Flash kind="error">{general(p)}</Flash> : null}
        {!hasFactor && !p.mayEnrol ? (
          <section aria-labelledby="h-code">
            <h2 id="h-code">Enrolment code</h2>
            <p id="window-ended">{p.windowEnded ? 'The time to set up your first sign-in method on your own has ended.' : 'Setting up a first sign-in method here needs a code from your administrator.'} Ask your administrator for an enrolment code and enter it here.</p>
            <form method="post" action="/my/enrol-code" hx-boost="false">
              <Csrf token={p.csrf} />
              <Field label="Enrolment code" name="code" required autocomplete="off" placeholder="XXXXX-XXXXX" error={err(p, 'enrolcode')} />
              <button type="submit">Continue</button>
            </form>
          </section>
        ) : null}
        <section aria-labelledby="h-totp">
          <h2 id="h-totp">Authenticator app</h2>
          {p.totp === 'active' ? (
            <>
              <p>
                <span class="badge ok">set up</span> Codes from your authenticator app confirm your sign-ins.
              </p>
              <form method="post" action="/my/totp/remove" hx-boost="false">
                <Csrf token={p.csrf} />
                <button type="submit" class="small danger">Remove</button>
              </form>
            </>
          ) : p.pendingUri !== undefined ? (
            <div id="totp-enrol">
              <p>Scan this with your authenticator app (or enter the key by hand), then type the code it shows.</p>
              <QrCode text={p.pendingUri} label="QR code for your authenticator app" />
              <details>
                <summary>Enter the key by hand</summary>
                <p>
                  Key: <code id="totp-key">{(new URL(p.pendingUri).searchParams.get('secret') ?? '').replace(/(.{4})/g, '$1 ').trim()}</code>
                </p>
                <p class="hint">
                  Or the whole link: <code id="totp-uri">{p.pendingUri}</code>
                </p>
              </details>
              <form method="post" action="/my/totp/confirm" hx-boost="false">
                <Csrf token={p.csrf} />
                <Field label="Code from the app" name="code" required autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6,8}" error={err(p, 'code')} />
                <button type="submit">Confirm</button>
              </form>
            </div>
          ) : p.mayEnrol ? (
            <form method="post" action="/my/totp/start" hx-boost="false">
              <Csrf token={p.csrf} />
              <p>Not set up.</p>
              <button type="submit">Set up an authenticator app</button>
            </form>
          ) : (
            <p class="muted">Not set up.</p>
          )}
        </section>
        {p.ownPush ? (
          <section aria-labelledby="h-phones">
            <h2 id="h-phones">Phones that approve</h2>
            {p.phones.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <ul class="plain-list">
                {p.phones.map((ph) => (
                  <li>
                    <strong>{ph.name}</strong> <span class="muted">added {isoTime(ph.createdAt)}{ph.lastUsedAt !== null ? `, last used ${isoTime(ph.lastUsedAt)}` : ''}</span>
                    <form method="post" action="/my/phone/remove" hx-boost="false">
                      <Csrf token={p.csrf} />
                      <input type="hidden" name="id" value={String(ph.id)} />
                      <button type="submit" class="small danger">Remove</button>
                    </form>
                  </li>
                ))}
              </ul>
            )}
            {p.phoneLink !== undefined && p.phoneLink.expiresAt > p.now ? (
              <div id="phone-link">
                <p>Scan this with your phone's camera and follow it (it works once, for 15 minutes).</p>
                <QrCode text={p.phoneLink.url} label="QR code to add your phone" />
              </div>
            ) : p.mayEnrol ? (
              <form method="post" action="/my/phone/link" hx-boost="false">
                <Csrf token={p.csrf} />
                <button type="submit" class="secondary">Add a phone</button>
              </form>
            ) : null}
          </section>
        ) : null}
        <section aria-labelledby="h-recent">
          <h2 id="h-recent">Your recent sign-ins</h2>
          {p.recent.length === 0 ? (
            <p class="muted">None yet.</p>
          ) : (
            <ul class="plain-list" id="recent">
              {p.recent.map((r) => (
                <li>
                  <time datetime={isoTime(r.time)}>{isoTime(r.time)}</time> · {r.client ?? (r.event === 'windows.auth' ? 'Windows logon' : 'VPN')} · <strong>{OUTCOME[r.outcome] ?? r.outcome}</strong>
                </li>
              ))}
            </ul>
          )}
        </section>
        <SignOut csrf={p.csrf} />
      </div>
    </Layout>
  );
}
