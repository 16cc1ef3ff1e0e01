// app/routes/health.ts: /metrics carries the caller's counters and gauges, plus the event-loop
// delay measured in process (perf_hooks.monitorEventLoopDelay()); it is served to loopback, or to
// other hosts with the metrics bearer token. The peer address is what the Node server adapter
// reports (`env.incoming.socket`), set here per request.
import { setTimeout as delay } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHealthRoutes } from '../../app/routes/health.js';

const M = suite('routes/metrics');

const TOKEN = 'prometheus-scrape-token-1';
const app = createHealthRoutes({ ready: () => true, metrics: () => '# TYPE gatehouse_requests_total counter\ngatehouse_requests_total 7\n', metricsToken: () => TOKEN });
const from = (remoteAddress: string) => ({ incoming: { socket: { remoteAddress, remotePort: 40000, remoteFamily: remoteAddress.includes(':') ? 'IPv6' : 'IPv4' } } });
const read = async () => {
  const res = await app.request('/metrics', {}, from('127.0.0.1'));
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', 'text/plain');
  return res.text();
};
const gauge = (text: string, name: string) => {
  const m = new RegExp(`^# TYPE ${name} gauge\\n${name} ([0-9.]+)$`, 'm').exec(text);
  assert.ok(m, `${name} missing in:\n${text}`);
  return Number(m![1]);
};

M('the counters of the caller come first, then the event-loop delay gauges', async () => {
  const text = await read();
  assert.ok(text.startsWith('# TYPE gatehouse_requests_total counter\ngatehouse_requests_total 7\n'));
  for (const name of ['gatehouse_event_loop_delay_p50_seconds', 'gatehouse_event_loop_delay_p99_seconds', 'gatehouse_event_loop_delay_max_seconds']) {
    assert.ok(gauge(text, name) >= 0);
    assert.match(text, `# HELP ${name} `);
  }
});

M('a blocked event loop shows in the max gauge', async () => {
  await read(); // the monitor runs from the first read on
  await delay(30);
  const until = performance.now() + 150;
  while (performance.now() < until) {
    // block the event loop
  }
  await delay(30);
  const text = await read();
  assert.ok(gauge(text, 'gatehouse_event_loop_delay_max_seconds') >= 0.1, text);
  assert.ok(gauge(text, 'gatehouse_event_loop_delay_max_seconds') >= gauge(text, 'gatehouse_event_loop_delay_p99_seconds'));
});

M('another host is refused without the token (403, nothing of the counters), and served with it', async () => {
  for (const peer of ['192.0.2.7', '2001:db8::5', '::ffff:192.0.2.7']) {
    const res = await app.request('/metrics', {}, from(peer));
    assert.is(res.status, 403, peer);
    assert.not.match(await res.text(), /gatehouse_requests_total/);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await app.request('/metrics', { headers: { Authorization: `Bearer ${TOKEN}x` } }, from(peer));
    assert.is(wrong.status, 403);
    const ok = await app.request('/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } }, from(peer));
    assert.is(ok.status, 200);
    assert.match(await ok.text(), /gatehouse_requests_total 7/);
  }
  for (const peer of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.is((await app.request('/metrics', {}, from(peer))).status, 200, peer);
  // Without a token configured, only loopback is served.
  const closed = createHealthRoutes({ ready: () => true, metrics: () => 'x 1\n', metricsToken: () => undefined });
  assert.is((await closed.request('/metrics', { headers: { Authorization: 'Bearer anything-at-all' } }, from('192.0.2.7'))).status, 403);
  // A request without a peer address (no socket) is not loopback.
  assert.is((await closed.request('/metrics')).status, 403);
  // /healthz stays public.
  assert.is((await closed.request('/healthz', {}, from('192.0.2.7'))).status, 200);
});

M.run();
