// app/mfa/push.ts against the local push API double (test/helpers/push-server.ts) over real
// fetch, plus a tiny raw HTTP server for answers the double never gives (huge or broken bodies).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type PushDeps, type PushSettings, pushDescription, requestPushApproval } from '../../app/mfa/push.js';
import { type PushServer, startPushServer } from '../helpers/push-server.js';

interface Ctx {
  server: PushServer;
  settings: PushSettings;
  deps: PushDeps;
  /** Times (ms) at which poll GETs were sent, and the ms each sleep was asked for. */
  pollTimes: number[];
  sleeps: number[];
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
    title: 'VPN authentication',
    description: 'Do you want to allow VPN access for user {0}? ({0})',
  };
  ctx.pollTimes = [];
  ctx.sleeps = [];
  ctx.deps = {
    fetch: (input, init) => {
      if (init?.method === 'GET') ctx.pollTimes.push(performance.now());
      return fetch(input, init);
    },
    sleep: (ms, signal) => {
      ctx.sleeps.push(ms);
      return delay(ms, undefined, signal ? { signal } : undefined);
    },
    now: () => Date.now(),
    pollIntervalMs: POLL_MS,
  };
});

Push.after.each(async (ctx) => {
  await ctx.server.close();
});

const ask = (ctx: Ctx, username = 'alice', signal?: AbortSignal) => requestPushApproval(ctx.settings, { username, fingerprint: 'vpn-1 / 198.51.100.7' }, ctx.deps, signal);

/** A raw server answering every request with `handler`; closed by the returned function. */
async function rawServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/`,
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
  assert.ok(took >= 180 && took < 1000, `took ${took} ms`);
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
  ctx.server.behave('frank', { kind: 'slow', createDelayMs: 600, then: 'approve' });
  const t0 = performance.now();
  const out = await ask(ctx, 'frank');
  const took = performance.now() - t0;
  assert.is(out.kind, 'unreachable');
  assert.ok(took < 400, `took ${took} ms`);
});

Push('polls at the configured interval', async (ctx) => {
  ctx.server.behave('gina', { kind: 'approve', afterMs: 200 });
  assert.equal(await ask(ctx, 'gina'), { kind: 'approved' });
  assert.ok(ctx.sleeps.length >= 3, `slept ${ctx.sleeps.length} times`);
  assert.ok(
    ctx.sleeps.every((ms) => ms === POLL_MS),
    `sleeps ${ctx.sleeps.join(',')}`,
  );
  assert.is(ctx.pollTimes.length, ctx.server.polls);
  // 200 ms at one poll per 20 ms (+ request time): no flood, no stall.
  assert.ok(ctx.server.polls >= 3 && ctx.server.polls <= 12, `${ctx.server.polls} polls`);
  for (let i = 1; i < ctx.pollTimes.length; i++) {
    const gap = ctx.pollTimes[i]! - ctx.pollTimes[i - 1]!;
    assert.ok(gap >= POLL_MS - 2, `gap ${gap} ms between polls ${i - 1} and ${i}`);
  }
});

Push('the last sleep is cut short at the TTL', async (ctx) => {
  ctx.settings.ttlSeconds = 0.05;
  ctx.deps.pollIntervalMs = 1000;
  ctx.server.behave('hank', { kind: 'pending' });
  const t0 = performance.now();
  assert.equal(await ask(ctx, 'hank'), { kind: 'expired' });
  assert.ok(performance.now() - t0 < 500);
  assert.ok(ctx.sleeps.every((ms) => ms <= 50));
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
  assert.ok(took < 300, `took ${took} ms`);
});

Push('abort while the create call hangs: returns promptly', async (ctx) => {
  ctx.settings.callTimeoutMs = 5000;
  ctx.server.behave('judy', { kind: 'slow', createDelayMs: 3000, then: 'approve' });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const t0 = performance.now();
  const out = await ask(ctx, 'judy', ac.signal);
  assert.is(out.kind, 'unreachable');
  assert.ok(performance.now() - t0 < 300);
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
    if (Date.now() - createdAt < 200) {
      pendingAnswers++;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"response_type":null,"expired":false}');
    }
    res.writeHead(503);
    res.end();
  });
  try {
    ctx.settings.host = raw.url;
    ctx.settings.ttlSeconds = 0.3;
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

Push.run();
