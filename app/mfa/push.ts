// Client of the push API (Notakey-compatible, DESIGN.md "Push API client"):
//   POST {host}v2/application/{access_id}/application_user/{username}/auth_request
//   GET  {host}v2/application/{access_id}/auth_request/{uuid}
//
// One client per process serves every pending approval. Thousands of logins can wait on the
// phone at once (one RADIUS client carries every user of a VPN concentrator), and each one is
// polled about once a second, so the cost of a poll decides what the process can hold:
//   - HTTP goes through one undici Agent: keep-alive connections, at most `concurrency` per host,
//     driven through undici's handler interface (no WHATWG streams, no promise per call).
//   - A global scheduler replaces one sleep loop per request: waiting requests sit in a min-heap
//     by the time of their next poll, one timer is armed for the earliest, and at most
//     `concurrency` calls are in flight. Creates go first (a new login never waits behind the
//     polls of old ones), and polls never take the last slots.
//   - Per-call timeouts are checked by one sweep over the calls in flight; an abort signal gets
//     one listener for all the requests that share it. Nothing per request lives for the whole
//     wait except a small record and its promise.
//
// Each call is bounded by the per-call timeout and its answer by 64 KiB; redirects are not
// followed. Polling runs until the user decides, the request expires or the TTL ends. Only a
// service that never answered a poll during the whole TTL counts as unreachable (failmode).
import type { Dispatcher } from 'undici';
import type { ApprovalRequest, FactorOutcome } from './factor.js';

export interface PushSettings {
  host: string;
  accessId: string;
  callTimeoutMs: number;
  ttlSeconds: number;
  title: string;
  /** `{0}` is replaced by the user name. */
  description: string;
}

export interface PushClientOptions {
  /**
   * HTTP calls in flight at once (creates and polls together); also the connections per host.
   * Polls leave the last eighth of them to creates.
   */
  concurrency?: number;
  /**
   * From a poll's answer to the next poll of the same request. Below a second, so that a
   * decision is seen within a second of being made.
   */
  pollIntervalMs?: number;
  /** Certificates to trust for an HTTPS push API instead of the system's (tests, a private CA). */
  ca?: string | Buffer;
}

export interface PushClientStats {
  /** Approvals waiting for an answer (creating, or polled until decided). */
  waiting: number;
  /** Creates not yet sent. */
  queuedCreates: number;
  /** HTTP calls in flight. */
  inFlight: number;
  /** Calls made since the start. */
  creates: number;
  polls: number;
}

export interface PushClient {
  /** Ask the user to approve; resolves with the decision. Never rejects. */
  approve(settings: PushSettings, req: ApprovalRequest, signal?: AbortSignal): Promise<FactorOutcome>;
  /** Load the HTTP client ahead of the first push (a one-off cost of some tens of ms). */
  warm(): Promise<void>;
  stats(): PushClientStats;
  /** Answer every waiting approval as aborted and close the connections. */
  close(): Promise<void>;
}

export const MAX_BODY = 64 * 1024;
// Calls in flight (and keep-alive connections) to the push service. Over a real network a poll
// takes a round trip, so this bounds the poll rate: 56 poll slots at a 50 ms round trip poll about
// 1,100 requests a second (10,000 pending logins each about every 9 s). More was measured on
// loopback with 10,000 pending (BENCHMARKS.md): 128 or 256 in flight, or a limit sized from the
// round trip, let answers come back in bursts that pushed the event loop's delay past 50 ms.
const DEFAULT_CONCURRENCY = 64;
const DEFAULT_POLL_INTERVAL_MS = 800;
/** How often the calls in flight are checked against their timeout. */
const SWEEP_MS = 20;

export function pushDescription(template: string, username: string): string {
  return template.split('{0}').join(username);
}

type JobState = 'queued' | 'creating' | 'waiting' | 'polling' | 'done';

/** One approval, from its create call to the decision. */
class Job {
  state: JobState = 'queued';
  /** Where the next call goes. */
  origin = '';
  path = '';
  /** The create's JSON body, dropped once sent. */
  body: string | undefined;
  /** `{host}v2/application/{access_id}/auth_request/`, for the poll URL once the uuid is known. */
  pollBase: string;
  timeoutMs: number;
  ttlMs: number;
  deadline = 0;
  dueAt = 0;
  answeredPoll = false;
  lastError: string | undefined;
  call: Call | undefined;
  group: SignalGroup | undefined;
  constructor(
    readonly resolve: (o: FactorOutcome) => void,
    settings: PushSettings,
  ) {
    this.pollBase = `${settings.host}v2/application/${encodeURIComponent(settings.accessId)}/auth_request/`;
    this.timeoutMs = settings.callTimeoutMs;
    this.ttlMs = settings.ttlSeconds * 1000;
  }
}

/** The requests that share one abort signal, behind one listener on it. */
class SignalGroup {
  readonly jobs = new Set<Job>();
  constructor(
    readonly client: Client,
    readonly signal: AbortSignal,
  ) {}
  handleEvent(): void {
    this.client.abortGroup(this);
  }
}

type CallResult = { status: number; body: Record<string, unknown> | undefined } | { error: string };

const CANCELLED = new Error('cancelled');
const CREATE_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const POLL_HEADERS = { accept: 'application/json' };

/** One HTTP call, as an undici dispatch handler (no stream, no promise). */
class Call implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined;
  status = 0;
  /** A non-2xx answer: its body is counted (for the cap), not kept. */
  discard = false;
  size = 0;
  chunks: Buffer[] = [];
  responded = false;
  settled = false;
  readonly deadline: number;
  constructor(
    readonly client: Client,
    readonly job: Job,
    readonly kind: 'create' | 'poll',
    now: number,
  ) {
    this.deadline = now + job.timeoutMs;
  }

  /** Stop the call; its result no longer matters. */
  cancel(): void {
    const controller = this.controller;
    this.settled = true;
    this.chunks = [];
    this.controller = undefined;
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
    this.client.callDone(this, result);
  }

  /** Settle, and end the exchange (the connection is closed: its remaining bytes are unread). */
  private settleAndAbort(result: CallResult): void {
    const controller = this.controller;
    this.settle(result);
    controller?.abort(CANCELLED);
  }

  timeout(): void {
    this.settleAndAbort({ error: `timed out after ${this.job.timeoutMs} ms` });
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
    this.settleAndAbort(this.discard ? { status: this.status, body: undefined } : { error: `response body larger than ${MAX_BODY} bytes` });
  }

  onResponseEnd(): void {
    if (this.settled) return;
    if (this.discard) return this.settle({ status: this.status, body: undefined });
    let parsed: unknown;
    try {
      const c = this.chunks;
      parsed = JSON.parse((c.length === 1 ? c[0]! : Buffer.concat(c, this.size)).toString('utf8'));
    } catch {
      return this.settle({ error: 'response is not JSON' });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return this.settle({ error: 'response is not a JSON object' });
    this.settle({ status: this.status, body: parsed as Record<string, unknown> });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  fail(error: Error): void {
    if (this.settled) return;
    const message = error.message || error.name;
    this.settle({ error: this.responded ? `reading the answer failed: ${message}` : `unreachable: ${message}` });
  }
}

/** A binary min-heap of waiting jobs by the time of their next poll. */
class DueHeap {
  private readonly items: Job[] = [];
  peek(): Job | undefined {
    return this.items[0];
  }
  push(job: Job): void {
    const a = this.items;
    let i = a.length;
    a.push(job);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.dueAt <= job.dueAt) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = job;
  }
  pop(): Job | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.dueAt < a[l]!.dueAt ? r : l;
      if (a[c]!.dueAt >= last.dueAt) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

class Client implements PushClient {
  private readonly concurrency: number;
  private readonly pollSlots: number;
  private readonly interval: number;
  private readonly ca: string | Buffer | undefined;
  private agent: Dispatcher | undefined;
  private loading: Promise<void> | undefined;
  private loadError: string | undefined;
  private closed = false;
  /** Every job not yet answered. */
  private readonly live = new Set<Job>();
  private readonly groups = new WeakMap<AbortSignal, SignalGroup>();
  /** Jobs waiting for their create call, first in first out (answered ones are skipped). */
  private createQueue: Job[] = [];
  private createHead = 0;
  private readonly due = new DueHeap();
  private readonly inFlight = new Set<Call>();
  private pollsInFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private pumping = false;
  private createCount = 0;
  private pollCount = 0;
  private lastOrigin = '';

  constructor(options: PushClientOptions) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
    this.pollSlots = Math.max(1, this.concurrency - Math.max(1, Math.floor(this.concurrency / 8)));
    this.interval = Math.max(1, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    this.ca = options.ca;
  }

  approve(settings: PushSettings, req: ApprovalRequest, signal?: AbortSignal): Promise<FactorOutcome> {
    if (signal?.aborted || this.closed) return Promise.resolve({ kind: 'unreachable', detail: 'aborted' });
    let resolve!: (o: FactorOutcome) => void;
    const done = new Promise<FactorOutcome>((r) => (resolve = r));
    let job: Job;
    try {
      // encodeURIComponent throws on a lone surrogate, new URL on a host that is no URL.
      job = new Job(resolve, settings);
      const url = new URL(`${settings.host}v2/application/${encodeURIComponent(settings.accessId)}/application_user/${encodeURIComponent(req.username)}/auth_request`);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
      job.origin = this.intern(url.origin);
      job.path = url.pathname + url.search;
    } catch (e) {
      return Promise.resolve({ kind: 'unreachable', detail: `create: unreachable: ${(e as Error).message}` });
    }
    job.body = JSON.stringify({ action: settings.title, description: pushDescription(settings.description, req.username), ttl_seconds: settings.ttlSeconds, fingerprint: req.fingerprint });
    this.live.add(job);
    if (signal !== undefined) {
      let group = this.groups.get(signal);
      if (group === undefined) {
        group = new SignalGroup(this, signal);
        this.groups.set(signal, group);
        signal.addEventListener('abort', group);
      }
      group.jobs.add(job);
      job.group = group;
    }
    this.createQueue.push(job);
    this.pump();
    return done;
  }

  warm(): Promise<void> {
    this.loading ??= import('undici').then(
      ({ Agent }) => {
        if (this.closed) return;
        this.agent = new Agent({ connections: this.concurrency, pipelining: 1, ...(this.ca !== undefined ? { connect: { ca: this.ca } } : {}) });
        this.pump();
      },
      (e: unknown) => {
        // Without an HTTP client no push can be sent: the service counts as unreachable.
        this.loadError = `unreachable: HTTP client: ${(e as Error).message}`;
        for (const job of [...this.live]) this.finish(job, { kind: 'unreachable', detail: `create: ${this.loadError}` });
      },
    );
    return this.loading;
  }

  stats(): PushClientStats {
    let queued = 0;
    for (let i = this.createHead; i < this.createQueue.length; i++) if (this.createQueue[i]!.state === 'queued') queued++;
    return { waiting: this.live.size, queuedCreates: queued, inFlight: this.inFlight.size, creates: this.createCount, polls: this.pollCount };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of [...this.live]) this.finish(job, { kind: 'unreachable', detail: 'aborted' });
    clearTimeout(this.timer);
    clearInterval(this.sweeper);
    this.timer = this.sweeper = undefined;
    const agent = this.agent;
    this.agent = undefined;
    await agent?.destroy().catch(() => undefined);
  }

  abortGroup(group: SignalGroup): void {
    for (const job of [...group.jobs]) this.finish(job, { kind: 'unreachable', detail: 'aborted' });
  }

  /** Answer a job, once; whatever it still has queued or in flight is dropped. */
  private finish(job: Job, outcome: FactorOutcome): void {
    if (job.state === 'done') return;
    job.state = 'done';
    job.body = undefined;
    this.live.delete(job);
    const group = job.group;
    if (group !== undefined) {
      job.group = undefined;
      group.jobs.delete(job);
      if (group.jobs.size === 0) {
        group.signal.removeEventListener('abort', group);
        this.groups.delete(group.signal);
      }
    }
    const call = job.call;
    if (call !== undefined) {
      job.call = undefined;
      call.cancel();
      this.release(call);
      this.pump();
    }
    job.resolve(outcome);
  }

  private release(call: Call): void {
    if (!this.inFlight.delete(call)) return;
    if (call.kind === 'poll') this.pollsInFlight--;
    if (this.inFlight.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** The same origin string for every job of one push host (ten thousand copies otherwise). */
  private intern(origin: string): string {
    if (origin !== this.lastOrigin) this.lastOrigin = origin;
    return this.lastOrigin;
  }

  /** Start what can start now; arm the timer for the next poll that is not due yet. */
  private pump(): void {
    if (this.pumping || this.closed) return;
    if (this.agent === undefined) {
      if (this.loadError !== undefined) {
        for (const job of [...this.live]) this.finish(job, { kind: 'unreachable', detail: `create: ${this.loadError}` });
      } else void this.warm();
      return;
    }
    this.pumping = true;
    try {
      let now = Date.now();
      while (this.inFlight.size < this.concurrency) {
        const create = this.nextCreate();
        if (create !== undefined) {
          this.start(create, 'create', now);
          continue;
        }
        if (this.pollsInFlight >= this.pollSlots) break;
        const top = this.due.peek();
        if (top === undefined) break;
        if (top.state !== 'waiting') {
          this.due.pop();
          continue;
        }
        if (top.dueAt > now) {
          now = Date.now();
          if (top.dueAt > now) break;
        }
        this.due.pop();
        this.start(top, 'poll', now);
      }
      this.armTimer(now);
    } finally {
      this.pumping = false;
    }
  }

  private nextCreate(): Job | undefined {
    const q = this.createQueue;
    while (this.createHead < q.length) {
      const job = q[this.createHead++]!;
      if (job.state === 'queued') {
        if (this.createHead > 1024 && this.createHead * 2 > q.length) {
          this.createQueue = q.slice(this.createHead);
          this.createHead = 0;
        }
        return job;
      }
    }
    if (q.length > 0) {
      this.createQueue = [];
      this.createHead = 0;
    }
    return undefined;
  }

  private armTimer(now: number): void {
    let top = this.due.peek();
    while (top !== undefined && top.state !== 'waiting') {
      this.due.pop();
      top = this.due.peek();
    }
    // Due polls waiting for a free slot start when a call ends; only a future poll needs the timer.
    if (top === undefined || top.dueAt <= now) return;
    if (this.timer !== undefined && this.timerAt <= top.dueAt) return;
    clearTimeout(this.timer);
    this.timerAt = top.dueAt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, top.dueAt - now);
  }

  private start(job: Job, kind: 'create' | 'poll', now: number): void {
    const call = new Call(this, job, kind, now);
    job.call = call;
    job.state = kind === 'create' ? 'creating' : 'polling';
    this.inFlight.add(call);
    if (kind === 'poll') {
      this.pollsInFlight++;
      this.pollCount++;
    } else this.createCount++;
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
    const body = job.body;
    job.body = undefined;
    try {
      // undici's own header and body timers are off: the sweep bounds the whole call instead.
      this.agent!.dispatch(
        kind === 'create'
          ? { origin: job.origin, path: job.path, method: 'POST', headers: CREATE_HEADERS, body: body ?? null, headersTimeout: 0, bodyTimeout: 0 }
          : { origin: job.origin, path: job.path, method: 'GET', headers: POLL_HEADERS, headersTimeout: 0, bodyTimeout: 0 },
        call,
      );
    } catch (e) {
      call.fail(e as Error);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const call of this.inFlight) if (call.deadline <= now) call.timeout();
  }

  /** A call ended (answer, error or timeout): move its job on. */
  callDone(call: Call, result: CallResult): void {
    this.release(call);
    const job = call.job;
    if (job.call === call) job.call = undefined;
    if (job.state !== 'done') {
      if (call.kind === 'create') this.created(job, result);
      else this.polled(job, result);
    }
    this.pump();
  }

  private created(job: Job, result: CallResult): void {
    if ('error' in result) return this.finish(job, { kind: 'unreachable', detail: `create: ${result.error}` });
    if (result.status === 404) return this.finish(job, { kind: 'unknown_user' });
    if (result.status < 200 || result.status >= 300) return this.finish(job, { kind: 'unreachable', detail: `create: HTTP ${result.status}` });
    const uuid = result.body?.['uuid'];
    if (typeof uuid !== 'string' || uuid === '') return this.finish(job, { kind: 'unreachable', detail: 'create: response has no uuid' });
    let url: URL;
    try {
      url = new URL(`${job.pollBase}${encodeURIComponent(uuid)}`);
    } catch (e) {
      return this.finish(job, { kind: 'unreachable', detail: `create: unreachable: ${(e as Error).message}` });
    }
    job.origin = this.intern(url.origin);
    job.path = url.pathname + url.search;
    job.pollBase = '';
    const now = Date.now();
    job.deadline = now + job.ttlMs;
    this.schedule(job, now);
  }

  private polled(job: Job, result: CallResult): void {
    if ('error' in result) job.lastError = result.error;
    else if (result.status === 404) return this.finish(job, { kind: 'expired' });
    else if (result.status < 200 || result.status >= 300) job.lastError = `HTTP ${result.status}`;
    else if (result.body !== undefined) {
      job.answeredPoll = true;
      const type = result.body['response_type'];
      if (type === 'ApproveRequest') return this.finish(job, { kind: 'approved' });
      if (type === 'DenyRequest') return this.finish(job, { kind: 'denied' });
      if (result.body['expired'] === true) return this.finish(job, { kind: 'expired' });
    }
    this.schedule(job, Date.now());
  }

  /** The next poll, an interval from now and at the latest at the end of the TTL; or the end. */
  private schedule(job: Job, now: number): void {
    if (now >= job.deadline) {
      return this.finish(job, !job.answeredPoll && job.lastError !== undefined ? { kind: 'unreachable', detail: `poll: ${job.lastError}` } : { kind: 'expired' });
    }
    job.state = 'waiting';
    job.dueAt = Math.min(now + this.interval, job.deadline);
    this.due.push(job);
  }
}

export function createPushClient(options: PushClientOptions = {}): PushClient {
  return new Client(options);
}
