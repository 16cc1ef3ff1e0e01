// The VM appliance's one-time setup page: the first admin, created with the setup code from the
// console. Never given the code or a passphrase back: only the name is kept on a re-render.
import { Csrf, Field, Flash, Layout, type Assets } from './layout.js';

export function SetupPage(p: { assets: Assets; csrf: string; name?: string | undefined; error?: string | undefined }) {
  return (
    <Layout title="Create the first admin" assets={p.assets} csrf={p.csrf}>
      <div class="card narrow login">
        <div class="brand">◆ Gatehouse</div>
        <h1>Create the first admin</h1>
        <p class="hint">
          Enter the setup code shown on the appliance's console, then choose a name and a passphrase for the first admin. The code works once. At the first sign-in you set up a code in an
          authenticator app.
        </p>
        {p.error ? <Flash kind="error">{p.error}</Flash> : null}
        <form method="post" action="/setup" hx-boost="false">
          <Csrf token={p.csrf} />
          <Field label="Setup code" name="code" required autocomplete="off" placeholder="XXXX-XXXX-XXXX-XXXX" hint="As on the console; dashes and case do not matter" />
          <Field label="Admin name" name="name" value={p.name} required autocomplete="username" hint="Letters, digits, . _ @ -" />
          <Field label="Passphrase" name="password" type="password" required autocomplete="new-password" hint="At least 12 characters" />
          <Field label="Passphrase again" name="confirm" type="password" required autocomplete="new-password" />
          <button type="submit">Create admin</button>
        </form>
        <p class="hint">
          <a href="/login">Back to sign-in</a>
        </p>
      </div>
    </Layout>
  );
}
