// The page frame: head with the served assets, the navigation, flash messages.
import { raw } from 'hono/html';
import { useContext, type Child } from 'hono/jsx';
import { FrameContext } from './frame.js';

export interface Assets {
  css: string;
  js: string;
  htmx: string;
  /** The phone approver's script (app/static/approver.js). */
  approver: string;
}

export interface LayoutProps {
  title: string;
  assets: Assets;
  csrf: string;
  /** Signed-in admin's name; absent on the sign-in pages. */
  admin?: string | undefined;
  active?: string;
  children?: Child;
}

const NAV: [href: string, label: string][] = [
  ['/', 'Dashboard'],
  ['/approvals', 'Approvals'],
  ['/users', 'Users'],
  ['/clients', 'RADIUS clients'],
  ['/downstream', 'Downstream'],
  ['/sessions', 'Sessions'],
  ['/directory', 'Directory'],
  ['/policy', 'Policy'],
  ['/settings', 'Settings'],
  ['/audit', 'Audit log'],
  ['/admins', 'Admins'],
  ['/tokens', 'API tokens'],
  ['/applications', 'Push API'],
  ['/backup', 'Backup'],
  ['/api-docs', 'API reference'],
];

/**
 * Sent by elements that refresh themselves (the dashboard, approvals): such a request is no
 * activity of the admin's, so it does not keep an idle session alive (app/middleware/session.ts).
 */
export const POLL_HEADER = 'X-Gatehouse-Poll';
export const POLL_HEADERS = JSON.stringify({ [POLL_HEADER]: '1' });

/** The doctype is a constant (never data), the one use of raw(). */
export const DOCTYPE = raw('<!DOCTYPE html>');

export function Layout(p: LayoutProps) {
  const frame = useContext(FrameContext);
  return (
    <>
    {DOCTYPE}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="csrf-token" content={p.csrf} />
        {/* Refused forms (4xx) and error pages are swapped in like any page: htmx 2 leaves them out by default, which hid every form error. */}
        <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"historyCacheSize":0,"responseHandling":[{"code":"204","swap":false},{"code":"[2345]..","swap":true}]}' />
        <title>{`${p.title} · Gatehouse`}</title>
        <link rel="stylesheet" href={p.assets.css} />
        <script src={p.assets.htmx} defer></script>
        <script src={p.assets.js} defer></script>
      </head>
      <body class={p.admin === undefined ? 'bare' : ''} hx-boost="true">
        <a class="skip" href="#main">
          Skip to content
        </a>
        {p.admin !== undefined ? (
          <div class="shell">
            <nav class="sidebar" aria-label="Main">
              <a class="brand" href="/">
                <span class="logo" aria-hidden="true">◆</span> Gatehouse
              </a>
              {/* On narrow screens the links fold behind this toggle (CSS only, no script). */}
              <input type="checkbox" id="nav-toggle" class="nav-toggle" aria-label="Show the menu" />
              <label for="nav-toggle" class="nav-button" aria-hidden="true">
                Menu
              </label>
              <ul id="nav-links">
                {NAV.filter(([href]) => frame.allows('GET', href)).map(([href, label]) => (
                  <li>
                    <a href={href} aria-current={p.active === href ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
              <form method="post" action="/logout" class="signout">
                <input type="hidden" name="_csrf" value={p.csrf} />
                <span class="who">
                  {p.admin}
                  {frame.roleLabel !== undefined ? <span class="role"> · {frame.roleLabel}</span> : null}
                </span>
                <button type="submit" class="link">
                  Sign out
                </button>
              </form>
            </nav>
            <main id="main" tabindex={-1}>
              {frame.warnings.length > 0 ? (
                <div class="banner" role="alert">
                  {frame.warnings.map((w) => (
                    <p>{w}</p>
                  ))}
                  {frame.allows('GET', '/settings') ? (
                    <p>
                      <a href="/settings">Review the settings</a>
                    </p>
                  ) : null}
                </div>
              ) : null}
              <h1>{p.title}</h1>
              {p.children}
            </main>
          </div>
        ) : (
          <main class="center" id="main" tabindex={-1}>
            {p.children}
          </main>
        )}
      </body>
    </html>
    </>
  );
}

export function Flash(p: { kind: 'ok' | 'error' | 'info'; children?: Child }) {
  return (
    <div class={`flash ${p.kind}`} role={p.kind === 'error' ? 'alert' : 'status'}>
      {p.children}
    </div>
  );
}

export function Csrf(p: { token: string }) {
  return <input type="hidden" name="_csrf" value={p.token} />;
}

export function Field(p: { label: string; name: string; /** When two forms on a page share a field name. */ id?: string; type?: string; value?: string | undefined; required?: boolean; hint?: string; error?: string | undefined; autocomplete?: string; readonly?: boolean; placeholder?: string; inputmode?: 'numeric' | 'text'; pattern?: string }) {
  const id = p.id ?? `f-${p.name}`;
  return (
    <div class={`field${p.error ? ' invalid' : ''}`}>
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        type={p.type ?? 'text'}
        value={p.value}
        required={p.required}
        autocomplete={p.autocomplete}
        readonly={p.readonly}
        placeholder={p.placeholder}
        inputmode={p.inputmode}
        pattern={p.pattern}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={p.hint || p.error ? `${id}-hint` : undefined}
      />
      {p.error ? (
        <p class="hint error" id={`${id}-hint`}>
          {p.error}
        </p>
      ) : p.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {p.hint}
        </p>
      ) : null}
    </div>
  );
}

export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}
