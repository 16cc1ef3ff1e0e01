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
  assert.equal(c.get(key(1))?.response, Buffer.from('answer'));
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

C.run();
