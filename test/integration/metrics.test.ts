// /metrics of a running bin/gatehouse, read strictly (test/helpers/prometheus.ts): HELP and TYPE
// for every family, counters at zero with their known reasons from the start, the names tests and
// bench/ read still there, latency histograms per front door (RADIUS, the Windows logon pipe, the
// agent API) counting answered requests only, per-client counters by the RADIUS client's name,
// build info and the process's metrics. And the process's own events as JSON lines like the rest
// of its log: SIGTERM and SIGINT, an uncaught exception and an unhandled rejection (exit 1).
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr } from '../../app/radius/codec.js';
import { ROOT, startAppliance, tempDir, waitFor, type Appliance } from '../helpers/appliance.js';
import { connectPipe } from '../helpers/pipe-client.js';
import { parseExposition, sample, type Family } from '../helpers/prometheus.js';
import { createTestClient, str } from '../helpers/radius-client.js';

const SECRET = 'metrics-client-secret';
const FATAL_TRIGGER = join(ROOT, 'test', 'helpers', 'fatal-trigger.mjs');

interface Ctx {
  gh: Appliance;
  dir: string;
  pipePath: string;
  agentToken: string;
}

const read = async (gh: Appliance): Promise<Map<string, Family>> => {
  const res = await fetch(`http://127.0.0.1:${gh.httpPort}/metrics`);
  assert.is(res.status, 200);
  return parseExposition(await res.text());
};

/** Every line of the process's output is a JSON object (stdout is empty without the audit feed). */
const jsonLines = (gh: Appliance) =>
  gh
    .output()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`a log line that is not JSON: ${l}`);
      }
    });

const Metrics = suite<Ctx>('/metrics of a running appliance', {} as Ctx);

Metrics.before(async (ctx) => {
  ctx.dir = await tempDir('gatehouse-metrics-');
  ctx.pipePath = join(ctx.dir, 'logon.sock');
  ctx.gh = await startAppliance({ args: ['--address-secret-in', `127.0.0.1:${SECRET}`, '--pipe-path', ctx.pipePath] });
  const add = await ctx.gh.cli(['client', 'add', '127.0.0.3', 'another-secret-1', '--name', 'vpn-east']);
  assert.is(add.code, 0, add.stderr);
  const token = await ctx.gh.cli(['agent-token', 'create', 'PC-9']);
  assert.is(token.code, 0, token.stderr);
  ctx.agentToken = token.stdout.trim();
});

Metrics.after(async (ctx) => {
  if (ctx.gh && ctx.gh.child.exitCode === null) await ctx.gh.stop();
  await rm(ctx.dir, { recursive: true, force: true });
});

Metrics('from the start: HELP and TYPE for every family, counters at zero by reason, histograms per door, clients, build info, process metrics', async ({ gh }) => {
  await waitFor('the stored client in the table', async () => sample(await read(gh), 'gatehouse_radius_client_requests_total{client="vpn-east"}') === 0);
  const f = await read(gh);
  for (const [name, fam] of f) {
    assert.ok(fam.help.length > 10, `${name} has a help text`);
    if (fam.type === 'counter') assert.ok(fam.samples.size > 0, `${name} has its series`);
  }
  // Counters at zero, with their known reasons, before anything happened.
  for (const s of ['gatehouse_packets_total', 'gatehouse_requests_total', 'gatehouse_retransmissions_total', 'gatehouse_pipe_errors_total', 'gatehouse_drops_total{reason="unknown_client"}', 'gatehouse_drops_total{reason="malformed"}', 'gatehouse_drops_total{reason="rate_limited"}', 'gatehouse_accepts_total{reason="push_approved"}', 'gatehouse_rejects_total{reason="push_denied"}', 'gatehouse_rejects_total{reason="downstream_reject"}', 'gatehouse_challenges_total{reason="totp_challenge"}', 'gatehouse_errors_total{reason="downstream_timeout"}', 'gatehouse_errors_total{reason="audit_write"}', 'gatehouse_push_limited_total{reason="pending"}', 'gatehouse_audit_feed_dropped_total{sink="syslog",reason="queue_full"}']) {
    assert.is(sample(f, s), 0, s);
  }
  for (const door of ['radius', 'pipe', 'agent']) {
    assert.is(f.get('gatehouse_request_duration_seconds')!.type, 'histogram');
    assert.is(sample(f, `gatehouse_request_duration_seconds_count{door="${door}"}`), 0, door);
  }
  // The configured clients, by name (a flag's client is named by its address), and "other".
  for (const c of ['127.0.0.1/32', 'vpn-east', 'other']) {
    assert.is(sample(f, `gatehouse_radius_client_requests_total{client="${c}"}`), 0, c);
    assert.is(sample(f, `gatehouse_radius_client_answers_total{client="${c}",outcome="reject"}`), 0, c);
  }
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.is(sample(f, `gatehouse_build_info{version="${version}",node="${process.version}"}`), 1);
  assert.ok(sample(f, 'process_resident_memory_bytes')! > 10e6);
  assert.ok(sample(f, 'process_cpu_seconds_total')! > 0);
  assert.ok(sample(f, 'process_open_fds')! > 5);
  assert.ok(sample(f, 'process_max_fds')! > 0);
  assert.ok(sample(f, 'nodejs_heap_size_used_bytes')! > 0);
  const started = sample(f, 'process_start_time_seconds')!;
  assert.ok(started > Date.now() / 1000 - 120 && started <= Date.now() / 1000, String(started));
  // Names that tests and bench/ read are kept.
  for (const g of ['gatehouse_pending_logins', 'gatehouse_pending_pushes', 'gatehouse_downstream_in_flight', 'gatehouse_radius_requests_remembered', 'gatehouse_process_resident_memory_bytes', 'gatehouse_process_heap_used_bytes', 'gatehouse_event_loop_delay_p50_seconds', 'gatehouse_event_loop_delay_p99_seconds', 'gatehouse_event_loop_delay_max_seconds']) {
    assert.is(f.get(g)?.type, 'gauge', g);
  }
});

Metrics('latency per front door counts answered requests (not retransmissions, not health checks); the client is counted by name', async ({ gh, pipePath, agentToken }) => {
  // RADIUS: answered at once (no downstream server here: no_downstream).
  const client = await createTestClient({ port: gh.radiusPort, secret: SECRET });
  const req = client.build([str(Attr.UserName, 'alice')], { password: 'alice-password' });
  assert.ok(await client.request(req, 5000));
  client.send(req); // a retransmission: answered from the cache
  await waitFor('the retransmission counted', async () => sample(await read(gh), 'gatehouse_retransmissions_total') === 1);
  await client.close();
  // The Windows logon pipe: a health check (not timed) and a logon (timed).
  const pipe = await connectPipe(pipePath);
  assert.is((await pipe.request({ op: 'health' }))['status'], 'ok');
  assert.is((await pipe.request({ op: 'authenticate', username: 'walter', domain: 'CORP', workstation: 'PC-1', scenario: 'logon' }))['result'], 'unknown_user');
  pipe.end();
  // The agent API.
  const res = await fetch(`http://127.0.0.1:${gh.httpPort}/api/v1/agent/authenticate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 1, op: 'authenticate', username: 'walter', domain: 'CORP', workstation: 'PC-9', scenario: 'unlock' }),
  });
  assert.is(res.status, 200, await res.clone().text());
  assert.is(((await res.json()) as Record<string, unknown>)['result'], 'unknown_user');

  const f = await read(gh);
  for (const door of ['radius', 'pipe', 'agent']) {
    assert.is(sample(f, `gatehouse_request_duration_seconds_count{door="${door}"}`), 1, door);
    assert.is(sample(f, `gatehouse_request_duration_seconds_bucket{door="${door}",le="+Inf"}`), 1, door);
    const sum = sample(f, `gatehouse_request_duration_seconds_sum{door="${door}"}`)!;
    assert.ok(sum > 0 && sum < 5, `${door}: ${sum} s`);
  }
  // Answered without waiting on anyone: within a second.
  assert.is(sample(f, 'gatehouse_request_duration_seconds_bucket{door="radius",le="1"}'), 1);
  assert.is(sample(f, 'gatehouse_requests_total'), 1);
  assert.is(sample(f, 'gatehouse_rejects_total{reason="no_downstream"}'), 1);
  assert.is(sample(f, 'gatehouse_radius_client_requests_total{client="127.0.0.1/32"}'), 1);
  assert.is(sample(f, 'gatehouse_radius_client_answers_total{client="127.0.0.1/32",outcome="reject"}'), 1);
  assert.is(sample(f, 'gatehouse_radius_client_requests_total{client="vpn-east"}'), 0);
});

Metrics('SIGTERM is logged as a JSON line ("SIGTERM received, stopping"); every line of the log is JSON; exit 0', async ({ gh }) => {
  assert.is(await gh.stop('SIGTERM'), 0);
  const lines = jsonLines(gh);
  const sig = lines.find((l) => l['msg'] === 'SIGTERM received, stopping');
  assert.ok(sig, gh.output());
  assert.is(sig!['level'], 'info');
  assert.is(sig!['signal'], 'SIGTERM');
  assert.ok(lines.indexOf(sig!) < lines.findIndex((l) => l['msg'] === 'gatehouse stopped'));
});

Metrics('SIGINT likewise', async () => {
  const gh = await startAppliance();
  assert.is(await gh.stop('SIGINT'), 0);
  const sig = jsonLines(gh).find((l) => l['msg'] === 'SIGINT received, stopping');
  assert.ok(sig, gh.output());
  assert.is(sig!['signal'], 'SIGINT');
});

for (const [kind, msg, error, name] of [
  ['throw', 'uncaught exception; exiting', 'fixture: thrown on purpose', 'RangeError'],
  ['reject', 'unhandled promise rejection; exiting', 'fixture: rejected on purpose', 'Error'],
] as const) {
  Metrics(`${kind === 'throw' ? 'an uncaught exception' : 'an unhandled promise rejection'}: one JSON line (message, name, stack), then exit 1`, async () => {
    const gh = await startAppliance({ nodeArgs: ['--import', FATAL_TRIGGER], env: { FATAL_KIND: kind } });
    try {
      gh.child.kill('SIGUSR2');
      await waitFor('the process to exit', () => gh.child.exitCode !== null);
      assert.is(await gh.stop(), 1);
      const lines = jsonLines(gh);
      const fatal = lines.filter((l) => l['level'] === 'error');
      assert.is(fatal.length, 1, gh.output());
      assert.is(fatal[0]!['msg'], msg);
      assert.is(fatal[0]!['error'], error);
      assert.is(fatal[0]!['name'], name);
      assert.match(String(fatal[0]!['stack']), /fatal-trigger\.mjs/);
      assert.is(lines[lines.length - 1], fatal[0], 'the last line');
    } finally {
      if (gh.child.exitCode === null) await gh.stop();
    }
  });
}

Metrics.run();
