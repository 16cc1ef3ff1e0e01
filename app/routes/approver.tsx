// The phone approver over HTTP (/approve): the page, its manifest and service worker, and a small
// JSON API the page uses. No admin session here: a phone is known by its device cookie (set at
// enrolment: HttpOnly, SameSite=Strict, only the hash stored), and every decision is signed with
// its passkey (app/push/approver.ts decides what counts). Changes need JSON from this origin.
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/package-root.js';
import type { Approver, ApproverResult } from '../push/approver.js';
import { requestView } from '../push/approver.js';
import type { PushDeviceRow } from '../db/queries/push.js';
import type { Decision, RequestBoard } from '../push/requests.js';
import { APPROVER_MANIFEST, ApproverPage } from '../views/approver.js';
import type { Assets } from '../views/layout.js';
import type { WebEnv } from '../web-env.js';

const COOKIE = 'gh_device';
/** A device cookie lasts as long as browsers allow (400 days); removing the phone ends it at once. */
const COOKIE_MAX_AGE = 400 * 24 * 3600;
const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#141b26"/><path d="M32 12l20 20-20 20-20-20z" fill="#7ea2ff"/></svg>';
/** Server-sent events: a comment this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000;

export interface ApproverRouteDeps {
  approver: Approver;
  requests: RequestBoard;
  assets: Assets;
  /** The VAPID public key phones subscribe to Web Push with. */
  pushPublicKey: string;
  /** The origin phones use (`--public-url`): a POST from any other is refused. */
  origin(): string;
}

export function createApproverRoutes(d: ApproverRouteDeps) {
  const sw = readFileSync(join(packageRoot(), 'app', 'static', 'approver-sw.js'));
  const app = new Hono<WebEnv>();
  const device = async (c: Context<WebEnv>) => await d.approver.device(getCookie(c, COOKIE));
  const answer = <T,>(c: Context<WebEnv>, r: ApproverResult<T>, body: (v: T) => Record<string, unknown>) => (r.ok ? c.json(body(r.value)) : c.json({ error: r.error }, r.status));
  /** JSON from a page of this origin only (a cross-site form cannot send it). */
  const readBody = async (c: Context<WebEnv>): Promise<Record<string, unknown> | Response> => {
    const origin = c.req.header('Origin');
    if (origin !== undefined && origin !== d.origin()) return c.json({ error: `requests come from ${d.origin()}` }, 403);
    if (!/^application\/json\s*(;|$)/i.test(c.req.header('Content-Type') ?? '')) return c.json({ error: 'send JSON' }, 415);
    try {
      const v = (await c.req.json()) as unknown;
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : c.json({ error: 'send a JSON object' }, 400);
    } catch {
      return c.json({ error: 'send a JSON object' }, 400);
    }
  };
  const decisionOf = (v: unknown) => (v === 'approve' || v === 'deny' ? v : undefined);

  app.get('/approve', (c) => {
    c.header('Cache-Control', 'no-cache');
    return c.html(<ApproverPage assets={d.assets} />);
  });
  app.get('/approve/manifest.webmanifest', (c) => c.body(JSON.stringify(APPROVER_MANIFEST), 200, { 'content-type': 'application/manifest+json', 'cache-control': 'no-cache' }));
  app.get('/approve/icon.svg', (c) => c.body(ICON, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' }));
  // Its scope is /approve (the page itself), above the script's own folder: allowed by header.
  app.get('/approve/sw.js', (c) => c.body(new Uint8Array(sw), 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache', 'service-worker-allowed': '/approve' }));

  app.post('/approve/api/enrol/options', async (c) => {
    const b = await readBody(c);
    if (b instanceof Response) return b;
    if (typeof b['token'] !== 'string') return c.json({ error: 'no enrolment link' }, 400);
    return answer(c, await d.approver.registrationOptions(b['token']), (v) => ({ username: v.username, options: v.options }));
  });
  app.post('/approve/api/enrol', async (c) => {
    const b = await readBody(c);
    if (b instanceof Response) return b;
    if (typeof b['token'] !== 'string') return c.json({ error: 'no enrolment link' }, 400);
    const r = await d.approver.finishEnrolment(b['token'], b['name'], b['response']);
    if (r.ok) setCookie(c, COOKIE, r.value.deviceToken, { httpOnly: true, sameSite: 'Strict', secure: c.get('secure'), path: '/approve', maxAge: COOKIE_MAX_AGE });
    return answer(c, r, (v) => ({ username: v.username, name: v.name }));
  });
  app.get('/approve/api/requests', async (c) => {
    c.header('Cache-Control', 'no-store');
    const dev = await device(c);
    if (dev === undefined) {
      deleteCookie(c, COOKIE, { path: '/approve', secure: c.get('secure') });
      return c.json({ error: 'this phone is not enrolled (or was removed)' }, 401);
    }
    return c.json({ username: dev.username, device: dev.name, requests: await d.approver.requests(dev) });
  });
  app.get('/approve/api/push-key', (c) => c.json({ publicKey: d.pushPublicKey }));
  app.post('/approve/api/subscription', async (c) => {
    const b = await readBody(c);
    if (b instanceof Response) return b;
    const dev = await device(c);
    if (dev === undefined) return c.json({ error: 'this phone is not enrolled (or was removed)' }, 401);
    return answer(c, await d.approver.subscribe(dev, b['subscription']), () => ({ subscribed: true }));
  });
  app.get('/approve/api/events', async (c) => {
    const dev = await device(c);
    if (dev === undefined) return c.json({ error: 'this phone is not enrolled (or was removed)' }, 401);
    c.header('Cache-Control', 'no-store');
    return streamSSE(c, async (s) => {
      const queue: { event: string; data: string }[] = [];
      let wake: (() => void) | undefined;
      const stop = d.requests.watch(dev.username, (e) => {
        queue.push(e.kind === 'new' ? { event: 'new', data: JSON.stringify(requestView(e.request)) } : { event: 'gone', data: JSON.stringify({ id: e.id }) });
        wake?.();
      });
      let open = true;
      s.onAbort(() => {
        open = false;
        stop();
        wake?.();
      });
      try {
        while (open) {
          // A removed phone stops hearing at once (checked at every event and keep-alive).
          if (await d.approver.device(getCookie(c, COOKIE)) === undefined) break;
          const next = queue.shift();
          if (next !== undefined) {
            await s.writeSSE(next);
            continue;
          }
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, KEEPALIVE_MS).unref();
          });
          wake = undefined;
          if (queue.length === 0 && open) await s.write(': keep-alive\n\n');
        }
      } finally {
        stop();
      }
    });
  });
  /** Deciding a request, in two steps (the passkey options, then the signed decision): the same checks first. */
  const onDecision = (step: 'options' | 'decision', run: (c: Context<WebEnv>, dev: PushDeviceRow, id: string, decision: Decision, body: Record<string, unknown>) => Promise<Response>) =>
    app.post(`/approve/api/requests/:id/${step}`, async (c) => {
      const b = await readBody(c);
      if (b instanceof Response) return b;
      const dev = await device(c);
      if (dev === undefined) return c.json({ error: 'this phone is not enrolled (or was removed)' }, 401);
      const decision = decisionOf(b['decision']);
      if (decision === undefined) return c.json({ error: 'decision is approve or deny' }, 400);
      return run(c, dev, c.req.param('id') ?? '', decision, b);
    });
  // `number`: the number picked, with an approval of a request that offers choices.
  onDecision('options', async (c, dev, id, decision, b) => answer(c, await d.approver.decisionOptions(dev, id, decision, b['number']), (v) => ({ ...v })));
  onDecision('decision', async (c, dev, id, decision, b) => answer(c, await d.approver.decide(dev, id, decision, b['response'], b['number']), (v) => ({ decision: v })));
  return app;
}
