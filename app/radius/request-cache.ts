// Requests taken and their answers, so that retransmissions are absorbed: a request is keyed by
// the client's address and port, its identifier and its Request Authenticator (RFC 5080 2.2.2).
// While it is being decided a retransmission is passed to the downstream exchange (or noted, to
// be answered with the rest); once answered, the answer is repeated for ANSWER_CACHE_MS.
// Bounded: at most MAX_ENTRIES requests are remembered; beyond that the oldest answered ones go
// first (a retransmission of a forgotten request is then decided afresh, as after a restart).
//
// Answers are kept compactly, since a busy appliance holds 30 s of them (200,000 at 6,700 req/s):
// their bytes are copied into large slabs written in answer order, which is also expiry order, so
// a slab is let go once every answer in it has expired; the map holds each answer's position (a
// number), and the expiry queue is three plain arrays. No object per answer outlives its request.
// Measured with the bench's PAP closed loop: about 390 bytes of heap per remembered answer
// before (an entry, a Buffer, an expiry record), about 150 after.
import type { Exchange } from './downstream.js';

/** How long a final answer is repeated to late retransmissions. */
export const ANSWER_CACHE_MS = 30_000;
/** Requests remembered at most (in flight and answered): about 30 s of a busy concentrator. */
export const MAX_ENTRIES = 200_000;

export interface Entry {
  exchange: Exchange | undefined;
  /** A retransmission came while the answer's audit record was being committed: answer it too. */
  repeat: boolean;
}

/** Slabs answers are copied into; a RADIUS packet is at most 4096 bytes, with its 2-byte length. */
const SLAB_BYTES = 256 * 1024;

export class RequestCache {
  /** A request being decided (its Entry), or an answered one (its answer's position in the slabs). */
  private readonly entries = new Map<string, Entry | number>();
  /** Answered keys in answer order, with when each expires and where its answer is. */
  private keys: string[] = [];
  private expires: number[] = [];
  private positions: number[] = [];
  private head = 0;
  /** Slabs in order; slab i covers positions [(first + i) * SLAB_BYTES, (first + i + 1) * SLAB_BYTES). */
  private slabs: Buffer[] = [];
  private first = 0;
  /** Where the next answer goes (a byte position that only grows). */
  private next = 0;

  static key(address: string, port: number, identifier: number, authenticator: Buffer): string {
    // Joined, not a template literal: V8 builds a template of long pieces as a rope (a tree of
    // pieces, about four times the bytes of the flat text) and keeps it so for as long as the
    // key lives: here 30 s for every answer. A joined string is flat, and hashes faster too.
    return [address, port, identifier, authenticator.toString('latin1')].join('|');
  }

  /**
   * The request being decided, or the answer a retransmission gets: a copy, since a view would
   * keep its whole slab alive for as long as the sender holds it (a RadSec peer that stops
   * reading keeps every write queued). Only retransmissions come here.
   */
  get(key: string): Entry | Buffer | undefined {
    const e = this.entries.get(key);
    return typeof e === 'number' ? Buffer.from(this.read(e)) : e;
  }

  /**
   * A retransmission of a request already taken: its answer is repeated, or it is passed to the
   * downstream exchange, or noted to be answered with the rest. False: a new request.
   */
  retransmitted(key: string, send: (b: Buffer) => void): boolean {
    const known = this.get(key);
    if (known === undefined) return false;
    if (Buffer.isBuffer(known)) send(known);
    else if (known.exchange !== undefined) known.exchange.retransmit();
    else known.repeat = true;
    return true;
  }

  /** Remember a new request (not answered yet). */
  add(key: string): Entry {
    const entry: Entry = { exchange: undefined, repeat: false };
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) this.evict();
    return entry;
  }

  /** The request was answered: keep the answer for late retransmissions. */
  answered(key: string, entry: Entry, response: Buffer, now: number): void {
    entry.exchange = undefined;
    if (this.entries.get(key) !== entry) return; // evicted meanwhile: nothing to repeat it for
    const at = this.write(response);
    this.entries.set(key, at);
    this.keys.push(key);
    this.expires.push(now + ANSWER_CACHE_MS);
    this.positions.push(at);
  }

  /** Forget a request that was not answered: its retransmission is decided afresh. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Forget the answers whose time is up (call about once a second). */
  sweep(now: number): void {
    while (this.head < this.keys.length && this.expires[this.head]! <= now) this.drop(this.head++);
    this.compact();
  }

  get size(): number {
    return this.entries.size;
  }

  private write(response: Buffer): number {
    let at = this.next;
    // An answer never straddles two slabs: one that does not fit starts the next.
    if ((at % SLAB_BYTES) + 2 + response.length > SLAB_BYTES) at = (Math.floor(at / SLAB_BYTES) + 1) * SLAB_BYTES;
    const n = Math.floor(at / SLAB_BYTES);
    if (this.slabs.length === 0) this.first = n;
    while (n - this.first >= this.slabs.length) this.slabs.push(Buffer.allocUnsafeSlow(SLAB_BYTES));
    const buf = this.slabs[n - this.first]!;
    const off = at % SLAB_BYTES;
    buf.writeUInt16BE(response.length, off);
    response.copy(buf, off + 2);
    this.next = at + 2 + response.length;
    return at;
  }

  private read(at: number): Buffer {
    const buf = this.slabs[Math.floor(at / SLAB_BYTES) - this.first]!;
    const off = at % SLAB_BYTES;
    return buf.subarray(off + 2, off + 2 + buf.readUInt16BE(off));
  }

  /** The i-th answer of the queue goes (unless its key was answered again since). */
  private drop(i: number): void {
    const key = this.keys[i]!;
    if (this.entries.get(key) === this.positions[i]) this.entries.delete(key);
  }

  /** Over the bound: the oldest answers go first, then (a flood of requests never answered) the oldest requests. */
  private evict(): void {
    while (this.entries.size > MAX_ENTRIES && this.head < this.keys.length) this.drop(this.head++);
    this.compact();
    // Every answer has gone with the queue: what is left is requests still being decided.
    if (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  /** Let go of the slabs and queue space that only expired answers used. */
  private compact(): void {
    const oldest = this.head < this.positions.length ? this.positions[this.head]! : this.next;
    const keep = Math.floor(oldest / SLAB_BYTES) - this.first;
    if (keep > 0) {
      this.slabs = this.slabs.slice(keep);
      this.first += keep;
    }
    if (this.head > 4096 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.expires = this.expires.slice(this.head);
      this.positions = this.positions.slice(this.head);
      this.head = 0;
    }
  }
}
