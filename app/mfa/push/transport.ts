// HTTP for the push client: one undici Agent (keep-alive connections, at most `connections` per
// host) driven through undici's handler interface: no WHATWG streams and no promise per call,
// since thousands of pending approvals are each polled about once a second.
// Each call is bounded by its deadline (checked by the scheduler's sweep) and its answer by
// 64 KiB; redirects are not followed.
import type { Dispatcher } from 'undici';
import type { CallResult } from './api.js';

export const MAX_BODY = 64 * 1024;

const CANCELLED = new Error('cancelled');
const CREATE_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const POLL_HEADERS = { accept: 'application/json' };

export interface Transport {
  /** Start a call; `call` hears its result exactly once (unless cancelled). */
  dispatch(call: Call, origin: string, path: string, body: string | undefined): void;
  close(): Promise<void>;
}

/** Load undici and make the Agent (a one-off cost of some tens of ms, so done ahead when possible). */
export async function createTransport(options: { connections: number; ca?: string | Buffer | undefined }): Promise<Transport> {
  const { Agent } = await import('undici');
  const agent = new Agent({ connections: options.connections, pipelining: 1, ...(options.ca !== undefined ? { connect: { ca: options.ca } } : {}) });
  return {
    dispatch(call, origin, path, body) {
      try {
        // undici's own header and body timers are off: the scheduler's sweep bounds the whole call.
        agent.dispatch(
          call.kind === 'create'
            ? { origin, path, method: 'POST', headers: CREATE_HEADERS, body: body ?? null, headersTimeout: 0, bodyTimeout: 0 }
            : { origin, path, method: 'GET', headers: POLL_HEADERS, headersTimeout: 0, bodyTimeout: 0 },
          call,
        );
      } catch (e) {
        call.fail(e as Error);
      }
    },
    close: () => agent.destroy().catch(() => undefined),
  };
}

/** One HTTP call, as an undici dispatch handler. */
export class Call implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined;
  status = 0;
  /** A non-2xx answer: its body is counted (for the cap), not kept. */
  discard = false;
  size = 0;
  chunks: Buffer[] = [];
  responded = false;
  settled = false;

  constructor(
    readonly kind: 'create' | 'poll',
    readonly deadline: number,
    private readonly timeoutMs: number,
    private onDone: ((call: Call, result: CallResult) => void) | undefined,
  ) {}

  /** Stop the call; its result no longer matters. */
  cancel(): void {
    const controller = this.controller;
    this.settled = true;
    this.chunks = [];
    this.controller = undefined;
    this.onDone = undefined;
    controller?.abort(CANCELLED);
  }

  /**
   * The call's result is known: let go of undici's objects. The controller holds the raw
   * response headers; a finished call can still be reachable from undici objects that were
   * promoted to the old space and died there, and through it every poll's headers used to
   * outlive two scavenges and fill the old space (promotion fell from 3 MB to 0.25 MB per
   * scavenge at 10,000 pending when this reference was dropped).
   */
  private settle(result: CallResult): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks = [];
    this.controller = undefined;
    const done = this.onDone;
    this.onDone = undefined;
    done?.(this, result);
  }

  /** Settle, and end the exchange (the connection is closed: its remaining bytes are unread). */
  private settleAndAbort(result: CallResult): void {
    const controller = this.controller;
    this.settle(result);
    controller?.abort(CANCELLED);
  }

  timeout(): void {
    this.settleAndAbort({ error: `timed out after ${this.timeoutMs} ms`, timeout: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.settled) controller.abort(CANCELLED);
    else this.controller = controller;
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.settled) return controller.abort(CANCELLED);
    this.controller = controller;
    if (statusCode < 200) return; // informational; the real answer follows
    this.responded = true;
    this.status = statusCode;
    this.discard = statusCode >= 300;
    const length = headers['content-length'];
    if (typeof length === 'string' && Number(length) > MAX_BODY) this.tooLarge();
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.byteLength;
    if (this.size > MAX_BODY) return this.tooLarge();
    if (!this.discard) this.chunks.push(chunk);
  }

  private tooLarge(): void {
    // An error status keeps its meaning (404 = unknown user); only a body we would read is refused.
    this.settleAndAbort(this.discard ? { status: this.status, body: undefined } : { error: `response body larger than ${MAX_BODY} bytes`, timeout: false });
  }

  onResponseEnd(): void {
    if (this.settled) return;
    if (this.discard) return this.settle({ status: this.status, body: undefined });
    let parsed: unknown;
    try {
      const c = this.chunks;
      parsed = JSON.parse((c.length === 1 ? c[0]! : Buffer.concat(c, this.size)).toString('utf8'));
    } catch {
      return this.settle({ error: 'response is not JSON', timeout: false });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return this.settle({ error: 'response is not a JSON object', timeout: false });
    this.settle({ status: this.status, body: parsed as Record<string, unknown> });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  fail(error: Error): void {
    if (this.settled) return;
    const message = error.message || error.name;
    this.settle({ error: this.responded ? `reading the answer failed: ${message}` : `unreachable: ${message}`, timeout: false });
  }
}
