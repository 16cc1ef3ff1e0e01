// Fuzzing the running appliance: a million generated and mutated RADIUS packets from many source
// ports, and a hundred thousand pipe frames. The process must not crash or grow without bound,
// and valid requests interleaved with the noise must keep being answered correctly.
// A seeded generator makes every run the same; seeds that found bugs are kept in REGRESSIONS.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr, Code, decodePacket, encodeRequest, type Attribute } from '../../app/radius/codec.js';
import { hidePassword } from '../../app/radius/crypto.js';
import { startAppliance, tempDir, type Appliance } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { createTestClient, str } from '../helpers/radius-client.js';

const CS = 'fuzz-client-secret';
const DS = 'fuzz-down-secret';
const RADIUS_PACKETS = 1_000_000;
const PIPE_FRAMES = 100_000;
/** Seeds whose packets once broke something, replayed first on every run. */
const REGRESSIONS: number[] = [];

/** xorshift32: small, seeded, fast. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return { next, int: (n: number) => next() % n, bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => next() & 255)) };
}
type Rng = ReturnType<typeof rng>;

/** A valid Access-Request (no Message-Authenticator, so mutations reach the whole flow). */
function basePacket(r: Rng, id: number): Buffer {
  const auth = r.bytes(16);
  const attrs: Attribute[] = [str(Attr.UserName, `fuzz${r.int(50)}`), { type: Attr.UserPassword, value: hidePassword(Buffer.from('pw'), Buffer.from(CS), auth) }];
  if (r.int(3) === 0) attrs.push({ type: Attr.ProxyState, value: r.bytes(1 + r.int(20)) });
  if (r.int(4) === 0) attrs.push({ type: Attr.State, value: r.bytes(1 + r.int(30)) });
  if (r.int(5) === 0) attrs.push({ type: Attr.VendorSpecific, value: r.bytes(6 + r.int(40)) });
  if (r.int(6) === 0) attrs.push({ type: Attr.ChapPassword, value: r.bytes(17) });
  return encodeRequest(Code.AccessRequest, id, auth, attrs, Buffer.from(CS), false);
}

/** Sets the Length field to the datagram's size, so the receiver reads what was added. */
function withLength(m: Buffer): Buffer {
  m.writeUInt16BE(Math.min(m.length, 65535), 2);
  return m;
}

/** What a receiver reads of a datagram: the first Length octets; the rest is padding (RFC 2865 3). */
function asRead(p: Buffer): Buffer {
  const length = p.length >= 4 ? p.readUInt16BE(2) : 0;
  return length >= 20 && length <= p.length ? p.subarray(0, length) : p;
}

/** A number in [0, n) other than `not`. */
const other = (r: Rng, n: number, not: number) => (not + 1 + r.int(n - 1)) % n;

/**
 * The mutation strategies, each aimed at a part of the decoder or the flow. Each gets its own copy
 * of a valid packet and must change what a receiver reads of it (the test checks this); the last
 * one leaves it valid.
 */
const MUTATIONS: [name: string, mutate: (r: Rng, b: Buffer) => Buffer][] = [
  ['random byte flips', (r, b) => {
    for (let i = r.int(4) + 1; i > 0; i--) {
      const k = r.int(b.length);
      b[k] = b[k]! ^ (1 + r.int(255));
    }
    return b;
  }],
  ['truncation', (r, b) => b.subarray(0, r.int(b.length))],
  ['a wrong Length field', (r, b) => {
    b.writeUInt16BE(other(r, 5000, b.length), 2);
    return b;
  }],
  ['attribute length 0, 1 or overflowing', (r, b) => {
    b[21] = [0, 1, 255][r.int(3)]!; // the first attribute's length (User-Name, never this long)
    return b;
  }],
  ['unknown or unexpected codes', (r, b) => {
    b[0] = other(r, 256, b[0]!);
    return b;
  }],
  ['two Message-Authenticators', (r, b) => withLength(Buffer.concat([b, Buffer.from([80, 18]), r.bytes(16), Buffer.from([80, 18]), r.bytes(16)]))],
  ['oversized packet', (r, b) => withLength(Buffer.concat([b, r.bytes(4097 - b.length + r.int(2000))]))],
  ['garbage', (r) => r.bytes(r.int(300))],
  ['a Message-Authenticator with a wrong length', (r, b) => withLength(Buffer.concat([b, Buffer.from([80, other(r, 32, 18)]), r.bytes(30)]))],
  ['random attributes appended, Length consistent', (r, b) => withLength(Buffer.concat([b, r.bytes(1 + r.int(60))]))],
  ['User-Password of a bad length', (r, b) => {
    const p = decodePacket(b);
    // Not a multiple of 16, or longer than RFC 2865's 128 octets.
    const bad = [1 + r.int(15), 17 + r.int(15), 144 + r.int(100)][r.int(3)]!;
    const attributes = p.attributes.map((a) => (a.type === Attr.UserPassword ? { type: a.type, value: r.bytes(bad) } : a));
    return encodeRequest(p.code, p.identifier, p.authenticator, attributes, Buffer.from(CS), false);
  }],
  ['the valid packet itself', (_, b) => b],
];
const VALID = MUTATIONS.length - 1;

interface Ctx {
  fr: FreeRadius;
  gh: Appliance;
  sock: string;
}

const Fuzz = suite<Ctx>('fuzzing');

Fuzz.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users: [...Array.from({ length: 50 }, (_, i) => ({ name: `fuzz${i}`, password: 'pw' })), { name: 'steady', password: 'steady-pw' }], clients: [{ address: '127.0.0.1', secret: DS }] });
  ctx.sock = join(await tempDir(), 'gh.sock');
  ctx.gh = await startAppliance({ args: ['--downstream-address', '127.0.0.1', '--port-out', String(ctx.fr.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--unenrolled-users', 'allow', '--pipe-path', ctx.sock, '--proxy-receive-timeout', '2'] });
});
Fuzz.after(async (ctx) => {
  await ctx.gh?.stop();
  await ctx.fr?.stop();
});

const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

/** Packets of the warm-up: the caches, pools and heap reach their working size before the baseline. */
const WARM_UP = 50_000;
const MB = 1024 * 1024;

Fuzz(`${RADIUS_PACKETS} mutated RADIUS packets from many ports: no crash, memory bounded (under 50 MB over a warmed-up baseline), valid requests still answered`, async ({ gh }) => {
  const pid = gh.child.pid!;
  const steady = await createTestClient({ port: gh.radiusPort, secret: CS });
  const sockets = await Promise.all(
    Array.from({ length: 32 }, () => new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.on('message', () => undefined);
      s.bind(0, '127.0.0.1', () => resolve(s));
    })),
  );
  let answered = 0;
  let wrong = 0;
  let sent = 0;
  /** Mutations that left the valid packet as it was, by name: they would test nothing. */
  const unchanged = new Map<string, number>();
  const seeds = [...REGRESSIONS, 0x5eed1234];
  let rssBefore = 0;
  try {
    for (const seed of [0x3a93, ...seeds]) {
      const r = rng(seed);
      const total = seed === 0x5eed1234 ? RADIUS_PACKETS : seed === 0x3a93 ? WARM_UP : 10_000;
      if (seed !== 0x3a93 && rssBefore === 0) {
        // The baseline: after the warm-up storm, once its answers and timers have settled.
        await new Promise((res) => setTimeout(res, 2000));
        rssBefore = rss(pid);
      }
      for (let i = 0; i < total; i++) {
        const valid = basePacket(r, i & 255);
        const m = r.int(MUTATIONS.length);
        const p = MUTATIONS[m]![1](r, Buffer.from(valid));
        if (m !== VALID && asRead(p).equals(valid)) unchanged.set(MUTATIONS[m]![0], (unchanged.get(MUTATIONS[m]![0]) ?? 0) + 1);
        sockets[i % sockets.length]!.send(p, gh.radiusPort, '127.0.0.1');
        sent++;
        // Pace the noise (a burst the kernel drops tests nothing) and interleave a valid login.
        if (i % 2000 === 1999) {
          await new Promise((res) => setImmediate(res));
          if (i % 50_000 === 49_999) {
            const res = await steady.request(steady.build([str(Attr.UserName, 'steady')], { password: 'steady-pw', ma: true }), 3000, 1000);
            if (res === undefined) wrong++;
            else if (res.packet.code === Code.AccessAccept && res.authentic) answered++;
            else wrong++;
          }
        }
      }
    }
    assert.equal([...unchanged], [], 'mutations that changed nothing');
    // After the storm: the process is alive, answers, and did not balloon.
    const after = await steady.request(steady.build([str(Attr.UserName, 'steady')], { password: 'steady-pw', ma: true }), 5000, 1000);
    assert.is(after?.packet.code, Code.AccessAccept);
    assert.is(wrong, 0, `${wrong} interleaved valid requests failed`);
    assert.ok(answered >= 19, `${answered} interleaved requests answered`);
    assert.is(gh.child.exitCode, null, 'the appliance exited');
    // Two seconds later, as after a burst in production: what the proxy holds is bounded (the
    // answer cache, challenges, drop windows; see their gauges), so the process is not much
    // larger than after the warm-up.
    await new Promise((res) => setTimeout(res, 2000));
    const grown = rss(pid) - rssBefore;
    const held = await (await fetch(`http://127.0.0.1:${gh.httpPort}/metrics`)).text();
    const gauge = (name: string) => /^gatehouse_(\S+) (\S+)$/m.exec(held.split('\n').find((l) => l.startsWith(`gatehouse_${name} `)) ?? '')?.[2] ?? '?';
    assert.ok(grown < 50 * MB, `RSS grew by ${Math.round(grown / MB)} MB over the warmed-up ${Math.round(rssBefore / MB)} MB (heap ${gauge('process_heap_used_bytes')}, requests remembered ${gauge('radius_requests_remembered')}, challenges ${gauge('radius_challenges_pending')}, drop sources ${gauge('radius_drop_sources_remembered')})`);
    const metrics = await (await fetch(`http://127.0.0.1:${gh.httpPort}/metrics`)).text();
    assert.match(metrics, /gatehouse_drops_total\{reason="malformed"\} \d{4,}/);
    // Drops are audited once per source and reason per minute: the log does not fill the disk.
    const audit = await gh.cli(['audit', 'export']);
    const drops = audit.stdout.split('\n').filter((l) => l.includes('"radius.drop"')).length;
    assert.ok(drops < 50, `${drops} drop records for ${sent} packets`);
    const verify = await gh.cli(['audit', 'verify']);
    assert.is(verify.code, 0, verify.stderr);
  } finally {
    await steady.close();
    for (const s of sockets) s.close();
  }
});

Fuzz(`${PIPE_FRAMES} random pipe frames: every bad connection is closed, the endpoint keeps serving`, async ({ gh, sock }) => {
  const r = rng(0xf4a3e);
  const pid = gh.child.pid!;
  const rssBefore = rss(pid);
  const frame = (body: Buffer, len = body.length) => {
    const h = Buffer.alloc(4);
    h.writeUInt32LE(len >>> 0, 0);
    return Buffer.concat([h, body]);
  };
  const candidates = (): Buffer => {
    switch (r.int(8)) {
      case 0:
        return frame(r.bytes(r.int(200)));
      case 1:
        return frame(Buffer.from(JSON.stringify({ id: r.int(1000), op: ['health', 'authenticate', 'x', 7][r.int(4)], username: r.bytes(r.int(20)).toString('latin1'), scenario: ['logon', 'rdp', '?'][r.int(3)] })));
      case 2:
        return frame(Buffer.alloc(0), r.int(2) === 0 ? 0 : 65537 + r.int(1e6));
      case 3:
        return frame(Buffer.from('[1,2,3]'));
      case 4:
        return frame(Buffer.from('{"id":1,"op":"health"'));
      case 5:
        return frame(Buffer.from(JSON.stringify({ id: r.next(), op: 'authenticate', username: 'u', domain: 'D', workstation: 'W', scenario: 'logon', code: 'x'.repeat(r.int(40)) })));
      case 6:
        return r.bytes(r.int(10)); // a truncated header
      default:
        return frame(Buffer.from(JSON.stringify({ id: 1, op: 'health' })));
    }
  };
  // Many frames per connection; a connection ends when the endpoint closes it after a bad frame.
  const conns = 64;
  const perConn = Math.ceil(PIPE_FRAMES / conns);
  let framesSent = 0;
  await Promise.all(
    Array.from({ length: conns }, async () => {
      let left = perConn;
      while (left > 0) {
        await new Promise<void>((resolve) => {
          const c = connect(sock);
          c.on('error', () => undefined);
          c.on('data', () => undefined);
          c.on('close', () => resolve());
          c.on('connect', () => {
            const batch: Buffer[] = [];
            for (let i = 0; i < 200 && left > 0; i++, left--) batch.push(candidates());
            framesSent += batch.length;
            c.end(Buffer.concat(batch));
          });
        });
      }
    }),
  );
  assert.ok(framesSent >= PIPE_FRAMES);
  // Still serving, still small.
  const ok = await new Promise<string>((resolve, reject) => {
    const c = connect(sock, () => c.write(frame(Buffer.from('{"id":42,"op":"health"}'))));
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        resolve(buf.subarray(4, 4 + buf.readUInt32LE(0)).toString());
        c.destroy();
      }
    });
    c.on('error', reject);
  });
  assert.match(ok, /"id":42/);
  assert.match(ok, /"status":"ok"/);
  assert.is(gh.child.exitCode, null);
  assert.ok(rss(pid) - rssBefore < 100 * 1024 * 1024);
  void randomBytes;
});

Fuzz.run();
