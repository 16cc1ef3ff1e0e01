// app/radius/request-cache.ts: retransmissions find their request; answers are repeated for
// ANSWER_CACHE_MS and then forgotten; the cache is bounded, whatever a flood of valid-looking
// requests does (the oldest answers go first, then the oldest requests still being decided).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ANSWER_CACHE_MS, MAX_ENTRIES, RequestCache } from '../../app/radius/request-cache.js';

const C = suite('radius/request-cache');
const auth = (n: number) => {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(n, 0);
  return b;
};
const key = (n: number) => RequestCache.key('192.0.2.1', 4000 + (n % 1000), n & 255, auth(n));

C('a request is found by its key until answered and expired; a forgotten one is decided afresh', () => {
  const c = new RequestCache();
  const e = c.add(key(1));
  assert.is(c.get(key(1)), e);
  assert.is(c.get(RequestCache.key('192.0.2.1', 4001, 1, auth(2))), undefined, 'another authenticator is another request');
  c.answered(key(1), e, Buffer.from('answer'), 1000);
  c.sweep(1000 + ANSWER_CACHE_MS - 1);
  assert.equal(c.get(key(1)), Buffer.from('answer'));
  c.sweep(1000 + ANSWER_CACHE_MS);
  assert.is(c.get(key(1)), undefined);
  c.add(key(2));
  c.forget(key(2));
  assert.is(c.size, 0);
});

C(`bounded at ${MAX_ENTRIES} requests: the oldest answers go first, then the oldest undecided requests`, () => {
  const c = new RequestCache();
  // Half answered (the older half), then more undecided requests than fit.
  for (let i = 0; i < MAX_ENTRIES / 2; i++) c.answered(key(i), c.add(key(i)), Buffer.from([i & 255]), 0);
  for (let i = MAX_ENTRIES / 2; i < MAX_ENTRIES + 50_000; i++) c.add(key(i));
  assert.ok(c.size <= MAX_ENTRIES, `${c.size} entries`);
  assert.is(c.get(key(0)), undefined, 'the oldest answer went first');
  assert.ok(c.get(key(MAX_ENTRIES + 49_999)) !== undefined, 'the newest request is kept');
  // Beyond the answers, the oldest undecided requests make room.
  for (let i = MAX_ENTRIES + 50_000; i < 2 * MAX_ENTRIES + 10; i++) c.add(key(i));
  assert.ok(c.size <= MAX_ENTRIES);
  assert.is(c.get(key(MAX_ENTRIES / 2)), undefined);
});

C('answers come back byte for byte across slabs, and the slabs of expired answers are let go', () => {
  const c = new RequestCache();
  // 3,000 answers of 1 to 4,096 bytes: several slabs, answers that do not fit the rest of one.
  const answer = (i: number) => Buffer.alloc(1 + ((i * 977) % 4096), i & 255);
  for (let i = 0; i < 3000; i++) c.answered(key(i), c.add(key(i)), answer(i), i);
  for (let i = 0; i < 3000; i++) assert.equal(c.get(key(i)), answer(i), `answer ${i}`);
  const slabs = (c as unknown as { slabs: Buffer[] }).slabs.length;
  assert.ok(slabs > 10, `${slabs} slabs`);
  // The first 2,000 expire: their slabs go, the rest still answer.
  c.sweep(1999 + ANSWER_CACHE_MS);
  assert.is(c.get(key(1999)), undefined);
  for (let i = 2000; i < 3000; i++) assert.equal(c.get(key(i)), answer(i), `answer ${i} after the sweep`);
  assert.ok((c as unknown as { slabs: Buffer[] }).slabs.length < slabs / 2, 'the slabs of the expired answers are let go');
  // All expire: nothing is held, and new answers start afresh.
  c.sweep(3000 + ANSWER_CACHE_MS);
  assert.is(c.size, 0);
  assert.ok((c as unknown as { slabs: Buffer[] }).slabs.length <= 1);
  c.answered(key(5), c.add(key(5)), Buffer.from('again'), 10 * ANSWER_CACHE_MS);
  assert.equal(c.get(key(5)), Buffer.from('again'));
});

C('a key forgotten, taken again and answered keeps its new answer when the old one expires', () => {
  const c = new RequestCache();
  c.answered(key(1), c.add(key(1)), Buffer.from('first'), 0);
  c.forget(key(1));
  c.answered(key(1), c.add(key(1)), Buffer.from('second'), 1000);
  c.sweep(ANSWER_CACHE_MS);
  assert.equal(c.get(key(1)), Buffer.from('second'));
  c.sweep(1000 + ANSWER_CACHE_MS);
  assert.is(c.get(key(1)), undefined);
});

C('an answer for a request evicted meanwhile is not kept', () => {
  const c = new RequestCache();
  const e = c.add(key(1));
  c.forget(key(1));
  c.answered(key(1), e, Buffer.from('late'), 0);
  assert.is(c.get(key(1)), undefined);
  assert.is(c.size, 0);
});

C.run();
