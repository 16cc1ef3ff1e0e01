// Sign-in pages: password, then TOTP code (or, the first time, TOTP enrolment).
import { Csrf, Field, Flash, Layout, type Assets } from './layout.js';
import { QrCode } from './parts/qr.js';

interface Base {
  assets: Assets;
  csrf: string;
  error?: string | undefined;
}

/**
 * `setupOffered`: no admin yet and the VM's setup code is waiting (link to /setup); `noAdmins`
 * alone: say how to create one at the console; `created`: the first admin was just created there.
 */
export function LoginPage(p: Base & { name?: string | undefined; noAdmins: boolean; setupOffered?: boolean; created?: boolean }) {
  return (
    <Layout title="Sign in" assets={p.assets} csrf={p.csrf}>
      <div class="card narrow login">
        <div class="brand">◆ Gatehouse</div>
        <h1>Sign in</h1>
        {p.created ? <Flash kind="ok">The admin was created. Sign in with its name and passphrase; you then set up a code in an authenticator app.</Flash> : null}
        {p.setupOffered ? (
          <Flash kind="info">
            First time here? <a href="/setup">Create the first admin</a> with the setup code from the console.
          </Flash>
        ) : p.noAdmins ? (
          <Flash kind="info">
            No admin exists yet. On the appliance, create one with <code>gatehouse admin add NAME</code> (it reads the password from standard input), then sign in here.
          </Flash>
        ) : null}
        {p.error ? <Flash kind="error">{p.error}</Flash> : null}
        <form method="post" action="/login" hx-boost="false">
          <Csrf token={p.csrf} />
          <Field label="Admin name" name="name" value={p.name} required autocomplete="username" />
          <Field label="Password" name="password" type="password" required autocomplete="current-password" />
          <button type="submit">Continue</button>
        </form>
      </div>
    </Layout>
  );
}

export function CodePage(p: Base & { name: string }) {
  return (
    <Layout title="Enter your code" assets={p.assets} csrf={p.csrf}>
      <div class="card narrow login">
        <div class="brand">◆ Gatehouse</div>
        <h1>Enter your code</h1>
        <p class="muted">Signing in as {p.name}. Open your authenticator app and enter the current code.</p>
        {p.error ? <Flash kind="error">{p.error}</Flash> : null}
        <form method="post" action="/login/code" hx-boost="false">
          <Csrf token={p.csrf} />
          <Field label="Code" name="code" required autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" />
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Layout>
  );
}

export function EnrolPage(p: Base & { name: string; uri: string }) {
  return (
    <Layout title="Set up your code" assets={p.assets} csrf={p.csrf}>
      <div class="card narrow login">
        <div class="brand">◆ Gatehouse</div>
        <h1>Set up your code</h1>
        <p class="muted">Admins sign in with a password and a code. Scan this with an authenticator app, then enter the code it shows.</p>
        <QrCode text={p.uri} label="QR code to add Gatehouse to an authenticator app" />
        <details>
          <summary>Can't scan? Enter the key by hand</summary>
          <p class="mono" id="enrol-uri">
            {p.uri}
          </p>
        </details>
        {p.error ? <Flash kind="error">{p.error}</Flash> : null}
        <form method="post" action="/login/enrol" hx-boost="false">
          <Csrf token={p.csrf} />
          <Field label="Code from the app" name="code" required autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" />
          <button type="submit">Confirm and sign in</button>
        </form>
      </div>
    </Layout>
  );
}
