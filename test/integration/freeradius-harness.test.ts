/**
 * Checks the FreeRADIUS test harness (test/helpers/freeradius.ts) with the real radclient.
 */
import { existsSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireTool, startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { replyAttributes, runRadclient, type RadclientResult } from '../helpers/radclient.js';
import { mschapV1ResponseAttribute, mschapV2ResponseAttribute } from '../helpers/mschap.js';

const SECRET = 'harness-secret';
const MA_SECRET = 'ma-secret';
const TRICKY_NAME = 'bob smith';
const TRICKY_PASSWORD = `p'a"s\\s %{User-Name} \${x}`;
const CHALLENGE = { name: 'carol', password: 'carolpw', state: 'deadbeef0102', answer: 'xyzzy' };

interface Ctx {
  fr?: FreeRadius;
}

const test = suite<Ctx>('freeradius-harness', {});

test.before(async (ctx) => {
  requireTool('radclient', 'freeradius-utils');
  ctx.fr = await startFreeRadius({
    users: [
      {
        name: 'alice',
        password: 'alicepw',
        reply: [
          'Reply-Message := "hi"',
          'Class := 0x01020304',
          'Tunnel-Password:1 := "tunnelsecret"',
          'Framed-IP-Address := 10.1.2.3',
        ],
      },
      { name: 'User', password: 'clientPass' },
      { name: TRICKY_NAME, password: TRICKY_PASSWORD },
    ],
    clients: [
      { address: '127.0.0.1', secret: SECRET },
      // radclient sends from here with Packet-Src-IP-Address = 127.0.0.2
      { address: '127.0.0.2/32', secret: MA_SECRET, requireMessageAuthenticator: true },
    ],
    challengeUser: CHALLENGE,
  });
});

test.after(async (ctx) => {
  await ctx.fr?.stop();
});

function fr(ctx: Ctx): FreeRadius {
  if (!ctx.fr) throw new Error('freeradius not started');
  return ctx.fr;
}

function auth(ctx: Ctx, attrs: string[], extra: { secret?: string; timeoutSec?: number; retries?: number } = {}): Promise<RadclientResult> {
  return runRadclient({
    server: `127.0.0.1:${fr(ctx).port}`,
    secret: extra.secret ?? SECRET,
    attrs: attrs.join('\n'),
    timeoutSec: extra.timeoutSec ?? 2,
    retries: extra.retries ?? 1,
  });
}

function explain(r: RadclientResult, ctx: Ctx): string {
  return `radclient exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nfreeradius log:\n${ctx.fr?.logs() ?? ''}`;
}

// --- MS-CHAP (RFC 2433 / RFC 2759), from the shared test helper.

// RFC 2759 section 9.2 test vectors
const V2 = {
  user: 'User',
  password: 'clientPass',
  authChallenge: Buffer.from('5B5D7C7D7B3F2F3E3C2C602132262628', 'hex'),
  peerChallenge: Buffer.from('21402324255E262A28295F2B3A337C7E', 'hex'),
  ntResponse: '82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF',
  authenticatorResponse: 'S=407A5589115FD0D6209F510FE9C04566932CDA56',
};

function mschapV2Response(): Buffer {
  return mschapV2ResponseAttribute(1, V2.authChallenge, V2.peerChallenge, V2.user, V2.password);
}

// --- tests

test('the server is running in its own directory', (ctx) => {
  assert.ok(fr(ctx).port > 0);
  assert.ok(existsSync(`${fr(ctx).dir}/radiusd.conf`));
  assert.match(fr(ctx).logs(), 'Ready to process requests');
});

test('PAP: right password -> Access-Accept with the reply attributes', async (ctx) => {
  const r = await auth(ctx, ['User-Name = "alice"', 'User-Password = "alicepw"']);
  assert.is(r.replyCode, 'Access-Accept', explain(r, ctx));
  assert.is(r.code, 0);
  const reply = replyAttributes(r.stdout);
  assert.ok(reply.includes('Reply-Message = "hi"'), explain(r, ctx));
  assert.ok(reply.includes('Class = 0x01020304'), explain(r, ctx));
  assert.ok(reply.includes('Tunnel-Password:1 = "tunnelsecret"'), explain(r, ctx));
  assert.ok(reply.includes('Framed-IP-Address = 10.1.2.3'), explain(r, ctx));
});

test('PAP: wrong password -> Access-Reject without reply attributes', async (ctx) => {
  const r = await auth(ctx, ['User-Name = "alice"', 'User-Password = "wrong"']);
  assert.is(r.replyCode, 'Access-Reject', explain(r, ctx));
  assert.is(r.code, 1);
  assert.equal(replyAttributes(r.stdout), []);
});

test('PAP: unknown user -> Access-Reject', async (ctx) => {
  const r = await auth(ctx, ['User-Name = "nobody"', 'User-Password = "alicepw"']);
  assert.is(r.replyCode, 'Access-Reject', explain(r, ctx));
});

test('PAP: names and passwords with quotes, backslashes and % are literal', async (ctx) => {
  const quoted = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const ok = await auth(ctx, [`User-Name = ${quoted(TRICKY_NAME)}`, `User-Password = ${quoted(TRICKY_PASSWORD)}`]);
  assert.is(ok.replyCode, 'Access-Accept', explain(ok, ctx));
  const bad = await auth(ctx, [`User-Name = ${quoted(TRICKY_NAME)}`, `User-Password = ${quoted(TRICKY_PASSWORD + 'x')}`]);
  assert.is(bad.replyCode, 'Access-Reject', explain(bad, ctx));
});

test('CHAP: radclient computes CHAP from the cleartext -> Access-Accept', async (ctx) => {
  const r = await auth(ctx, ['User-Name = "alice"', 'CHAP-Password = "alicepw"']);
  assert.is(r.replyCode, 'Access-Accept', explain(r, ctx));
  assert.match(r.stdout, /CHAP-Password = 0x[0-9a-f]{34}/);
  assert.ok(replyAttributes(r.stdout).includes('Class = 0x01020304'));
  const bad = await auth(ctx, ['User-Name = "alice"', 'CHAP-Password = "nope"']);
  assert.is(bad.replyCode, 'Access-Reject', explain(bad, ctx));
});

test('MS-CHAPv2 (RFC 2759 vectors) -> Access-Accept with MS-CHAP2-Success and MPPE keys', async (ctx) => {
  const response = mschapV2Response();
  assert.is(response.subarray(26).toString('hex').toUpperCase(), V2.ntResponse); // self-check of md4/des
  const r = await auth(ctx, [
    `User-Name = "${V2.user}"`,
    `MS-CHAP-Challenge = 0x${V2.authChallenge.toString('hex')}`,
    `MS-CHAP2-Response = 0x${response.toString('hex')}`,
  ]);
  assert.is(r.replyCode, 'Access-Accept', explain(r, ctx));
  const reply = replyAttributes(r.stdout);
  const success = reply.find((l) => l.startsWith('MS-CHAP2-Success = 0x'));
  assert.ok(success, explain(r, ctx));
  // ident (1 byte) + "S=<40 hex>"
  assert.is(Buffer.from(success.slice('MS-CHAP2-Success = 0x'.length), 'hex').subarray(1).toString(), V2.authenticatorResponse);
  assert.ok(reply.some((l) => /^MS-MPPE-Send-Key = 0x[0-9a-f]{32}$/.test(l)), explain(r, ctx));
  assert.ok(reply.some((l) => /^MS-MPPE-Recv-Key = 0x[0-9a-f]{32}$/.test(l)), explain(r, ctx));

  // wrong password
  const bad = Buffer.from(response);
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
  const rej = await auth(ctx, [
    `User-Name = "${V2.user}"`,
    `MS-CHAP-Challenge = 0x${V2.authChallenge.toString('hex')}`,
    `MS-CHAP2-Response = 0x${bad.toString('hex')}`,
  ]);
  assert.is(rej.replyCode, 'Access-Reject', explain(rej, ctx));
});

test('MS-CHAPv1 -> Access-Accept with MS-CHAP-MPPE-Keys', async (ctx) => {
  const challenge = Buffer.from('0102030405060708', 'hex');
  const response = mschapV1ResponseAttribute(1, challenge, V2.password);
  const r = await auth(ctx, [
    `User-Name = "${V2.user}"`,
    `MS-CHAP-Challenge = 0x${challenge.toString('hex')}`,
    `MS-CHAP-Response = 0x${response.toString('hex')}`,
  ]);
  assert.is(r.replyCode, 'Access-Accept', explain(r, ctx));
  assert.ok(replyAttributes(r.stdout).some((l) => /^MS-CHAP-MPPE-Keys = 0x[0-9a-f]{48}$/.test(l)), explain(r, ctx));
});

test('challenge user: password -> Access-Challenge(State), State + answer -> Access-Accept', async (ctx) => {
  const first = await auth(ctx, [`User-Name = "${CHALLENGE.name}"`, `User-Password = "${CHALLENGE.password}"`]);
  assert.is(first.replyCode, 'Access-Challenge', explain(first, ctx));
  const reply = replyAttributes(first.stdout);
  assert.ok(reply.includes(`State = 0x${CHALLENGE.state}`), explain(first, ctx));
  assert.ok(reply.includes('Reply-Message = "Enter the magic word"'), explain(first, ctx));

  const second = await auth(ctx, [
    `User-Name = "${CHALLENGE.name}"`,
    `User-Password = "${CHALLENGE.answer}"`,
    `State = 0x${CHALLENGE.state}`,
  ]);
  assert.is(second.replyCode, 'Access-Accept', explain(second, ctx));
  assert.ok(replyAttributes(second.stdout).includes('Reply-Message = "challenge passed"'), explain(second, ctx));
});

test('challenge user: anything else -> Access-Reject', async (ctx) => {
  const cases: string[][] = [
    [`User-Password = "wrong"`],
    [`User-Password = "${CHALLENGE.answer}"`], // answer without State
    [`User-Password = "wrong"`, `State = 0x${CHALLENGE.state}`],
    [`User-Password = "${CHALLENGE.answer}"`, 'State = 0x00'],
    [`User-Password = "${CHALLENGE.password}"`, `State = 0x${CHALLENGE.state}`],
    [`CHAP-Password = "${CHALLENGE.password}"`],
  ];
  for (const attrs of cases) {
    const r = await auth(ctx, [`User-Name = "${CHALLENGE.name}"`, ...attrs]);
    assert.is(r.replyCode, 'Access-Reject', `${attrs.join(', ')}\n${explain(r, ctx)}`);
  }
});

test('requireMessageAuthenticator client: no answer without it, an answer with it', async (ctx) => {
  const base = ['User-Name = "alice"', 'User-Password = "alicepw"', 'Packet-Src-IP-Address = 127.0.0.2'];
  const dropped = await auth(ctx, base, { secret: MA_SECRET, timeoutSec: 0.5, retries: 1 });
  assert.is(dropped.replyCode, undefined, explain(dropped, ctx));
  assert.match(dropped.stderr + dropped.stdout, 'No reply from server');
  assert.is(dropped.code, 1);

  const answered = await auth(ctx, [...base, 'Message-Authenticator = 0x00'], { secret: MA_SECRET });
  assert.is(answered.replyCode, 'Access-Accept', explain(answered, ctx));
  assert.match(answered.stdout, /from 127\.0\.0\.2:\d+ to 127\.0\.0\.1/);
});

test('Status-Server is answered', async (ctx) => {
  const r = await runRadclient({
    server: `127.0.0.1:${fr(ctx).port}`,
    secret: SECRET,
    attrs: 'Message-Authenticator = 0x00',
    code: 'status',
  });
  assert.is(r.replyCode, 'Access-Accept', explain(r, ctx));
});

test.run();

const lifecycle = suite('freeradius-harness lifecycle');

lifecycle('requireTool: clear error for a missing tool', () => {
  assert.throws(
    () => requireTool('no-such-tool-gatehouse', 'some-package'),
    (err: Error) =>
      err.message === 'no-such-tool-gatehouse not found: install the Debian package some-package (apt-get install some-package)',
  );
  requireTool('freeradius', 'freeradius');
});

lifecycle('a fixed port, stop() ends the process and removes the directory, twice is fine', async () => {
  const probe = await startFreeRadius({ users: [], clients: [{ address: '127.0.0.0/8', secret: 's' }] });
  const port = probe.port;
  await probe.stop();
  const fixed = await startFreeRadius({ users: [{ name: 'u', password: 'p' }], clients: [{ address: '127.0.0.1', secret: 's' }], port });
  try {
    assert.is(fixed.port, port);
    const r = await runRadclient({ server: `127.0.0.1:${port}`, secret: 's', attrs: 'User-Name = "u"\nUser-Password = "p"' });
    assert.is(r.replyCode, 'Access-Accept', r.stdout + r.stderr + fixed.logs());
  } finally {
    await fixed.stop();
  }
  await fixed.stop();
  assert.not.ok(existsSync(fixed.dir));
  assert.match(fixed.logs(), /freeradius exited \(code \d+, signal \w+\)/);
  const r = await runRadclient({ server: `127.0.0.1:${port}`, secret: 's', attrs: 'User-Name = "u"\nUser-Password = "p"', timeoutSec: 0.3, retries: 1 });
  assert.is(r.replyCode, undefined);
});

lifecycle('a port already in use fails with the log', async () => {
  const first = await startFreeRadius({ users: [], clients: [{ address: '127.0.0.1', secret: 's' }] });
  try {
    let err: Error | undefined;
    try {
      const second = await startFreeRadius({ users: [], clients: [{ address: '127.0.0.1', secret: 's' }], port: first.port });
      await second.stop();
    } catch (e) {
      err = e as Error;
    }
    assert.ok(err, 'expected startFreeRadius to fail');
    assert.match(err.message, 'exited during startup');
    assert.match(err.message, 'Address already in use');
  } finally {
    await first.stop();
  }
});

lifecycle.run();
