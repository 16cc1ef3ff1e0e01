// Agent mode: on a Windows machine, serve the logon pipe and forward each request to a central
// appliance's agent API over HTTPS. Health reflects the path to the appliance.
import { startEndpoint, type Endpoint, type Reply } from './pipe/endpoint.js';
import type { Request } from './pipe/frame.js';
import type { Logger } from './lib/log.js';

export interface AgentOptions {
  /** Appliance base URL, e.g. https://gatehouse.corp.example/ */
  appliance: string;
  token: string;
  pipePath: string;
  /** Seconds for a health call. */
  healthTimeout: number;
  /** Seconds for an authenticate call: longer than the push TTL, since the user decides meanwhile. */
  requestTimeout: number;
  /** PEM certificates to trust for the appliance (its own self-signed one, or its CA) instead of the system's. */
  ca?: Buffer | string;
  fetch?: typeof globalThis.fetch;
  log: Logger;
}

const UNREACHABLE = 'service can not connect to API. Check network connectivity and API parameters.';
const TIMEOUT = 'API call timed out.';

type CallResult = { ok: true; body: Record<string, unknown> } | { ok: false; kind: 'unreachable' | 'timeout' | 'refused' | 'error'; detail: string };

/** The final reply among the JSON lines of a streamed answer; interim ones go to `interim`. */
async function readLines(res: Response, interim: ((r: Reply) => void) | undefined): Promise<Record<string, unknown> | undefined> {
  if (res.body === null) return undefined;
  const decoder = new TextDecoder();
  let buffered = '';
  let last: Record<string, unknown> | undefined;
  const take = (line: string) => {
    if (line.trim() === '') return;
    const v: unknown = JSON.parse(line);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('a line is not a JSON object');
    const o = v as Record<string, unknown>;
    if (o['result'] === 'number' && typeof o['number'] === 'number') interim?.({ result: 'number', number: o['number'], message: typeof o['message'] === 'string' ? o['message'] : '' });
    else last = o;
  };
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    if (buffered.length > 64 * 1024) throw new Error('answer line too long');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      take(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
  take(buffered);
  return last;
}

export function createAgentForwarder(o: Omit<AgentOptions, 'pipePath'>): (req: Request, interim?: (reply: Reply) => void) => Promise<Reply> {
  const base = o.appliance.endsWith('/') ? o.appliance : `${o.appliance}/`;
  // With --ca, requests go through an undici Agent that trusts only those certificates (loaded on
  // first use: the command line starts without it).
  const ca = o.ca;
  let pinned: Promise<typeof globalThis.fetch> | undefined;
  const pinnedFetch = (): Promise<typeof globalThis.fetch> =>
    (pinned ??= import('undici').then(({ Agent, fetch }) => {
      const dispatcher = new Agent({ connect: { ca } });
      return ((input: string, init?: RequestInit) => fetch(input, { ...(init as object), dispatcher } as Parameters<typeof fetch>[1])) as unknown as typeof globalThis.fetch;
    }));
  const doFetch: typeof globalThis.fetch = o.fetch ?? (ca === undefined ? globalThis.fetch : async (input, init) => (await pinnedFetch())(input, init));
  const call = async (path: string, init: RequestInit, seconds: number, interim?: (r: Reply) => void): Promise<CallResult> => {
    let res: Response;
    try {
      res = await doFetch(`${base}api/v1/agent/${path}`, { ...init, redirect: 'manual', signal: AbortSignal.timeout(seconds * 1000), headers: { ...init.headers, authorization: `Bearer ${o.token}`, accept: 'application/json' } });
    } catch (e) {
      const err = e as Error;
      return err.name === 'TimeoutError' ? { ok: false, kind: 'timeout', detail: TIMEOUT } : { ok: false, kind: 'unreachable', detail: err.message };
    }
    if (res.status === 401) return { ok: false, kind: 'refused', detail: 'the appliance refused the agent token' };
    if (res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('application/x-ndjson')) {
      try {
        const last = await readLines(res, interim);
        return last === undefined ? { ok: false, kind: 'error', detail: 'the appliance sent no final answer' } : { ok: true, body: last };
      } catch (e) {
        const err = e as Error;
        return err.name === 'TimeoutError' ? { ok: false, kind: 'timeout', detail: TIMEOUT } : { ok: false, kind: 'error', detail: `broken answer: ${err.message.slice(0, 100)}` };
      }
    }
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.status !== 200 || body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, kind: 'error', detail: `appliance answered HTTP ${res.status}` };
    return { ok: true, body: body as Record<string, unknown> };
  };
  const str = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback);
  return async (req, interim): Promise<Reply> => {
    if (req.op === 'health') {
      const r = await call('health', { method: 'GET' }, o.healthTimeout);
      if (r.ok) return { status: str(r.body['status'], 'error'), message: str(r.body['message'], '') };
      if (r.kind === 'unreachable') return { status: 'api_unreachable', message: UNREACHABLE };
      if (r.kind === 'timeout') return { status: 'api_timeout', message: TIMEOUT };
      return { status: 'error', message: `error (${r.detail})` };
    }
    const { id: _id, op: _op, numberMatching, ...fields } = req;
    // A provider that can show a number says so; it is passed on only where the number can come back.
    const canShow = numberMatching === true && interim !== undefined;
    const body = JSON.stringify({ id: 1, op: 'authenticate', ...fields, ...(canShow ? { number_matching: true } : {}) });
    const r = await call('authenticate', { method: 'POST', headers: { 'content-type': 'application/json' }, body }, o.requestTimeout, canShow ? interim : undefined);
    if (r.ok) return { result: str(r.body['result'], 'error'), message: str(r.body['message'], '') };
    o.log.warn('forwarding to the appliance failed', { kind: r.kind, detail: r.detail });
    return { result: 'error', message: r.kind === 'unreachable' ? UNREACHABLE : r.kind === 'timeout' ? TIMEOUT : `error (${r.detail})` };
  };
}

export async function startAgent(o: AgentOptions): Promise<Endpoint> {
  const forward = createAgentForwarder(o);
  const endpoint = await startEndpoint({ path: o.pipePath, handle: (req, _peer, interim) => forward(req, interim), onProblem: (what) => o.log.warn('bad request on the pipe', { problem: what }) });
  o.log.info('gatehouse agent ready', { pipe: o.pipePath, appliance: o.appliance });
  return endpoint;
}
