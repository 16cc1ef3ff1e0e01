// TOTP through the proxy: enrolment from the command line, then radclient and our own client ->
// bin/gatehouse -> a real FreeRADIUS. Codes are computed from the enrolled otpauth:// URI.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr, Code, getAttr, getString, type Attribute } from '../../app/radius/codec.js';
import { chapResponse } from '../../app/radius/crypto.js';
import { base32Decode } from '../../app/mfa/otp.js';
import { totpCode, wrongTotpCode } from '../helpers/totp.js';
import { startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { replyAttributes, runRadclient } from '../helpers/radclient.js';
import { createTestClient, str, type TestClient } from '../helpers/radius-client.js';

const CS = 'totp-nas-secret';
const DS = 'totp-down-secret';
const NAMES = ['tina', 'tom', 'tara', 'ted', 'tess', 'toby', 'troy', 'tia', 'tyra', 'theo', 'tad'];

interface Ctx {
  fr: FreeRadius;
  gh: Appliance;
  client: TestClient;
  seeds: Map<string, Buffer>;
}

const code = totpCode;
const wrongCode = wrongTotpCode;

async function enroll(gh: Appliance, name: string): Promise<Buffer> {
  const r = await gh.cli(['totp', 'enroll', name]);
  assert.is(r.code, 0, r.stderr);
  const uri = r.stdout.split('\n').find((l) => l.startsWith('otpauth://totp/'));
  assert.ok(uri, r.stdout);
  const u = new URL(uri!);
  assert.is(u.searchParams.get('issuer'), 'Gatehouse');
  assert.is(u.host, 'totp');
  assert.is(decodeURIComponent(u.pathname.slice(1)), `Gatehouse:${name}`);
  return base32Decode(u.searchParams.get('secret')!);
}

async function audit(gh: Appliance): Promise<Record<string, unknown>[]> {
  const r = await gh.cli(['audit', 'export']);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function challenge(client: TestClient, name: string, password: string, extra: Attribute[] = []): Promise<Buffer> {
  const res = await client.request(client.build([str(Attr.UserName, name), ...extra], { password }));
  assert.is(res?.packet.code, Code.AccessChallenge, `expected a challenge for ${name}`);
  assert.is(getString(res!.packet.attributes, Attr.ReplyMessage), 'Enter the code from your authenticator app');
  const state = getAttr(res!.packet.attributes, Attr.State);
  assert.ok(state);
  return Buffer.from(state!);
}

const T = suite<Ctx>('proxy with TOTP');

T.before(async (ctx) => {
  ctx.fr = await startFreeRadius({
    users: [
      ...NAMES.map((n) => ({ name: n, password: `${n}-pw`, reply: ['Reply-Message := "welcome"', 'Class := 0xc1a550'] })),
      { name: 'tricky', password: 'secret,123456' },
    ],
    clients: [{ address: '127.0.0.1', secret: DS }],
  });
  ctx.gh = await startAppliance({ args: ['--downstream-address', '127.0.0.1', '--port-out', String(ctx.fr.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--totp-max-failures', '3', '--totp-challenge-ttl', '2'] });
  ctx.client = await createTestClient({ port: ctx.gh.radiusPort, secret: CS });
  ctx.seeds = new Map();
  for (const n of [...NAMES, 'tricky']) ctx.seeds.set(n, await enroll(ctx.gh, n));
});

T.after(async (ctx) => {
  await ctx.client?.close();
  await ctx.gh?.stop();
  await ctx.fr?.stop();
});

T('challenge round trip with radclient: Access-Challenge with State, then the code gives Access-Accept with the downstream attributes', async ({ gh, seeds }) => {
  const first = await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: CS, attrs: 'User-Name = "tina"\nUser-Password = "tina-pw"\nMessage-Authenticator = 0x00' });
  assert.is(first.replyCode, 'Access-Challenge', first.stdout + first.stderr);
  const stateLine = replyAttributes(first.stdout).find((l) => l.startsWith('State = 0x'));
  assert.ok(stateLine, first.stdout);
  assert.ok(replyAttributes(first.stdout).includes('Reply-Message = "Enter the code from your authenticator app"'));
  const second = await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: CS, attrs: `User-Name = "tina"\nUser-Password = "${code(seeds.get('tina')!)}"\n${stateLine}\nMessage-Authenticator = 0x00` });
  assert.is(second.replyCode, 'Access-Accept', second.stdout + second.stderr);
  assert.ok(replyAttributes(second.stdout).includes('Reply-Message = "welcome"'), second.stdout);
});

T('appended code with radclient: password,code is accepted without a challenge; only the password goes downstream', async ({ gh, seeds }) => {
  const r = await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: CS, attrs: `User-Name = "tom"\nUser-Password = "tom-pw,${code(seeds.get('tom')!)}"\nMessage-Authenticator = 0x00` });
  assert.is(r.replyCode, 'Access-Accept', r.stdout + r.stderr);
  const rows = await audit(gh);
  assert.ok(rows.some((x) => x['username'] === 'tom' && x['reason'] === 'totp_ok' && (x['details'] as Record<string, unknown>)['appendedCode'] === true));
});

T('a wrong code is rejected; a wrong password never reaches the code', async ({ client, seeds, gh }) => {
  const st = await challenge(client, 'tara', 'tara-pw');
  const res = await client.request(client.build([str(Attr.UserName, 'tara'), { type: Attr.State, value: st }], { password: wrongCode(seeds.get('tara')!) }));
  assert.is(res?.packet.code, Code.AccessReject);
  assert.match(getString(res!.packet.attributes, Attr.ReplyMessage) ?? '', /not correct/);
  const bad = await client.request(client.build([str(Attr.UserName, 'tara')], { password: `nope,${code(seeds.get('tara')!)}` }));
  assert.is(bad?.packet.code, Code.AccessReject);
  const rows = (await audit(gh)).filter((x) => x['username'] === 'tara');
  assert.ok(rows.some((x) => x['reason'] === 'totp_wrong'));
  assert.ok(rows.some((x) => x['reason'] === 'downstream_reject'));
});

T('a code is accepted once: replaying it, or an older one, is refused', async ({ client, seeds }) => {
  const seed = seeds.get('ted')!;
  const c = code(seed);
  assert.is((await client.request(client.build([str(Attr.UserName, 'ted')], { password: `ted-pw,${c}` })))?.packet.code, Code.AccessAccept);
  const again = await client.request(client.build([str(Attr.UserName, 'ted')], { password: `ted-pw,${c}` }));
  assert.is(again?.packet.code, Code.AccessReject);
  assert.match(getString(again!.packet.attributes, Attr.ReplyMessage) ?? '', /already used/);
  const older = await client.request(client.build([str(Attr.UserName, 'ted')], { password: `ted-pw,${code(seed, -1)}` }));
  assert.is(older?.packet.code, Code.AccessReject);
});

T('an expired State, a forged State and another user`s State are refused', async ({ client, seeds }) => {
  const st = await challenge(client, 'tess', 'tess-pw');
  await new Promise((r) => setTimeout(r, 2200)); // --totp-challenge-ttl 2
  const late = await client.request(client.build([str(Attr.UserName, 'tess'), { type: Attr.State, value: st }], { password: code(seeds.get('tess')!) }));
  assert.is(late?.packet.code, Code.AccessReject);
  assert.match(getString(late!.packet.attributes, Attr.ReplyMessage) ?? '', /expired/);
  const forged = Buffer.concat([Buffer.from('GH\x01', 'latin1'), randomBytes(16)]);
  const f = await client.request(client.build([str(Attr.UserName, 'tess'), { type: Attr.State, value: forged }], { password: code(seeds.get('tess')!) }));
  assert.is(f?.packet.code, Code.AccessReject);
  const hers = await challenge(client, 'tess', 'tess-pw');
  const other = await client.request(client.build([str(Attr.UserName, 'toby'), { type: Attr.State, value: hers }], { password: code(seeds.get('toby')!) }));
  assert.is(other?.packet.code, Code.AccessReject);
  // A State is single-use: the right answer after a refusal on it is refused too.
  const reuse = await client.request(client.build([str(Attr.UserName, 'tess'), { type: Attr.State, value: hers }], { password: code(seeds.get('tess')!) }));
  assert.is(reuse?.packet.code, Code.AccessReject);
});

T('a locked user is rejected with a Reply-Message saying so, before any challenge; unlock restores', async ({ gh, client, seeds }) => {
  assert.is((await gh.cli(['user', 'lock', 'troy'])).code, 0);
  const r = await client.request(client.build([str(Attr.UserName, 'troy')], { password: 'troy-pw' }));
  assert.is(r?.packet.code, Code.AccessReject);
  assert.match(getString(r!.packet.attributes, Attr.ReplyMessage) ?? '', /locked/);
  assert.is(getAttr(r!.packet.attributes, Attr.State), undefined);
  assert.is((await gh.cli(['user', 'unlock', 'troy'])).code, 0);
  await challenge(client, 'troy', 'troy-pw');
  void seeds;
});

T('wrong codes lock the user out (3 here); then even the right code is refused; unlock lets them in', async ({ gh, client, seeds }) => {
  const seed = seeds.get('tia')!;
  for (let i = 0; i < 3; i++) {
    const r = await client.request(client.build([str(Attr.UserName, 'tia')], { password: `tia-pw,${wrongCode(seed)}` }));
    assert.is(r?.packet.code, Code.AccessReject);
  }
  const locked = await client.request(client.build([str(Attr.UserName, 'tia')], { password: `tia-pw,${code(seed)}` }));
  assert.is(locked?.packet.code, Code.AccessReject);
  assert.match(getString(locked!.packet.attributes, Attr.ReplyMessage) ?? '', /locked/);
  const list = await gh.cli(['user', 'list']);
  assert.match(list.stdout, /tia\ttotp\tlocked out until/);
  assert.is((await gh.cli(['user', 'unlock', 'tia'])).code, 0);
  assert.is((await client.request(client.build([str(Attr.UserName, 'tia')], { password: `tia-pw,${code(seed)}` })))?.packet.code, Code.AccessAccept);
  const rows = await audit(gh);
  assert.is(rows.filter((x) => x['event'] === 'user.lockout' && x['username'] === 'tia').length, 1);
  assert.ok(rows.some((x) => x['event'] === 'user.unlock' && x['username'] === 'tia'));
});

T('a CHAP user answers the challenge with CHAP over the code', async ({ client, seeds }) => {
  const chapOver = (secret: string, challengeBytes: Buffer): Attribute[] => {
    const ident = 7;
    return [
      { type: Attr.ChapPassword, value: Buffer.concat([Buffer.from([ident]), chapResponse(ident, Buffer.from(secret), challengeBytes)]) },
      { type: Attr.ChapChallenge, value: challengeBytes },
    ];
  };
  const c1 = randomBytes(16);
  const first = await client.request(client.build([str(Attr.UserName, 'tyra'), ...chapOver('tyra-pw', c1)]));
  assert.is(first?.packet.code, Code.AccessChallenge);
  const st = getAttr(first!.packet.attributes, Attr.State)!;
  const c2 = randomBytes(16);
  const second = await client.request(client.build([str(Attr.UserName, 'tyra'), { type: Attr.State, value: Buffer.from(st) }, ...chapOver(code(seeds.get('tyra')!), c2)]));
  assert.is(second?.packet.code, Code.AccessAccept);
});

T('a password that really ends in ",123456": tried whole after the split is refused; both login styles work', async ({ client, seeds, gh }) => {
  await challenge(client, 'tricky', 'secret,123456');
  const r = await client.request(client.build([str(Attr.UserName, 'tricky')], { password: `secret,123456,${code(seeds.get('tricky')!)}` }));
  assert.is(r?.packet.code, Code.AccessAccept);
  void gh;
});

T('retransmissions of the code answer are absorbed: one verification, the same answer repeated', async ({ client, seeds, gh }) => {
  const st = await challenge(client, 'theo', 'theo-pw');
  const req = client.build([str(Attr.UserName, 'theo'), { type: Attr.State, value: st }], { password: code(seeds.get('theo')!) });
  for (let i = 0; i < 4; i++) client.send(req);
  const res = await client.answer(req);
  assert.is(res?.packet.code, Code.AccessAccept);
  const all = await waitFor('the answer repeated', () => (client.received(req.identifier).length >= 2 ? client.received(req.identifier) : undefined));
  assert.ok(all.every((x) => x.wire.equals(all[0]!.wire)), 'the repeated answers differ');
  const rows = (await audit(gh)).filter((x) => x['username'] === 'theo' && x['event'] === 'radius.auth' && x['outcome'] === 'accept');
  assert.is(rows.length, 1);
});

T('re-enrolling replaces the seed: the old codes stop working at once', async ({ gh, client, seeds }) => {
  const old = seeds.get('tad')!;
  const fresh = await enroll(gh, 'tad');
  const r = await client.request(client.build([str(Attr.UserName, 'tad')], { password: `tad-pw,${code(old)}` }));
  assert.is(r?.packet.code, Code.AccessReject);
  assert.is((await client.request(client.build([str(Attr.UserName, 'tad')], { password: `tad-pw,${code(fresh)}` })))?.packet.code, Code.AccessAccept);
});

T('the audit has enrolment, successes, failures with reasons and lockouts, and never a code or a seed', async ({ gh, seeds }) => {
  const r = await gh.cli(['audit', 'export']);
  const rows = await audit(gh);
  assert.ok(rows.filter((x) => x['event'] === 'totp.enroll').length >= NAMES.length);
  for (const reason of ['totp_ok', 'totp_wrong', 'totp_replayed', 'state_expired', 'state_mismatch', 'locked', 'totp_challenge']) {
    assert.ok(rows.some((x) => x['reason'] === reason), `no record with reason ${reason}`);
  }
  for (const [name, seed] of seeds) {
    assert.not.ok(r.stdout.includes(seed.toString('hex')), `seed of ${name} in audit`);
    for (const o of [-1, 0, 1]) assert.not.ok(new RegExp(`"${code(seed, o)}"`).test(r.stdout), `code of ${name} in audit`);
  }
  assert.not.ok(gh.output().includes('otpauth://'), 'the process log has an enrolment URI');
  const verify = await gh.cli(['audit', 'verify']);
  assert.is(verify.code, 0, verify.stderr);
});

T.run();
