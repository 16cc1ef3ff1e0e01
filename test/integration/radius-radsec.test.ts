// RadSec (RADIUS over TLS, RFC 6614) in both directions, against FreeRADIUS 3.2.1:
//   radclient -> FreeRADIUS (RadSec client, certificate from the test CA) -> Gatehouse's RadSec
//   listener -> UDP FreeRADIUS, with push; and accounting the same way;
//   radclient -> Gatehouse -> FreeRADIUS as a RadSec server (Gatehouse's client certificate),
//   through a reconnect after that server restarts.
// Certificates from another CA, and TLS older than 1.2, are refused.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditRecords, freeTcpPort, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { freeUdpPort, startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { makeTestCa, startRadsecClientProxy, startRadsecServer, type IssuedCert, type RadsecClientProxy, type RadsecServer, type TestCa } from '../helpers/freeradius-radsec.js';
import { startPushServer, type PushServer } from '../helpers/push-server.js';
import { runRadclient } from '../helpers/radclient.js';

const NAS_SECRET = 'nas-secret-Rt5y';
const DOWN_SECRET = 'down-secret-Uj6k';

interface Ctx {
  tmp: string;
  ca: TestCa;
  other: TestCa;
  gatehouseCert: IssuedCert;
  down: FreeRadius;
  home: RadsecServer;
  homePort: number;
  proxy: RadsecClientProxy;
  push: PushServer;
  gh: Appliance;
  radsecPort: number;
  token: string;
}

const R = suite<Ctx>('RadSec both ways');

R.before(async (ctx) => {
  ctx.tmp = await mkdtemp(join(tmpdir(), 'gatehouse-radsec-'));
  ctx.ca = await makeTestCa(join(ctx.tmp, 'ca'));
  ctx.other = await makeTestCa(join(ctx.tmp, 'other'));
  // One certificate for both of Gatehouse's roles (server to RadSec clients, client to RadSec servers).
  ctx.gatehouseCert = await ctx.ca.issue('gatehouse');
  ctx.down = await startFreeRadius({ users: [{ name: 'alice', password: 'alice-pw' }, { name: 'bob', password: 'bob-pw' }], clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }], accounting: true });
  ctx.home = await startRadsecServer({ cert: await ctx.ca.issue('home', { server: true }), clientCa: ctx.ca.cert, users: [{ name: 'carol', password: 'carol-pw' }] });
  ctx.homePort = ctx.home.port;
  ctx.push = await startPushServer({ kind: 'approve', afterMs: 20 });
  ctx.radsecPort = await freeTcpPort();
  ctx.gh = await startAppliance({
    args: [
      '--address-secret-in', `127.0.0.1:${NAS_SECRET}`,
      '--downstream-address', '127.0.0.1', '--port-out', String(ctx.down.port), '--port-out-acct', String(ctx.down.acctPort), '--secret-out', DOWN_SECRET,
      '--notakey-host', ctx.push.url, '--notakey-access-id', 'radsec',
      '--radsec-cert', ctx.gatehouseCert.cert, '--radsec-key', ctx.gatehouseCert.key, '--radsec-ca', ctx.ca.cert, '--radsec-port', String(ctx.radsecPort),
      '--port-acct', String(await freeUdpPort()), '--proxy-receive-timeout', '2',
    ],
  });
  ctx.token = (await ctx.gh.cli(['token', 'create', 'radsec-test'])).stdout.trim();
  const api = (method: string, path: string, body: unknown) => fetch(`http://127.0.0.1:${ctx.gh.httpPort}/api/v1${path}`, { method, headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.is((await api('PUT', '/pools/tls', { responseWindowSeconds: 1, deadAfter: 2, checkIntervalSeconds: 0.5 })).status, 200);
  const added = await api('POST', '/pools/tls/servers', { name: 'home', host: '127.0.0.1', port: ctx.homePort, transport: 'radsec' });
  assert.is(added.status, 201, await added.text());
  assert.is((await api('PUT', '/realms/tls.example', { pool: 'tls', strip: true })).status, 200);
  // FreeRADIUS as the RadSec client in front of Gatehouse (what a NAS that speaks RadSec does).
  ctx.proxy = await startRadsecClientProxy({ home: { address: '127.0.0.1', port: ctx.radsecPort }, cert: await ctx.ca.issue('nas', { client: true }), serverCa: ctx.ca.cert, clients: [{ address: '127.0.0.1', secret: 'udp-to-proxy' }] });
});

R.after(async (ctx) => {
  await ctx.proxy?.stop();
  await ctx.gh?.stop();
  await ctx.push?.close();
  await ctx.home?.stop();
  await ctx.down?.stop();
  if (ctx.tmp) await rm(ctx.tmp, { recursive: true, force: true });
});

const viaProxy = (ctx: Ctx, user: string, pw: string) => runRadclient({ server: `127.0.0.1:${ctx.proxy.udpPort}`, secret: 'udp-to-proxy', attrs: `User-Name = "${user}"\nUser-Password = "${pw}"`, timeoutSec: 5 });
const direct = (ctx: Ctx, user: string, pw: string) => runRadclient({ server: `127.0.0.1:${ctx.gh.radiusPort}`, secret: NAS_SECRET, attrs: `User-Name = "${user}"\nUser-Password = "${pw}"\nMessage-Authenticator = 0x00`, timeoutSec: 5 });

R('as a RadSec server: a FreeRADIUS RadSec client with a certificate from the CA gets Accept after the push, Reject for a wrong password', async (ctx) => {
  const ok = await viaProxy(ctx, 'alice', 'alice-pw');
  assert.is(ok.replyCode, 'Access-Accept', `${ok.stdout}${ok.stderr}\n${ctx.proxy.logs().slice(-3000)}\n${ctx.gh.output().slice(-3000)}`);
  assert.ok(ctx.push.creates.some((c) => c.username === 'alice'));
  const rec = (await auditRecords(ctx.gh)).filter((r) => r['event'] === 'radius.auth' && r['username'] === 'alice').at(-1)!;
  assert.is(rec['outcome'], 'accept');
  // The connection is mapped to the client entry of its address.
  assert.is(rec['client'], '127.0.0.1/32');
  const bad = await viaProxy(ctx, 'bob', 'wrong');
  assert.is(bad.replyCode, 'Access-Reject');
});

R('as a RadSec server: accounting over the same connection reaches the downstream accounting port and the Active sessions', async (ctx) => {
  const r = await runRadclient({ server: `127.0.0.1:${ctx.proxy.acctPort}`, secret: 'udp-to-proxy', code: 'acct', attrs: 'User-Name = "alice"\nAcct-Status-Type = Start\nAcct-Session-Id = "tls-1"\nNAS-Identifier = "wlc"\nFramed-IP-Address = 10.0.0.9', timeoutSec: 5 });
  assert.is(r.replyCode, 'Accounting-Response', r.stdout + r.stderr);
  assert.match(await ctx.down.accountingRecords(), 'tls-1');
  const res = await fetch(`http://127.0.0.1:${ctx.gh.httpPort}/api/v1/sessions?username=alice`, { headers: { authorization: `Bearer ${ctx.token}` } });
  const sessions = ((await res.json()) as { sessions: { framedIp: string }[] }).sessions;
  assert.is(sessions[0]?.framedIp, '10.0.0.9');
});

R('as a RadSec server: a client certificate from another CA, or TLS 1.1, is refused and audited', async (ctx) => {
  const stranger = await ctx.other.issue('stranger', { client: true });
  const outcome = (opts: tls.ConnectionOptions) =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: ctx.radsecPort, ca: readFileSync(ctx.ca.cert), ...opts });
      s.once('secureConnect', () => {
        // TLS 1.3: the server's verdict on the certificate arrives after the handshake.
        s.once('close', () => resolve('closed'));
        s.once('error', (e) => resolve(`error: ${e.message}`));
        s.write(Buffer.alloc(20));
      });
      s.once('error', (e) => resolve(`error: ${e.message}`));
      setTimeout(() => resolve('open'), 3000);
    });
  const other = await outcome({ cert: readFileSync(stranger.cert), key: readFileSync(stranger.key) });
  assert.is.not(other, 'open');
  const none = await outcome({});
  assert.is.not(none, 'open');
  const old = await outcome({ cert: readFileSync(ctx.gatehouseCert.cert), key: readFileSync(ctx.gatehouseCert.key), maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
  assert.match(old, /^error/);
  await waitFor('the refusal audited', async () => (await auditRecords(ctx.gh)).some((r) => r['event'] === 'radius.drop' && String(r['reason']).startsWith('radsec_tls')), 5000).catch(async () => {
    const events = (await auditRecords(ctx.gh)).map((r) => `${r['event']}:${r['reason']}`);
    throw new Error(`no radsec_tls drop record: ${events.slice(-10).join(', ')}`);
  });
});

R('as a RadSec client: a realm routed to a FreeRADIUS RadSec server is answered over TLS with Gatehouse’s certificate; after that server restarts Gatehouse reconnects', async (ctx) => {
  const ok = await direct(ctx, 'carol@tls.example', 'carol-pw');
  assert.is(ok.replyCode, 'Access-Accept', `${ok.stdout}${ok.stderr}\n${ctx.home.logs().slice(-3000)}\n${ctx.gh.output().slice(-3000)}`);
  // The home server saw the realm stripped and Gatehouse's client certificate.
  const seen = await ctx.home.received();
  assert.match(seen, /User-Name = "carol"/);
  assert.match(seen, /TLS-Client-Cert-Common-Name = "gatehouse"/);
  const bad = await direct(ctx, 'carol@tls.example', 'nope');
  assert.is(bad.replyCode, 'Access-Reject');
  // The server goes away: the connection drops, the login gets no answer, the server turns dead.
  await ctx.home.stop();
  const lost = await runRadclient({ server: `127.0.0.1:${ctx.gh.radiusPort}`, secret: NAS_SECRET, attrs: 'User-Name = "carol@tls.example"\nUser-Password = "carol-pw"\nMessage-Authenticator = 0x00', timeoutSec: 3, retries: 1 });
  assert.is(lost.replyCode, undefined);
  await waitFor('home dead', async () => {
    const r = await fetch(`http://127.0.0.1:${ctx.gh.httpPort}/api/v1/pools`, { headers: { authorization: `Bearer ${ctx.token}` } });
    const pools = ((await r.json()) as { pools: { name: string; servers: { state: string }[] }[] }).pools;
    return pools.find((p) => p.name === 'tls')?.servers[0]?.state === 'dead';
  }, 8000);
  // Back on the same port: probes reconnect, and logins go through again.
  ctx.home = await startRadsecServer({ cert: await ctx.ca.issue('home2', { server: true }), clientCa: ctx.ca.cert, users: [{ name: 'carol', password: 'carol-pw' }], port: ctx.homePort });
  await waitFor('home alive', async () => {
    const r = await fetch(`http://127.0.0.1:${ctx.gh.httpPort}/api/v1/pools`, { headers: { authorization: `Bearer ${ctx.token}` } });
    const pools = ((await r.json()) as { pools: { name: string; servers: { state: string }[] }[] }).pools;
    return pools.find((p) => p.name === 'tls')?.servers[0]?.state === 'alive';
  }, 10_000);
  const again = await direct(ctx, 'carol@tls.example', 'carol-pw');
  assert.is(again.replyCode, 'Access-Accept', again.stdout + again.stderr);
});

R.run();
