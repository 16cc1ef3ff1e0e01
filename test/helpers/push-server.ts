// A local stand-in for the push service (the one part the tests cannot reach), speaking the
// API of DESIGN.md. Each user is scripted: approve, deny, unknown (404), never answer, or a
// decision after a delay. Every request is recorded so tests can count pushes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export type PushBehaviour =
  | { kind: 'approve'; afterMs?: number }
  | { kind: 'deny'; afterMs?: number }
  | { kind: 'unknown' }
  | { kind: 'pending' }
  | { kind: 'expire'; afterMs?: number }
  /** The create call itself answers after this delay (to exercise the per-call timeout). */
  | { kind: 'slow'; createDelayMs: number; then: 'approve' | 'deny' }
  | { kind: 'error'; status: number };

export interface PushCreate {
  accessId: string;
  username: string;
  body: { action?: unknown; description?: unknown; ttl_seconds?: unknown; fingerprint?: unknown };
  uuid: string;
  at: number;
}

export interface PushServer {
  /** Base URL to give as --notakey-host, ending with a slash. */
  url: string;
  creates: PushCreate[];
  polls: number;
  /** Polls of one request so far. */
  pollsOf(uuid: string): number;
  behave(username: string, b: PushBehaviour): void;
  /** Decide a pending request now. */
  decide(uuid: string, decision: 'approve' | 'deny'): void;
  /** For requests decided through decide(): ms from the decision to the first poll that saw it. */
  decisionLags(): number[];
  close(): Promise<void>;
}

export interface PushServerOptions {
  /** Serve HTTPS with this certificate (PEM) instead of HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

interface Req {
  uuid: string;
  created: number;
  ttlMs: number;
  decision: 'ApproveRequest' | 'DenyRequest' | null;
  expired: boolean;
  polls: number;
  decidedAt?: number;
  seenAt?: number;
}

const CREATE = /^\/api\/v2\/application\/([^/]+)\/application_user\/([^/]+)\/auth_request$/;
const POLL = /^\/api\/v2\/application\/([^/]+)\/auth_request\/([^/]+)$/;

export async function startPushServer(defaultBehaviour: PushBehaviour = { kind: 'approve' }, options: PushServerOptions = {}): Promise<PushServer> {
  const behaviours = new Map<string, PushBehaviour>();
  const requests = new Map<string, Req>();
  const creates: PushCreate[] = [];
  let polls = 0;
  let seq = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  // Content-Length given, so the answer is not chunked (the bench polls this ten thousand times a second).
  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const onCreate = async (req: IncomingMessage, res: ServerResponse, accessId: string, username: string) => {
    const raw = await readBody(req);
    const b = behaviours.get(username) ?? defaultBehaviour;
    if (b.kind === 'unknown') return json(res, 404, { message: 'user not found' });
    if (b.kind === 'error') return json(res, b.status, { message: 'boom' });
    const uuid = `req-${++seq}`;
    let body: PushCreate['body'] = {};
    try {
      body = JSON.parse(raw) as PushCreate['body'];
    } catch {
      return json(res, 400, { message: 'bad json' });
    }
    creates.push({ accessId, username, body, uuid, at: Date.now() });
    const ttl = typeof body.ttl_seconds === 'number' ? body.ttl_seconds * 1000 : 60_000;
    const r: Req = { uuid, created: Date.now(), ttlMs: ttl, decision: null, expired: false, polls: 0 };
    requests.set(uuid, r);
    const answer = () => json(res, 200, { uuid, created_at: new Date(r.created).toISOString() });
    switch (b.kind) {
      case 'approve':
        later(b.afterMs ?? 0, () => (r.decision = 'ApproveRequest'));
        return answer();
      case 'deny':
        later(b.afterMs ?? 0, () => (r.decision = 'DenyRequest'));
        return answer();
      case 'expire':
        later(b.afterMs ?? 0, () => (r.expired = true));
        return answer();
      case 'slow':
        r.decision = b.then === 'approve' ? 'ApproveRequest' : 'DenyRequest';
        return later(b.createDelayMs, answer);
      case 'pending':
        return answer();
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    try {
      route(req, res);
    } catch {
      res.destroy(); // a malformed path (decodeURIComponent)
    }
  };
  const route = (req: IncomingMessage, res: ServerResponse) => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const poll = req.method === 'GET' ? POLL.exec(path) : null;
    if (poll) {
      polls++;
      const r = requests.get(decodeURIComponent(poll[2]!));
      if (r === undefined) return json(res, 404, { message: 'no such request' });
      r.polls++;
      if (r.decision !== null && r.seenAt === undefined) r.seenAt = Date.now();
      const expired = r.expired || Date.now() - r.created > r.ttlMs;
      return json(res, 200, { uuid: r.uuid, response_type: r.decision, expired: r.decision === null && expired });
    }
    const create = req.method === 'POST' ? CREATE.exec(path) : null;
    if (create) {
      return void onCreate(req, res, decodeURIComponent(create[1]!), decodeURIComponent(create[2]!)).catch(() => res.destroy());
    }
    json(res, 404, { message: 'no route' });
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/api/`,
    creates,
    get polls() {
      return polls;
    },
    pollsOf: (uuid) => requests.get(uuid)?.polls ?? 0,
    behave: (u, b) => void behaviours.set(u, b),
    decide(uuid, decision) {
      const r = requests.get(uuid);
      if (r) {
        r.decision = decision === 'approve' ? 'ApproveRequest' : 'DenyRequest';
        r.decidedAt = Date.now();
      }
    },
    decisionLags() {
      const out: number[] = [];
      for (const r of requests.values()) if (r.decidedAt !== undefined && r.seenAt !== undefined) out.push(r.seenAt - r.decidedAt);
      return out;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
