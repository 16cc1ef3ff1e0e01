// app/lib/rate-limit.ts: the sliding-window log (new push requests per user) and the token
// buckets (requests per RADIUS client), with a fake clock; memory stays bounded by sweep().
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SlidingWindowLog, TokenBuckets } from '../../app/lib/rate-limit.js';

const T0 = 1_700_000_000_000;

const Window = suite('lib/rate-limit: sliding window');

Window('at most N events in any window; a refused attempt is not recorded', () => {
  const log = new SlidingWindowLog();
  for (let i = 0; i < 3; i++) assert.ok(log.take('alice', T0 + i * 1000, 3, 60_000), `event ${i}`);
  assert.not.ok(log.take('alice', T0 + 3000, 3, 60_000));
  assert.not.ok(log.take('alice', T0 + 59_000, 3, 60_000));
  assert.is(log.count('alice', T0 + 59_000, 60_000), 3);
  // The first event leaves the window at T0 + 60 s: one more fits, then the window is full again.
  assert.ok(log.take('alice', T0 + 60_000, 3, 60_000));
  assert.not.ok(log.take('alice', T0 + 60_500, 3, 60_000));
  // The refused attempts did not push the window on: the second event leaves at T0 + 61 s.
  assert.ok(log.take('alice', T0 + 61_000, 3, 60_000));
});

Window('keys are independent', () => {
  const log = new SlidingWindowLog();
  assert.ok(log.take('alice', T0, 1, 60_000));
  assert.not.ok(log.take('alice', T0 + 1, 1, 60_000));
  assert.ok(log.take('bob', T0 + 1, 1, 60_000));
});

Window('the limit and window are read on each call: lowering the limit applies at once', () => {
  const log = new SlidingWindowLog();
  for (let i = 0; i < 5; i++) assert.ok(log.take('u', T0 + i, 10, 60_000));
  assert.not.ok(log.take('u', T0 + 10, 2, 60_000));
  assert.ok(log.take('u', T0 + 10, 10, 60_000));
  // A shorter window lets the old events go.
  assert.ok(log.take('u', T0 + 2000, 2, 1000));
  assert.ok(log.take('u', T0 + 2001, 2, 1000));
  assert.not.ok(log.take('u', T0 + 2002, 2, 1000));
});

Window('a key never holds more than the limit of event times; sweep forgets idle keys', () => {
  const log = new SlidingWindowLog();
  for (let u = 0; u < 5000; u++) for (let i = 0; i < 20; i++) log.take(`user${u}`, T0 + i, 4, 600_000);
  assert.is(log.size, 5000);
  for (let u = 0; u < 5000; u++) assert.is(log.count(`user${u}`, T0 + 100, 600_000), 4);
  log.sweep(T0 + 300_000, 600_000);
  assert.is(log.size, 5000, 'still inside the window');
  log.take('late', T0 + 500_000, 4, 600_000);
  log.sweep(T0 + 600_100, 600_000);
  assert.is(log.size, 1, 'only the key with an event in the window is kept');
  log.clear();
  assert.is(log.size, 0);
});

Window('a limit below 1 refuses (the caller treats 0 as off and does not ask)', () => {
  assert.not.ok(new SlidingWindowLog().take('u', T0, 0, 1000));
});

const Bucket = suite('lib/rate-limit: token buckets');

Bucket('a new key starts full: a burst of B, then R per second', () => {
  const b = new TokenBuckets();
  let ok = 0;
  for (let i = 0; i < 25; i++) if (b.take('nas', T0, 10, 10)) ok++;
  assert.is(ok, 10);
  assert.not.ok(b.take('nas', T0 + 50, 10, 10), 'half a token after 50 ms');
  assert.ok(b.take('nas', T0 + 100, 10, 10), 'one token after 100 ms');
  assert.not.ok(b.take('nas', T0 + 100, 10, 10));
  // Long idle: refilled to the burst, not beyond.
  let later = 0;
  for (let i = 0; i < 25; i++) if (b.take('nas', T0 + 60_000, 10, 10)) later++;
  assert.is(later, 10);
});

Bucket('sustained rate over a simulated second stays at R (plus the burst)', () => {
  const b = new TokenBuckets();
  let ok = 0;
  // 1000 requests per second offered for 3 s against 100/s with a burst of 100.
  for (let ms = 0; ms < 3000; ms++) if (b.take('nas', T0 + ms, 100, 100)) ok++;
  assert.ok(ok >= 100 + 299 && ok <= 100 + 300, `${ok} taken`);
});

Bucket('a fractional rate still allows one request (burst at least 1)', () => {
  const b = new TokenBuckets();
  assert.ok(b.take('nas', T0, 0.5, 1));
  assert.not.ok(b.take('nas', T0 + 1000, 0.5, 1));
  assert.ok(b.take('nas', T0 + 2000, 0.5, 1));
});

Bucket('a clock stepping back neither refills nor throws', () => {
  const b = new TokenBuckets();
  assert.ok(b.take('nas', T0, 1, 1));
  assert.not.ok(b.take('nas', T0 - 10_000, 1, 1));
  assert.ok(b.take('nas', T0 + 1000, 1, 1));
});

Bucket('keys are independent; sweep forgets buckets that are full again', () => {
  const b = new TokenBuckets();
  for (let c = 0; c < 1000; c++) b.take(`c${c}`, T0, 10, 10);
  assert.is(b.size, 1000);
  b.take('busy', T0 + 95, 10, 10);
  b.sweep(T0 + 50, 10, 10);
  assert.is(b.size, 1001, 'none refilled yet after 50 ms (one token takes 100 ms)');
  b.sweep(T0 + 100, 10, 10);
  assert.is(b.size, 1, 'only the bucket used at 95 ms is kept');
  b.clear();
  assert.is(b.size, 0);
});

Window.run();
Bucket.run();
