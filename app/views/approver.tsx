// The phone approver's page: one page, driven by app/static/approver.js (no inline script: the
// CSP holds). It enrols the phone from a one-time link, lists the user's waiting logins, and
// signs each Approve or Deny with the phone's passkey. Installable (manifest, service worker).
import { DOCTYPE, type Assets } from './layout.js';

export function ApproverPage(p: { assets: Assets }) {
  return (
    <>
      {DOCTYPE}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="theme-color" content="#141b26" />
          <title>Gatehouse approver</title>
          <link rel="manifest" href="/approve/manifest.webmanifest" />
          <link rel="stylesheet" href={p.assets.css} />
          <script src={p.assets.approver} defer></script>
        </head>
        <body class="bare approver">
          <main id="main" class="approver-main">
            <h1>Gatehouse</h1>
            <p id="status" role="status" class="hint"></p>
            <section id="enrol" class="card" hidden aria-labelledby="h-enrol">
              <h2 id="h-enrol">Set up this phone</h2>
              <p id="enrol-who"></p>
              <form id="enrol-form">
                <div class="field">
                  <label for="device-name">Name this phone</label>
                  <input id="device-name" name="name" type="text" maxlength={64} required autocomplete="off" placeholder="e.g. Work phone" />
                </div>
                <button type="submit">Create a passkey</button>
              </form>
              <p class="hint">A passkey on this phone signs every answer you give. Your phone asks for your screen lock to make it.</p>
            </section>
            <section id="requests-card" class="card" hidden aria-labelledby="h-requests">
              <h2 id="h-requests">Login requests</h2>
              <p id="who" class="muted"></p>
              <p id="notify-row" hidden>
                <button type="button" id="notify" class="secondary">Turn on notifications</button>
                <span class="hint"> so requests reach this phone when the approver is closed.</span>
              </p>
              <ul id="requests" class="requests"></ul>
              <p id="empty" class="empty">Nothing is waiting for you. Keep this page open, or add it to your home screen: new requests show here.</p>
            </section>
            <section id="not-enrolled" class="card" hidden>
              <h2>This phone is not set up</h2>
              <p>Open the enrolment link your administrator gave you (a QR code) on this phone.</p>
            </section>
          </main>
        </body>
      </html>
    </>
  );
}

/** The web app manifest: the approver installs as its own app. */
export const APPROVER_MANIFEST = {
  name: 'Gatehouse approver',
  short_name: 'Gatehouse',
  start_url: '/approve',
  scope: '/approve',
  display: 'standalone',
  background_color: '#f5f6f8',
  theme_color: '#141b26',
  icons: [{ src: '/approve/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
};
