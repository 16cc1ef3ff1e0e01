// app/audit/feed.ts (with app/audit/feed-transports.ts) over a real store and real loopback
// sockets: records are fed only once committed, as the export's JSON lines (stdout) and RFC 5424
// messages (syslog over UDP and TCP); a follower can neither delay nor fail a commit; records of
// other processes are fed in id order; a destination that is slow or down fills a bounded queue
// and the rest are dropped and counted; TCP reconnects; a changed option is taken up.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLine } from '../../app/audit/export.js';
import { createAuditFeed, FEED_COUNTERS, FEED_GAUGES, type AuditFeed, type FeedSettings } from '../../app/audit/feed.js';
import { openAuditLog, type AuditLog } from '../../app/audit/log.js';
import { syslogOrigin } from '../../app/audit/syslog.js';
import { openStore, type Store } from '../../app/db/open.js';
import { createLogger } from '../../app/lib/log.js';
import { Counters } from '../../app/lib/metrics.js';
import { waitFor } from '../helpers/appliance.js';
import { startCollector, type Collector } from '../helpers/syslog-collector.js';
import { collect } from '../helpers/collect.js';

interface Ctx {
  dir: string;
  master: Buffer;
  store: Store;
  log: AuditLog;
  counters: Counters;
  settings: FeedSettings;
  out: PassThrough;
  lines: string[];
  logLines: string[];
  feed?: AuditFeed;
  collectors: Collector[];
  others: Store[];
}

const F = suite<Ctx>('audit/feed', {} as Ctx);

F.before.each(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'gatehouse-feed-'));
  ctx.master = randomBytes(32);
  ctx.store = openStore(ctx.dir);
  ctx.log = await openAuditLog(ctx.store, ctx.master);
  ctx.counters = new Counters().declare(FEED_COUNTERS).describeGauges(FEED_GAUGES);
  ctx.settings = { auditStdout: 'no', auditSyslog: undefined };
  ctx.out = new PassThrough();
  ctx.lines = [];
  let pending = '';
  ctx.out.on('data', (d: Buffer) => {
    pending += d.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop()!;
    ctx.lines.push(...parts);
  });
  ctx.logLines = [];
  ctx.collectors = [];
  ctx.others = [];
  ctx.feed = undefined;
});

F.after.each(async (ctx) => {
  await ctx.feed?.close(100);
  for (const c of ctx.collectors) await c.close();
  for (const s of ctx.others) s.close();
  ctx.store.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const start = (ctx: Ctx, extra: { capacity?: number; stdout?: NodeJS.WritableStream } = {}) => {
  ctx.feed = createAuditFeed({
    settings: () => ctx.settings,
    audit: ctx.log,
    counters: ctx.counters,
    stdout: extra.stdout ?? ctx.out,
    origin: syslogOrigin('feed-test', 4242),
    log: createLogger('info', (l) => void ctx.logLines.push(l)),
    capacity: extra.capacity ?? 10_000,
    checkMs: 50,
    backoff: { minMs: 50, maxMs: 200 },
  });
  return ctx.feed;
};

const metric = (ctx: Ctx, series: string) => {
  const m = new RegExp(`^gatehouse_${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(ctx.counters.render(ctx.feed?.gauges() ?? {}));
  return m === null ? undefined : Number(m[1]);
};

const ev = (i: number) => ({ event: 'radius.auth', outcome: 'reject' as const, username: `user${i}`, reason: 'downstream_reject', source: `192.0.2.1:${40000 + i}`, client: 'vpn-1' });

F('off by default: nothing is followed, nothing written, the counters and gauges are there at zero', async (ctx) => {
  start(ctx);
  await ctx.log.auditor.commit(ev(1));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(ctx.lines, []);
  for (const s of ['audit_feed_sent_total{sink="stdout"}', 'audit_feed_sent_total{sink="syslog"}', 'audit_feed_dropped_total{sink="syslog",reason="queue_full"}', 'audit_feed_dropped_total{sink="stdout",reason="send_failed"}', 'audit_feed_queued{sink="syslog"}', 'audit_feed_connected{sink="stdout"}']) assert.is(metric(ctx, s), 0, s);
});

F('stdout: each committed record as the line `gatehouse audit export` gives, in order, from the feed start on', async (ctx) => {
  await ctx.log.auditor.commit(ev(0)); // before the feed: not replayed
  ctx.settings = { auditStdout: 'yes', auditSyslog: undefined };
  start(ctx);
  for (let i = 1; i <= 5; i++) void ctx.log.auditor.commit(ev(i));
  await ctx.log.auditor.record({ event: 'user.lock', outcome: 'ok', username: 'jürgen', actor: 'cli:root' });
  await waitFor('six lines', () => ctx.lines.length >= 6);
  const stored = (await collect(ctx.log.store.iterate())).slice(1);
  assert.equal(ctx.lines, stored.map(jsonLine));
  assert.equal(
    ctx.lines.map((l) => (JSON.parse(l) as { id: number }).id),
    [2, 3, 4, 5, 6, 7],
  );
  assert.is(metric(ctx, 'audit_feed_sent_total{sink="stdout"}'), 6);
  assert.is(metric(ctx, 'audit_feed_connected{sink="stdout"}'), 1);
});

F('after the commit, never before: a commit that fails feeds nothing; a follower that throws fails no commit', async (ctx) => {
  ctx.settings = { auditStdout: 'yes', auditSyslog: undefined };
  start(ctx);
  const failing = ctx.log.auditor.commit(ev(1), () => {
    throw new Error('store write failed');
  });
  let rejected = false;
  await failing.catch(() => (rejected = true));
  assert.ok(rejected, 'the commit failed');
  assert.is(await ctx.log.store.count(), 0);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(ctx.lines, [], 'nothing fed of a record that was not committed');
  // The follower hears of records once another connection (another process) can read them.
  const other = openStore(ctx.dir);
  ctx.others.push(other);
  const visible: number[] = [];
  ctx.log.follow((records) => {
    const n = other.sqlite.prepare('SELECT count(*) FROM audit_log WHERE id <= ?').pluck().get(records[records.length - 1]!.id) as number;
    visible.push(n - records[records.length - 1]!.id);
  });
  await Promise.all([ctx.log.auditor.commit(ev(4)), ctx.log.auditor.commit(ev(5))]);
  await ctx.log.auditor.record(ev(6));
  assert.equal(visible, [0, 0], 'each batch was committed when the follower heard of it');
  // A follower that throws: the record is committed and the caller answered all the same.
  ctx.log.follow(() => {
    throw new Error('follower broke');
  });
  await ctx.log.auditor.commit(ev(2));
  await ctx.log.auditor.record(ev(3));
  assert.is(await ctx.log.store.count(), 5);
});

F('records other processes commit (CLI commands) are fed too, in id order, before later ones of this process', async (ctx) => {
  ctx.settings = { auditStdout: 'yes', auditSyslog: undefined };
  start(ctx);
  await ctx.log.auditor.commit(ev(1));
  const other = openStore(ctx.dir);
  ctx.others.push(other);
  const cli = await openAuditLog(other, ctx.master);
  await cli.auditor.record({ event: 'client.add', outcome: 'ok', actor: 'cli:root', details: { address: '10.0.0.0/8' } });
  await cli.auditor.record({ event: 'user.add', outcome: 'ok', actor: 'cli:root', username: 'bob' });
  await ctx.log.auditor.commit(ev(2)); // id 4: 2 and 3 come first
  await waitFor('four lines', () => ctx.lines.length >= 4);
  assert.equal(
    ctx.lines.map((l) => (JSON.parse(l) as { event: string }).event),
    ['radius.auth', 'client.add', 'user.add', 'radius.auth'],
  );
  // With nothing committed here, the periodic check picks them up.
  await cli.auditor.record({ event: 'user.remove', outcome: 'ok', actor: 'cli:root', username: 'bob' });
  await waitFor('the fifth line', () => ctx.lines.length >= 5);
  assert.equal(JSON.parse(ctx.lines[4]!), JSON.parse(jsonLine((await ctx.log.store.last())!)));
  assert.equal(
    ctx.lines.map((l) => (JSON.parse(l) as { id: number }).id),
    [1, 2, 3, 4, 5],
  );
});

F('a stalled destination: the queue holds `capacity` records, the rest are dropped and counted', async (ctx) => {
  ctx.settings = { auditStdout: 'yes', auditSyslog: undefined };
  let writes = 0;
  // A reader that never takes anything: the first write never completes.
  const stalled = new Writable({ highWaterMark: 1, write: () => void writes++ });
  start(ctx, { capacity: 5, stdout: stalled });
  await ctx.log.auditor.commit(ev(0));
  await waitFor('the first write', () => writes === 1);
  for (let i = 1; i <= 12; i++) void ctx.log.auditor.commit(ev(i));
  await waitFor('the commits', async () => await ctx.log.store.count() === 13);
  await new Promise((r) => setTimeout(r, 50));
  assert.is(metric(ctx, 'audit_feed_queued{sink="stdout"}'), 5);
  assert.is(metric(ctx, 'audit_feed_dropped_total{sink="stdout",reason="queue_full"}'), 7);
  assert.is(metric(ctx, 'audit_feed_sent_total{sink="stdout"}'), 0);
  assert.is(writes, 1, 'one write in flight at a time');
});

F('syslog over UDP: one RFC 5424 message per record, authpriv, severity by outcome, MSGID the event, MSG the export line', async (ctx) => {
  const c = await startCollector('udp');
  ctx.collectors.push(c);
  ctx.settings = { auditStdout: 'no', auditSyslog: c.url };
  start(ctx);
  await waitFor('the socket', () => metric(ctx, 'audit_feed_connected{sink="syslog"}') === 1);
  await ctx.log.auditor.commit(ev(1));
  await ctx.log.auditor.record({ event: 'radius.drop', outcome: 'drop', reason: 'unknown_client', source: '203.0.113.9:1812' });
  await ctx.log.auditor.record({ event: 'radius.auth', outcome: 'error', reason: 'downstream_timeout', username: 'carol' });
  await c.waitForCount(3);
  const stored = (await collect(ctx.log.store.iterate()));
  c.messages.forEach((m, i) => {
    assert.is(m.version, 1);
    assert.is(m.facility, 10);
    assert.is(m.appName, 'gatehouse');
    assert.is(m.hostname, 'feed-test');
    assert.is(m.procId, '4242');
    assert.is(m.structuredData, '-');
    assert.is(m.msgId, stored[i]!.event);
    assert.is(m.timestamp, new Date(stored[i]!.time).toISOString());
    assert.is(m.msg, jsonLine(stored[i]!));
  });
  assert.equal(
    c.messages.map((m) => m.severity),
    [5, 4, 3],
  );
  assert.is(metric(ctx, 'audit_feed_sent_total{sink="syslog"}'), 3);
});

F('syslog over TCP: octet-counted frames; a dropped connection is made again and later records arrive; records wait while the collector is down', async (ctx) => {
  const c = await startCollector('tcp');
  ctx.collectors.push(c);
  ctx.settings = { auditStdout: 'no', auditSyslog: c.url };
  start(ctx);
  await waitFor('connected', () => metric(ctx, 'audit_feed_connected{sink="syslog"}') === 1);
  for (let i = 1; i <= 3; i++) await ctx.log.auditor.commit(ev(i));
  await c.waitForCount(3);
  assert.equal(
    c.messages.map((m) => m.record['username']),
    ['user1', 'user2', 'user3'],
  );
  // The collector resets the connection: the feed connects again (backoff 50 ms here).
  c.dropConnections();
  await waitFor('a second connection', () => c.connections() === 2);
  await waitFor('connected again', () => metric(ctx, 'audit_feed_connected{sink="syslog"}') === 1);
  await ctx.log.auditor.commit(ev(4));
  await c.waitForCount(4);
  // The collector goes away: records wait in the queue, and arrive once it is back.
  await c.close();
  await waitFor('disconnected', () => metric(ctx, 'audit_feed_connected{sink="syslog"}') === 0);
  for (let i = 5; i <= 7; i++) await ctx.log.auditor.commit(ev(i));
  await waitFor('three queued', () => metric(ctx, 'audit_feed_queued{sink="syslog"}') === 3);
  await c.listen();
  await c.waitForCount(7);
  assert.equal(
    c.messages.map((m) => m.record['id']),
    [1, 2, 3, 4, 5, 6, 7],
  );
  assert.is(c.problem(), undefined);
  assert.is(metric(ctx, 'audit_feed_dropped_total{sink="syslog",reason="queue_full"}'), 0);
  assert.ok(ctx.logLines.some((l) => /syslog collector unreachable/.test(l)), 'the outage is logged');
  assert.ok(ctx.logLines.some((l) => /syslog collector reconnected/.test(l)), 'the reconnection is logged');
});

F('syslog over TCP to a collector that stops reading: the queue fills and the rest are dropped and counted', async (ctx) => {
  const c = await startCollector('tcp');
  ctx.collectors.push(c);
  c.pause();
  ctx.settings = { auditStdout: 'no', auditSyslog: c.url };
  start(ctx, { capacity: 50 });
  await waitFor('connected', () => metric(ctx, 'audit_feed_connected{sink="syslog"}') === 1);
  // Enough to fill the socket buffers on both ends (several MB on loopback), then the queue.
  const details = { message: 'x'.repeat(1000) };
  // Fewer per turn than the queue holds: what fills it is the collector that does not read.
  for (let round = 0; round < 1000 && (metric(ctx, 'audit_feed_dropped_total{sink="syslog",reason="queue_full"}') ?? 0) === 0; round++) {
    for (let i = 0; i < 40; i++) void ctx.log.auditor.commit({ ...ev(i), details });
    await new Promise((r) => setTimeout(r, 5));
  }
  const dropped = metric(ctx, 'audit_feed_dropped_total{sink="syslog",reason="queue_full"}')!;
  assert.ok(dropped > 0, 'records were dropped');
  assert.is(metric(ctx, 'audit_feed_queued{sink="syslog"}'), 50);
  const sent = metric(ctx, 'audit_feed_sent_total{sink="syslog"}')!;
  // Reading again: what was queued arrives; every record is either sent, queued or dropped.
  c.resume();
  await waitFor('the queue drained', () => metric(ctx, 'audit_feed_queued{sink="syslog"}') === 0 && metric(ctx, 'audit_feed_sent_total{sink="syslog"}')! >= sent + 50, 20_000);
  const total = await ctx.log.store.count();
  await waitFor('all sent arrive', () => c.messages.length === metric(ctx, 'audit_feed_sent_total{sink="syslog"}'), 20_000);
  assert.is(metric(ctx, 'audit_feed_sent_total{sink="syslog"}')! + dropped, total);
  assert.is(c.problem(), undefined);
});

F('a changed option is taken up without a restart: on, to another collector, off', async (ctx) => {
  const a = await startCollector('udp');
  const b = await startCollector('tcp');
  ctx.collectors.push(a, b);
  start(ctx);
  ctx.settings = { auditStdout: 'no', auditSyslog: a.url };
  await ctx.feed!.check();
  await waitFor('a reachable', () => metric(ctx, 'audit_feed_connected{sink="syslog"}') === 1);
  await ctx.log.auditor.commit(ev(1));
  await a.waitForCount(1);
  ctx.settings = { auditStdout: 'yes', auditSyslog: b.url };
  await ctx.feed!.check();
  await waitFor('b connected', () => metric(ctx, 'audit_feed_connected{sink="syslog"}') === 1);
  await ctx.log.auditor.commit(ev(2));
  await b.waitForCount(1);
  await waitFor('the stdout line', () => ctx.lines.length === 1);
  assert.is(a.messages.length, 1);
  ctx.settings = { auditStdout: 'no', auditSyslog: undefined };
  await ctx.feed!.check();
  await ctx.log.auditor.commit(ev(3));
  await new Promise((r) => setTimeout(r, 150));
  assert.is(b.messages.length, 1);
  assert.is(ctx.lines.length, 1);
  assert.is(metric(ctx, 'audit_feed_connected{sink="syslog"}'), 0);
});

F.run();
