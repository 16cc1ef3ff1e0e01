// Agent mode: `gatehouse agent` serves the logon pipe (a Unix socket here) and forwards to an
// appliance's agent API over HTTP on loopback; health reflects the way to the appliance.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { base32Decode, hotp, totpStep } from '../../app/mfa/otp.js';
import { freeTcpPort, GATEHOUSE, startAppliance, tempDir, type Appliance } from '../helpers/appliance.js';
import { connectPipe } from '../helpers/pipe-client.js';

interface Ctx {
  gh: Appliance;
  token: string;
  seed: Buffer;
}

async function startAgent(appliance: string, token: string, socket: string): Promise<{ child: ChildProcess; output: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [GATEHOUSE, 'agent', '--appliance', appliance, '--pipe-path', socket, '--request-timeout', '3'], {
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
  const t = await ctx.gh.cli(['agent-token', 'create', 'branch-pcs']);
  assert.is(t.code, 0, t.stderr);
  ctx.token = t.stdout.trim();
  const e = await ctx.gh.cli(['totp', 'enroll', 'wanda']);
  ctx.seed = base32Decode(new URL(e.stdout.trim()).searchParams.get('secret')!);
});
Agent.after(async (ctx) => {
  await ctx.gh?.stop();
});

Agent('health and authenticate go through the agent to the appliance, audited as agent:NAME', async ({ gh, token, seed }) => {
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
    assert.match(audit.stdout, /"event":"windows.auth","outcome":"accept","username":"wanda","reason":"totp_ok","source":"agent:branch-pcs:PC-7"/);
    assert.match(audit.stdout, /"scenario":"unlock"/);
    const list = await gh.cli(['agent-token', 'list']);
    assert.match(list.stdout, /branch-pcs\t\S+\t20\d\d-/);
  } finally {
    await agent.stop();
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
