// Approval requests of Gatehouse's own push service, in this process: one per push the engine asks
// for, shown to the user's phones, decided once. A decision is an event here, not a poll: the
// waiting login is resolved in the same turn as the decision, and open approvers are told at once.
//
// Deciding is one synchronous turn (look up, check, mark, resolve): two phones answering at once,
// or one answer sent twice, decide once. What a decision needs to count (a verified passkey
// signature over the request id, the decision and this request's nonce) is checked by the caller
// before it calls decide(); decide() only makes sure the request is still open.
import { createHash, randomInt } from 'node:crypto';
import { randomId } from '../lib/tokens.js';
import { DueHeap } from '../lib/due-heap.js';
import type { ApprovalRequest, FactorOutcome } from '../mfa/factor.js';

export type Decision = 'approve' | 'deny';

export interface PushRequest {
  /** Opaque, random: all a Web Push message carries. */
  id: string;
  username: string;
  title: string;
  description: string;
  /** Where the login comes from (client, station, workstation), as the engine describes it. */
  fingerprint: string;
  createdAt: number;
  expiresAt: number;
  /** Bound into the passkey challenge of each decision, so a signature fits this request only. */
  nonce: string;
  /** Number matching: the login's number; undefined when not used. */
  number?: number | undefined;
  /**
   * Number matching the Windows way: the numbers the phone offers to pick from (the login's
   * among them, in random order). The phone is never told which one is right.
   */
  choices?: number[] | undefined;
}

export type Listener = (event: { kind: 'new'; request: PushRequest } | { kind: 'gone'; id: string }) => void;

export interface PushRequests {
  /** A request for `username`, waiting until decided, expired or aborted. */
  open(username: string, req: ApprovalRequest, ttlMs: number, signal: AbortSignal): { request: PushRequest; outcome: Promise<FactorOutcome> };
  /** The open request with this id, if any. */
  get(id: string): PushRequest | undefined;
  /** The user's open requests, oldest first. */
  forUser(username: string): PushRequest[];
  /**
   * Decide an open request; false when it is no longer open (decided, expired, aborted). An
   * approval of a request with choices carries the number picked (one of them).
   */
  decide(id: string, decision: Decision, picked?: number): boolean;
  /** Follow a user's requests (new ones, and those that go); returns the way to stop. */
  watch(username: string, listener: Listener): () => void;
  /** How many requests are open. */
  size(): number;
}

/**
 * The requests the phones see and decide: this process's and, where several appliances share the
 * store, the others' too (app/cluster/push-requests.ts). Asynchronous, as the others' are in the
 * store; deciding stays once per request (one synchronous turn here, one statement there).
 */
export interface RequestBoard {
  get(id: string): Promise<PushRequest | undefined>;
  forUser(username: string): Promise<PushRequest[]>;
  decide(id: string, decision: Decision, picked?: number): Promise<boolean>;
  watch(username: string, listener: Listener): () => void;
}

/** The board of one appliance alone: its own requests. */
export function localBoard(r: PushRequests): RequestBoard {
  return {
    get: async (id) => r.get(id),
    forUser: async (username) => r.forUser(username),
    decide: async (id, decision, picked) => r.decide(id, decision, picked),
    watch: (username, listener) => r.watch(username, listener),
  };
}

/**
 * The WebAuthn challenge a decision is signed over: the request id, the decision and the
 * request's nonce, hashed (base64url, as the browser returns it in clientDataJSON).
 */
export function decisionChallenge(r: Pick<PushRequest, 'id' | 'nonce'>, decision: Decision, picked?: number): string {
  // The number picked is signed too (number matching the Windows way), so it cannot be swapped.
  const what = picked === undefined ? decision : `${decision} ${picked}`;
  return createHash('sha256').update(`gatehouse push decision\n${r.id}\n${what}\n${r.nonce}`).digest('base64url');
}

/** How many numbers the phone offers to pick from. */
export const CHOICES = 3;

/** `n` among CHOICES - 1 other two-digit numbers, in random order. */
export function choicesFor(n: number): number[] {
  const set = new Set([n]);
  while (set.size < CHOICES) set.add(randomInt(10, 100));
  const out = [...set];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function createPushRequests(now: () => number = Date.now): PushRequests {
  interface Open {
    request: PushRequest;
    resolve: (o: FactorOutcome) => void;
    signal: AbortSignal;
  }
  const open = new Map<string, Open>();
  // Expiry: one timer for all open requests, armed for the earliest end of a TTL, on the
  // process's monotonic clock as a timer of each request's own would fire (a timer each cost
  // about 0.2 KB with 10,000 waiting). A request decided earlier leaves its entry behind until
  // then (its id only); when none is open, the heap and the timer go.
  const due = new DueHeap<{ dueAt: number; id: string }>();
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Infinity;
  const arm = () => {
    const next = due.peek();
    if (next === undefined || next.dueAt >= armedFor) return;
    clearTimeout(timer);
    armedFor = next.dueAt;
    timer = setTimeout(expire, Math.max(0, next.dueAt - performance.now()));
  };
  const expire = () => {
    timer = undefined;
    armedFor = Infinity;
    const t = performance.now();
    for (let d = due.peek(); d !== undefined && d.dueAt <= t; d = due.peek()) {
      due.pop();
      close(d.id, { kind: 'expired' });
    }
    arm();
  };
  // One abort listener per signal, whatever the number of requests on it (the engine passes one
  // signal for all; adding a listener to an EventTarget costs more the more it has).
  const bySignal = new Map<AbortSignal, { ids: Set<string>; onAbort: () => void }>();
  // A user's open requests: the one id, or a Set once there are several (a Set each would cost
  // about 0.2 KB more for every waiting login, and most users have one request open at a time).
  const byUser = new Map<string, string | Set<string>>();
  const watchers = new Map<string, Set<Listener>>();

  const tell = (username: string, e: Parameters<Listener>[0]) => {
    for (const l of watchers.get(username) ?? []) {
      try {
        l(e);
      } catch {
        // a listener that fails (a closed stream) must not stop the others
      }
    }
  };
  /** Close a request with an outcome; false when it was already closed. */
  const close = (id: string, outcome: FactorOutcome): boolean => {
    const o = open.get(id);
    if (o === undefined) return false;
    open.delete(id);
    if (open.size === 0) {
      clearTimeout(timer);
      timer = undefined;
      armedFor = Infinity;
      due.clear();
    }
    const group = bySignal.get(o.signal);
    group?.ids.delete(id);
    if (group?.ids.size === 0) {
      bySignal.delete(o.signal);
      o.signal.removeEventListener('abort', group.onAbort);
    }
    const ids = byUser.get(o.request.username);
    if (ids === id) byUser.delete(o.request.username);
    else if (typeof ids === 'object') {
      ids.delete(id);
      if (ids.size === 0) byUser.delete(o.request.username);
    }
    o.resolve(outcome);
    tell(o.request.username, { kind: 'gone', id });
    return true;
  };

  return {
    open(username, req, ttlMs, signal) {
      const t = now();
      const request: PushRequest = {
        id: randomId(),
        username,
        title: req.title,
        description: req.description,
        fingerprint: req.fingerprint,
        createdAt: t,
        expiresAt: t + ttlMs,
        nonce: randomId(),
        number: req.number,
        choices: req.number !== undefined && req.numberMode === 'pick' ? choicesFor(req.number) : undefined,
      };
      let resolve!: (o: FactorOutcome) => void;
      const outcome = new Promise<FactorOutcome>((r) => (resolve = r));
      if (signal.aborted) {
        resolve({ kind: 'unreachable', cause: 'aborted', detail: 'stopping' });
        return { request, outcome };
      }
      open.set(request.id, { request, resolve, signal });
      due.push({ dueAt: performance.now() + ttlMs, id: request.id });
      arm();
      let group = bySignal.get(signal);
      if (group === undefined) {
        const ids = new Set<string>();
        const onAbort = () => {
          for (const id of [...ids]) close(id, { kind: 'unreachable', cause: 'aborted', detail: 'stopping' });
        };
        bySignal.set(signal, (group = { ids, onAbort }));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      group.ids.add(request.id);
      const ids = byUser.get(username);
      if (ids === undefined) byUser.set(username, request.id);
      else if (typeof ids === 'string') byUser.set(username, new Set([ids, request.id]));
      else ids.add(request.id);
      tell(username, { kind: 'new', request });
      return { request, outcome };
    },
    get: (id) => open.get(id)?.request,
    forUser(username) {
      const ids = byUser.get(username);
      return ids === undefined ? [] : typeof ids === 'string' ? [open.get(ids)!.request] : [...ids].map((id) => open.get(id)!.request);
    },
    decide(id, decision, picked) {
      const o = open.get(id);
      if (o === undefined || o.request.expiresAt <= now()) return false;
      // Whether the pick is the right number is the engine's to decide; here it is only passed on.
      return close(id, decision === 'approve' ? (picked === undefined ? { kind: 'approved' } : { kind: 'approved', picked }) : { kind: 'denied' });
    },
    watch(username, listener) {
      let set = watchers.get(username);
      if (set === undefined) watchers.set(username, (set = new Set()));
      set.add(listener);
      return () => {
        const s = watchers.get(username);
        s?.delete(listener);
        if (s?.size === 0) watchers.delete(username);
      };
    },
    size: () => open.size,
  };
}
