// app/push/requests.ts: Gatehouse's own approval requests. A decision resolves the waiting login in
// the same turn and is taken once (two phones, or one answer sent twice); a request expires at its
// TTL and is aborted when Gatehouse stops; open approvers hear of new requests and of those that go;
// the challenge a decision is signed over binds the request, the decision and the nonce.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { matchNumber } from '../../app/mfa/engine.js';
import { createPushRequests, decisionChallenge } from '../../app/push/requests.js';
import { randomId } from '../../app/lib/tokens.js';

const REQ = { title: 'VPN', description: 'Allow VPN for alice?', fingerprint: 'nas 10.0.0.1, station 00-11' };
const R = suite('push/requests');
/** Requests a test leaves open end with it (their TTL timers would keep the process running). */
let ending = new AbortController();
R.after.each(() => {
  ending.abort();
  ending = new AbortController();
});

R('approve and deny resolve the login at once; a second decision is refused', async () => {
  const reqs = createPushRequests();
  const a = reqs.open('alice', { username: 'alice', ...REQ }, 60_000, ending.signal);
  const b = reqs.open('alice', { username: 'alice', ...REQ }, 60_000, ending.signal);
  assert.equal(reqs.forUser('alice').map((r) => r.id), [a.request.id, b.request.id]);
  assert.ok(reqs.decide(a.request.id, 'approve'));
  assert.not.ok(reqs.decide(a.request.id, 'deny'), 'decided once');
  assert.ok(reqs.decide(b.request.id, 'deny'));
  assert.equal(await a.outcome, { kind: 'approved' });
  assert.equal(await b.outcome, { kind: 'denied' });
  assert.is(reqs.size(), 0);
  assert.equal(reqs.forUser('alice'), []);
});

R('a hundred decisions at once, from promises racing: exactly one counts', async () => {
  const reqs = createPushRequests();
  const a = reqs.open('alice', { username: 'alice', ...REQ }, 60_000, ending.signal);
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => Promise.resolve().then(() => reqs.decide(a.request.id, i % 2 === 0 ? 'approve' : 'deny'))));
  assert.is(results.filter(Boolean).length, 1);
  assert.equal(await a.outcome, { kind: 'approved' }, 'the first one');
});

R('a request expires at its TTL; aborting (Gatehouse stopping) ends it as unreachable', async () => {
  const reqs = createPushRequests();
  const a = reqs.open('alice', { username: 'alice', ...REQ }, 30, new AbortController().signal);
  assert.equal(await a.outcome, { kind: 'expired' });
  assert.not.ok(reqs.decide(a.request.id, 'approve'));
  const stop = new AbortController();
  const b = reqs.open('alice', { username: 'alice', ...REQ }, 60_000, stop.signal);
  stop.abort();
  assert.equal(await b.outcome, { kind: 'unreachable', cause: 'aborted', detail: 'stopping' });
  assert.is(reqs.size(), 0);
});

R('requests with different TTLs expire each at its own, in that order, under one timer; one decided first is not expired later', async () => {
  const reqs = createPushRequests();
  const ended: string[] = [];
  const open = (name: string, ttl: number) => {
    const r = reqs.open(name, { username: name, ...REQ }, ttl, ending.signal);
    void r.outcome.then((o) => ended.push(`${name} ${o.kind}`));
    return r;
  };
  const t0 = performance.now();
  open('slow', 120);
  const decided = open('decided', 20);
  open('fast', 40);
  open('middle', 80);
  assert.ok(reqs.decide(decided.request.id, 'approve'));
  const fast = reqs.forUser('fast')[0]!;
  while (reqs.size() > 0) await new Promise((r) => setTimeout(r, 5));
  assert.ok(performance.now() - t0 >= 120, 'not before the longest TTL');
  assert.equal(ended, ['decided approved', 'fast expired', 'middle expired', 'slow expired']);
  assert.not.ok(reqs.decide(fast.id, 'approve'), 'an expired request cannot be decided');
  // Once none was open the timer went; a new request still expires.
  const again = open('again', 10);
  assert.equal(await again.outcome, { kind: 'expired' });
});

R('many requests on one signal: one abort ends every open one; those decided before are untouched; the signal can be used again', async () => {
  const reqs = createPushRequests();
  const stop = new AbortController();
  const all = Array.from({ length: 50 }, (_, i) => reqs.open(`u${i}`, { username: `u${i}`, ...REQ }, 60_000, stop.signal));
  assert.ok(reqs.decide(all[0]!.request.id, 'approve'));
  stop.abort();
  const outcomes = await Promise.all(all.map((a) => a.outcome));
  assert.equal(outcomes[0], { kind: 'approved' });
  assert.ok(outcomes.slice(1).every((o) => o.kind === 'unreachable'));
  assert.is(reqs.size(), 0);
  // A signal whose requests all ended holds nothing: a later request on a live one waits as usual.
  const live = new AbortController();
  const first = reqs.open('x', { username: 'x', ...REQ }, 60_000, live.signal);
  reqs.decide(first.request.id, 'deny');
  const second = reqs.open('x', { username: 'x', ...REQ }, 60_000, live.signal);
  live.abort();
  assert.equal(await second.outcome, { kind: 'unreachable', cause: 'aborted', detail: 'stopping' });
});

R('a decision after the request expired on the clock is refused even before its timer ran', () => {
  let t = 1_000;
  const reqs = createPushRequests(() => t);
  const a = reqs.open('alice', { username: 'alice', ...REQ }, 60_000, ending.signal);
  t += 60_000;
  assert.not.ok(reqs.decide(a.request.id, 'approve'));
});

R('watchers hear of new requests and of those that go, for their user only; a failing one does not stop the others', () => {
  const reqs = createPushRequests();
  const heard: string[] = [];
  reqs.watch('alice', () => {
    throw new Error('closed stream');
  });
  const stop = reqs.watch('alice', (e) => heard.push(e.kind === 'new' ? `new ${e.request.username}` : 'gone'));
  reqs.watch('bob', () => heard.push('bob heard'));
  const a = reqs.open('alice', { username: 'alice', ...REQ }, 60_000, ending.signal);
  reqs.decide(a.request.id, 'deny');
  stop();
  reqs.open('alice', { username: 'alice', ...REQ }, 60_000, ending.signal);
  assert.equal(heard, ['new alice', 'gone']);
});

R('the signed challenge binds the request, the decision and its nonce; numbers have two digits', () => {
  const reqs = createPushRequests();
  const a = reqs.open('alice', { username: 'alice', ...REQ }, 60_000, ending.signal).request;
  const b = reqs.open('alice', { username: 'alice', ...REQ }, 60_000, ending.signal).request;
  const c = decisionChallenge(a, 'approve');
  assert.match(c, /^[A-Za-z0-9_-]{43}$/);
  assert.is(decisionChallenge(a, 'approve'), c);
  assert.is.not(decisionChallenge(a, 'deny'), c);
  assert.is.not(decisionChallenge(b, 'approve'), c);
  assert.is.not(decisionChallenge({ id: a.id, nonce: b.nonce }, 'approve'), c);
  for (let i = 0; i < 200; i++) {
    const n = matchNumber();
    assert.ok(n >= 10 && n <= 99);
  }
});

R('ids and nonces: 128 random bits each, never repeated, across many refills of the random pool', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const id = randomId();
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    assert.is(Buffer.from(id, 'base64url').length, 16);
    seen.add(id);
  }
  assert.is(seen.size, 3000);
});

R.run();
