// app/mfa/push.ts against the local push API double (test/helpers/push-server.ts) over real HTTP,
// plus a tiny raw HTTP server for answers the double never gives (huge or broken bodies, slow or
// redirecting answers), and the scheduler behind many pending requests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FactorOutcome } from '../../app/mfa/factor.js';
import type { ApprovalRequest } from '../../app/mfa/factor.js';
import { pushDescription, type PushSettings } from '../../app/mfa/push/api.js';
import { createPushClient, type Clock, type PushClient, type PushClientOptions } from '../../app/mfa/push/scheduler.js';
import { type Call, MAX_BODY, type Transport } from '../../app/mfa/push/transport.js';
import { waitFor } from '../helpers/appliance.js';
import { findTool } from '../helpers/freeradius.js';
import { type PushServer, startPushServer } from '../helpers/push-server.js';

interface Ctx {
  server: PushServer;
  settings: PushSettings;
  client: PushClient;
  /** Clients made by a test with options of its own; closed after it. */
  extra: PushClient[];
}

const POLL_MS = 20;

const Push = suite<Ctx>('mfa/push', {} as Ctx);

Push.before.each(async (ctx) => {
  ctx.server = await startPushServer();
  ctx.settings = {
    host: ctx.server.url,
    accessId: 'app-1',
    callTimeoutMs: 1000,
    ttlSeconds: 2,
  };
  ctx.client = createPushClient({ pollIntervalMs: POLL_MS });
  ctx.extra = [];
  await ctx.client.warm();
});

Push.after.each(async (ctx) => {
  await Promise.all([ctx.client.close(), ...ctx.extra.map((c) => c.close())]);
  await ctx.server.close();
});

/** An approval request with the push texts of the RADIUS defaults. */
const req = (username: string, fingerprint = 'x'): ApprovalRequest => ({ username, fingerprint, title: 'VPN authentication', description: 'Do you want to allow VPN access for user {0}? ({0})' });
const ask = (ctx: Ctx, username = 'alice', signal?: AbortSignal) => ctx.client.approve(ctx.settings, req(username, 'vpn-1 / 198.51.100.7'), signal);

function clientWith(ctx: Ctx, options: PushClientOptions): PushClient {
  const c = createPushClient(options);
  ctx.extra.push(c);
  return c;
}

/** A raw server answering every request with `handler`; closed by the returned function. */
async function rawServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

Push('approve: approved, with one create carrying action, description, ttl_seconds and fingerprint', async (ctx) => {
  assert.equal(await ask(ctx), { kind: 'approved' });
  assert.is(ctx.server.creates.length, 1);
  const c = ctx.server.creates[0]!;
  assert.is(c.accessId, 'app-1');
  assert.is(c.username, 'alice');
  assert.equal(c.body, {
    action: 'VPN authentication',
    description: 'Do you want to allow VPN access for user alice? (alice)',
    ttl_seconds: 2,
    fingerprint: 'vpn-1 / 198.51.100.7',
  });
  assert.ok(ctx.server.polls >= 1);
});

Push('pushDescription replaces every {0} with the user name, literally', () => {
  assert.is(pushDescription('Allow {0}?', 'bob'), 'Allow bob?');
  assert.is(pushDescription('{0} / {0}', 'x'), 'x / x');
  assert.is(pushDescription('No placeholder', 'bob'), 'No placeholder');
  assert.is(pushDescription('Allow {0}?', '$& $1 {0}'), 'Allow $& $1 {0}?');
});

Push('a user name with reserved URL characters reaches the API intact', async (ctx) => {
  assert.equal(await ask(ctx, 'CORP\\j.doe/x?y#z'), { kind: 'approved' });
  assert.is(ctx.server.creates[0]!.username, 'CORP\\j.doe/x?y#z');
});

Push('deny: denied', async (ctx) => {
  ctx.server.behave('bob', { kind: 'deny', afterMs: 50 });
  assert.equal(await ask(ctx, 'bob'), { kind: 'denied' });
});

Push('unknown user (404 on create): unknown_user, and no polling', async (ctx) => {
  ctx.server.behave('mallory', { kind: 'unknown' });
  assert.equal(await ask(ctx, 'mallory'), { kind: 'unknown_user' });
  assert.is(ctx.server.polls, 0);
});

Push('the service says expired: expired', async (ctx) => {
  ctx.server.behave('carol', { kind: 'expire', afterMs: 60 });
  assert.equal(await ask(ctx, 'carol'), { kind: 'expired' });
});

Push('no decision before the TTL: expired, at about the TTL', async (ctx) => {
  ctx.settings.ttlSeconds = 0.2;
  ctx.server.behave('dave', { kind: 'pending' });
  const t0 = performance.now();
  assert.equal(await ask(ctx, 'dave'), { kind: 'expired' });
  const took = performance.now() - t0;
  // Not before the TTL, and not long after it (the upper bound leaves room for a loaded machine).
  assert.ok(took >= 180 && took < 3000, `took ${took} ms`);
});

Push('create answers 500: unreachable', async (ctx) => {
  ctx.server.behave('erin', { kind: 'error', status: 500 });
  const out = await ask(ctx, 'erin');
  assert.is(out.kind, 'unreachable');
  assert.is(ctx.server.polls, 0);
});

Push('server closed: unreachable', async (ctx) => {
  await ctx.server.close();
  const out = await ask(ctx);
  assert.is(out.kind, 'unreachable');
  ctx.server = await startPushServer(); // for after.each
});

Push('create slower than callTimeoutMs: unreachable, within about the call timeout', async (ctx) => {
  ctx.settings.callTimeoutMs = 80;
  ctx.server.behave('frank', { kind: 'slow', createDelayMs: 10_000, then: 'approve' });
  const t0 = performance.now();
  const out = await ask(ctx, 'frank');
  const took = performance.now() - t0;
  assert.is(out.kind, 'unreachable');
  // Long before the create call would have answered.
  assert.ok(took < 5000, `took ${took} ms`);
});

Push('polls at the configured interval, one poll at a time per request', async (ctx) => {
  const pollTimes: number[] = [];
  let open = 0;
  let overlapped = false;
  const raw = await rawServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.method === 'POST') return res.end('{"uuid":"u-7"}');
    pollTimes.push(performance.now());
    if (++open > 1) overlapped = true;
    const decided = pollTimes.length >= 6;
    setTimeout(() => {
      open--;
      res.end(JSON.stringify({ response_type: decided ? 'ApproveRequest' : null, expired: false }));
    }, 5);
  });
  try {
    ctx.settings.host = raw.url;
    assert.equal(await ask(ctx, 'gina'), { kind: 'approved' });
    assert.is(pollTimes.length, 6);
    assert.not.ok(overlapped, 'two polls of one request were in flight at once');
    // Each poll waits the interval after the previous answer: no flood.
    for (let i = 1; i < pollTimes.length; i++) {
      const gap = pollTimes[i]! - pollTimes[i - 1]!;
      assert.ok(gap >= POLL_MS, `gap ${gap} ms between polls ${i - 1} and ${i}`);
    }
  } finally {
    await raw.close();
  }
});

Push('the last wait is cut short at the TTL', async (ctx) => {
  ctx.settings.ttlSeconds = 0.05;
  const client = clientWith(ctx, { pollIntervalMs: 5000 });
  ctx.server.behave('hank', { kind: 'pending' });
  const t0 = performance.now();
  assert.equal(await client.approve(ctx.settings, req('hank')), { kind: 'expired' });
  assert.ok(performance.now() - t0 < 2000);
  // One poll, at the end of the TTL rather than after the interval.
  assert.is(ctx.server.polls, 1);
});

Push('abort while waiting for the user: returns promptly', async (ctx) => {
  ctx.settings.ttlSeconds = 30;
  ctx.server.behave('ivan', { kind: 'pending' });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 60);
  const t0 = performance.now();
  const out = await ask(ctx, 'ivan', ac.signal);
  const took = performance.now() - t0;
  assert.is(out.kind, 'unreachable');
  // Long before the 30 s TTL.
  assert.ok(took < 5000, `took ${took} ms`);
});

Push('abort while the create call hangs: returns promptly', async (ctx) => {
  ctx.settings.callTimeoutMs = 30_000;
  ctx.server.behave('judy', { kind: 'slow', createDelayMs: 20_000, then: 'approve' });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const t0 = performance.now();
  const out = await ask(ctx, 'judy', ac.signal);
  assert.is(out.kind, 'unreachable');
  // Long before the create call (20 s) or its timeout (30 s).
  assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
});

Push('an already aborted signal: no push is sent', async (ctx) => {
  const out = await ask(ctx, 'alice', AbortSignal.abort());
  assert.is(out.kind, 'unreachable');
  assert.is(ctx.server.creates.length, 0);
});

Push('create answer over 64 KiB: unreachable', async (ctx) => {
  const raw = await rawServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ uuid: 'u-1', pad: 'x'.repeat(70 * 1024) }));
  });
  try {
    ctx.settings.host = raw.url;
    const out = await ask(ctx);
    assert.is(out.kind, 'unreachable');
  } finally {
    await raw.close();
  }
});

Push('create answer of exactly the 64 KiB limit is read', async (ctx) => {
  let created = false;
  const raw = await rawServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.method === 'POST') {
      created = true;
      const head = '{"uuid":"u-1","pad":"';
      const tail = '"}';
      res.end(head + 'x'.repeat(64 * 1024 - head.length - tail.length) + tail);
    } else res.end('{"response_type":"ApproveRequest","expired":false}');
  });
  try {
    ctx.settings.host = raw.url;
    assert.equal(await ask(ctx), { kind: 'approved' });
    assert.ok(created);
  } finally {
    await raw.close();
  }
});

for (const [name, body] of [
  ['invalid JSON', '{"uuid": "u-1",'],
  ['a JSON array', '["u-1"]'],
  ['JSON without uuid', '{"id":"u-1"}'],
  ['an empty uuid', '{"uuid":""}'],
] as const) {
  Push(`create answer is ${name}: unreachable`, async (ctx) => {
    const raw = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    try {
      ctx.settings.host = raw.url;
      assert.is((await ask(ctx)).kind, 'unreachable');
    } finally {
      await raw.close();
    }
  });
}

Push('poll answers that stay broken until the TTL: unreachable', async (ctx) => {
  let polls = 0;
  const raw = await rawServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.method === 'POST') res.end('{"uuid":"u-1"}');
    else {
      polls++;
      res.end(polls % 2 === 0 ? 'not json' : JSON.stringify({ pad: 'y'.repeat(70 * 1024) }));
    }
  });
  try {
    ctx.settings.host = raw.url;
    ctx.settings.ttlSeconds = 0.2;
    const out = await ask(ctx);
    assert.is(out.kind, 'unreachable');
    assert.ok(polls >= 2);
  } finally {
    await raw.close();
  }
});

Push('polls that all fail for the whole TTL: unreachable (failmode decides)', async (ctx) => {
  const raw = await rawServer((req, res) => {
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"uuid":"u-5"}');
    }
    res.writeHead(503);
    res.end();
  });
  try {
    ctx.settings.host = raw.url;
    ctx.settings.ttlSeconds = 0.2;
    assert.is((await ask(ctx)).kind, 'unreachable');
  } finally {
    await raw.close();
  }
});

Push('a service that answered "pending" and fails only at the end of the TTL: expired, not unreachable', async (ctx) => {
  // The user simply did not decide in time. Reporting `unreachable` here would let failmode
  // `safe` accept on the password alone although the push service was up all along.
  let createdAt = 0;
  let pendingAnswers = 0;
  const raw = await rawServer((req, res) => {
    if (req.method === 'POST') {
      createdAt = Date.now();
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"uuid":"u-6"}');
    }
    if (Date.now() - createdAt < 1000) {
      pendingAnswers++;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"response_type":null,"expired":false}');
    }
    res.writeHead(503);
    res.end();
  });
  try {
    ctx.settings.host = raw.url;
    ctx.settings.ttlSeconds = 1.5;
    const out = await ask(ctx);
    assert.ok(pendingAnswers >= 3, `${pendingAnswers} pending answers`);
    assert.equal(out, { kind: 'expired' });
  } finally {
    await raw.close();
  }
});

Push('a poll that fails once is retried, and the decision still counts', async (ctx) => {
  let polls = 0;
  const raw = await rawServer((req, res) => {
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"uuid":"u-9"}');
    }
    polls++;
    if (polls === 1) {
      res.writeHead(502);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"response_type":"DenyRequest","expired":false}');
  });
  try {
    ctx.settings.host = raw.url;
    assert.equal(await ask(ctx), { kind: 'denied' });
    assert.is(polls, 2);
  } finally {
    await raw.close();
  }
});

Push('a chunked answer over 64 KiB (no Content-Length) is refused too', async (ctx) => {
  const raw = await rawServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"uuid":"u-1","pad":"');
    for (let i = 0; i < 10; i++) res.write('x'.repeat(8 * 1024));
    res.end('"}');
  });
  try {
    ctx.settings.host = raw.url;
    const out = await ask(ctx);
    assert.is(out.kind, 'unreachable');
    assert.match((out as { detail: string }).detail, `larger than ${MAX_BODY} bytes`);
  } finally {
    await raw.close();
  }
});

Push('a redirect is not followed: unreachable, and the target is never asked', async (ctx) => {
  let redirected = 0;
  const raw = await rawServer((_req, res) => {
    res.writeHead(302, { location: `${ctx.server.url}v2/application/app-1/application_user/alice/auth_request` });
    res.end();
  });
  try {
    ctx.settings.host = raw.url;
    const out = await ask(ctx);
    redirected = ctx.server.creates.length;
    assert.equal(out, { kind: 'unreachable', cause: 'unreachable', detail: 'create: HTTP 302' });
    assert.is(redirected, 0);
  } finally {
    await raw.close();
  }
});

Push('a poll that hangs is cut at the call timeout and the next poll is sent', async (ctx) => {
  let polls = 0;
  const raw = await rawServer((req, res) => {
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"uuid":"u-8"}');
    }
    polls++;
    if (polls === 1) return; // never answered
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"response_type":"ApproveRequest","expired":false}');
  });
  try {
    ctx.settings.host = raw.url;
    ctx.settings.callTimeoutMs = 100;
    assert.equal(await ask(ctx), { kind: 'approved' });
    assert.is(polls, 2);
  } finally {
    await raw.close();
  }
});

Push('polls that all hang until the TTL: unreachable, and the detail says they timed out', async (ctx) => {
  const raw = await rawServer((req, res) => {
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"uuid":"u-10"}');
    }
  });
  try {
    ctx.settings.host = raw.url;
    ctx.settings.callTimeoutMs = 50;
    ctx.settings.ttlSeconds = 0.3;
    const out = await ask(ctx);
    assert.equal(out, { kind: 'unreachable', cause: 'timeout', detail: 'poll: timed out after 50 ms' }, 'the cause says timed out (the Windows health shows api_timeout)');
  } finally {
    await raw.close();
  }
});

Push('a user name that cannot be put in a URL (a lone surrogate): unreachable, never a rejection, no push sent', async (ctx) => {
  assert.is((await ask(ctx, 'bad\ud800name')).kind, 'unreachable');
  assert.is(ctx.server.creates.length, 0);
});

// --- the scheduler -------------------------------------------------------------------------------

Push('many pending requests: every one is polled, never more calls at once than the concurrency, over a few reused connections', async (ctx) => {
  const N = 60;
  const CONCURRENCY = 4;
  let open = 0;
  let maxOpen = 0;
  let connections = 0;
  let seq = 0;
  const decided = new Set<string>();
  const polled = new Set<string>();
  let deciding = false;
  const raw = await rawServer((req, res) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    const reply = (body: unknown) => {
      open--;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // Every answer takes a little while, so calls overlap.
    if (req.method === 'POST') return void setTimeout(() => reply({ uuid: `m-${++seq}` }), 2);
    const uuid = (req.url ?? '').split('/').pop()!;
    polled.add(uuid);
    const approve = deciding;
    if (approve) decided.add(uuid);
    setTimeout(() => reply({ response_type: approve ? 'ApproveRequest' : null, expired: false }), 2);
  });
  raw.server.on('connection', () => connections++);
  try {
    ctx.settings.host = raw.url;
    ctx.settings.ttlSeconds = 30;
    const client = clientWith(ctx, { concurrency: CONCURRENCY, pollIntervalMs: POLL_MS });
    const outcomes = Promise.all(Array.from({ length: N }, (_, i) => client.approve(ctx.settings, req(`many-${i}`))));
    await waitFor('every request polled', () => polled.size === N);
    assert.is(client.stats().waiting, N);
    deciding = true;
    const out = await outcomes;
    assert.ok(
      out.every((o) => o.kind === 'approved'),
      JSON.stringify(out.filter((o) => o.kind !== 'approved')),
    );
    assert.is(decided.size, N);
    assert.is(seq, N, 'one create per request');
    assert.ok(maxOpen <= CONCURRENCY, `${maxOpen} calls at once`);
    assert.ok(maxOpen >= 2, 'the calls never overlapped: the test proves nothing');
    assert.ok(connections <= CONCURRENCY, `${connections} connections`);
    assert.equal(client.stats(), { waiting: 0, queuedCreates: 0, inFlight: 0, creates: N, polls: client.stats().polls });
  } finally {
    await raw.close();
  }
});

Push('a decision is found on the next poll', async (ctx) => {
  ctx.settings.ttlSeconds = 30;
  ctx.server.behave('kate', { kind: 'pending' });
  const out = ask(ctx, 'kate');
  await waitFor('three polls', () => ctx.server.creates.length === 1 && ctx.server.pollsOf(ctx.server.creates[0]!.uuid) >= 3);
  const uuid = ctx.server.creates[0]!.uuid;
  const before = ctx.server.pollsOf(uuid);
  ctx.server.decide(uuid, 'approve');
  assert.equal(await out, { kind: 'approved' });
  assert.is(ctx.server.pollsOf(uuid), before + 1);
});

Push('started is told the uuid once the service gave it; another client follows that uuid to the same decision without a second push', async (ctx) => {
  ctx.settings.ttlSeconds = 30;
  ctx.server.behave('lena', { kind: 'pending' });
  let uuid: string | undefined;
  const first = ctx.client.approve(ctx.settings, req('lena'), undefined, (u) => (uuid = u));
  await waitFor('the uuid', () => uuid !== undefined);
  assert.is(uuid, ctx.server.creates[0]!.uuid);
  // Another appliance's client, carrying on after the first one's appliance went away.
  const other = createPushClient({ pollIntervalMs: POLL_MS });
  ctx.extra.push(other);
  const followed = other.follow(ctx.settings, uuid!, 10_000);
  const before = ctx.server.pollsOf(uuid!);
  await waitFor('the follower to poll', () => ctx.server.pollsOf(uuid!) >= before + 4);
  ctx.server.decide(uuid!, 'approve');
  assert.equal(await Promise.all([first, followed]), [{ kind: 'approved' }, { kind: 'approved' }]);
  assert.is(ctx.server.creates.length, 1, 'no second push');
});

Push('follow: an unknown uuid is expired (404); the time given runs out as expired; an aborted signal answers at once', async (ctx) => {
  assert.equal(await ctx.client.follow(ctx.settings, 'no-such-request', 5_000), { kind: 'expired' });
  ctx.server.behave('mia', { kind: 'pending' });
  let uuid: string | undefined;
  void ctx.client.approve({ ...ctx.settings, ttlSeconds: 30 }, req('mia'), undefined, (u) => (uuid = u));
  await waitFor('the uuid', () => uuid !== undefined);
  const t0 = Date.now();
  assert.equal(await ctx.client.follow(ctx.settings, uuid!, 300), { kind: 'expired' });
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 2_000, `ran ${took} ms`);
  const ac = new AbortController();
  ac.abort();
  assert.equal(await ctx.client.follow(ctx.settings, uuid!, 5_000, ac.signal), { kind: 'unreachable', cause: 'aborted', detail: 'aborted' });
});

Push('creates go first: a new login is sent while polls hold every slot they may use', async (ctx) => {
  // Concurrency 2: polls may use one slot, the other stays free for creates. Polls are held
  // until released, so the pending requests keep that slot busy.
  const held: ServerResponse[] = [];
  let seq = 0;
  let createdWhilePollHeld = false;
  const raw = await rawServer((req, res) => {
    if (req.method === 'POST') {
      if (held.length > 0) createdWhilePollHeld = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ uuid: `c-${++seq}` }));
    }
    held.push(res);
  });
  try {
    ctx.settings.host = raw.url;
    ctx.settings.ttlSeconds = 30;
    ctx.settings.callTimeoutMs = 10_000;
    const client = clientWith(ctx, { concurrency: 2, pollIntervalMs: 1 });
    const ac = new AbortController();
    const first = Array.from({ length: 5 }, (_, i) => client.approve(ctx.settings, req(`old-${i}`), ac.signal));
    await waitFor('a poll held', () => held.length === 1);
    const late = client.approve(ctx.settings, req('new'), ac.signal);
    await waitFor('the new create', () => seq === 6);
    assert.ok(createdWhilePollHeld);
    assert.is(held.length, 1, 'polls took more than their share of the slots');
    ac.abort();
    const out = await Promise.all([...first, late]);
    assert.ok(out.every((o) => o.kind === 'unreachable'));
  } finally {
    await raw.close();
  }
});

Push('close answers every waiting request at once, and nothing is polled afterwards', async (ctx) => {
  ctx.settings.ttlSeconds = 30;
  ctx.server.behave('pending-user', { kind: 'pending' });
  const client = clientWith(ctx, { pollIntervalMs: POLL_MS });
  const N = 50;
  const all = Promise.all(Array.from({ length: N }, () => client.approve(ctx.settings, req('pending-user'))));
  await waitFor('all created and polled', () => ctx.server.creates.length === N && ctx.server.polls >= N);
  await client.close();
  const out: FactorOutcome[] = await all;
  assert.equal(out, Array.from({ length: N }, () => ({ kind: 'unreachable', cause: 'aborted', detail: 'aborted' })));
  const polls = ctx.server.polls;
  await delay(POLL_MS * 5);
  assert.is(ctx.server.polls, polls);
  assert.equal(await client.approve(ctx.settings, req('pending-user')), { kind: 'unreachable', cause: 'aborted', detail: 'aborted' });
});

Push('an abort answers the requests of its signal only; the others still get their decision', async (ctx) => {
  ctx.settings.ttlSeconds = 30;
  ctx.server.behave('stays', { kind: 'approve', afterMs: 300 });
  ctx.server.behave('goes', { kind: 'pending' });
  const keep = new AbortController();
  const drop = new AbortController();
  const kept = Array.from({ length: 5 }, () => ask(ctx, 'stays', keep.signal));
  const dropped = Array.from({ length: 5 }, () => ask(ctx, 'goes', drop.signal));
  await waitFor('all created', () => ctx.server.creates.length === 10);
  drop.abort();
  assert.ok((await Promise.all(dropped)).every((o) => o.kind === 'unreachable'));
  assert.ok((await Promise.all(kept)).every((o) => o.kind === 'approved'));
});

Push('HTTPS: a trusted certificate works; an untrusted one is refused (unreachable)', async (ctx) => {
  const openssl = findTool('openssl');
  if (openssl === undefined) throw new Error('openssl not found: install the Debian package openssl (apt-get install openssl)');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-push-tls-'));
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const tls = await startPushServer({ kind: 'approve', afterMs: 30 }, { tls: { cert: readFileSync(cert), key: readFileSync(key) } });
    try {
      ctx.settings.host = tls.url;
      assert.ok(tls.url.startsWith('https://'));
      const refused = await ask(ctx, 'tls-user');
      assert.is(refused.kind, 'unreachable');
      assert.is(tls.creates.length, 0);
      const trusting = clientWith(ctx, { pollIntervalMs: POLL_MS, ca: readFileSync(cert) });
      assert.equal(await trusting.approve(ctx.settings, req('tls-user')), { kind: 'approved' });
      assert.is(tls.creates.length, 1);
    } finally {
      await tls.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Push.run();

// ---------------------------------------------------------------------------
// The scheduler alone, with an injected clock and transport: time moves only when the test says,
// and every call is answered by the test (no sockets, no real waiting).
const Sched = suite('mfa/push/scheduler with an injected clock');

function fakeWorld() {
  let now = 1_000_000;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (h) => {
      const i = timers.findIndex((t) => t.id === h);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  const calls: { call: Call; path: string; body: string | undefined }[] = [];
  const transport = async (): Promise<Transport> => ({ dispatch: (call, _origin, path, body) => void calls.push({ call, path, body }), close: async () => undefined });
  /** Move the clock, firing due timers in order. */
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (t === undefined || t.at > end) break;
      timers.shift();
      now = t.at;
      t.fn();
    }
    now = end;
  };
  /** Answer a call as the push API would (the Call's undici handler methods). */
  const answer = (c: Call, status: number, body: unknown) => {
    const ctl = { abort: () => undefined } as unknown as Parameters<Call['onResponseStart']>[0];
    c.onRequestStart(ctl);
    c.onResponseStart(ctl, status, {});
    c.onResponseData(ctl, Buffer.from(JSON.stringify(body)));
    c.onResponseEnd();
  };
  return { clock, transport, calls, advance, answer };
}

const SETTINGS: PushSettings = { host: 'https://push.example/api/', accessId: 'app', callTimeoutMs: 5000, ttlSeconds: 60 };
const flush = () => new Promise((r) => setImmediate(r));

Sched('polls follow the injected clock: one poll per interval until the decision', async () => {
  const w = fakeWorld();
  const client = createPushClient({ clock: w.clock, transport: w.transport, pollIntervalMs: 1000 });
  await client.warm();
  const outcome = client.approve(SETTINGS, req('ivy'));
  await flush();
  assert.is(w.calls.length, 1);
  assert.match(w.calls[0]!.path, /\/application_user\/ivy\/auth_request$/);
  w.answer(w.calls[0]!.call, 200, { uuid: 'u-1' });
  w.advance(999);
  assert.is(w.calls.length, 1, 'no poll before the interval');
  w.advance(1);
  assert.is(w.calls.length, 2);
  assert.match(w.calls[1]!.path, /\/auth_request\/u-1$/);
  w.answer(w.calls[1]!.call, 200, { response_type: null, expired: false });
  w.advance(1000);
  w.answer(w.calls[2]!.call, 200, { response_type: 'ApproveRequest' });
  assert.equal(await outcome, { kind: 'approved' });
  await client.close();
});

Sched('the TTL and the call timeout run on the injected clock: a hung poll times out, the TTL ends in expiry', async () => {
  const w = fakeWorld();
  const client = createPushClient({ clock: w.clock, transport: w.transport, pollIntervalMs: 1000 });
  await client.warm();
  const outcome = client.approve({ ...SETTINGS, ttlSeconds: 10 }, req('jon'));
  await flush();
  w.answer(w.calls[0]!.call, 200, { uuid: 'u-2' });
  w.advance(1000);
  w.answer(w.calls[1]!.call, 200, { response_type: null });
  // Every later poll hangs: each times out after callTimeoutMs, and the TTL ends the request.
  w.advance(60_000);
  assert.equal(await outcome, { kind: 'expired' }, 'a service that answered before is not unreachable');
  await client.close();
});

