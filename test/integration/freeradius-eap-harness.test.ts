/**
 * Checks the EAP, accounting and IPv6 options of the FreeRADIUS test peer (test/helpers/freeradius.ts)
 * and the eapol_test wrapper (test/helpers/eapol.ts), directly against FreeRADIUS (no Gatehouse).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runEapol, type EapolAttribute, type EapolOptions, type EapolResult } from '../helpers/eapol.js';
import { findTool, requireTool, startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { replyAttributes, runRadclient, type RadclientResult } from '../helpers/radclient.js';

const SECRET = 'eap-harness-secret';
const ALICE = { name: 'alice', password: 'alice-pw' };
// Exercises the hex-encoded network block and the users-file quoting with MS-CHAPv2 and PAP.
const TRICKY = { name: "o'brien \"x\"", password: `p"w 'x' %{y} \\ \${z}` };

/** The value of eapol_test's Vendor-Specific dump starts with the vendor id and the vendor type. */
const MS_MPPE_SEND_KEY = '0000013710'; // Microsoft (311), type 16
const MS_MPPE_RECV_KEY = '0000013711'; // Microsoft (311), type 17

interface Ctx {
  fr?: FreeRadius;
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not set`);
  return value;
}

function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n');
}

function explainEapol(r: EapolResult, fr: FreeRadius | undefined): string {
  return `eapol_test exit ${r.code}, final ${r.final?.code ?? 'none'}\n...${tail(r.stdout)}\nfreeradius log:\n${tail(fr?.logs() ?? '', 40)}`;
}

function explainRadclient(r: RadclientResult, fr: FreeRadius | undefined): string {
  return `radclient exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nfreeradius log:\n${tail(fr?.logs() ?? '', 40)}`;
}

function eapol(fr: FreeRadius, o: Pick<EapolOptions, 'method' | 'identity' | 'password'> & Partial<EapolOptions>): Promise<EapolResult> {
  return runEapol({ host: fr.address, port: fr.port, secret: SECRET, caCert: must(fr.caCert, 'caCert'), timeoutSeconds: 10, ...o });
}

function attrs(r: EapolResult, name: string): EapolAttribute[] {
  return r.final?.attributes.filter((a) => a.name === name) ?? [];
}

/** The accept carries both MPPE keys, eapol_test derived the same ones, and they are 32 bytes. */
function assertMppeKeys(r: EapolResult, fr: FreeRadius): void {
  const vsas = attrs(r, 'Vendor-Specific').map((a) => a.value);
  assert.ok(vsas.some((v) => v.startsWith(MS_MPPE_SEND_KEY)), explainEapol(r, fr));
  assert.ok(vsas.some((v) => v.startsWith(MS_MPPE_RECV_KEY)), explainEapol(r, fr));
  assert.ok(r.mppeKeysOk, explainEapol(r, fr));
  assert.match(r.mppeSendKey ?? '', /^[0-9a-f]{64}$/);
  assert.match(r.mppeRecvKey ?? '', /^[0-9a-f]{64}$/);
  assert.is.not(r.mppeSendKey, r.mppeRecvKey);
}

/** The distinct User-Names eapol_test put into its Access-Requests (the outer identity). */
function outerUserNames(r: EapolResult): Set<string> {
  return new Set(r.sent.flatMap((m) => m.attributes.filter((a) => a.type === 1).map((a) => a.value)));
}

/** `radclient acct`: runRadclient (test/helpers/radclient.ts) only does auth and status. */
function radclientAcct(server: string, attrLines: string[]): Promise<RadclientResult> {
  requireTool('radclient', 'freeradius-utils');
  return new Promise((resolve, reject) => {
    const child = spawn(findTool('radclient') as string, ['-x', '-t', '2', '-r', '1', server, 'acct', SECRET], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => {
      const replyCode = /^Received (\S+) Id /m.exec(stdout)?.[1];
      resolve({ code: code ?? 1, stdout, stderr, ...(replyCode === undefined ? {} : { replyCode }) });
    });
    child.stdin.end(`${attrLines.join('\n')}\n`);
  });
}

/** One detail record per Accounting-Request: its `Name = value` lines. */
function detailRecords(text: string): string[][] {
  return text
    .split(/\n\s*\n/)
    .map((block) => block.split('\n').filter((l) => l.startsWith('\t')).map((l) => l.trim()))
    .filter((lines) => lines.length > 0);
}

// ---------------------------------------------------------------------------------------------
// IPv4, EAP with the inner name in the Accept, accounting

const test = suite<Ctx>('freeradius-eap-harness', {});

test.before(async (ctx) => {
  requireTool('eapol_test', 'eapoltest');
  requireTool('radclient', 'freeradius-utils');
  ctx.fr = await startFreeRadius({
    users: [{ ...ALICE, reply: ['Reply-Message := "hi"'] }, TRICKY],
    clients: [{ address: '127.0.0.1', secret: SECRET }],
    eap: true,
    accounting: true,
  });
});

test.after(async (ctx) => {
  await ctx.fr?.stop();
});

function fr(ctx: Ctx): FreeRadius {
  return must(ctx.fr, 'freeradius');
}

test('the instance has a CA certificate, an accounting port and listens on 127.0.0.1', (ctx) => {
  const f = fr(ctx);
  assert.is(f.address, '127.0.0.1');
  assert.is(f.server, `127.0.0.1:${f.port}`);
  assert.ok(existsSync(must(f.caCert, 'caCert')));
  assert.match(readFileSync(must(f.caCert, 'caCert'), 'utf8'), '-----BEGIN CERTIFICATE-----');
  assert.ok(must(f.acctPort, 'acctPort') > 0 && f.acctPort !== f.port);
});

test('PEAP-MSCHAPv2 with an anonymous outer identity -> Accept with the inner User-Name and MPPE keys', async (ctx) => {
  const r = await eapol(fr(ctx), { method: 'peap-mschapv2', identity: ALICE.name, anonymousIdentity: 'anonymous', password: ALICE.password });
  assert.ok(r.ok, explainEapol(r, ctx.fr));
  assert.equal([...outerUserNames(r)], ['anonymous'], explainEapol(r, ctx.fr));
  assert.is(r.final?.code, 'Access-Accept');
  assert.ok(r.received.length > 3, 'a TLS handshake takes several Access-Challenge rounds');
  assert.ok(r.received.slice(0, -1).every((m) => m.code === 'Access-Challenge'));
  assert.equal(attrs(r, 'User-Name'), [{ type: 1, name: 'User-Name', value: ALICE.name }], explainEapol(r, ctx.fr));
  assert.is(r.finalUserName, ALICE.name);
  assert.equal(attrs(r, 'EAP-Message').map((a) => a.value.slice(0, 2)), ['03'], 'EAP-Success');
  assertMppeKeys(r, fr(ctx));
});

test('PEAP-MSCHAPv2: wrong password -> Access-Reject with an EAP-Failure and no User-Name', async (ctx) => {
  const r = await eapol(fr(ctx), { method: 'peap-mschapv2', identity: ALICE.name, anonymousIdentity: 'anonymous', password: 'wrong' });
  assert.not.ok(r.ok, explainEapol(r, ctx.fr));
  assert.is.not(r.code, 0);
  assert.is(r.final?.code, 'Access-Reject', explainEapol(r, ctx.fr));
  assert.equal(
    r.final?.attributes.map((a) => a.name),
    ['EAP-Message', 'Message-Authenticator'],
    explainEapol(r, ctx.fr),
  );
  assert.match(attrs(r, 'EAP-Message')[0]?.value ?? '', /^04[0-9a-f]{2}0004$/, 'EAP-Failure');
  assert.is(r.finalUserName, undefined);
});

test('PEAP-MSCHAPv2: unknown inner user -> Access-Reject', async (ctx) => {
  const r = await eapol(fr(ctx), { method: 'peap-mschapv2', identity: 'nobody', anonymousIdentity: 'anonymous', password: ALICE.password });
  assert.not.ok(r.ok);
  assert.is(r.final?.code, 'Access-Reject', explainEapol(r, ctx.fr));
});

test('PEAP: a server certificate from another CA is refused by the supplicant', async (ctx) => {
  const other = await startFreeRadius({ users: [ALICE], clients: [{ address: '127.0.0.1', secret: SECRET }], eap: true });
  try {
    const r = await eapol(fr(ctx), { method: 'peap-mschapv2', identity: ALICE.name, password: ALICE.password, caCert: must(other.caCert, 'caCert') });
    assert.not.ok(r.ok, explainEapol(r, ctx.fr));
    assert.match(r.stdout, /certificate verify failed|unable to get local issuer certificate/i);
    assert.not.equal(r.final?.code, 'Access-Accept');
  } finally {
    await other.stop();
  }
});

test('EAP-TTLS/PAP with an anonymous outer identity -> Accept with the inner User-Name and MPPE keys', async (ctx) => {
  const r = await eapol(fr(ctx), { method: 'ttls-pap', identity: ALICE.name, anonymousIdentity: 'anonymous', password: ALICE.password });
  assert.ok(r.ok, explainEapol(r, ctx.fr));
  assert.equal([...outerUserNames(r)], ['anonymous']);
  assert.is(r.final?.code, 'Access-Accept');
  assert.equal(attrs(r, 'User-Name').map((a) => a.value), [ALICE.name], explainEapol(r, ctx.fr));
  assertMppeKeys(r, fr(ctx));

  const bad = await eapol(fr(ctx), { method: 'ttls-pap', identity: ALICE.name, anonymousIdentity: 'anonymous', password: `${ALICE.password}x` });
  assert.not.ok(bad.ok);
  assert.is(bad.final?.code, 'Access-Reject', explainEapol(bad, ctx.fr));
});

test('no anonymous identity: the outer identity is the user name; quotes, % and backslashes are literal', async (ctx) => {
  for (const method of ['peap-mschapv2', 'ttls-pap'] as const) {
    const r = await eapol(fr(ctx), { method, identity: TRICKY.name, password: TRICKY.password });
    assert.ok(r.ok, `${method}\n${explainEapol(r, ctx.fr)}`);
    assert.equal([...outerUserNames(r)], [TRICKY.name]);
    assert.is(r.finalUserName, TRICKY.name, explainEapol(r, ctx.fr));
    const bad = await eapol(fr(ctx), { method, identity: TRICKY.name, password: `${TRICKY.password} ` });
    assert.is(bad.final?.code, 'Access-Reject', `${method}\n${explainEapol(bad, ctx.fr)}`);
  }
});

test('non-EAP PAP still works next to EAP; its reject carries nothing', async (ctx) => {
  const ok = await runRadclient({ server: fr(ctx).server, secret: SECRET, attrs: `User-Name = "alice"\nUser-Password = "${ALICE.password}"` });
  assert.is(ok.replyCode, 'Access-Accept', explainRadclient(ok, ctx.fr));
  assert.equal(replyAttributes(ok.stdout), ['Reply-Message = "hi"']);
  const bad = await runRadclient({ server: fr(ctx).server, secret: SECRET, attrs: 'User-Name = "alice"\nUser-Password = "nope"' });
  assert.is(bad.replyCode, 'Access-Reject', explainRadclient(bad, ctx.fr));
  assert.equal(replyAttributes(bad.stdout), []);
});

test('Status-Server on the auth port is answered', async (ctx) => {
  const r = await runRadclient({ server: fr(ctx).server, secret: SECRET, attrs: 'Message-Authenticator = 0x00', code: 'status' });
  assert.is(r.replyCode, 'Access-Accept', explainRadclient(r, ctx.fr));
});

test('accounting: Start and Stop -> Accounting-Response, both recorded with User-Name and Acct-Status-Type', async (ctx) => {
  const f = fr(ctx);
  const acct = `127.0.0.1:${must(f.acctPort, 'acctPort')}`;
  const start = await radclientAcct(acct, ['User-Name = "alice"', 'Acct-Status-Type = Start', 'Acct-Session-Id = "sess-1"', 'NAS-IP-Address = 127.0.0.1']);
  assert.is(start.replyCode, 'Accounting-Response', explainRadclient(start, ctx.fr));
  assert.is(start.code, 0);
  const stop = await radclientAcct(acct, ['User-Name = "bob"', 'Acct-Status-Type = Stop', 'Acct-Session-Id = "sess-2"', 'Acct-Session-Time = 42']);
  assert.is(stop.replyCode, 'Accounting-Response', explainRadclient(stop, ctx.fr));

  const text = await f.accountingRecords();
  const records = detailRecords(text);
  assert.is(records.length, 2, text);
  assert.ok(records[0]?.includes('User-Name = "alice"'), text);
  assert.ok(records[0]?.includes('Acct-Status-Type = Start'), text);
  assert.ok(records[0]?.includes('Acct-Session-Id = "sess-1"'), text);
  assert.ok(records[1]?.includes('User-Name = "bob"'), text);
  assert.ok(records[1]?.includes('Acct-Status-Type = Stop'), text);
  assert.ok(records[1]?.includes('Acct-Session-Time = 42'), text);
});

test('accounting: a wrong secret gets no answer and no record', async (ctx) => {
  const f = fr(ctx);
  const before = await f.accountingRecords();
  const child = await new Promise<RadclientResult>((resolve, reject) => {
    const p = spawn(findTool('radclient') as string, ['-x', '-t', '0.5', '-r', '1', `127.0.0.1:${must(f.acctPort, 'acctPort')}`, 'acct', 'wrong-secret'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr: '' }));
    p.stdin.end('User-Name = "mallory"\nAcct-Status-Type = Start\n');
  });
  assert.not.match(child.stdout, 'Received Accounting-Response', explainRadclient(child, ctx.fr));
  assert.is(await f.accountingRecords(), before);
});

test.run();

// ---------------------------------------------------------------------------------------------
// IPv6 listen, eapNoInnerName

const v6 = suite<Ctx>('freeradius-eap-harness ipv6 + eapNoInnerName', {});

v6.before(async (ctx) => {
  ctx.fr = await startFreeRadius({
    users: [ALICE],
    clients: [{ address: '::1/128', secret: SECRET }],
    listenAddress: '::1',
    eap: true,
    eapNoInnerName: true,
    accounting: true,
  });
});

v6.after(async (ctx) => {
  await ctx.fr?.stop();
});

v6('listens on [::1]: radclient PAP and Status-Server', async (ctx) => {
  const f = fr(ctx);
  assert.is(f.address, '::1');
  assert.is(f.server, `[::1]:${f.port}`);
  const ok = await runRadclient({ server: f.server, secret: SECRET, attrs: `User-Name = "alice"\nUser-Password = "${ALICE.password}"` });
  assert.is(ok.replyCode, 'Access-Accept', explainRadclient(ok, ctx.fr));
  assert.match(ok.stdout, `from [::1]:${f.port}`);
  const status = await runRadclient({ server: f.server, secret: SECRET, attrs: 'Message-Authenticator = 0x00', code: 'status' });
  assert.is(status.replyCode, 'Access-Accept', explainRadclient(status, ctx.fr));
});

v6('nothing answers on 127.0.0.1', async (ctx) => {
  const r = await runRadclient({ server: `127.0.0.1:${fr(ctx).port}`, secret: SECRET, attrs: 'Message-Authenticator = 0x00', code: 'status', timeoutSec: 0.3, retries: 1 });
  assert.is(r.replyCode, undefined, explainRadclient(r, ctx.fr));
});

v6('PEAP over IPv6 with eapNoInnerName -> Accept without any User-Name, with MPPE keys', async (ctx) => {
  const r = await eapol(fr(ctx), { method: 'peap-mschapv2', identity: ALICE.name, anonymousIdentity: 'anonymous', password: ALICE.password });
  assert.ok(r.ok, explainEapol(r, ctx.fr));
  assert.is(r.final?.code, 'Access-Accept');
  assert.equal(attrs(r, 'User-Name'), [], explainEapol(r, ctx.fr));
  assert.is(r.finalUserName, undefined);
  assertMppeKeys(r, fr(ctx));
});

v6('TTLS over IPv6 with eapNoInnerName -> Accept without any User-Name', async (ctx) => {
  const r = await eapol(fr(ctx), { method: 'ttls-pap', identity: ALICE.name, anonymousIdentity: 'anonymous', password: ALICE.password });
  assert.ok(r.ok, explainEapol(r, ctx.fr));
  assert.equal(attrs(r, 'User-Name'), [], explainEapol(r, ctx.fr));
});

v6('accounting over IPv6; no records before the first request', async (ctx) => {
  const f = fr(ctx);
  assert.is(await f.accountingRecords(), '');
  const r = await radclientAcct(`[::1]:${must(f.acctPort, 'acctPort')}`, ['User-Name = "alice"', 'Acct-Status-Type = Interim-Update']);
  assert.is(r.replyCode, 'Accounting-Response', explainRadclient(r, ctx.fr));
  const records = detailRecords(await f.accountingRecords());
  assert.is(records.length, 1);
  assert.ok(records[0]?.includes('User-Name = "alice"'));
  assert.ok(records[0]?.includes('Acct-Status-Type = Interim-Update'));
});

v6.run();

// ---------------------------------------------------------------------------------------------
// Defaults unchanged, option checks

const defaults = suite('freeradius-eap-harness defaults');

defaults('without the new options: no caCert, no acctPort, accountingRecords() rejects, 127.0.0.1', async () => {
  const plain = await startFreeRadius({ users: [ALICE], clients: [{ address: '127.0.0.1', secret: SECRET }] });
  try {
    assert.is(plain.caCert, undefined);
    assert.is(plain.acctPort, undefined);
    assert.is(plain.server, `127.0.0.1:${plain.port}`);
    assert.not.ok(existsSync(`${plain.dir}/certs`));
    await plain.accountingRecords().then(
      () => assert.unreachable('accountingRecords() should reject'),
      (err: Error) => assert.match(err.message, 'accounting: true'),
    );
    // EAP is not configured: an EAP conversation gets rejected right away.
    const r = await runEapol({ host: '127.0.0.1', port: plain.port, secret: SECRET, method: 'ttls-pap', identity: ALICE.name, password: ALICE.password, caCert: '/nonexistent', timeoutSeconds: 3 });
    assert.not.ok(r.ok);
    assert.is(r.final?.code, 'Access-Reject', r.stdout);
  } finally {
    await plain.stop();
  }
});

defaults('inconsistent options are refused before anything starts', async () => {
  const base = { users: [ALICE], clients: [{ address: '127.0.0.1', secret: SECRET }] };
  const cases: [Parameters<typeof startFreeRadius>[0], string][] = [
    [{ ...base, eapNoInnerName: true }, 'eapNoInnerName needs eap: true'],
    [{ ...base, acctPort: 1813 }, 'acctPort needs accounting: true'],
    [{ ...base, accounting: true, port: 40000, acctPort: 40000 }, 'acctPort must differ from port'],
    [{ ...base, listenAddress: 'localhost' }, 'listenAddress must be an IPv4 or IPv6 literal'],
  ];
  for (const [opts, message] of cases) {
    await startFreeRadius(opts).then(
      (f) => f.stop().then(() => assert.unreachable(message)),
      (err: Error) => assert.match(err.message, message),
    );
  }
});

defaults.run();
