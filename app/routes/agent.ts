// The agent API: what `gatehouse agent` on a Windows machine calls, with its agent token
// (`gatehouse agent-token create MACHINE`; stored hashed, revocable). Same answers as the pipe.
// A token is bound to its machine: the workstation a push names and the audit records is the
// token's, whatever the request claims (a stolen token cannot pose as another computer). Each
// token may authenticate AGENT_BURST logons at once and AGENT_PER_MINUTE a minute after that;
// more are refused with 429, audited once a minute per token. A request with `number_matching`
// is answered as JSON lines (interim replies, then the final one); any other with one JSON object.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { findAgentByHash, touchAgent } from '../db/queries/admins.js';
import { TokenBuckets } from '../lib/rate-limit.js';
import { tokenHash } from '../lib/tokens.js';
import type { Reply } from '../pipe/endpoint.js';
import { parseRequest, type Request } from '../pipe/frame.js';
import type { Caller } from '../pipe/ops.js';
import type { WebDeps } from './deps.js';

export interface AgentDeps {
  web: WebDeps;
  handle(req: Request, caller: Caller, interim?: (reply: Reply) => void): Promise<Reply>;
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
      c.header('Retry-After', '6');
      return c.json({ error: `too many requests from this agent (at most ${AGENT_BURST} at once, ${AGENT_PER_MINUTE} a minute)` }, 429);
    }
    const caller: Caller = { via: `agent:${agent}`, workstation: agent };
    if (parsed.request.numberMatching !== true) return c.json(await d.handle(parsed.request, caller));
    // A request that can show a number is answered as a stream of JSON lines (NDJSON): interim
    // replies as they come (the number, as soon as the push is out), the final reply last.
    const request = parsed.request;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        let open = true;
        const line = (r: Reply) => {
          if (!open) return;
          try {
            ctrl.enqueue(encoder.encode(`${JSON.stringify(r)}\n`));
          } catch {
            open = false; // the agent went away; the decision is still audited
          }
        };
        void d
          .handle(request, caller, line)
          .then(line, () => line({ result: 'error', message: 'internal error' }))
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
  app.all('*', (c) => c.json({ error: 'not found' }, 404));
  return app;
}
