// Pools (server order and health states), realms, RadSec stream framing and accounting sessions:
// the pure decisions of the RADIUS breadth, with a leg whose answers the test controls.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sessionOf } from '../../app/radius/accounting.js';
import { Attr, Code, type Attribute } from '../../app/radius/codec.js';
import { DownstreamError, type DownstreamAnswer, type DownstreamLeg, type DownstreamTarget, type ExchangeKind } from '../../app/radius/downstream.js';
import { createPools, poolSpecs, REVIVE_ANSWERS, REVIVE_INTERVAL_MS, type PoolSpec, type ServerState } from '../../app/radius/pools.js';
import { splitFrames } from '../../app/radius/radsec.js';
import { buildRealmTable, splitRealm } from '../../app/radius/realms.js';

const server = (name: string): DownstreamTarget => ({ name, host: '192.0.2.1', port: 1000 + name.charCodeAt(0), secret: Buffer.from('s'), requireMessageAuthenticator: false });

/** A leg whose every exchange waits until the test answers or times it out. */
function fakeLeg() {
  const sent: { server: string; kind: ExchangeKind; answer(): void; timeout(): void }[] = [];
  const leg: DownstreamLeg = {
    exchange(target, _attrs, auth, _t, kind = 'access') {
      let resolve!: (a: DownstreamAnswer) => void;
      let reject!: (e: Error) => void;
      const answer = new Promise<DownstreamAnswer>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      answer.catch(() => undefined);
      sent.push({
        server: target.name,
        kind,
        answer: () => resolve({ packet: { code: kind === 'status' ? Code.AccessAccept : Code.AccessAccept, identifier: 0, authenticator: auth, attributes: [], maOffset: -1 }, requestAuthenticator: auth }),
        timeout: () => reject(new DownstreamError('timeout', 'no answer')),
      });
      return { answer, retransmit() {} };
    },
    stats: () => ({ inFlight: 0, sockets: 0, ignored: {} }),
    close: async () => undefined,
  };
  return { leg, sent };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

const P = suite('pools');

P('the flag server is the default pool; stored servers of other pools stay, in the order they were added', () => {
  const stored = [
    { ...server('d1'), pool: 'default' },
    { ...server('x1'), pool: 'corp' },
    { ...server('x2'), pool: 'corp' },
  ];
  const specs = poolSpecs(stored, [{ name: 'corp', mode: 'load-balance', responseWindowMs: 500, deadAfter: 2, checkIntervalMs: 1000 }], server('flag'));
  assert.equal(
    specs.map((p) => [p.name, p.mode, p.servers.map((s) => s.name)]),
    [
      ['corp', 'load-balance', ['x1', 'x2']],
      ['default', 'fail-over', ['flag']],
    ],
  );
  assert.equal(poolSpecs(stored, [], undefined).find((p) => p.name === 'default')?.servers.map((s) => s.name), ['d1']);
});

P('fail-over: alive in order; a timeout makes a server zombie (tried after the alive ones), unanswered probes make it dead, three probe answers bring it back', async () => {
  let now = 0;
  const { leg, sent } = fakeLeg();
  const changes: string[] = [];
  const pools = createPools(leg, { onStateChange: (_p, s, from, to) => changes.push(`${s.name}:${from}>${to}`) }, () => now, 5);
  const pool: PoolSpec = { name: 'main', mode: 'fail-over', responseWindowMs: 100, deadAfter: 2, checkIntervalMs: 50, servers: [server('a'), server('b')] };
  pools.update([pool]);
  try {
    assert.equal(pools.plan(pool).map((s) => s.name), ['a', 'b']);
    pools.send(pool, pool.servers[0]!, 'access', [], Buffer.alloc(16), { sendMs: 1, receiveMs: 1 });
    sent.at(-1)!.timeout();
    await tick();
    const state = () => Object.fromEntries(pools.health().map((h) => [h.server, h.state])) as Record<string, ServerState>;
    assert.equal(state(), { a: 'zombie', b: 'alive' });
    assert.equal(pools.plan(pool).map((s) => s.name), ['b', 'a']);
    assert.is(pools.summary(), 'degraded');
    // The zombie is probed with Status-Server; its probe goes unanswered: dead.
    now += 100;
    await new Promise((r) => setTimeout(r, 20));
    const probe = sent.find((x) => x.kind === 'status');
    assert.ok(probe, 'a probe was sent');
    assert.is(probe.server, 'a');
    probe.timeout();
    await tick();
    assert.is(state()['a'], 'dead');
    // Back: one answer is not enough for a dead server, three in a row are.
    for (let i = 0; i < REVIVE_ANSWERS; i++) {
      now += 100;
      await new Promise((r) => setTimeout(r, 20));
      const next = sent.filter((x) => x.kind === 'status').at(-1)!;
      next.answer();
      await tick();
      if (i < REVIVE_ANSWERS - 1) assert.is(state()['a'], 'dead');
    }
    assert.is(state()['a'], 'alive');
    assert.equal(changes, ['a:alive>zombie', 'a:zombie>dead', 'a:dead>alive']);
    assert.is(pools.summary(), 'ok');
  } finally {
    pools.close();
  }
});

P('load-balance prefers the server with fewer requests outstanding; a preferred server (sticky State) goes first unless dead; a pool of one plans one', () => {
  const { leg } = fakeLeg();
  const pools = createPools(leg, { onStateChange() {} });
  const pool: PoolSpec = { name: 'lb', mode: 'load-balance', responseWindowMs: 100, deadAfter: 2, checkIntervalMs: 1000, servers: [server('a'), server('b')] };
  pools.update([pool]);
  try {
    pools.send(pool, pool.servers[0]!, 'access', [], Buffer.alloc(16), { sendMs: 1, receiveMs: 1000 });
    assert.is(pools.plan(pool)[0]!.name, 'b');
    assert.is(pools.plan(pool, 'a')[0]!.name, 'a');
    const one: PoolSpec = { ...pool, name: 'one', servers: [server('c')] };
    pools.update([pool, one]);
    assert.equal(pools.plan(one).map((s) => s.name), ['c']);
    // Health survives a reload for servers that stay.
    assert.is(pools.health().find((h) => h.server === 'a')?.outstanding, 1);
  } finally {
    pools.close();
  }
});

P('a dead server that answers no probe (no Status-Server, as NPS) is tried with requests again after the revive interval', async () => {
  let now = 0;
  const { leg, sent } = fakeLeg();
  const pools = createPools(leg, { onStateChange() {} }, () => now, 5);
  const pool: PoolSpec = { name: 'nps', mode: 'fail-over', responseWindowMs: 100, deadAfter: 1, checkIntervalMs: 50, servers: [server('a'), server('b')] };
  pools.update([pool]);
  try {
    pools.send(pool, pool.servers[0]!, 'access', [], Buffer.alloc(16), { sendMs: 1, receiveMs: 1 });
    sent.at(-1)!.timeout();
    await tick();
    assert.is(pools.health()[0]!.state, 'dead');
    now += REVIVE_INTERVAL_MS - 1;
    await new Promise((r) => setTimeout(r, 20));
    assert.is(pools.health()[0]!.state, 'dead');
    now += 1;
    await new Promise((r) => setTimeout(r, 20));
    assert.is(pools.health()[0]!.state, 'alive');
    assert.equal(pools.plan(pool).map((s) => s.name), ['a', 'b']);
  } finally {
    pools.close();
  }
});

const R = suite('realms');

R('user@realm (the last @) and REALM\\user; names without a realm', () => {
  assert.equal(splitRealm('alice@corp.example'), { user: 'alice', realm: 'corp.example' });
  assert.equal(splitRealm('a@b@corp.example'), { user: 'a@b', realm: 'corp.example' });
  assert.equal(splitRealm('CORP\\alice'), { user: 'alice', realm: 'CORP' });
  assert.equal(splitRealm('alice'), { user: 'alice', realm: undefined });
  assert.equal(splitRealm('alice@'), { user: 'alice@', realm: undefined });
  assert.equal(splitRealm('\\alice'), { user: '\\alice', realm: undefined });
});

R('routes by realm without regard to case, strips where asked, DEFAULT takes the rest, else the default pool', () => {
  const t = buildRealmTable([
    { name: 'corp.example', pool: 'corp', strip: true },
    { name: 'LAB', pool: 'lab', strip: false },
    { name: 'DEFAULT', pool: 'main', strip: true },
  ]);
  assert.equal(t.route('alice@CORP.example'), { pool: 'corp', realm: 'corp.example', rewrite: 'alice' });
  assert.equal(t.route('lab\\bob'), { pool: 'lab', realm: 'LAB', rewrite: undefined });
  assert.equal(t.route('carol@other.example'), { pool: 'main', realm: 'DEFAULT', rewrite: 'carol' });
  assert.equal(t.route('dave'), { pool: 'main', realm: 'DEFAULT', rewrite: undefined });
  assert.equal(buildRealmTable([]).route('erin@x.example'), { pool: 'default', realm: undefined, rewrite: undefined });
});

const F = suite('RadSec framing and accounting sessions');

F('a stream is cut by each packet\'s Length; a partial packet waits; an impossible length is refused', () => {
  const pkt = (len: number, code = 1) => {
    const b = Buffer.alloc(len);
    b[0] = code;
    b.writeUInt16BE(len, 2);
    return b;
  };
  const two = Buffer.concat([pkt(20), pkt(30, 4)]);
  const all = splitFrames(two);
  assert.equal(all.packets.map((p) => p.length), [20, 30]);
  assert.is(all.rest.length, 0);
  const part = splitFrames(Buffer.concat([pkt(20), pkt(30).subarray(0, 10)]));
  assert.equal(part.packets.map((p) => p.length), [20]);
  assert.is(part.rest.length, 10);
  assert.is(splitFrames(Buffer.from([1, 0, 0, 2])).bad, true);
  assert.is(splitFrames(pkt(4097)).bad, true);
  assert.is(splitFrames(Buffer.from([1, 0])).packets.length, 0);
});

F('a session from accounting attributes: gigawords, NAS-Identifier or NAS-IP-Address, start from Acct-Session-Time', () => {
  const u32 = (type: number, v: number): Attribute => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return { type, value: b };
  };
  const s = sessionOf('vpn', '192.0.2.9', [{ type: Attr.UserName, value: Buffer.from('alice') }, { type: Attr.AcctSessionId, value: Buffer.from('x1') }, { type: Attr.NasIpAddress, value: Buffer.from([10, 0, 0, 1]) }, u32(Attr.AcctInputOctets, 10), u32(Attr.AcctInputGigawords, 2), u32(Attr.AcctSessionTime, 30), u32(Attr.NasPort, 4)], 100_000);
  assert.ok(s);
  assert.is(s.nas, '10.0.0.1');
  assert.is(s.inputBytes, 2 * 2 ** 32 + 10);
  assert.is(s.startedAt, 70_000);
  assert.is(s.nasPort, '4');
  assert.is(sessionOf('vpn', '192.0.2.9', [{ type: Attr.UserName, value: Buffer.from('alice') }], 0), undefined);
  assert.is(sessionOf('vpn', '192.0.2.9', [{ type: Attr.AcctSessionId, value: Buffer.from('y') }], 0)?.nas, '192.0.2.9');
});

P.run();
R.run();
F.run();
