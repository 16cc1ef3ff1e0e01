// Requests taken and their answers, so that retransmissions are absorbed: a request is keyed by
// the client's address and port, its identifier and its Request Authenticator (RFC 5080 2.2.2).
// While it is being decided a retransmission is passed to the downstream exchange (or noted, to
// be answered with the rest); once answered, the answer is repeated for ANSWER_CACHE_MS.
// Bounded: at most MAX_ENTRIES requests are remembered; beyond that the oldest answered ones go
// first (a retransmission of a forgotten request is then decided afresh, as after a restart).
import type { Exchange } from './downstream.js';

/** How long a final answer is repeated to late retransmissions. */
export const ANSWER_CACHE_MS = 30_000;
/** Requests remembered at most (in flight and answered): about 30 s of a busy concentrator. */
export const MAX_ENTRIES = 200_000;

export interface Entry {
  response: Buffer | undefined;
  exchange: Exchange | undefined;
  /** A retransmission came while the answer's audit record was being committed: answer it too. */
  repeat: boolean;
}

export class RequestCache {
  private readonly entries = new Map<string, Entry>();
  /** Answered keys in answer order; the TTL is constant, so this is also expiry order. */
  private expiry: { key: string; at: number }[] = [];
  private head = 0;

  static key(address: string, port: number, identifier: number, authenticator: Buffer): string {
    return `${address}|${port}|${identifier}|${authenticator.toString('latin1')}`;
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /** Remember a new request (not answered yet). */
  add(key: string): Entry {
    const entry: Entry = { response: undefined, exchange: undefined, repeat: false };
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) this.evict();
    return entry;
  }

  /** The request was answered: keep the answer for late retransmissions. */
  answered(key: string, entry: Entry, response: Buffer, now: number): void {
    entry.response = response;
    entry.exchange = undefined;
    this.expiry.push({ key, at: now + ANSWER_CACHE_MS });
  }

  /** Forget a request that was not answered: its retransmission is decided afresh. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Forget the answers whose time is up (call about once a second). */
  sweep(now: number): void {
    const q = this.expiry;
    while (this.head < q.length && q[this.head]!.at <= now) this.drop(q[this.head++]!.key);
    this.compact();
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    // A key forgotten and taken again meanwhile is a new request: only an answered entry goes.
    if (e !== undefined && e.response !== undefined) this.entries.delete(key);
  }

  /** Over the bound: the oldest answers go first, then (a flood of requests never answered) the oldest requests. */
  private evict(): void {
    const q = this.expiry;
    while (this.entries.size > MAX_ENTRIES && this.head < q.length) this.drop(q[this.head++]!.key);
    this.compact();
    if (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.expiry.length) {
      this.expiry = this.expiry.slice(this.head);
      this.head = 0;
    }
  }
}
