/**
 * Checks the RadSec test harness (test/helpers/freeradius-radsec.ts) without Gatehouse: FreeRADIUS
 * as a RadSec client (a UDP -> RadSec proxy, fed by radclient) talking to FreeRADIUS as a RadSec
 * server, both with certificates from a throwaway CA; plus Node's own TLS client against the
 * server, to pin down what a RadSec client of it has to speak.
 */
import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findTool, requireTool } from '../helpers/freeradius.js';
import {
  makeTestCa,
  startRadsecClientProxy,
  startRadsecServer,
  type IssuedCert,
  type RadsecClientProxy,
  type RadsecClientProxyOptions,
  type RadsecServer,
  type TestCa,
} from '../helpers/freeradius-radsec.js';
import { replyAttributes, runRadclient, type RadclientResult } from '../helpers/radclient.js';

const UDP_SECRET = 'udp-secret';

interface Ctx {
  tmp?: string;
  ca?: TestCa;
  /** An unrelated CA: nothing it issued may get through. */
  other?: TestCa;
  server?: RadsecServer;
  client?: IssuedCert;
  proxy?: RadsecClientProxy;
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`${what} not set up`);
  return v;
}

const test = suite<Ctx>('freeradius-radsec-harness', {});

test.before(async (ctx) => {
  requireTool('radclient', 'freeradius-utils');
  requireTool('openssl', 'openssl');
  ctx.tmp = await mkdtemp(join(tmpdir(), 'gatehouse-radsec-test-'));
  ctx.ca = await makeTestCa(join(ctx.tmp, 'ca'));
  ctx.other = await makeTestCa(join(ctx.tmp, 'other-ca'));
  ctx.server = await startRadsecServer({
    cert: await ctx.ca.issue('radsec-server', { server: true }),
    clientCa: ctx.ca.cert,
    users: [
      { name: 'alice', password: 'alicepw', reply: ['Reply-Message := "hello over tls"', 'Class := 0x0a0b0c'] },
      { name: 'bob', password: 'bobpw' },
    ],
  });
  ctx.client = await ctx.ca.issue('radsec-client', { client: true });
  ctx.proxy = await startRadsecClientProxy({
    home: { address: '127.0.0.1', port: ctx.server.port },
    cert: ctx.client,
    serverCa: ctx.ca.cert,
    clients: [{ address: '127.0.0.1', secret: UDP_SECRET }],
  });
});

test.after(async (ctx) => {
  await ctx.proxy?.stop();
  await ctx.server?.stop();
  if (ctx.tmp !== undefined) await rm(ctx.tmp, { recursive: true, force: true });
});

function explain(ctx: Ctx, r?: RadclientResult, proxy?: RadsecClientProxy): string {
  const rc = r ? `radclient exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\n` : '';
  return `${rc}proxy log:\n${(proxy ?? ctx.proxy)?.logs() ?? ''}\nserver log:\n${ctx.server?.logs() ?? ''}`;
}

function send(port: number, attrs: string[], o: { timeoutSec?: number } = {}): Promise<RadclientResult> {
  return runRadclient({ server: `127.0.0.1:${port}`, secret: UDP_SECRET, attrs: attrs.join('\n'), timeoutSec: o.timeoutSec ?? 3, retries: 1 });
}

/** `radclient ... acct` (test/helpers/radclient.ts only sends auth and status). */
function sendAcct(port: number, attrs: string[]): Promise<RadclientResult> {
  const radclient = findTool('radclient') as string;
  return new Promise((resolve, reject) => {
    const child = execFile(radclient, ['-x', '-t', '3', '-r', '1', `127.0.0.1:${port}`, 'acct', UDP_SECRET], { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      const replyCode = /^Received (\S+) Id /m.exec(stdout)?.[1];
      resolve(replyCode === undefined ? { code, stdout, stderr } : { code, stdout, stderr, replyCode });
    });
    child.once('error', reject);
    child.stdin?.end(`${attrs.join('\n')}\n`);
  });
}

/** Start a second UDP -> RadSec proxy towards the test server with other certificates, run one PAP login through it. */
async function loginVia(ctx: Ctx, opts: Pick<RadsecClientProxyOptions, 'cert' | 'serverCa'>): Promise<{ r: RadclientResult; proxy: RadsecClientProxy }> {
  const proxy = await startRadsecClientProxy({
    home: { address: '127.0.0.1', port: need(ctx.server, 'server').port },
    clients: [{ address: '127.0.0.1', secret: UDP_SECRET }],
    responseWindow: 1,
    ...opts,
  });
  try {
    // Short: a refused connection ends in an Access-Reject from the proxy, or in no answer at all.
    const r = await send(proxy.udpPort, ['User-Name = "bob"', 'User-Password = "bobpw"'], { timeoutSec: 1 });
    await new Promise((res) => setTimeout(res, 100)); // let both sides finish logging
    return { r, proxy };
  } finally {
    await proxy.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The CA

test('makeTestCa: leaf certificates chain to their CA, with SANs and the asked-for key usage', async (ctx) => {
  const ca = need(ctx.ca, 'ca');
  const caCert = new X509Certificate(readFileSync(ca.cert));
  assert.ok(caCert.ca);
  assert.is(caCert.subject, `CN=${ca.name}`);

  const server = new X509Certificate(readFileSync(join(ca.dir, 'radsec-server.crt')));
  assert.not.ok(server.ca);
  assert.ok(server.checkIssued(caCert) && server.verify(caCert.publicKey));
  assert.is(server.subject, 'CN=radsec-server');
  assert.is(server.subjectAltName, 'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost');
  assert.equal(server.keyUsage, ['1.3.6.1.5.5.7.3.1']); // serverAuth (Node names the EKU "keyUsage")
  assert.ok(server.checkIP('127.0.0.1') && server.checkIP('::1') && server.checkHost('localhost'));

  const client = new X509Certificate(readFileSync(need(ctx.client, 'client').cert));
  assert.equal(client.keyUsage, ['1.3.6.1.5.5.7.3.2']); // clientAuth

  const both = await ca.issue('both', { ips: ['10.0.0.1'], dns: ['radius.example.org'] });
  const bothCert = new X509Certificate(readFileSync(both.cert));
  assert.equal([...(bothCert.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  assert.is(bothCert.subjectAltName, 'IP Address:10.0.0.1, DNS:radius.example.org');

  const expired = new X509Certificate(readFileSync((await ca.issue('old', { client: true, expired: true })).cert));
  assert.ok(Date.parse(expired.validTo) < Date.now());

  // The other CA is unrelated: different name, and it did not sign our leaves.
  const otherCa = new X509Certificate(readFileSync(need(ctx.other, 'other').cert));
  assert.is.not(otherCa.subject, caCert.subject);
  assert.not.ok(server.verify(otherCa.publicKey));

  const refused = await ca.issue('../escape').then(
    () => undefined,
    (e: Error) => e.message,
  );
  assert.match(refused ?? 'issued', /certificate name must match/);
});

test('makeTestCa: RSA keys on request', async (ctx) => {
  const rsa = await makeTestCa(join(need(ctx.tmp, 'tmp'), 'rsa-ca'), { keyType: 'rsa' });
  const leaf = new X509Certificate(readFileSync((await rsa.issue('rsa-leaf', { server: true })).cert));
  assert.is(leaf.publicKey.asymmetricKeyType, 'rsa');
  assert.ok(leaf.verify(new X509Certificate(readFileSync(rsa.cert)).publicKey));
});

// ---------------------------------------------------------------------------------------------
// radclient -> UDP -> FreeRADIUS (RadSec client) -> TLS -> FreeRADIUS (RadSec server)

test('PAP through the RadSec chain: Access-Accept with the reply attributes', async (ctx) => {
  const r = await send(need(ctx.proxy, 'proxy').udpPort, ['User-Name = "alice"', 'User-Password = "alicepw"']);
  assert.is(r.replyCode, 'Access-Accept', explain(ctx, r));
  const reply = replyAttributes(r.stdout);
  assert.ok(reply.includes('Reply-Message = "hello over tls"'), explain(ctx, r));
  assert.ok(reply.includes('Class = 0x0a0b0c'), explain(ctx, r));
  // It really went over TLS, with our client certificate.
  const seen = await need(ctx.server, 'server').received();
  assert.match(seen, /User-Name = "alice"/);
  assert.match(seen, /TLS-Client-Cert-Common-Name = "radsec-client"/);
  assert.match(seen, `TLS-Client-Cert-Issuer = "/CN=${need(ctx.ca, 'ca').name}"`);
  assert.match(need(ctx.proxy, 'proxy').logs(), /Ready to process requests/);
});

test('PAP through the chain: wrong password and unknown user -> Access-Reject without attributes', async (ctx) => {
  const port = need(ctx.proxy, 'proxy').udpPort;
  const bad = await send(port, ['User-Name = "alice"', 'User-Password = "wrong"']);
  assert.is(bad.replyCode, 'Access-Reject', explain(ctx, bad));
  assert.equal(replyAttributes(bad.stdout), []);
  const unknown = await send(port, ['User-Name = "nobody"', 'User-Password = "alicepw"']);
  assert.is(unknown.replyCode, 'Access-Reject', explain(ctx, unknown));
});

test('CHAP through the chain', async (ctx) => {
  const port = need(ctx.proxy, 'proxy').udpPort;
  const ok = await send(port, ['User-Name = "bob"', 'CHAP-Password = "bobpw"']);
  assert.is(ok.replyCode, 'Access-Accept', explain(ctx, ok));
  const bad = await send(port, ['User-Name = "bob"', 'CHAP-Password = "nope"']);
  assert.is(bad.replyCode, 'Access-Reject', explain(ctx, bad));
});

test('accounting through the chain: Accounting-Response, and the server saw the request', async (ctx) => {
  const proxy = need(ctx.proxy, 'proxy');
  assert.is(proxy.acctPort, proxy.udpPort + 1);
  const session = `sess-${randomBytes(4).toString('hex')}`;
  for (const status of ['Start', 'Stop']) {
    const r = await sendAcct(proxy.acctPort, ['User-Name = "alice"', `Acct-Status-Type = ${status}`, `Acct-Session-Id = "${session}"`, 'NAS-IP-Address = 192.0.2.1']);
    assert.is(r.replyCode, 'Accounting-Response', explain(ctx, r));
  }
  const seen = await need(ctx.server, 'server').received();
  assert.is(seen.split(`Acct-Session-Id = "${session}"`).length - 1, 2, seen);
  assert.match(seen, /Acct-Status-Type = Stop/);
});

// ---------------------------------------------------------------------------------------------
// Certificates that must not work

test('a client certificate from another CA is refused by the server', async (ctx) => {
  const { r, proxy } = await loginVia(ctx, { cert: await need(ctx.other, 'other').issue('intruder', { client: true }), serverCa: need(ctx.ca, 'ca').cert });
  assert.is.not(r.replyCode, 'Access-Accept', explain(ctx, r, proxy));
  assert.match(need(ctx.server, 'server').logs(), /unable to get local issuer certificate/, explain(ctx, r, proxy));
  assert.not.match(await need(ctx.server, 'server').received(), /intruder/);
});

test('a client certificate without clientAuth usage is refused by the server', async (ctx) => {
  const { r, proxy } = await loginVia(ctx, { cert: await need(ctx.ca, 'ca').issue('server-only', { server: true }), serverCa: need(ctx.ca, 'ca').cert });
  assert.is.not(r.replyCode, 'Access-Accept', explain(ctx, r, proxy));
  assert.match(need(ctx.server, 'server').logs(), /unsuitable certificate purpose/, explain(ctx, r, proxy));
  assert.not.match(await need(ctx.server, 'server').received(), /server-only/);
});

test('an expired client certificate is refused by the server', async (ctx) => {
  const { r, proxy } = await loginVia(ctx, { cert: await need(ctx.ca, 'ca').issue('expired-client', { client: true, expired: true }), serverCa: need(ctx.ca, 'ca').cert });
  assert.is.not(r.replyCode, 'Access-Accept', explain(ctx, r, proxy));
  assert.match(need(ctx.server, 'server').logs(), /certificate has expired/, explain(ctx, r, proxy));
});

test('the RadSec client refuses a server whose certificate is not from its trusted CA', async (ctx) => {
  const { r, proxy } = await loginVia(ctx, { cert: await need(ctx.ca, 'ca').issue('radsec-client2', { client: true }), serverCa: need(ctx.other, 'other').cert });
  assert.is(r.replyCode, 'Access-Reject', explain(ctx, r, proxy));
  assert.match(proxy.logs(), /certificate verify failed/, explain(ctx, r, proxy));
  assert.not.match(await need(ctx.server, 'server').received(), /radsec-client2/);
});

// ---------------------------------------------------------------------------------------------
// Node's TLS client against the FreeRADIUS RadSec server

interface Probe {
  connected: boolean;
  protocol?: string | null;
  cipher?: string;
  error?: string;
  /** The server closed the connection before `waitMs` ran out. */
  closedByServer: boolean;
}

/** Connect, wait `waitMs`, close; what happened. */
function probeTls(o: tls.ConnectionOptions, waitMs = 250): Promise<Probe> {
  return new Promise((resolve) => {
    const sock = tls.connect(o);
    const p: Probe = { connected: false, closedByServer: false };
    let timer: NodeJS.Timeout | undefined;
    sock.on('secureConnect', () => {
      p.connected = true;
      p.protocol = sock.getProtocol();
      p.cipher = sock.getCipher().standardName;
    });
    sock.on('error', (e) => (p.error = e.message));
    sock.on('close', () => {
      if (timer !== undefined) {
        clearTimeout(timer);
        p.closedByServer = true;
      }
      resolve(p);
    });
    timer = setTimeout(() => {
      timer = undefined;
      sock.destroy();
    }, waitMs);
  });
}

/** Where the test's RadSec server is, trusting its CA; with our client certificate unless `cert` is false. */
function target(ctx: Ctx, cert = true): tls.ConnectionOptions {
  const base = { host: '127.0.0.1', port: need(ctx.server, 'server').port, ca: readFileSync(need(ctx.ca, 'ca').cert), servername: 'localhost' };
  if (!cert) return base;
  const c = need(ctx.client, 'client');
  return { ...base, cert: readFileSync(c.cert), key: readFileSync(c.key) };
}

test('TLS: 1.3 by default, 1.2 with ECDHE-ECDSA AEAD suites, nothing older', async (ctx) => {
  const v13 = await probeTls(target(ctx));
  assert.equal([v13.connected, v13.protocol, v13.cipher, v13.closedByServer], [true, 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', false], JSON.stringify(v13));

  const v12 = await probeTls({ ...target(ctx), maxVersion: 'TLSv1.2' });
  assert.equal([v12.connected, v12.protocol, v12.cipher, v12.closedByServer], [true, 'TLSv1.2', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', false], JSON.stringify(v12));
  const chacha = await probeTls({ ...target(ctx), maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
  assert.is(chacha.cipher, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', JSON.stringify(chacha));

  const v11 = await probeTls({ ...target(ctx), minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
  assert.not.ok(v11.connected, JSON.stringify(v11));
});

test('TLS: without a client certificate the server ends the connection', async (ctx) => {
  // TLS 1.2: the handshake fails.
  const v12 = await probeTls({ ...target(ctx, false), maxVersion: 'TLSv1.2' });
  assert.not.ok(v12.connected, JSON.stringify(v12));
  // TLS 1.3: the client's handshake completes first, then the server closes.
  const v13 = await probeTls(target(ctx, false));
  assert.ok(v13.closedByServer, JSON.stringify(v13));
});

// A minimal RADIUS client over TLS (RFC 6614): what a Node RadSec client (Gatehouse) will do.

interface RadsecAnswer {
  code: number;
  attrs: { type: number; value: Buffer }[];
  /** Response Authenticator verified with the request's authenticator and the secret. */
  authentic: boolean;
}

/** Send one packet over a new TLS connection (`conn`), return the answer (undefined: none in `waitMs`). */
function radsecExchange(conn: tls.ConnectionOptions, code: number, attrs: { type: number; value: Buffer }[], o: { password?: string; secret?: string; waitMs?: number } = {}): Promise<RadsecAnswer | undefined> {
  const secret = Buffer.from(o.secret ?? 'radsec');
  const authenticator = randomBytes(16);
  const all = [...attrs];
  if (o.password !== undefined) {
    const pw = Buffer.from(o.password);
    const padded = Buffer.alloc(Math.max(16, Math.ceil(pw.length / 16) * 16));
    pw.copy(padded);
    const hidden = Buffer.alloc(padded.length);
    let prev = authenticator;
    for (let i = 0; i < padded.length; i += 16) {
      const b = createHash('md5').update(secret).update(prev).digest();
      for (let j = 0; j < 16; j++) hidden[i + j] = (padded[i + j] as number) ^ (b[j] as number);
      prev = hidden.subarray(i, i + 16);
    }
    all.push({ type: 2, value: hidden });
  }
  all.push({ type: 80, value: Buffer.alloc(16) }); // Message-Authenticator, filled in below
  const body = Buffer.concat(all.map((a) => Buffer.concat([Buffer.from([a.type, a.value.length + 2]), a.value])));
  const id = randomBytes(1)[0] as number;
  const packet = Buffer.concat([Buffer.from([code, id, 0, 0]), authenticator, body]);
  packet.writeUInt16BE(packet.length, 2);
  createHmac('md5', secret).update(packet).digest().copy(packet, packet.length - 16);

  return new Promise((resolve) => {
    const sock = tls.connect(conn);
    let buf = Buffer.alloc(0);
    let answer: RadsecAnswer | undefined;
    const timer = setTimeout(() => sock.destroy(), o.waitMs ?? 2000);
    sock.on('secureConnect', () => sock.write(packet));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < buf.readUInt16BE(2)) return;
      const reply = buf.subarray(0, buf.readUInt16BE(2));
      const expected = createHash('md5').update(reply.subarray(0, 4)).update(authenticator).update(reply.subarray(20)).update(secret).digest();
      const got: RadsecAnswer['attrs'] = [];
      for (let i = 20; i + 2 <= reply.length; i += reply[i + 1] as number) {
        got.push({ type: reply[i] as number, value: reply.subarray(i + 2, i + (reply[i + 1] as number)) });
        if ((reply[i + 1] as number) < 2) break;
      }
      answer = { code: reply[0] as number, attrs: got, authentic: reply[1] === id && expected.equals(reply.subarray(4, 20)) };
      // FreeRADIUS keeps the connection open after our close_notify: do not wait for its FIN.
      sock.destroy();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

test('Node speaks RadSec to the server: Access-Request, Status-Server', async (ctx) => {
  const userName = { type: 1, value: Buffer.from('alice') };
  const accept = await radsecExchange(target(ctx), 1, [userName], { password: 'alicepw' });
  assert.ok(accept, explain(ctx));
  assert.is(accept.code, 2); // Access-Accept
  assert.ok(accept.authentic);
  assert.ok(accept.attrs.some((a) => a.type === 18 && a.value.toString() === 'hello over tls'));

  const reject = await radsecExchange(target(ctx), 1, [userName], { password: 'nope' });
  assert.is(reject?.code, 3);

  // Status-Server (RFC 5997) is answered with Access-Accept on an auth listener.
  const status = await radsecExchange(target(ctx), 12, []);
  assert.is(status?.code, 2, explain(ctx));
  assert.ok(status?.authentic);

  // Another secret inside the tunnel: FreeRADIUS drops the packet (bad Message-Authenticator).
  const wrongSecret = await radsecExchange(target(ctx), 1, [userName], { password: 'alicepw', secret: 'not-radsec', waitMs: 700 });
  assert.is(wrongSecret, undefined);
});

test.run();

// ---------------------------------------------------------------------------------------------

const more = suite('freeradius-radsec-harness: IPv6, options, lifecycle');

more('a RadSec server on ::1 (auth only, TLS 1.3 only, client certificate optional); stop() cleans up', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'gatehouse-radsec-test6-'));
  const ca = await makeTestCa(tmp);
  const server = await startRadsecServer({
    cert: await ca.issue('v6-server', { server: true }),
    clientCa: ca.cert,
    users: [{ name: 'u', password: 'p' }],
    address: '::1',
    clients: [{ address: '::1', secret: 'not-the-default' }],
    type: 'auth',
    tlsMinVersion: '1.3',
    requireClientCert: false,
  });
  let proxy: RadsecClientProxy | undefined;
  try {
    assert.is(server.address, '::1');
    proxy = await startRadsecClientProxy({
      home: { address: '::1', port: server.port, secret: 'not-the-default' },
      cert: await ca.issue('v6-client', { client: true }),
      serverCa: ca.cert,
      accounting: false,
      clients: [{ address: '127.0.0.1', secret: 's' }],
    });
    const r = await runRadclient({ server: `127.0.0.1:${proxy.udpPort}`, secret: 's', attrs: 'User-Name = "u"\nUser-Password = "p"', timeoutSec: 3, retries: 1 });
    assert.is(r.replyCode, 'Access-Accept', `${r.stdout}${r.stderr}\n${proxy.logs()}\n${server.logs()}`);
    const seen = await server.received();
    assert.match(seen, /User-Name = "u"/);
    // requireClientCert: false means the server does not ask for one: the proxy's is never seen.
    assert.not.match(seen, /TLS-Client-Cert/);

    // Node without a client certificate gets in, but only with TLS 1.3.
    const conn = { host: '::1', port: server.port, ca: readFileSync(ca.cert), servername: 'localhost' };
    const noCert = await radsecExchange(conn, 1, [{ type: 1, value: Buffer.from('u') }], { password: 'p', secret: 'not-the-default' });
    assert.is(noCert?.code, 2, server.logs());
    assert.ok(noCert?.authentic);
    const v12 = await probeTls({ ...conn, maxVersion: 'TLSv1.2' });
    assert.not.ok(v12.connected, JSON.stringify(v12));
  } finally {
    await proxy?.stop();
    await server.stop();
  }
  await server.stop();
  assert.not.ok(existsSync(server.dir));
  assert.not.ok(existsSync(need(proxy, 'proxy').dir));
  assert.match(server.logs(), /freeradius exited/);
  await rm(tmp, { recursive: true, force: true });
});

more.run();
