// Two small rate limiters with bounded memory, for the RADIUS proxy's abuse limits:
//
// - SlidingWindowLog: "at most N events per key in any window of W ms" (new push requests per
//   user). It keeps, per key, the times of at most N recent events, so a key costs at most N
//   numbers; sweep() forgets keys whose newest event left the window.
// - TokenBuckets: "R events per second per key, bursts up to B" (requests per RADIUS client). One
//   bucket (two numbers) per key; sweep() forgets buckets that have filled up again, since a full
//   bucket is the same as none.
//
// Limits are passed on every call rather than fixed at construction, so a setting changed in the
// admin UI applies to the next request. Time is whatever clock the caller uses (ms).

export class SlidingWindowLog {
  private readonly events = new Map<string, number[]>();

  /**
   * Whether one more event for `key` at `now` fits: fewer than `limit` events in the window
   * (now - windowMs, now]. If it fits it is recorded and true is returned; otherwise nothing is
   * recorded (a refused attempt does not count against the key).
   */
  take(key: string, now: number, limit: number, windowMs: number): boolean {
    if (limit < 1) return false;
    const list = this.events.get(key);
    if (list === undefined) {
      this.events.set(key, [now]);
      return true;
    }
    const since = now - windowMs;
    // Events out of the window no longer count, and only the newest `limit` can decide (the
    // limit may have been lowered since they were recorded).
    let stale = 0;
    while (stale < list.length && (list[stale]! <= since || list.length - stale > limit)) stale++;
    if (stale > 0) list.splice(0, stale);
    if (list.length >= limit) return false;
    list.push(now);
    return true;
  }

  /** Events of `key` in the window ending at `now` (for tests and the UI). */
  count(key: string, now: number, windowMs: number): number {
    const list = this.events.get(key);
    if (list === undefined) return 0;
    let n = 0;
    for (const t of list) if (t > now - windowMs) n++;
    return n;
  }

  /** Forget every key with no event in the window ending at `now`. */
  sweep(now: number, windowMs: number): void {
    const since = now - windowMs;
    for (const [key, list] of this.events) if (list.length === 0 || list[list.length - 1]! <= since) this.events.delete(key);
  }

  clear(): void {
    this.events.clear();
  }

  get size(): number {
    return this.events.size;
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  /**
   * Take one token from `key`'s bucket, which holds at most `burst` tokens and refills at
   * `perSecond`; a new key starts full. False (and nothing taken) when less than one token is left.
   */
  take(key: string, now: number, perSecond: number, burst: number): boolean {
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: burst, at: now };
      this.buckets.set(key, b);
    } else {
      // A clock that steps back refills nothing rather than draining the bucket.
      const elapsed = now > b.at ? now - b.at : 0;
      b.tokens = Math.min(burst, b.tokens + (elapsed * perSecond) / 1000);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forget every bucket that is full again at `now` (it would start full anyway). */
  sweep(now: number, perSecond: number, burst: number): void {
    for (const [key, b] of this.buckets) {
      const elapsed = now > b.at ? now - b.at : 0;
      if (b.tokens + (elapsed * perSecond) / 1000 >= burst) this.buckets.delete(key);
    }
  }

  clear(): void {
    this.buckets.clear();
  }

  get size(): number {
    return this.buckets.size;
  }
}
