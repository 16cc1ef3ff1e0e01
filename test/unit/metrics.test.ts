// app/lib/metrics.ts, app/lib/process-metrics.ts and app/lib/process-events.ts: the exposition
// has HELP and TYPE for every family; declared counters are there at zero with their known
// reasons; latency histograms per front door are cumulative with +Inf = _count; RADIUS clients
// are labelled up to a bound, the rest as "other", with label values escaped; build info and
// the process's own metrics; fatal errors logged as one JSON line before exit(1).
import { EventEmitter } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../app/lib/log.js';
import { Counters, LATENCY_BUCKETS, reasons } from '../../app/lib/metrics.js';
import { exitOnFatal } from '../../app/lib/process-events.js';
import { renderProcessMetrics } from '../../app/lib/process-metrics.js';
import { ENGINE_COUNTERS } from '../../app/mfa/engine.js';
import { RADIUS_COUNTERS } from '../../app/radius/proxy.js';
import { parseExposition, sample } from '../helpers/prometheus.js';

const M = suite('lib/metrics');

/** A clock the test moves. */
const clock = () => {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

M('declared counters are shown at zero, with every known reason, HELP and TYPE; counted ones join them', () => {
  const k = new Counters().declare([...RADIUS_COUNTERS, ...ENGINE_COUNTERS]).describeGauges({ pending_logins: 'Logins waiting.' });
  const before = parseExposition(k.render({ pending_logins: 0 }));
  assert.is(sample(before, 'gatehouse_requests_total'), 0);
  for (const r of ['unknown_client', 'malformed', 'bad_message_authenticator', 'missing_message_authenticator', 'unsupported_code', 'rate_limited']) assert.is(sample(before, `gatehouse_drops_total{reason="${r}"}`), 0, r);
  for (const r of ['push_approved', 'totp_ok', 'unenrolled_allowed', 'failmode_safe']) assert.is(sample(before, `gatehouse_accepts_total{reason="${r}"}`), 0, r);
  for (const r of ['downstream_reject', 'no_downstream', 'push_denied', 'push_expired', 'push_limited', 'locked', 'totp_wrong', 'state_expired']) assert.is(sample(before, `gatehouse_rejects_total{reason="${r}"}`), 0, r);
  for (const r of ['downstream_timeout', 'audit_write', 'internal']) assert.is(sample(before, `gatehouse_errors_total{reason="${r}"}`), 0, r);
  assert.is(sample(before, 'gatehouse_push_limited_total{reason="rate"}'), 0);
  assert.is(before.get('gatehouse_drops_total')!.help, 'RADIUS packets dropped without an answer, by reason.');
  assert.is(before.get('gatehouse_pending_logins')!.type, 'gauge');
  assert.is(before.get('gatehouse_pending_logins')!.help, 'Logins waiting.');
  k.inc('drops', 'malformed', 3);
  k.inc('requests');
  k.inc('something_new', 'why');
  const after = parseExposition(k.render());
  assert.is(sample(after, 'gatehouse_drops_total{reason="malformed"}'), 3);
  assert.is(sample(after, 'gatehouse_requests_total'), 1);
  assert.is(sample(after, 'gatehouse_something_new_total{reason="why"}'), 1);
  // The dashboard and the API's snapshot show only what was counted.
  assert.equal(k.snapshot(), { 'drops{reason="malformed"}': 3, requests: 1, 'something_new{reason="why"}': 1 });
  assert.is(k.total('drops'), 3);
});

M('labels other than reason (add) and labelled gauges render as one family each', () => {
  const k = new Counters().declare([{ name: 'audit_feed_sent', help: 'Sent.', series: ['sink="stdout"', 'sink="syslog"'] }]);
  k.add('audit_feed_sent', 'sink="syslog"', 5);
  const f = parseExposition(k.render({ 'audit_feed_queued{sink="stdout"}': 1, 'audit_feed_queued{sink="syslog"}': 2, plain: 3 }));
  assert.is(sample(f, 'gatehouse_audit_feed_sent_total{sink="syslog"}'), 5);
  assert.is(sample(f, 'gatehouse_audit_feed_sent_total{sink="stdout"}'), 0);
  assert.is(f.get('gatehouse_audit_feed_queued')!.samples.size, 2);
  assert.is(sample(f, 'gatehouse_plain'), 3);
  assert.equal(reasons(['a', 'b']), ['reason="a"', 'reason="b"']);
});

M('latency: a histogram per front door, present from the start, cumulative, +Inf = count, sum in seconds', () => {
  const c = clock();
  const k = new Counters({ now: c.now });
  let f = parseExposition(k.render());
  const h = f.get('gatehouse_request_duration_seconds')!;
  assert.is(h.type, 'histogram');
  for (const door of ['radius', 'pipe', 'agent']) {
    assert.is(sample(f, `gatehouse_request_duration_seconds_count{door="${door}"}`), 0, door);
    assert.is(sample(f, `gatehouse_request_duration_seconds_bucket{door="${door}",le="+Inf"}`), 0, door);
  }
  const observe = (door: 'radius' | 'pipe' | 'agent', ms: number) => {
    const t = k.latency.now();
    c.advance(ms);
    k.latency.observe(door, t);
  };
  observe('radius', 0.4); // <= 1 ms
  observe('radius', 1); // exactly on a bound: in it
  observe('radius', 30); // 50 ms bucket
  observe('radius', 20_000); // 30 s bucket
  observe('radius', 500_000); // beyond the last bound
  observe('pipe', 3);
  f = parseExposition(k.render());
  const b = (le: string, door = 'radius') => sample(f, `gatehouse_request_duration_seconds_bucket{door="${door}",le="${le}"}`);
  assert.is(b('0.001'), 2);
  assert.is(b('0.025'), 2);
  assert.is(b('0.05'), 3);
  assert.is(b('10'), 3);
  assert.is(b('30'), 4);
  assert.is(b('120'), 4);
  assert.is(b('+Inf'), 5);
  assert.is(sample(f, 'gatehouse_request_duration_seconds_count{door="radius"}'), 5);
  assert.ok(Math.abs(sample(f, 'gatehouse_request_duration_seconds_sum{door="radius"}')! - 520.0314) < 1e-6);
  assert.is(b('0.0025', 'pipe'), 0);
  assert.is(b('0.005', 'pipe'), 1);
  assert.is(sample(f, 'gatehouse_request_duration_seconds_count{door="agent"}'), 0);
  assert.is(h.samples.size, 3 * (LATENCY_BUCKETS.length + 3));
});

M('per-client counters: at most N clients by name (configured ones shown at zero), the rest as "other", names escaped', () => {
  const k = new Counters({ maxClients: 3 });
  const vpn = k.clients.request('vpn-1');
  k.clients.answered(vpn, 'accept');
  k.clients.answered(k.clients.request('vpn-1'), 'reject');
  k.clients.answered(k.clients.request('wifi "north"\\ap\nx'), 'challenge');
  for (const name of ['lab-4', 'lab-5', 'lab-6']) k.clients.answered(k.clients.request(name), 'reject');
  const f = parseExposition(k.render({}, 'gatehouse_', ['configured-but-idle', 'vpn-1']));
  const req = (c: string) => sample(f, `gatehouse_radius_client_requests_total{client="${c}"}`);
  const ans = (c: string, o: string) => sample(f, `gatehouse_radius_client_answers_total{client="${c}",outcome="${o}"}`);
  assert.is(req('vpn-1'), 2);
  assert.is(ans('vpn-1', 'accept'), 1);
  assert.is(ans('vpn-1', 'reject'), 1);
  assert.is(ans('vpn-1', 'challenge'), 0);
  assert.is(req('wifi \\"north\\"\\\\ap\\nx'), 1);
  assert.is(req('lab-4'), 1);
  // The bound (3) is reached: lab-5 and lab-6 are "other", and so is the idle configured one.
  assert.is(req('lab-5'), undefined);
  assert.is(req('configured-but-idle'), undefined);
  assert.is(req('other'), 2);
  assert.is(ans('other', 'reject'), 2);
  assert.is(f.get('gatehouse_radius_client_requests_total')!.samples.size, 4);
  assert.is(f.get('gatehouse_radius_client_answers_total')!.samples.size, 12);
  // Configured clients get their label before their first request while there is room.
  const fresh = new Counters({ maxClients: 5 });
  assert.is(sample(parseExposition(fresh.render({}, 'gatehouse_', ['vpn-a', 'vpn-b'])), 'gatehouse_radius_client_requests_total{client="vpn-b"}'), 0);
});

M('build info and the process metrics: the names Prometheus client libraries use, sensible values', () => {
  const f = parseExposition(renderProcessMetrics({ version: '1.2.3', node: process.version }));
  assert.is(sample(f, `gatehouse_build_info{version="1.2.3",node="${process.version}"}`), 1);
  assert.ok(sample(f, 'process_resident_memory_bytes')! > 10 * 1024 * 1024);
  assert.ok(sample(f, 'nodejs_heap_size_used_bytes')! > 0);
  assert.ok(sample(f, 'nodejs_heap_size_total_bytes')! >= sample(f, 'nodejs_heap_size_used_bytes')!);
  assert.ok(sample(f, 'nodejs_external_memory_bytes')! >= 0);
  assert.is(f.get('process_cpu_seconds_total')!.type, 'counter');
  const cpu = sample(f, 'process_cpu_seconds_total')!;
  assert.ok(cpu > 0 && Math.abs(cpu - sample(f, 'process_cpu_user_seconds_total')! - sample(f, 'process_cpu_system_seconds_total')!) < 1e-5);
  const start = sample(f, 'process_start_time_seconds')!;
  assert.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) < 2, String(start));
  // Linux shows file descriptors in /proc.
  assert.ok(sample(f, 'process_open_fds')! >= 3);
  assert.ok(sample(f, 'process_max_fds')! >= sample(f, 'process_open_fds')!);
});

M('a fatal error is one JSON line (message, name, stack) before exit(1); the first one only', () => {
  const proc = new EventEmitter();
  const lines: string[] = [];
  const exits: number[] = [];
  exitOnFatal({ log: createLogger('info', (l) => void lines.push(l)), exit: (c) => void exits.push(c), proc });
  proc.emit('uncaughtException', new TypeError('boom\nsecond line'), 'uncaughtException');
  proc.emit('unhandledRejection', new Error('later'));
  assert.equal(exits, [1]);
  assert.is(lines.length, 1);
  assert.not.match(lines[0]!.slice(0, -1), '\n');
  const j = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.is(j['level'], 'error');
  assert.is(j['msg'], 'uncaught exception; exiting');
  assert.is(j['error'], 'boom\nsecond line');
  assert.is(j['name'], 'TypeError');
  assert.match(String(j['stack']), /TypeError: boom/);
  assert.is(j['origin'], 'uncaughtException');
  // A rejection with something that is not an Error.
  const p2 = new EventEmitter();
  const l2: string[] = [];
  exitOnFatal({ log: createLogger('info', (l) => void l2.push(l)), exit: () => {}, proc: p2 });
  p2.emit('unhandledRejection', 'just a string');
  assert.equal(JSON.parse(l2[0]!), { ...(JSON.parse(l2[0]!) as object), level: 'error', msg: 'unhandled promise rejection; exiting', error: 'just a string' });
});

M.run();
