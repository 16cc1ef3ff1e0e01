// app/routes/health.ts: /metrics carries the caller's counters and gauges, plus the event-loop
// delay measured in process (perf_hooks.monitorEventLoopDelay()).
import { setTimeout as delay } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHealthRoutes } from '../../app/routes/health.js';

const M = suite('routes/metrics');

const app = createHealthRoutes({ ready: () => true, metrics: () => '# TYPE gatehouse_requests_total counter\ngatehouse_requests_total 7\n' });
const read = async () => {
  const res = await app.request('/metrics');
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

M.run();
