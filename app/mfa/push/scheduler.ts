// The push client: one per process serves every pending approval. Thousands of logins can wait
// on the phone at once (one RADIUS client carries every user of a VPN concentrator), and each is
// polled about once a second, so the cost of a poll decides what the process can hold:
//   - A global scheduler replaces one sleep loop per request: waiting requests sit in a min-heap
//     by the time of their next poll, one timer is armed for the earliest, and at most
//     `concurrency` calls are in flight. Creates go first (a new login never waits behind the
//     polls of old ones), and polls never take the last slots.
//   - Per-call timeouts are checked by one sweep over the calls in flight; an abort signal gets
//     one listener for all the requests that share it. Nothing per request lives for the whole
//     wait except a small record and its promise.
// Polling runs until the person decides, the request expires or the TTL ends. Time comes from an
// injected clock (tests drive it; main passes the real one).
import type { ApprovalRequest, FactorOutcome } from '../factor.js';
import { createBody, createUrl, endOfTtl, interpretCreate, interpretPoll, pollBase, type CallResult, type PushSettings } from './api.js';
import { DueHeap } from '../../lib/due-heap.js';
import { Call, createTransport, type Transport } from './transport.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_CLOCK: Clock = {
  now: Date.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

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
  /** Certificates to trust for an HTTPS push API instead of the system's (`--push-ca`, tests). */
  ca?: string | Buffer;
  clock?: Clock;
  /** How calls are sent (default: undici, made on first use or by warm()). */
  transport?: () => Promise<Transport>;
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
  /**
   * Ask the person to approve; resolves with the decision. Never rejects. `started` is told the
   * request's uuid as soon as the service gave it (so another appliance can follow it).
   */
  approve(settings: PushSettings, req: ApprovalRequest, signal?: AbortSignal, started?: (uuid: string) => void): Promise<FactorOutcome>;
  /**
   * Follow a request created before (by another appliance that has gone): polled like one of
   * this client's own, first at once, for at most `ttlMs`.
   */
  follow(settings: PushSettings, uuid: string, ttlMs: number, signal?: AbortSignal): Promise<FactorOutcome>;
  /** Load the HTTP client ahead of the first push (a one-off cost of some tens of ms). */
  warm(): Promise<void>;
  stats(): PushClientStats;
  /** Answer every waiting approval as aborted and close the connections. */
  close(): Promise<void>;
}

// Calls in flight (and keep-alive connections) to the push service. Over a real network a poll
// takes a round trip, so this bounds the poll rate: 56 poll slots at a 50 ms round trip poll about
// 1,100 requests a second (10,000 pending logins each about every 9 s). More was measured on
// loopback with 10,000 pending (BENCHMARKS.md): 128 or 256 in flight, or a limit sized from the
// round trip, let answers come back in bursts that pushed the event loop's delay past 50 ms.
const DEFAULT_CONCURRENCY = 64;
const DEFAULT_POLL_INTERVAL_MS = 800;
/** How often the calls in flight are checked against their timeout. */
const SWEEP_MS = 20;

const ABORTED: FactorOutcome = { kind: 'unreachable', cause: 'aborted', detail: 'aborted' };

type JobState = 'queued' | 'creating' | 'waiting' | 'polling' | 'done';

/** One approval, from its create call to the decision. */
class Job {
  state: JobState = 'queued';
  /** Where the next call goes. */
  origin = '';
  path = '';
  /** The create's JSON body, dropped once sent. */
  body: string | undefined;
  /** The poll URL's base until the uuid is known. */
  pollBase: string;
  timeoutMs: number;
  ttlMs: number;
  deadline = 0;
  dueAt = 0;
  answeredPoll = false;
  lastError: { error: string; timeout: boolean } | undefined;
  call: Call | undefined;
  group: SignalGroup | undefined;
  started: ((uuid: string) => void) | undefined;
  constructor(
    readonly resolve: (o: FactorOutcome) => void,
    settings: PushSettings,
  ) {
    this.pollBase = pollBase(settings);
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

class Client implements PushClient {
  private readonly concurrency: number;
  private readonly pollSlots: number;
  private readonly interval: number;
  private readonly clock: Clock;
  private readonly makeTransport: () => Promise<Transport>;
  private transport: Transport | undefined;
  private loading: Promise<void> | undefined;
  private loadError: string | undefined;
  private closed = false;
  /** Every job not yet answered. */
  private readonly live = new Set<Job>();
  private readonly groups = new WeakMap<AbortSignal, SignalGroup>();
  /** Jobs waiting for their create call, first in first out (answered ones are skipped). */
  private createQueue: Job[] = [];
  private createHead = 0;
  private readonly due = new DueHeap<Job>();
  private readonly inFlight = new Map<Call, Job>();
  private pollsInFlight = 0;
  private timer: unknown;
  private timerAt = 0;
  private sweeper: unknown;
  private pumping = false;
  private createCount = 0;
  private pollCount = 0;
  private lastOrigin = '';
  private readonly onCallDone = (call: Call, result: CallResult): void => this.callDone(call, result);

  constructor(options: PushClientOptions) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
    this.pollSlots = Math.max(1, this.concurrency - Math.max(1, Math.floor(this.concurrency / 8)));
    this.interval = Math.max(1, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.makeTransport = options.transport ?? (() => createTransport({ connections: this.concurrency, ca: options.ca }));
  }

  approve(settings: PushSettings, req: ApprovalRequest, signal?: AbortSignal, started?: (uuid: string) => void): Promise<FactorOutcome> {
    if (signal?.aborted || this.closed) return Promise.resolve(ABORTED);
    let resolve!: (o: FactorOutcome) => void;
    const done = new Promise<FactorOutcome>((r) => (resolve = r));
    let job: Job;
    try {
      // encodeURIComponent throws on a lone surrogate, new URL on a host that is no URL.
      job = new Job(resolve, settings);
      const url = createUrl(settings, req.username);
      job.origin = this.intern(url.origin);
      job.path = url.pathname + url.search;
    } catch (e) {
      return Promise.resolve({ kind: 'unreachable', cause: 'unreachable', detail: `create: unreachable: ${(e as Error).message}` });
    }
    job.body = createBody(settings, req);
    job.started = started;
    this.enlist(job, signal);
    this.createQueue.push(job);
    this.pump();
    return done;
  }

  follow(settings: PushSettings, uuid: string, ttlMs: number, signal?: AbortSignal): Promise<FactorOutcome> {
    if (signal?.aborted || this.closed) return Promise.resolve(ABORTED);
    let resolve!: (o: FactorOutcome) => void;
    const done = new Promise<FactorOutcome>((r) => (resolve = r));
    const job = new Job(resolve, settings);
    try {
      const url = new URL(`${job.pollBase}${encodeURIComponent(uuid)}`);
      job.origin = this.intern(url.origin);
      job.path = url.pathname + url.search;
    } catch (e) {
      return Promise.resolve({ kind: 'unreachable', cause: 'unreachable', detail: `poll: unreachable: ${(e as Error).message}` });
    }
    job.pollBase = '';
    this.enlist(job, signal);
    const now = this.clock.now();
    job.deadline = now + Math.max(0, ttlMs);
    job.state = 'waiting';
    job.dueAt = now;
    this.due.push(job);
    this.pump();
    return done;
  }

  /** A job is live from here until answered; aborted with its signal. */
  private enlist(job: Job, signal: AbortSignal | undefined): void {
    this.live.add(job);
    if (signal === undefined) return;
    let group = this.groups.get(signal);
    if (group === undefined) {
      group = new SignalGroup(this, signal);
      this.groups.set(signal, group);
      signal.addEventListener('abort', group);
    }
    group.jobs.add(job);
    job.group = group;
  }

  warm(): Promise<void> {
    this.loading ??= this.makeTransport().then(
      (t) => {
        if (this.closed) return void t.close();
        this.transport = t;
        this.pump();
      },
      (e: unknown) => {
        // Without an HTTP client no push can be sent: the service counts as unreachable.
        this.loadError = `unreachable: HTTP client: ${(e as Error).message}`;
        this.failAll();
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
    for (const job of [...this.live]) this.finish(job, ABORTED);
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.sweeper);
    this.timer = this.sweeper = undefined;
    const t = this.transport;
    this.transport = undefined;
    await t?.close();
  }

  abortGroup(group: SignalGroup): void {
    for (const job of [...group.jobs]) this.finish(job, ABORTED);
  }

  private failAll(): void {
    for (const job of [...this.live]) this.finish(job, { kind: 'unreachable', cause: 'unreachable', detail: `create: ${this.loadError}` });
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
      this.clock.clearTimeout(this.sweeper);
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
    if (this.transport === undefined) {
      if (this.loadError !== undefined) this.failAll();
      else void this.warm();
      return;
    }
    this.pumping = true;
    try {
      let now = this.clock.now();
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
          now = this.clock.now();
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
    this.clock.clearTimeout(this.timer);
    this.timerAt = top.dueAt;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, top.dueAt - now);
  }

  private armSweep(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = this.clock.setTimeout(() => {
      this.sweeper = undefined;
      const now = this.clock.now();
      for (const call of [...this.inFlight.keys()]) if (call.deadline <= now) call.timeout();
      if (this.inFlight.size > 0) this.armSweep();
    }, SWEEP_MS);
  }

  private start(job: Job, kind: 'create' | 'poll', now: number): void {
    const call = new Call(kind, now + job.timeoutMs, job.timeoutMs, this.onCallDone);
    job.call = call;
    job.state = kind === 'create' ? 'creating' : 'polling';
    this.inFlight.set(call, job);
    if (kind === 'poll') {
      this.pollsInFlight++;
      this.pollCount++;
    } else this.createCount++;
    this.armSweep();
    const body = job.body;
    job.body = undefined;
    this.transport!.dispatch(call, job.origin, job.path, body);
  }

  /** A call ended (answer, error or timeout): move its job on. */
  private callDone(call: Call, result: CallResult): void {
    const job = this.inFlight.get(call);
    this.release(call);
    if (job !== undefined) {
      if (job.call === call) job.call = undefined;
      if (job.state !== 'done') {
        if (call.kind === 'create') this.created(job, result);
        else this.polled(job, result);
      }
    }
    this.pump();
  }

  private created(job: Job, result: CallResult): void {
    const r = interpretCreate(result, job.pollBase);
    if ('outcome' in r) return this.finish(job, r.outcome);
    job.origin = this.intern(r.pollUrl.origin);
    job.path = r.pollUrl.pathname + r.pollUrl.search;
    job.pollBase = '';
    const started = job.started;
    job.started = undefined;
    started?.(r.uuid);
    const now = this.clock.now();
    job.deadline = now + job.ttlMs;
    this.schedule(job, now);
  }

  private polled(job: Job, result: CallResult): void {
    const r = interpretPoll(result);
    if ('outcome' in r) return this.finish(job, r.outcome);
    if ('pending' in r) job.answeredPoll = true;
    else job.lastError = r.failed;
    this.schedule(job, this.clock.now());
  }

  /** The next poll, an interval from now and at the latest at the end of the TTL; or the end. */
  private schedule(job: Job, now: number): void {
    if (now >= job.deadline) return this.finish(job, endOfTtl(job.answeredPoll, job.lastError));
    job.state = 'waiting';
    job.dueAt = Math.min(now + this.interval, job.deadline);
    this.due.push(job);
  }
}

export function createPushClient(options: PushClientOptions = {}): PushClient {
  return new Client(options);
}
