// The agent API: what `gatehouse agent` on a Windows machine calls, with its agent token
// (`gatehouse agent-token create NAME`; stored hashed, revocable). Same answers as the pipe.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { findAgentByHash, touchAgent } from '../db/queries/admins.js';
import { tokenHash } from '../lib/tokens.js';
import type { Reply } from '../pipe/endpoint.js';
import { parseRequest, type Request } from '../pipe/frame.js';
import type { Caller } from '../pipe/ops.js';
import type { WebDeps } from './deps.js';

export interface AgentDeps {
  web: WebDeps;
  handle(req: Request, caller: Caller): Promise<Reply>;
}

const TOUCH_EVERY_MS = 60_000;

export function createAgentRoutes(d: AgentDeps) {
  const app = new Hono<{ Variables: { agent: string } }>();
  const lastTouch = new Map<number, number>();
  app.use('*', async (c, next) => {
    const auth = c.req.header('Authorization') ?? '';
    const m = /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(auth);
    const agent = m ? findAgentByHash(d.web.store, tokenHash(m[1]!)) : undefined;
    if (agent === undefined) {
      c.header('WWW-Authenticate', 'Bearer realm="gatehouse-agent"');
      return c.json({ error: 'agent token missing, unknown or revoked' }, 401);
    }
    const now = d.web.now();
    if (now - (lastTouch.get(agent.id) ?? 0) > TOUCH_EVERY_MS) {
      lastTouch.set(agent.id, now);
      touchAgent(d.web.store, agent.id, now);
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
    const reply = await d.handle(parsed.request, { via: `agent:${c.get('agent')}` });
    return c.json(reply);
  });
  app.all('*', (c) => c.json({ error: 'not found' }, 404));
  return app;
}
