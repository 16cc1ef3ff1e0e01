// The Windows logon endpoint over a real Unix socket: bin/gatehouse started with --pipe-path,
// the push service played by the local double, TOTP users enrolled with the CLI and their codes
// computed with app/mfa/otp.ts. Covers every authenticate result, health, the audit trail, bad
// input (each on its own connection, while another keeps working), concurrency, the socket
// file's mode, and shutdown/restart on the same path.
import { existsSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { base32Decode } from '../../app/mfa/otp.js';
import { totpCode, wrongTotpCode } from '../helpers/totp.js';
import { auditRecords, freeTcpPort, startAppliance, startApplianceRefused, tempDir, waitFor, type Appliance } from '../helpers/appliance.js';
import { connectPipe, rawFrame, type PipeClient, type PipeReply } from '../helpers/pipe-client.js';
import { startPushServer, type PushServer } from '../helpers/push-server.js';

interface Ctx {
  push: PushServer;
  /** Push double, TTL 2 s, TOTP users. */
  gh: Appliance;
  sock: string;
  /** No push service, --unenrolled-users allow. */
  allow: Appliance;
  allowSock: string;
  /** A push service that is not there. */
  dead: Appliance;
  deadSock: string;
  dirs: string[];
  seeds: Map<string, Buffer>;
  /** Every decision asked of `gh`: username -> what the audit must show for it. */
  asked: { username: string; workstation: string; scenario: string; reason: string }[];
  /** Codes sent over the pipe, which must not appear in the audit. */
  codes: string[];
  clients: PipeClient[];
}

const TOTP_USERS = ['win-totp-ask', 'win-totp-ok', 'win-totp-wrong', 'win-totp-replay', 'win-totp-locked', 'win-totp-inflight', 'win-totp-busy'];

const code = totpCode;
const wrongCode = wrongTotpCode;

async function enroll(gh: Appliance, name: string): Promise<Buffer> {
  const r = await gh.cli(['totp', 'enroll', name]);
  assert.is(r.code, 0, r.stderr);
  const uri = r.stdout.split('\n').find((l) => l.startsWith('otpauth://totp/'));
  assert.ok(uri, r.stdout);
  return base32Decode(new URL(uri!).searchParams.get('secret')!);
}

async function auditRows(gh: Appliance): Promise<{ text: string; rows: Record<string, unknown>[] }> {
  const r = await gh.cli(['audit', 'export']);
  assert.is(r.code, 0, r.stderr);
  return { text: r.stdout, rows: r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function open(ctx: Ctx, path = ctx.sock): Promise<PipeClient> {
  const c = await connectPipe(path);
  ctx.clients.push(c);
  return c;
}

/** One authenticate over a fresh connection, remembered for the audit check. */
async function authenticate(ctx: Ctx, req: { username: string; workstation?: string; scenario?: string; domain?: string; code?: string | null }, expectReason?: string): Promise<PipeReply> {
  const c = await open(ctx);
  const workstation = req.workstation ?? 'PC-7';
  const scenario = req.scenario ?? 'logon';
  const reply = await c.request({ op: 'authenticate', domain: req.domain ?? 'CORP', ...req, workstation, scenario }, 15_000);
  if (expectReason !== undefined) ctx.asked.push({ username: req.username.trim().toLowerCase(), workstation, scenario, reason: expectReason });
  if (typeof req.code === 'string' && req.code !== '') ctx.codes.push(req.code);
  c.end();
  return reply;
}

async function healthy(path: string): Promise<void> {
  const c = await connectPipe(path);
  try {
    const r = await c.request({ op: 'health' });
    assert.is(r['status'], 'ok', JSON.stringify(r));
  } finally {
    c.destroy();
  }
}

/** Connecting fails (ENOENT or ECONNREFUSED): nobody serves this path. */
function refusesConnections(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(undefined);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

const P = suite<Ctx>('windows logon pipe endpoint');

P.before(async (ctx) => {
  ctx.dirs = [];
  ctx.asked = [];
  ctx.codes = [];
  ctx.clients = [];
  ctx.push = await startPushServer({ kind: 'approve' });
  const sockDir = async () => {
    const d = await tempDir('gatehouse-pipe-');
    ctx.dirs.push(d);
    return d;
  };
  ctx.sock = join(await sockDir(), 'gh.sock');
  ctx.allowSock = join(await sockDir(), 'gh.sock');
  ctx.deadSock = join(await sockDir(), 'gh.sock');
  const deadPort = await freeTcpPort();
  [ctx.gh, ctx.allow, ctx.dead] = await Promise.all([
    startAppliance({ args: ['--pipe-path', ctx.sock, '--notakey-host', ctx.push.url, '--notakey-access-id', 'win-app', '--message-ttl-seconds', '2', '--totp-max-failures', '5'] }),
    startAppliance({ args: ['--pipe-path', ctx.allowSock, '--unenrolled-users', 'allow'] }),
    startAppliance({ args: ['--pipe-path', ctx.deadSock, '--notakey-host', `http://127.0.0.1:${deadPort}/api/`, '--notakey-access-id', 'win-app', '--notakey-timeout', '2'] }),
  ]);
  ctx.seeds = new Map();
  for (const n of TOTP_USERS) ctx.seeds.set(n, await enroll(ctx.gh, n));
});

P.after(async (ctx) => {
  for (const c of ctx.clients ?? []) c.destroy();
  await Promise.all([ctx.gh?.stop(), ctx.allow?.stop(), ctx.dead?.stop()]);
  await ctx.push?.close();
  for (const d of ctx.dirs ?? []) await rm(d, { recursive: true, force: true });
});

// --- the socket and health ----------------------------------------------------------

P('the socket file is a socket with mode 0600', ({ sock, allowSock }) => {
  for (const p of [sock, allowSock]) {
    const st = statSync(p);
    assert.ok(st.isSocket(), `${p} is not a socket`);
    assert.is((st.mode & 0o777).toString(8), '600');
  }
});

P('a bad frame after good ones in the same chunk: the good ones are still answered, then the error, then the close', async (ctx) => {
  const c = await open(ctx);
  c.sendRaw(Buffer.concat([rawFrame(JSON.stringify({ id: 11, op: 'health' })), rawFrame(JSON.stringify({ id: 12, op: 'health' })), rawFrame(JSON.stringify({ id: 13, op: 'reboot' }))]));
  assert.is((await c.reply(11))['status'], 'ok');
  assert.is((await c.reply(12))['status'], 'ok');
  assert.is((await c.reply(13))['result'], 'error');
  assert.ok(await c.waitClosed(10_000));
});

P('health: ok with the credential provider`s status text; the id comes back', async (ctx) => {
  const c = await open(ctx);
  assert.equal(await c.request({ id: 4711, op: 'health' }), { id: 4711, status: 'ok', message: 'Service Status: OK' });
  assert.equal(await c.request({ id: 0, op: 'health' }), { id: 0, status: 'ok', message: 'Service Status: OK' });
  c.end();
});

// --- authenticate: push ---------------------------------------------------------------

P('push approved: approved, and the push names the user and the workstation', async (ctx) => {
  const r = await authenticate(ctx, { username: 'win-push-ok', workstation: 'PC-APPROVE', scenario: 'unlock', domain: 'CORP' }, 'push_approved');
  assert.equal(r, { id: r['id'], result: 'approved', message: 'Approved.' });
  const created = ctx.push.creates.filter((x) => x.username === 'win-push-ok');
  assert.is(created.length, 1);
  const p = created[0]!;
  assert.is(p.accessId, 'win-app');
  const text = `${String(p.body.action)}\n${String(p.body.description)}`;
  assert.ok(text.includes('win-push-ok'), `user not named: ${text}`);
  assert.ok(text.includes('PC-APPROVE'), `workstation not named: ${text}`);
  assert.not.ok(text.includes('{0}'), `placeholder left: ${text}`);
  assert.match(String(p.body.action), /Windows/);
  assert.match(String(p.body.action), /unlock/i);
  assert.is(p.body.ttl_seconds, 2);
  assert.ok(String(p.body.fingerprint).includes('win-push-ok') && String(p.body.fingerprint).includes('PC-APPROVE'), String(p.body.fingerprint));
});

P('--windows-message: the push text with {0} the user and {1} the workstation, as the RDP guides write it', async (ctx) => {
  const set = await ctx.gh.cli(['settings', 'set', 'windows-message', 'Proceed as {0} on server {1}?']);
  assert.is(set.code, 0, set.stderr);
  try {
    // The setting applies without a restart (the store is watched).
    await new Promise((r) => setTimeout(r, 1500));
    const r = await authenticate(ctx, { username: 'win-push-text', workstation: 'RDS-01', scenario: 'rdp', domain: 'CORP' }, 'push_approved');
    assert.is(r['result'], 'approved');
    const p = ctx.push.creates.filter((x) => x.username === 'win-push-text')[0]!;
    assert.is(p.body.description, 'Proceed as win-push-text on server RDS-01?');
  } finally {
    assert.is((await ctx.gh.cli(['settings', 'unset', 'windows-message'])).code, 0);
  }
});

P('push denied: denied, with the logon-screen text', async (ctx) => {
  ctx.push.behave('win-push-deny', { kind: 'deny' });
  const r = await authenticate(ctx, { username: 'win-push-deny', workstation: 'PC-DENY', scenario: 'rdp' }, 'push_denied');
  assert.is(r['result'], 'denied');
  assert.match(String(r['message']), /denied/);
});

P('push left pending past the TTL (2 s): expired', async (ctx) => {
  ctx.push.behave('win-push-pending', { kind: 'pending' });
  const t0 = Date.now();
  const r = await authenticate(ctx, { username: 'win-push-pending', workstation: 'PC-SLOW', scenario: 'credui' }, 'push_expired');
  assert.is(r['result'], 'expired');
  assert.match(String(r['message']), /not approved in time/);
  assert.ok(Date.now() - t0 >= 1800, `expired after ${Date.now() - t0} ms`);
});

P('a waiting Windows push is one engine\'s: on the Approvals list (door windows), counted in /metrics, joined by the same logon again', async (ctx) => {
  ctx.push.behave('win-push-listed', { kind: 'pending' });
  const token = (await ctx.gh.cli(['token', 'create', 'pipe-approvals'])).stdout.trim();
  const a = await open(ctx);
  const b = await open(ctx);
  const req = { op: 'authenticate', username: 'win-push-listed', domain: 'CORP', workstation: 'PC-LIST', scenario: 'logon' };
  const first = a.request(req, 15_000);
  await waitFor('the push', () => ctx.push.creates.some((x) => x.username === 'win-push-listed'));
  const second = b.request(req, 15_000);
  const metrics = async () => (await (await fetch(`http://127.0.0.1:${ctx.gh.httpPort}/metrics`)).text());
  await waitFor('two logins on one push', async () => /^gatehouse_pending_logins 2$/m.test(await metrics()));
  assert.match(await metrics(), /^gatehouse_pending_pushes 1$/m);
  const list = (await (await fetch(`http://127.0.0.1:${ctx.gh.httpPort}/api/v1/approvals`, { headers: { authorization: `Bearer ${token}` } })).json()) as { approvals: Record<string, unknown>[] };
  const mine = list.approvals.filter((x) => x['username'] === 'win-push-listed');
  assert.equal(mine.map((x) => [x['door'], x['client'], x['station'], x['waiting']]), [['windows', 'pipe', 'PC-LIST', 2]]);
  assert.is(ctx.push.creates.filter((x) => x.username === 'win-push-listed').length, 1, 'the second logon joined the first push');
  // Both are answered when the push expires (2 s TTL).
  assert.equal([(await first)['result'], (await second)['result']], ['expired', 'expired']);
  a.end();
  b.end();
});

P('push service does not know the user (404), default --unenrolled-users reject: unknown_user', async (ctx) => {
  ctx.push.behave('win-push-nobody', { kind: 'unknown' });
  const r = await authenticate(ctx, { username: 'win-push-nobody', workstation: 'PC-404' }, 'unenrolled');
  assert.is(r['result'], 'unknown_user');
  assert.match(String(r['message']), /administrator/);
});

P('--unenrolled-users allow with no factor at all: approved', async (ctx) => {
  const c = await open(ctx, ctx.allowSock);
  const r = await c.request({ op: 'authenticate', username: 'win-nofactor', domain: 'CORP', workstation: 'PC-ALLOW', scenario: 'logon' });
  assert.is(r['result'], 'approved');
  c.end();
  const { rows } = await auditRows(ctx.allow);
  const mine = rows.filter((x) => x['event'] === 'windows.auth' && x['username'] === 'win-nofactor');
  assert.is(mine.length, 1);
  assert.is(mine[0]!['reason'], 'unenrolled_allowed');
  assert.is(mine[0]!['outcome'], 'accept');
});

P('a dead push service: error (failmode secure), then health says api_unreachable', async (ctx) => {
  await healthy(ctx.deadSock);
  const c = await open(ctx, ctx.deadSock);
  const r = await c.request({ op: 'authenticate', username: 'win-push-dead', domain: 'CORP', workstation: 'PC-DEAD', scenario: 'logon' });
  assert.is(r['result'], 'error');
  assert.match(String(r['message']), /cannot be reached/);
  const h = await c.request({ op: 'health' });
  assert.is(h['status'], 'api_unreachable');
  assert.is(h['message'], 'service can not connect to API. Check network connectivity and API parameters.');
  c.end();
});

// --- authenticate: TOTP -----------------------------------------------------------------

P('TOTP user without a code (absent, null, empty, blank): code_required; the user name is matched case-insensitively', async (ctx) => {
  for (const extra of [{}, { code: null }, { code: '' }, { code: '  ' }]) {
    const r = await authenticate(ctx, { username: 'win-totp-ask', workstation: 'PC-ASK', ...extra }, 'totp_challenge');
    assert.is(r['result'], 'code_required', JSON.stringify(extra));
    assert.match(String(r['message']), /code from your authenticator/);
  }
  const upper = await authenticate(ctx, { username: 'WIN-TOTP-ASK', workstation: 'PC-ASK' }, 'totp_challenge');
  assert.is(upper['result'], 'code_required');
  assert.is(ctx.push.creates.filter((x) => x.username.toLowerCase() === 'win-totp-ask').length, 0, 'a TOTP user got a push');
});

P('TOTP right code: approved', async (ctx) => {
  const r = await authenticate(ctx, { username: 'win-totp-ok', workstation: 'PC-TOTP', scenario: 'unlock', code: code(ctx.seeds.get('win-totp-ok')!) }, 'totp_ok');
  assert.equal(r, { id: r['id'], result: 'approved', message: 'Approved.' });
});

P('TOTP wrong code: denied', async (ctx) => {
  const r = await authenticate(ctx, { username: 'win-totp-wrong', workstation: 'PC-WRONG', code: wrongCode(ctx.seeds.get('win-totp-wrong')!) }, 'totp_wrong');
  assert.is(r['result'], 'denied');
  assert.match(String(r['message']), /not correct/);
});

P('a TOTP code is accepted once: the replay (and an older code) is refused', async (ctx) => {
  const seed = ctx.seeds.get('win-totp-replay')!;
  const c = code(seed);
  const first = await authenticate(ctx, { username: 'win-totp-replay', workstation: 'PC-REPLAY', code: c }, 'totp_ok');
  assert.is(first['result'], 'approved');
  const again = await authenticate(ctx, { username: 'win-totp-replay', workstation: 'PC-REPLAY', code: c }, 'totp_replayed');
  assert.is(again['result'], 'denied');
  assert.match(String(again['message']), /already used/);
  const older = await authenticate(ctx, { username: 'win-totp-replay', workstation: 'PC-REPLAY', code: code(seed, -1) });
  assert.is(older['result'], 'denied');
  ctx.asked.push({ username: 'win-totp-replay', workstation: 'PC-REPLAY', scenario: 'logon', reason: older['message'] === 'The code is not correct.' ? 'totp_wrong' : 'totp_replayed' });
});

P('`gatehouse user lock`: locked, for a TOTP user even with the right code and for a push user before any push', async (ctx) => {
  assert.is((await ctx.gh.cli(['user', 'lock', 'win-totp-locked'])).code, 0);
  const r = await authenticate(ctx, { username: 'win-totp-locked', workstation: 'PC-LOCK', code: code(ctx.seeds.get('win-totp-locked')!) }, 'locked');
  assert.is(r['result'], 'locked');
  assert.match(String(r['message']), /locked/);
  assert.is((await ctx.gh.cli(['user', 'add', 'win-push-locked'])).code, 0);
  assert.is((await ctx.gh.cli(['user', 'lock', 'win-push-locked'])).code, 0);
  const p = await authenticate(ctx, { username: 'win-push-locked', workstation: 'PC-LOCK' }, 'locked');
  assert.is(p['result'], 'locked');
  assert.is(ctx.push.creates.filter((x) => x.username === 'win-push-locked').length, 0, 'a locked user got a push');
});

// --- several requests, many connections -------------------------------------------------

P('several requests in flight on one connection are answered by id (a slow push does not hold the others)', async (ctx) => {
  ctx.push.behave('win-push-inflight', { kind: 'approve', afterMs: 500 });
  const c = await open(ctx);
  const seed = ctx.seeds.get('win-totp-inflight')!;
  const totpCode = code(seed);
  ctx.codes.push(totpCode);
  const slow = c.send({ id: 100, op: 'authenticate', username: 'win-push-inflight', domain: 'CORP', workstation: 'PC-MULTI', scenario: 'logon' });
  const health = c.send({ id: 101, op: 'health' });
  const ask = c.send({ id: 102, op: 'authenticate', username: 'win-totp-ask', domain: 'CORP', workstation: 'PC-MULTI', scenario: 'logon' });
  const ok = c.send({ id: 103, op: 'authenticate', username: 'win-totp-inflight', domain: 'CORP', workstation: 'PC-MULTI', scenario: 'logon', code: totpCode });
  ctx.asked.push(
    { username: 'win-push-inflight', workstation: 'PC-MULTI', scenario: 'logon', reason: 'push_approved' },
    { username: 'win-totp-ask', workstation: 'PC-MULTI', scenario: 'logon', reason: 'totp_challenge' },
    { username: 'win-totp-inflight', workstation: 'PC-MULTI', scenario: 'logon', reason: 'totp_ok' },
  );
  const [rSlow, rHealth, rAsk, rOk] = await Promise.all([c.reply(slow), c.reply(health), c.reply(ask), c.reply(ok)]);
  assert.is(rSlow['id'], 100);
  assert.is(rSlow['result'], 'approved');
  assert.is(rHealth['id'], 101);
  assert.is(rHealth['status'], 'ok');
  assert.is(rAsk['id'], 102);
  assert.is(rAsk['result'], 'code_required');
  assert.is(rOk['id'], 103);
  assert.is(rOk['result'], 'approved');
  // The push took over a second; everything else was answered before it.
  assert.is(c.received.length, 4);
  assert.is(c.received[3]!['id'], 100, `order: ${c.received.map((x) => x['id']).join(',')}`);
  assert.not.ok(c.isClosed());
  c.end();
});

P('pipelined requests written in one chunk are all answered', async (ctx) => {
  const c = await open(ctx);
  const ids = Array.from({ length: 20 }, (_, i) => 500 + i);
  c.sendRaw(Buffer.concat(ids.map((id) => rawFrame(JSON.stringify({ id, op: 'health' })))));
  const replies = await Promise.all(ids.map((id) => c.reply(id)));
  assert.equal(
    replies.map((r) => r['status']),
    ids.map(() => 'ok'),
  );
  c.end();
});

P('a frame of exactly 65536 bytes is accepted by the endpoint', async (ctx) => {
  const c = await open(ctx);
  const base = JSON.stringify({ id: 77, op: 'health', pad: '' }).length;
  const body = JSON.stringify({ id: 77, op: 'health', pad: 'p'.repeat(65536 - base) });
  assert.is(Buffer.byteLength(body), 65536);
  c.sendRaw(rawFrame(body));
  const r = await c.reply(77);
  assert.is(r['status'], 'ok');
  assert.not.ok(c.isClosed());
  c.end();
});

P('200 concurrent connections doing health', async (ctx) => {
  const clients = await Promise.all(Array.from({ length: 200 }, () => connectPipe(ctx.sock)));
  try {
    const replies = await Promise.all(clients.map((c, i) => c.request({ id: i, op: 'health' })));
    replies.forEach((r, i) => {
      assert.is(r['id'], i);
      assert.is(r['status'], 'ok');
    });
  } finally {
    for (const c of clients) c.destroy();
  }
});

P('clients that send nothing, stop mid-frame, or disconnect while their push is pending do not disturb others', async (ctx) => {
  ctx.push.behave('win-push-gone', { kind: 'approve', afterMs: 800 });
  ctx.asked.push({ username: 'win-push-gone', workstation: 'PC-GONE', scenario: 'logon', reason: 'push_approved' });
  const idle = await open(ctx);
  const half = await open(ctx);
  half.sendRaw(rawFrame('{"id":1,"op":"health"}').subarray(0, 10));
  const gone = await open(ctx);
  gone.send({ id: 1, op: 'authenticate', username: 'win-push-gone', domain: 'CORP', workstation: 'PC-GONE', scenario: 'logon' });
  await waitFor('the push of the client that goes away', () => ctx.push.creates.some((x) => x.username === 'win-push-gone'));
  gone.destroy();
  const halfGone = await open(ctx);
  halfGone.sendRaw(rawFrame('{"id":1,"op":"health"}').subarray(0, 3));
  halfGone.destroy();

  const other = await open(ctx);
  const seed = ctx.seeds.get('win-totp-busy')!;
  const c1 = code(seed);
  ctx.codes.push(c1);
  ctx.asked.push({ username: 'win-totp-busy', workstation: 'PC-BUSY', scenario: 'logon', reason: 'totp_ok' });
  assert.is((await other.request({ op: 'health' }))['status'], 'ok');
  assert.is((await other.request({ op: 'authenticate', username: 'win-totp-busy', domain: 'CORP', workstation: 'PC-BUSY', scenario: 'logon', code: c1 }))['result'], 'approved');
  // Wait for the abandoned push to be decided and its reply to have nowhere to go.
  await waitFor('the abandoned login to be decided', async () => (await auditRecords(ctx.gh)).some((r) => r['username'] === 'win-push-gone'));
  assert.is((await other.request({ op: 'health' }))['status'], 'ok');
  assert.not.ok(idle.isClosed(), 'an idle connection was closed');
  assert.not.ok(half.isClosed(), 'a connection with half a frame was closed');
  assert.is(idle.received.length, 0);
  assert.is(half.received.length, 0);
  // The half frame's rest arrives: it is answered.
  half.sendRaw(rawFrame('{"id":1,"op":"health"}').subarray(10));
  assert.is((await half.reply(1))['status'], 'ok');
  await healthy(ctx.sock);
  assert.is(ctx.gh.child.exitCode, null);
  for (const c of [idle, half, other]) c.end();
});

// --- bad input ------------------------------------------------------------------------------

async function badInput(ctx: Ctx, bytes: Buffer, expect: { id?: number; message: RegExp } | 'no reply', then?: (c: PipeClient) => void): Promise<void> {
  const keeper = await open(ctx);
  assert.is((await keeper.request({ op: 'health' }))['status'], 'ok');
  const bad = await open(ctx);
  bad.sendRaw(bytes);
  then?.(bad);
  if (expect === 'no reply') {
    assert.ok(await bad.waitClosed(10_000), 'the connection was not closed');
    assert.is(bad.received.length, 0, JSON.stringify(bad.received));
  } else {
    const r = await bad.next(10_000);
    assert.is(r['result'], 'error', JSON.stringify(r));
    assert.is(r['status'], 'error', JSON.stringify(r));
    assert.match(String(r['message']), expect.message);
    if (expect.id === undefined) assert.not.ok('id' in r, `an id in ${JSON.stringify(r)}`);
    else assert.is(r['id'], expect.id);
    assert.ok(await bad.waitClosed(10_000), 'the connection was not closed after the error reply');
    assert.is(bad.received.length, 1, `more than the error reply: ${JSON.stringify(bad.received)}`);
  }
  assert.is(bad.protocolError(), undefined);
  // The connection opened before keeps working, and new ones are accepted.
  assert.not.ok(keeper.isClosed());
  assert.is((await keeper.request({ op: 'health' }))['status'], 'ok');
  keeper.end();
  await healthy(ctx.sock);
}

P('bad input: a length prefix of 65537 gets an error reply, then the connection is closed', async (ctx) => {
  await badInput(ctx, rawFrame(Buffer.alloc(0), 65537), { message: /longer than 65536/ });
});

P('bad input: a length prefix of 65537 with its body following, and 0xffffffff', async (ctx) => {
  await badInput(ctx, rawFrame(Buffer.alloc(65537, 0x20)), { message: /longer than 65536/ });
  await badInput(ctx, rawFrame(Buffer.alloc(0), 0xffffffff), { message: /longer than 65536/ });
});

P('bad input: a zero length gets an error reply, then the connection is closed', async (ctx) => {
  await badInput(ctx, Buffer.from([0, 0, 0, 0]), { message: /length 0/ });
});

P('bad input: a truncated frame, then the client closes: nothing breaks', async (ctx) => {
  await badInput(ctx, rawFrame('{"id":1,"op":"health"}', 100), 'no reply', (c) => c.end());
});

P('bad input: not JSON, and JSON that is not an object', async (ctx) => {
  await badInput(ctx, rawFrame('this is not json'), { message: /not JSON/ });
  await badInput(ctx, rawFrame('[{"id":1,"op":"health"}]'), { message: /not a JSON object/ });
});

P('bad input: an unknown op gets an error reply with its id, then the connection is closed', async (ctx) => {
  await badInput(ctx, rawFrame(JSON.stringify({ id: 31, op: 'format_c' })), { id: 31, message: /unknown op/ });
});

P('bad input: a request without an integer id, and a bad field', async (ctx) => {
  await badInput(ctx, rawFrame(JSON.stringify({ id: 'x', op: 'health' })), { message: /integer id/ });
  await badInput(ctx, rawFrame(JSON.stringify({ id: 32, op: 'authenticate', username: 'win-bad', scenario: 'sudo' })), { id: 32, message: /scenario/ });
});

P('bad input: a good request after a bad frame in the same chunk is not answered', async (ctx) => {
  const bytes = Buffer.concat([rawFrame('nope'), rawFrame(JSON.stringify({ id: 33, op: 'health' }))]);
  await badInput(ctx, bytes, { message: /not JSON/ });
});

// --- audit -------------------------------------------------------------------------------------

P('every decision has exactly one windows.auth record with scenario and workstation, and no code', async (ctx) => {
  const { text, rows } = await auditRows(ctx.gh);
  const win = rows.filter((x) => x['event'] === 'windows.auth');
  const users = new Set(ctx.asked.map((a) => a.username));
  for (const u of users) {
    const want = ctx.asked.filter((a) => a.username === u);
    // Compared case-insensitively: the record keeps the name as typed.
    const got = win.filter((x) => String(x['username']).toLowerCase() === u);
    assert.is(got.length, want.length, `${u}: ${got.length} windows.auth records for ${want.length} decisions`);
    assert.equal(got.map((x) => x['reason']).sort(), want.map((a) => a.reason).sort(), u);
    for (const g of got) {
      const d = g['details'] as Record<string, unknown>;
      assert.ok(want.some((a) => a.workstation === d['workstation'] && a.scenario === d['scenario']), `${u}: details ${JSON.stringify(d)}`);
      assert.is(g['source'], `pipe:${String(d['workstation'])}`);
      assert.is(d['domain'], 'CORP');
    }
  }
  // No record for the bad requests (they were not decisions).
  assert.is(win.filter((x) => x['username'] === 'win-bad').length, 0);
  // The outcomes map to the audit's vocabulary.
  const outcome = (reason: string) => win.find((x) => x['reason'] === reason)?.['outcome'];
  assert.is(outcome('push_approved'), 'accept');
  assert.is(outcome('totp_ok'), 'accept');
  assert.is(outcome('totp_challenge'), 'challenge');
  assert.is(outcome('push_denied'), 'reject');
  assert.is(outcome('locked'), 'reject');
  for (const c of ctx.codes) assert.not.ok(new RegExp(`"${c}"|\\b${c}\\b`).test(text.replace(/"hash":"[0-9a-f]+"/g, '')), `code ${c} in the audit`);
  const verify = await ctx.gh.cli(['audit', 'verify']);
  assert.is(verify.code, 0, verify.stderr);
});

// --- lifecycle -------------------------------------------------------------------------------

P('SIGTERM closes the endpoint (connections dropped, socket gone); a restart on the same path works, also after a crash left the socket file', async (ctx) => {
  const dir = await tempDir('gatehouse-pipe-');
  ctx.dirs.push(dir);
  const path = join(dir, 'gh.sock');
  const data = await tempDir();
  ctx.dirs.push(data);
  const first = await startAppliance({ dataDir: data, args: ['--pipe-path', path] });
  try {
    await healthy(path);
    const waiting = await connectPipe(path);
    ctx.clients.push(waiting);
    // Someone else's live socket is not taken over.
    assert.match((await startApplianceRefused({ args: ['--pipe-path', path] })).message, /in use/);
    await healthy(path);

    assert.is(await first.stop('SIGTERM'), 0);
    assert.ok(await waiting.waitClosed(10_000), 'a connected client was not dropped');
    const why = await refusesConnections(path);
    assert.ok(why !== undefined, 'the socket still accepts connections after SIGTERM');
    assert.not.ok(existsSync(path), 'the socket file is left behind after SIGTERM');

    const again = await startAppliance({ dataDir: data, args: ['--pipe-path', path] });
    await healthy(path);
    assert.is((statSync(path).mode & 0o777).toString(8), '600');
    // A crash leaves the socket file behind; the next start removes it.
    await again.stop('SIGKILL');
    assert.ok(existsSync(path), 'SIGKILL should leave a stale socket file');
    assert.ok((await refusesConnections(path)) !== undefined);
    const third = await startAppliance({ dataDir: data, args: ['--pipe-path', path] });
    try {
      await healthy(path);
    } finally {
      await third.stop();
    }
  } finally {
    await first.stop();
  }
});

P('a regular file at --pipe-path is not deleted to make room for the socket', async (ctx) => {
  const dir = await tempDir('gatehouse-pipe-');
  ctx.dirs.push(dir);
  const path = join(dir, 'important.conf');
  writeFileSync(path, 'do not delete me\n');
  const refused = await startApplianceRefused({ args: ['--pipe-path', path] });
  assert.match(refused.message, `gatehouse: cannot serve the Windows logon endpoint on ${path}: ${path} exists and is not a socket`);
  assert.ok(existsSync(path), `${path} was deleted`);
  assert.ok(statSync(path).isFile(), `${path} is no longer a regular file`);
  assert.is(readFileSync(path, 'utf8'), 'do not delete me\n');
});

P.run();
