// Agent mode: `gatehouse agent` serves the logon pipe (a Unix socket here) and forwards to an
// appliance's agent API (HTTP on loopback, or HTTPS with the appliance's certificate pinned with
// --ca); health reflects the way to the appliance. An agent token is bound to its machine and
// limited in how many logons it may send.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { base32Decode, hotp, totpStep } from '../../app/mfa/otp.js';
import { freeTcpPort, GATEHOUSE, startAppliance, tempDir, type Appliance } from '../helpers/appliance.js';
import { findTool } from '../helpers/freeradius.js';
import { connectPipe } from '../helpers/pipe-client.js';
import { startPushServer } from '../helpers/push-server.js';

interface Ctx {
  gh: Appliance;
  token: string;
  seed: Buffer;
}

async function startAgent(appliance: string, token: string, socket: string, extra: string[] = []): Promise<{ child: ChildProcess; output: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [GATEHOUSE, 'agent', '--appliance', appliance, '--pipe-path', socket, '--request-timeout', '3', ...extra], {
    env: { PATH: process.env['PATH'], GATEHOUSE_AGENT_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`agent did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}

const codeNow = (seed: Buffer) => hotp(seed, totpStep(Date.now(), 30), 6);

const Agent = suite<Ctx>('gatehouse agent');

Agent.before(async (ctx) => {
  ctx.gh = await startAppliance();
  const t = await ctx.gh.cli(['agent-token', 'create', 'PC-7']);
  assert.is(t.code, 0, t.stderr);
  ctx.token = t.stdout.trim();
  const e = await ctx.gh.cli(['totp', 'enroll', 'wanda']);
  ctx.seed = base32Decode(new URL(e.stdout.trim()).searchParams.get('secret')!);
});
Agent.after(async (ctx) => {
  await ctx.gh?.stop();
});

Agent('health and authenticate go through the agent to the appliance, audited as agent:MACHINE', async ({ gh, token, seed }) => {
  const socket = join(await tempDir(), 'agent.sock');
  const agent = await startAgent(`http://127.0.0.1:${gh.httpPort}/`, token, socket);
  try {
    const c = await connectPipe(socket);
    assert.equal(await c.request({ op: 'health' }), { id: 1, status: 'ok', message: 'Service Status: OK' });
    const base = { op: 'authenticate', username: 'wanda', domain: 'CORP', workstation: 'PC-7', scenario: 'unlock' };
    assert.is((await c.request(base))['result'], 'code_required');
    assert.is((await c.request({ ...base, code: codeNow(seed) }))['result'], 'approved');
    assert.is((await c.request({ ...base, username: 'nobody-here' }))['result'], 'unknown_user');
    c.end();
    const audit = await gh.cli(['audit', 'export']);
    assert.match(audit.stdout, /"event":"windows.auth","outcome":"accept","username":"wanda","reason":"totp_ok","source":"agent:PC-7:PC-7"/);
    assert.match(audit.stdout, /"scenario":"unlock"/);
    const list = await gh.cli(['agent-token', 'list']);
    assert.match(list.stdout, /PC-7\t\S+\t20\d\d-/);
  } finally {
    await agent.stop();
  }
});

Agent("the workstation is the token's machine, whatever the request claims; the claim is kept in the audit", async ({ gh, token }) => {
  const socket = join(await tempDir(), 'agent.sock');
  const agent = await startAgent(`http://127.0.0.1:${gh.httpPort}/`, token, socket);
  try {
    const c = await connectPipe(socket);
    // No push service here: the unenrolled user is refused, and the record says which machine.
    assert.is((await c.request({ op: 'authenticate', username: 'victor', domain: 'CORP', workstation: 'CEO-LAPTOP', scenario: 'logon' }))['result'], 'unknown_user');
    c.end();
    const rows = (await gh.cli(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const r = rows.filter((x) => x['event'] === 'windows.auth' && x['username'] === 'victor').at(-1)!;
    assert.is(r['source'], 'agent:PC-7:PC-7');
    assert.equal((r['details'] as Record<string, unknown>)['workstation'], 'PC-7');
    assert.equal((r['details'] as Record<string, unknown>)['claimedWorkstation'], 'CEO-LAPTOP');
  } finally {
    await agent.stop();
  }
});

Agent('an agent token is limited: a burst over the limit is refused (429) and audited once', async ({ gh }) => {
  const t = await gh.cli(['agent-token', 'create', 'FLOODER']);
  const token = t.stdout.trim();
  const send = () =>
    fetch(`http://127.0.0.1:${gh.httpPort}/api/v1/agent/authenticate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 1, op: 'authenticate', username: 'nobody-here', domain: 'CORP', workstation: 'FLOODER', scenario: 'logon' }),
    });
  const statuses = [];
  for (let i = 0; i < 30; i++) statuses.push((await send()).status);
  assert.equal(statuses.slice(0, 20), Array(20).fill(200), 'the first 20 are answered');
  assert.ok(statuses.slice(20).every((x) => x === 429), `then refused: ${statuses.join(',')}`);
  const rows = (await gh.cli(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.is(rows.filter((r) => r['reason'] === 'agent_rate_limited').length, 1, 'one record for the burst of refusals');
  // Another machine's token is not affected.
  const other = await gh.cli(['agent-token', 'create', 'QUIET']);
  const ok = await fetch(`http://127.0.0.1:${gh.httpPort}/api/v1/agent/authenticate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${other.stdout.trim()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 1, op: 'authenticate', username: 'nobody-here', domain: 'CORP', workstation: 'QUIET', scenario: 'logon' }),
  });
  assert.is(ok.status, 200);
});

Agent('over HTTPS the appliance certificate is pinned with --ca; without it a self-signed certificate is refused', async () => {
  const dir = await tempDir('gatehouse-agent-tls-');
  const openssl = findTool('openssl');
  if (openssl === undefined) throw new Error('openssl not found: install the Debian package openssl (apt-get install openssl)');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const httpsPort = await freeTcpPort();
  const gh = await startAppliance({ args: ['--tls-cert', cert, '--tls-key', key, '--https-port', String(httpsPort)] });
  try {
    const token = (await gh.cli(['agent-token', 'create', 'PC-TLS'])).stdout.trim();
    const pinned = await startAgent(`https://127.0.0.1:${httpsPort}/`, token, join(dir, 'pinned.sock'), ['--ca', cert]);
    try {
      const c = await connectPipe(join(dir, 'pinned.sock'));
      assert.equal(await c.request({ op: 'health' }), { id: 1, status: 'ok', message: 'Service Status: OK' });
      c.end();
    } finally {
      await pinned.stop();
    }
    const unpinned = await startAgent(`https://127.0.0.1:${httpsPort}/`, token, join(dir, 'unpinned.sock'));
    try {
      const c = await connectPipe(join(dir, 'unpinned.sock'));
      assert.is((await c.request({ op: 'health' }))['status'], 'api_unreachable', 'the self-signed certificate is not trusted without --ca');
      c.end();
    } finally {
      await unpinned.stop();
    }
  } finally {
    await gh.stop();
  }
});

Agent('appliance down: health says api_unreachable, authenticate fails closed with that text', async ({ token }) => {
  const socket = join(await tempDir(), 'agent.sock');
  const agent = await startAgent(`http://127.0.0.1:${await freeTcpPort()}/`, token, socket);
  try {
    const c = await connectPipe(socket);
    const h = await c.request({ op: 'health' });
    assert.is(h['status'], 'api_unreachable');
    assert.is(h['message'], 'service can not connect to API. Check network connectivity and API parameters.');
    const a = await c.request({ op: 'authenticate', username: 'wanda', domain: '', workstation: 'PC-7', scenario: 'logon' });
    assert.is(a['result'], 'error');
    c.end();
  } finally {
    await agent.stop();
  }
});

Agent('appliance slow: health says api_timeout after 5 s, and the agent keeps serving', async ({ token }) => {
  const held: import('node:http').ServerResponse[] = [];
  const slow: Server = createServer((_req, res) => void held.push(res));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const port = (slow.address() as { port: number }).port;
  const socket = join(await tempDir(), 'agent.sock');
  const agent = await startAgent(`http://127.0.0.1:${port}/`, token, socket);
  try {
    const c = await connectPipe(socket);
    const h = await c.request({ op: 'health' }, 9000);
    assert.is(h['status'], 'api_timeout');
    assert.is(h['message'], 'API call timed out.');
    const a = await c.request({ op: 'authenticate', username: 'wanda', domain: '', workstation: 'PC-7', scenario: 'logon' }, 9000);
    assert.is(a['result'], 'error');
    c.end();
  } finally {
    await agent.stop();
    for (const r of held) r.destroy();
    slow.closeAllConnections();
    await new Promise((r) => slow.close(r));
  }
});

Agent('a revoked or wrong agent token is refused by the appliance', async ({ gh }) => {
  const t = await gh.cli(['agent-token', 'create', 'temp-agent']);
  const temp = t.stdout.trim();
  assert.is((await gh.cli(['agent-token', 'revoke', 'temp-agent'])).code, 0);
  for (const token of [temp, 'gha_' + 'x'.repeat(43)]) {
    const socket = join(await tempDir(), 'agent.sock');
    const agent = await startAgent(`http://127.0.0.1:${gh.httpPort}/`, token, socket);
    try {
      const c = await connectPipe(socket);
      const h = await c.request({ op: 'health' });
      assert.is(h['status'], 'error');
      assert.match(String(h['message']), /refused the agent token/);
      c.end();
    } finally {
      await agent.stop();
    }
  }
  const res = await fetch(`http://127.0.0.1:${gh.httpPort}/api/v1/agent/health`);
  assert.is(res.status, 401);
});

Agent('number matching through the agent: the number streams from the appliance to the logon screen before the decision; a provider that cannot show one is refused', async () => {
  const push = await startPushServer({ kind: 'pending' });
  const gh = await startAppliance({ args: ['--notakey-host', push.url, '--notakey-access-id', 'win-app', '--windows-number-matching', 'yes'] });
  const socket = join(await tempDir(), 'agent.sock');
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    const token = (await gh.cli(['agent-token', 'create', 'PC-9'])).stdout.trim();
    agent = await startAgent(`http://127.0.0.1:${gh.httpPort}/`, token, socket);
    const c = await connectPipe(socket);
    const base = { op: 'authenticate', username: 'pat', domain: 'CORP', workstation: 'PC-9', scenario: 'logon' };
    const id = c.send({ ...base, number_matching: true });
    const shown = await c.interim(id, 3000);
    const n = shown['number'] as number;
    assert.ok(Number.isInteger(n) && n >= 10 && n <= 99, JSON.stringify(shown));
    assert.is(shown['message'], `On your phone, pick ${n} to approve this sign-in.`);
    // The number reaches the screen as soon as the push is asked for (the call to the push service
    // may still be on its way): nobody has decided yet.
    for (const end = Date.now() + 3000; push.creates.length === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    assert.is(push.creates.length, 1);
    const create = push.creates[0]!;
    // A Notakey phone cannot offer a pick: its message names the number to compare.
    assert.match(String(create.body.description), new RegExp(`Approve only if the sign-in screen shows ${n}\\.$`));
    push.decide(create.uuid, 'approve');
    assert.is((await c.reply(id, 3000))['result'], 'approved');
    const old = await c.request(base, 3000);
    assert.is(old['result'], 'denied');
    assert.match(String(old['message']), /cannot show/);
    assert.is(push.creates.length, 1, 'no push for a logon that cannot show the number');
    c.end();
    const records = (await gh.cli(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; outcome: string; reason: string; source: string; details: Record<string, unknown> | null });
    const windows = records.filter((r) => r.event === 'windows.auth');
    assert.equal(
      windows.map((r) => [r.outcome, r.reason, r.source, r.details?.['numberMatching']]),
      [
        ['accept', 'push_approved', 'agent:PC-9:PC-9', 'compared'],
        ['reject', 'push_number_unsupported', 'agent:PC-9:PC-9', undefined],
      ],
    );
  } finally {
    await agent?.stop();
    await gh.stop();
    await push.close();
  }
});

Agent('offline logon: with --windows-offline-days an approved TOTP sign-in streams hashed codes of the next days; reports of offline sign-ins are audited', async ({ gh, token }) => {
  const url = (q = '') => `http://127.0.0.1:${gh.httpPort}/api/v1/agent/authenticate${q}`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const e = await gh.cli(['totp', 'enroll', 'olga']);
  const seed = base32Decode(new URL(e.stdout.trim()).searchParams.get('secret')!);
  const post = async (q: string, code?: string) => {
    const body = { op: 'authenticate', id: 1, username: 'OLGA', domain: 'CORP', workstation: 'PC-7', scenario: 'logon', ...(code !== undefined ? { code } : {}) };
    const r = await fetch(url(q), { method: 'POST', headers, body: JSON.stringify(body) });
    assert.is(r.status, 200);
    return { type: r.headers.get('content-type') ?? '', lines: (await r.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
  };
  // Off (the default): the final reply and nothing more, even when the workstation asks.
  const off = await post('?offline_until=0', hotp(seed, totpStep(Date.now(), 30), 6));
  assert.is(off.type, 'application/x-ndjson');
  assert.equal(off.lines.map((l) => l['result']), ['approved']);

  assert.match((await gh.cli(['settings', 'set', 'windows-offline-days', '15'])).stderr, /windows-offline-days.*0 \(off\) to 14/);

  // On: another appliance with one day of offline codes.
  const on = await startAppliance({ args: ['--windows-offline-days', '1'] });
  try {
    const t = await on.cli(['agent-token', 'create', 'LAPTOP-3']);
    const onHeaders = { authorization: `Bearer ${t.stdout.trim()}`, 'content-type': 'application/json' };
    const oe = await on.cli(['totp', 'enroll', 'olga']);
    const oseed = base32Decode(new URL(oe.stdout.trim()).searchParams.get('secret')!);
    const onPost = async (q: string, code?: string) => {
      const body = { op: 'authenticate', id: 1, username: 'OLGA', domain: 'CORP', workstation: 'LAPTOP-3', scenario: 'logon', ...(code !== undefined ? { code } : {}) };
      const r = await fetch(`http://127.0.0.1:${on.httpPort}/api/v1/agent/authenticate${q}`, { method: 'POST', headers: onHeaders, body: JSON.stringify(body) });
      assert.is(r.status, 200);
      return (await r.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const now = totpStep(Date.now(), 30);
    const lines = await onPost('?offline_until=0', hotp(oseed, now, 6));
    assert.is(lines.length, 2, JSON.stringify(lines).slice(0, 200));
    assert.is(lines[0]!['result'], 'approved');
    const m = lines[1]!['offline'] as { username: string; salt: string; iterations: number; first_step: number; hashes: string };
    assert.is(m.username, 'olga');
    assert.is(m.iterations, 1000);
    const hashes = Buffer.from(m.hashes, 'base64');
    assert.is(hashes.length, 2880 * 32, 'one day of 30-second steps, 32 bytes each');
    // Never the step just spent online, and each hash is PBKDF2-SHA256 of "STEP:CODE".
    assert.is(m.first_step, now + 1);
    const salt = Buffer.from(m.salt, 'base64');
    assert.is(salt.length, 16);
    for (const k of [0, 1, 1439, 2879]) {
      const step = m.first_step + k;
      assert.equal(hashes.subarray(k * 32, k * 32 + 32), pbkdf2Sync(`${step}:${hotp(oseed, step, 6)}`, salt, 1000, 32, 'sha256'), `step +${k}`);
    }
    // A workstation that still holds more than half the window gets none; neither does a
    // sign-in that is not an approval.
    const held = await onPost(`?offline_until=${m.first_step + 2879}`, hotp(oseed, now + 1, 6));
    assert.equal(held, [{ result: 'approved', message: held[0]!['message'] }]);
    const near = new Set([now - 1, now, now + 1, now + 2].map((st) => hotp(oseed, st, 6)));
    const wrongCode = ['000000', '111111', '222222'].find((x) => !near.has(x))!;
    assert.equal((await onPost('?offline_until=0', wrongCode)).map((l) => l['result']), ['denied']);
    assert.equal((await onPost('?offline_until=0')).map((l) => l['result']), ['code_required']);
    // No hash, salt or seed in the appliance's log or audit.
    const logged = on.output() + (await on.cli(['audit', 'export'])).stdout;
    assert.not.ok(logged.includes(m.salt) || logged.includes(m.hashes.slice(0, 40)), 'offline material was logged');
  } finally {
    await on.stop();
  }

  // What the workstation decided offline reaches the audit once it reports it.
  const report = (body: unknown) => fetch(`http://127.0.0.1:${gh.httpPort}/api/v1/agent/offline-logons`, { method: 'POST', headers, body: JSON.stringify(body) });
  const at = Date.now() - 3_600_000;
  const ok = await report({ logons: [
    { username: 'OLGA', domain: 'CORP', scenario: 'logon', at, result: 'approved' },
    { username: 'olga', domain: 'CORP', scenario: 'unlock', at: at + 1000, result: 'denied' },
    { username: 'olga', domain: 'CORP', scenario: 'unlock', at: at + 2000, result: 'locked' },
  ] });
  assert.is(ok.status, 200);
  assert.equal(await ok.json(), { recorded: 3 });
  const rows = (await gh.cli(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const offline = rows.filter((r) => (r['details'] as Record<string, unknown> | null)?.['offline'] === true);
  assert.equal(offline.map((r) => [r['username'], r['outcome'], r['reason'], r['source']]), [
    ['olga', 'accept', 'offline_code', 'agent:PC-7:PC-7'],
    ['olga', 'reject', 'offline_code_wrong', 'agent:PC-7:PC-7'],
    ['olga', 'reject', 'offline_locked', 'agent:PC-7:PC-7'],
  ]);
  assert.is((offline[0]!['details'] as Record<string, unknown>)['at'], new Date(at).toISOString());
  // Bad reports are refused with what is wrong, and nothing is recorded.
  for (const [body, why] of [
    [{ logons: [{ username: '', domain: 'CORP', scenario: 'logon', at, result: 'approved' }] }, /logons\[0\]\.username/],
    [{ logons: [{ username: 'olga', domain: 'CORP', scenario: 'bogus', at, result: 'approved' }] }, /logons\[0\]\.scenario/],
    [{ logons: [{ username: 'olga', domain: 'CORP', scenario: 'logon', at, result: 'maybe' }] }, /logons\[0\]\.result/],
    [{ logons: Array.from({ length: 101 }, () => ({ username: 'olga', domain: '', scenario: 'logon', at, result: 'approved' })) }, /at most 100/],
    [{ nothing: true }, /expected/],
  ] as const) {
    const r = await report(body);
    assert.is(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, why);
  }
  const after = (await gh.cli(['audit', 'export'])).stdout.trim().split('\n').filter((l) => l.includes('"offline":true'));
  assert.is(after.length, 3);
  const noToken = await fetch(`http://127.0.0.1:${gh.httpPort}/api/v1/agent/offline-logons`, { method: 'POST', body: '{"logons":[]}' });
  assert.is(noToken.status, 401);
});

Agent('agent flags: missing appliance or token is a one-line error', async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, [GATEHOUSE, 'agent', ...args], { env: { PATH: process.env['PATH'] } });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => resolve({ code, err }));
    });
  const a = await run(['--agent-token', 'gha_' + 'y'.repeat(43), '--pipe-path', '/tmp/x.sock']);
  assert.is(a.code, 2);
  assert.match(a.err, /^gatehouse: --appliance \(GATEHOUSE_APPLIANCE\) is required/);
  const b = await run(['--appliance', 'https://gh.example/', '--pipe-path', '/tmp/x.sock']);
  assert.is(b.code, 2);
  assert.match(b.err, /^gatehouse: --agent-token \(GATEHOUSE_AGENT_TOKEN\) is required/);
});

Agent.run();
