// The agent API: what `gatehouse agent` on a Windows machine calls, with its agent token
// (`gatehouse agent-token create MACHINE`; stored hashed, revocable). Same answers as the pipe.
// A token is bound to its machine: the workstation a push names and the audit records is the
// token's, whatever the request claims (a stolen token cannot pose as another computer). Each
// token may authenticate AGENT_BURST logons at once and AGENT_PER_MINUTE a minute after that;
// more are refused with 429, audited once a minute per token. A request with `number_matching`
// is answered as JSON lines (interim replies, then the final one); any other with one JSON object.
//
// Offline logon (app/mfa/offline.ts): a request with `?offline_until=STEP` (the last step of
// offline codes the workstation holds for this user, 0 for none) is answered as JSON lines too:
// the final reply as soon as it is decided, then, when the sign-in earned them, one line
// `{"offline": {...}}` with the user's hashed codes. The workstation reports the sign-ins it
// decided offline to POST /offline-logons once it is back online; they are audited.
import { Hono, type Context } from 'hono';
import { bodyLimit } from '../middleware/body-limit.js';
import { findAgentByHash, touchAgent } from '../db/queries/admins.js';
import { TokenBuckets } from '../lib/rate-limit.js';
import { tokenHash } from '../lib/tokens.js';
import type { OfflineIssuer } from '../mfa/offline.js';
import type { Reply } from '../pipe/endpoint.js';
import { parseRequest, SCENARIOS, type Request, type Scenario } from '../pipe/frame.js';
import { recordOfflineLogons, type Caller, type OfflineLogon } from '../pipe/ops.js';
import type { WebDeps } from './deps.js';

export interface AgentDeps {
  web: WebDeps;
  handle(req: Request, caller: Caller, interim?: (reply: Reply) => void): Promise<Reply>;
  offline: OfflineIssuer;
  stripRealm(): boolean;
}

/** Offline sign-ins one report may carry. */
export const MAX_OFFLINE_LOGONS = 100;

/** How old an offline sign-in may be when reported (the longest window, and then some). */
const OFFLINE_REPORT_MAX_AGE_MS = 31 * 86_400_000;

/** The body of POST /offline-logons, or what is wrong with it. */
export function parseOfflineLogons(body: unknown, now: number): { ok: true; logons: OfflineLogon[] } | { ok: false; message: string } {
  const list = typeof body === 'object' && body !== null ? (body as { logons?: unknown }).logons : undefined;
  if (!Array.isArray(list)) return { ok: false, message: 'expected {"logons": [...]}' };
  if (list.length > MAX_OFFLINE_LOGONS) return { ok: false, message: `at most ${MAX_OFFLINE_LOGONS} logons per report` };
  const logons: OfflineLogon[] = [];
  for (const [i, e] of list.entries()) {
    const o = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    const { username, domain, scenario, at, result } = o;
    if (typeof username !== 'string' || username === '' || username.length > 256) return { ok: false, message: `logons[${i}].username: a name of 1-256 characters` };
    if (typeof domain !== 'string' || domain.length > 256) return { ok: false, message: `logons[${i}].domain: text of at most 256 characters` };
    if (typeof scenario !== 'string' || !(SCENARIOS as readonly string[]).includes(scenario)) return { ok: false, message: `logons[${i}].scenario: one of ${SCENARIOS.join(', ')}` };
    if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < now - OFFLINE_REPORT_MAX_AGE_MS || at > now + 86_400_000) return { ok: false, message: `logons[${i}].at: milliseconds since 1970, within the last 31 days` };
    if (result !== 'approved' && result !== 'denied' && result !== 'locked') return { ok: false, message: `logons[${i}].result: approved, denied or locked` };
    logons.push({ username, domain, scenario: scenario as Scenario, at, result });
  }
  return { ok: true, logons };
}

const TOUCH_EVERY_MS = 60_000;
/** Logons one agent token may send at once, and per minute after that. */
export const AGENT_BURST = 20;
export const AGENT_PER_MINUTE = 10;

export function createAgentRoutes(d: AgentDeps) {
  const app = new Hono<{ Variables: { agent: string } }>();
  const lastTouch = new Map<number, number>();
  const buckets = new TokenBuckets();
  const refusals = new Map<string, { since: number; count: number }>();
  const tooMany = (c: Context) => {
    c.header('Retry-After', '6');
    return c.json({ error: `too many requests from this agent (at most ${AGENT_BURST} at once, ${AGENT_PER_MINUTE} a minute)` }, 429);
  };
  app.use('*', async (c, next) => {
    const auth = c.req.header('Authorization') ?? '';
    const m = /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(auth);
    const agent = m ? await findAgentByHash(d.web.store, tokenHash(m[1]!)) : undefined;
    if (agent === undefined) {
      c.header('WWW-Authenticate', 'Bearer realm="gatehouse-agent"');
      return c.json({ error: 'agent token missing, unknown or revoked' }, 401);
    }
    const now = d.web.now();
    if (now - (lastTouch.get(agent.id) ?? 0) > TOUCH_EVERY_MS) {
      lastTouch.set(agent.id, now);
      await touchAgent(d.web.store, agent.id, now);
    }
    c.set('agent', agent.name);
    await next();
  });
  app.get('/health', async (c) => c.json(await d.handle({ id: 0, op: 'health' }, { via: `agent:${c.get('agent')}` })));
  app.post('/authenticate', bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.json({ error: 'body too large' }, 413) }), async (c) => {
    const raw = await c.req.arrayBuffer();
    // The same validation as a pipe frame: the agent forwards the frame's JSON as it is.
    const parsed = parseRequest(Buffer.from(raw));
    if (!parsed.ok || parsed.request.op !== 'authenticate') return c.json({ error: parsed.ok ? 'not an authenticate request' : parsed.message }, 400);
    const agent = c.get('agent');
    const now = d.web.now();
    if (!buckets.take(agent, now, AGENT_PER_MINUTE / 60, AGENT_BURST)) {
      const r = refusals.get(agent);
      if (r === undefined || now - r.since >= 60_000) {
        refusals.set(agent, { since: now, count: 0 });
        await d.web.audit.record({ event: 'windows.auth', outcome: 'reject', reason: 'agent_rate_limited', username: null, source: `agent:${agent}`, details: { workstation: agent, ...(r !== undefined && r.count > 0 ? { suppressed: r.count } : {}) } });
      } else r.count++;
      return tooMany(c);
    }
    const caller: Caller = { via: `agent:${agent}`, workstation: agent };
    const offlineUntil = c.req.query('offline_until');
    const heldThrough = offlineUntil !== undefined && /^\d{1,12}$/.test(offlineUntil) ? Number(offlineUntil) : undefined;
    if (parsed.request.numberMatching !== true && heldThrough === undefined) return c.json(await d.handle(parsed.request, caller));
    // Answered as a stream of JSON lines (NDJSON): interim replies as they come (the number, as
    // soon as the push is out), the final reply as soon as it is decided, and last the offline
    // codes the sign-in earned (computing them takes seconds; the logon does not wait for them).
    let accepted: { username: string; factor: unknown } | undefined;
    if (heldThrough !== undefined) caller.onAccepted = (who) => (accepted = who);
    const request = parsed.request;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        let open = true;
        const line = (r: object) => {
          if (!open) return;
          try {
            ctrl.enqueue(encoder.encode(`${JSON.stringify(r)}\n`));
          } catch {
            open = false; // the agent went away; the decision is still audited
          }
        };
        const interim = request.numberMatching === true ? line : undefined;
        void d
          .handle(request, caller, interim)
          .then(
            async (final) => {
              line(final);
              if (accepted === undefined || heldThrough === undefined || !open) return;
              // After the final reply nothing but the codes may follow: a failure here is logged,
              // and the workstation simply gets no codes this time.
              try {
                const material = await d.offline.issue(accepted.username, accepted.factor, heldThrough);
                if (material !== undefined) line({ offline: material });
              } catch (e) {
                d.web.log.error('offline logon codes could not be made', { workstation: agent, error: (e as Error).message });
              }
            },
            () => line({ result: 'error', message: 'internal error' }),
          )
          .finally(() => {
            if (!open) return;
            open = false;
            try {
              ctrl.close();
            } catch {
              // cancelled meanwhile
            }
          });
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' } });
  });
  app.post('/offline-logons', bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json({ error: 'body too large' }, 413) }), async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: 'not JSON' }, 400);
    }
    const agent = c.get('agent');
    // The same budget as sign-ins: a token cannot flood the audit log with reports.
    if (!buckets.take(agent, d.web.now(), AGENT_PER_MINUTE / 60, AGENT_BURST)) return tooMany(c);
    const parsed = parseOfflineLogons(body, d.web.now());
    if (!parsed.ok) return c.json({ error: parsed.message }, 400);
    await recordOfflineLogons(d.web.audit, { via: `agent:${agent}`, workstation: agent }, parsed.logons, { stripRealm: d.stripRealm() });
    return c.json({ recorded: parsed.logons.length });
  });
  app.all('*', (c) => c.json({ error: 'not found' }, 404));
  return app;
}
