// The audit feed of a running bin/gatehouse (--audit-stdout, --audit-syslog), against syslog
// collectors on loopback (UDP and TCP sockets in this test): every record the appliance commits
// (RADIUS decisions and drops, service start and stop, head records) and every record a
// `gatehouse` command commits on the same store arrives once, in id order, as the line `gatehouse
// audit export` gives (stdout) and as an RFC 5424 message (syslog); a stored setting switches the
// collector without a restart; a TCP collector that resets or goes away gets the records once it
// is back; the feed's counters are in /metrics.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr } from '../../app/radius/codec.js';
import { rm } from 'node:fs/promises';
import { auditRecords, runCli, startAppliance, tempDir, waitFor, type Appliance } from '../helpers/appliance.js';
import { parseExposition, sample } from '../helpers/prometheus.js';
import { createTestClient, str, type TestClient } from '../helpers/radius-client.js';
import { startCollector, type Collector } from '../helpers/syslog-collector.js';

const SECRET = 'feed-client-secret';
const PASSWORD = 'feed-user-password-Zq7';

interface Ctx {
  gh: Appliance;
  udp: Collector;
  tcp: Collector;
  client: TestClient;
  dataDir: string;
  /** The id of the first record fed (service.start): what was stored before the start is not replayed. */
  first: number;
}

const Feed = suite<Ctx>('audit feed (stdout, syslog over UDP and TCP)', {} as Ctx);

Feed.before(async (ctx) => {
  ctx.udp = await startCollector('udp');
  ctx.tcp = await startCollector('tcp');
  // The collector is a stored setting (so that `settings set` can change it while running; a flag
  // or variable would win over it); standard output is on by flag.
  ctx.dataDir = await tempDir();
  const set = await runCli(['settings', 'set', 'audit-syslog', ctx.udp.url, '--data-dir', ctx.dataDir]);
  assert.is(set.code, 0, set.stderr);
  ctx.gh = await startAppliance({ dataDir: ctx.dataDir, args: ['--address-secret-in', `127.0.0.1:${SECRET}`, '--audit-stdout', 'yes'] });
  ctx.first = 2;
  ctx.client = await createTestClient({ port: ctx.gh.radiusPort, secret: SECRET });
});

Feed.after(async (ctx) => {
  await ctx.client?.close();
  if (ctx.gh && ctx.gh.child.exitCode === null) await ctx.gh.stop();
  await ctx.udp?.close();
  await ctx.tcp?.close();
  if (ctx.dataDir) await rm(ctx.dataDir, { recursive: true, force: true });
});

const metrics = async (gh: Appliance) => parseExposition(await (await fetch(`http://127.0.0.1:${gh.httpPort}/metrics`)).text());
const stdoutRecords = (ctx: Ctx) =>
  ctx.gh
    .stdout()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
/** A RADIUS login that the appliance answers at once (no downstream server here): one radius.auth record. */
const login = async (ctx: Ctx, user: string) => {
  const res = await ctx.client.request(ctx.client.build([str(Attr.UserName, user)], { password: PASSWORD }), 5000);
  assert.ok(res, `an answer for ${user}`);
};

Feed('stdout and UDP syslog: the service start, RADIUS decisions, a drop and a CLI change, each once, as the export has them', async (ctx) => {
  const { gh, udp } = ctx;
  await udp.waitForCount(1);
  assert.is(udp.messages[0]!.msgId, 'service.start');
  await login(ctx, 'alice');
  await login(ctx, 'bob');
  const nameless = await ctx.client.request(ctx.client.build([], { password: PASSWORD }), 5000);
  assert.ok(nameless);
  // An unknown client: dropped, audited as a drop.
  const stranger = await createTestClient({ port: gh.radiusPort, secret: 'not-configured-secret', bindAddress: '127.0.0.2' });
  stranger.send(stranger.build([str(Attr.UserName, 'mallory')], { password: PASSWORD }));
  // A change made by another process on the same store.
  const add = await gh.cli(['user', 'add', 'carol']);
  assert.is(add.code, 0, add.stderr);
  await waitFor('the drop and the CLI record in the feed', () => udp.messages.some((m) => m.msgId === 'radius.drop') && udp.messages.some((m) => m.msgId === 'user.add'));
  await stranger.close();
  const all = await auditRecords(gh);
  assert.is(all[0]!['event'], 'settings.set', 'stored before the start: not fed');
  const exported = all.slice(ctx.first - 1);
  await udp.waitForCount(exported.length);
  await waitFor('every record on stdout', () => stdoutRecords(ctx).length >= exported.length);
  // Exactly the export, record for record, in id order, on both.
  assert.equal(stdoutRecords(ctx), exported);
  assert.equal(
    udp.messages.map((m) => m.record),
    exported,
  );
  assert.equal(
    exported.map((r) => r['id']),
    exported.map((_, i) => i + ctx.first),
  );
  const byEvent = (e: string) => udp.messages.filter((m) => m.msgId === e);
  assert.equal(
    byEvent('radius.auth').map((m) => [m.record['username'], m.record['outcome'], m.record['reason'], m.severity]),
    [
      ['alice', 'reject', 'no_downstream', 5],
      ['bob', 'reject', 'no_downstream', 5],
      [null, 'reject', 'no_user_name', 5],
    ],
  );
  assert.is(byEvent('radius.drop')[0]!.severity, 4);
  assert.is(byEvent('radius.drop')[0]!.record['reason'], 'unknown_client');
  assert.match(String(byEvent('user.add')[0]!.record['actor']), /^cli:/);
  for (const m of udp.messages) {
    assert.is(m.facility, 10, 'authpriv');
    assert.is(m.appName, 'gatehouse');
    assert.is(m.procId, String(gh.child.pid));
    assert.is(m.version, 1);
    assert.is(m.timestamp, m.record['time']);
    assert.not.match(m.raw, PASSWORD);
    assert.not.match(m.raw, SECRET);
  }
  assert.not.match(ctx.gh.stdout(), PASSWORD);
  const f = await metrics(gh);
  assert.is(sample(f, 'gatehouse_audit_feed_sent_total{sink="stdout"}'), exported.length);
  assert.is(sample(f, 'gatehouse_audit_feed_sent_total{sink="syslog"}'), exported.length);
  assert.is(sample(f, 'gatehouse_audit_feed_dropped_total{sink="syslog",reason="queue_full"}'), 0);
  assert.is(sample(f, 'gatehouse_audit_feed_connected{sink="syslog"}'), 1);
});

Feed('a stored setting moves the feed to a TCP collector without a restart; octet-counted frames; a reset connection is made again', async (ctx) => {
  const { gh, udp, tcp } = ctx;
  const set = await gh.cli(['settings', 'set', 'audit-syslog', tcp.url]);
  assert.is(set.code, 0, set.stderr);
  await waitFor('the TCP connection', () => tcp.connections() === 1);
  const udpBefore = udp.messages.length;
  await login(ctx, 'dave');
  await waitFor('dave over TCP', () => tcp.messages.some((m) => m.record['username'] === 'dave'));
  assert.is(udp.messages.length, udpBefore, 'nothing more over UDP');
  // The collector resets the connection: Gatehouse connects again (after 0.5 s) and goes on.
  tcp.dropConnections();
  await waitFor('a second connection', () => tcp.connections() === 2, 10_000);
  await login(ctx, 'erin');
  await waitFor('erin over TCP', () => tcp.messages.some((m) => m.record['username'] === 'erin'));
  assert.is(tcp.problem(), undefined);
});

Feed('a TCP collector that goes away: records wait (queued in /metrics) and arrive in order when it is back; none missing', async (ctx) => {
  const { gh, tcp } = ctx;
  await tcp.close();
  await waitFor('disconnected', async () => sample(await metrics(gh), 'gatehouse_audit_feed_connected{sink="syslog"}') === 0);
  for (const u of ['frank', 'grace', 'heidi']) await login(ctx, u);
  await waitFor('three queued', async () => sample(await metrics(gh), 'gatehouse_audit_feed_queued{sink="syslog"}')! >= 3);
  await tcp.listen();
  await waitFor('heidi over TCP', () => tcp.messages.some((m) => m.record['username'] === 'heidi'), 15_000);
  // Since the switch to TCP: every record, each once, ids consecutive.
  const ids = tcp.messages.map((m) => Number(m.record['id']));
  assert.equal(
    ids,
    ids.map((_, i) => ids[0]! + i),
  );
  const exported = await auditRecords(gh);
  assert.equal(
    tcp.messages.map((m) => m.record),
    exported.slice(ids[0]! - 1),
  );
  const f = await metrics(gh);
  assert.is(sample(f, 'gatehouse_audit_feed_dropped_total{sink="syslog",reason="queue_full"}'), 0);
  assert.is(sample(f, 'gatehouse_audit_feed_queued{sink="syslog"}'), 0);
});

Feed('at SIGTERM the last records (service.stop, the head record) are written before the process exits', async (ctx) => {
  const { gh, tcp } = ctx;
  assert.is(await gh.stop(), 0);
  const lines = stdoutRecords(ctx);
  assert.equal(
    lines.slice(-2).map((r) => r['event']),
    ['service.stop', 'audit.head'],
  );
  assert.equal(
    tcp.messages.slice(-2).map((m) => m.msgId),
    ['service.stop', 'audit.head'],
  );
  assert.equal(
    lines.map((r) => r['id']),
    lines.map((_, i) => i + ctx.first),
  );
});

Feed.run();
