// app/radius/rewrite.ts: attributes between the client leg and the downstream leg. Hidden
// values must come out readable with the other leg's secret and authenticator; everything else
// must pass through byte for byte and in order.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr, type Attribute, decodeVsa, encodeVsa, MsAttr, VENDOR_MICROSOFT } from '../../app/radius/codec.js';
import { hideFixed, hidePassword, saltDecrypt, saltEncrypt, unhideFixed, unhidePassword } from '../../app/radius/crypto.js';
import { clientResponseAttributes, downstreamRequestAttributes, type Leg, proxyStateOf } from '../../app/radius/rewrite.js';

interface Ctx {
  client: Leg;
  down: Leg;
  salts: Buffer[];
  salt: () => Buffer;
}

const Rewrite = suite<Ctx>('radius/rewrite', {} as Ctx);

Rewrite.before.each((ctx) => {
  ctx.client = { secret: Buffer.from('client-leg-secret'), authenticator: Buffer.from('c1c2c3c4c5c6c7c8c9cacbcccdcecfd0', 'hex') };
  ctx.down = { secret: Buffer.from('downstream-secret'), authenticator: Buffer.from('d1d2d3d4d5d6d7d8d9dadbdcdddedfe0', 'hex') };
  ctx.salts = [];
  let n = 0;
  ctx.salt = () => {
    n++;
    const s = Buffer.from([0x80 | n, n]);
    ctx.salts.push(s);
    return s;
  };
});

const attr = (type: number, value: string | Buffer): Attribute => ({ type, value: typeof value === 'string' ? Buffer.from(value) : value });
const hexOf = (attrs: readonly Attribute[]) => attrs.map((a) => `${a.type}:${a.value.toString('hex')}`);
const NAS_IP = attr(4, Buffer.from([192, 0, 2, 1]));
const NAS_PORT = attr(5, Buffer.from([0, 0, 0, 7]));
const MA = attr(Attr.MessageAuthenticator, Buffer.alloc(16, 0x5a));

// --- requests (client -> downstream) ---------------------------------------

Rewrite('PAP: the downstream User-Password unhides to the given password with the downstream secret', ({ client, down, salt }) => {
  const attrs = [attr(Attr.UserName, 'alice'), attr(Attr.UserPassword, hidePassword(Buffer.from('secret,123456'), client.secret, client.authenticator)), NAS_IP];
  const out = downstreamRequestAttributes(attrs, client, down, Buffer.from('secret'), salt);
  assert.equal(
    out.map((a) => a.type),
    [Attr.UserName, Attr.UserPassword, 4],
  );
  const pw = out[1]!.value;
  assert.is(unhidePassword(pw, down.secret, down.authenticator).toString(), 'secret');
  assert.equal(pw, hidePassword(Buffer.from('secret'), down.secret, down.authenticator));
  assert.is.not(unhidePassword(pw, client.secret, client.authenticator).toString('latin1'), 'secret');
});

Rewrite('PAP: a long password is re-hidden in full', ({ client, down, salt }) => {
  const long = Buffer.from('p'.repeat(100));
  const out = downstreamRequestAttributes([attr(Attr.UserPassword, hidePassword(long, client.secret, client.authenticator))], client, down, long, salt);
  assert.equal(unhidePassword(out[0]!.value, down.secret, down.authenticator), long);
});

Rewrite('no password given: the User-Password is not forwarded', ({ client, down, salt }) => {
  const attrs = [attr(Attr.UserName, 'alice'), attr(Attr.UserPassword, hidePassword(Buffer.from('x'), client.secret, client.authenticator))];
  assert.equal(
    downstreamRequestAttributes(attrs, client, down, undefined, salt).map((a) => a.type),
    [Attr.UserName],
  );
});

Rewrite('CHAP without CHAP-Challenge: the client Request Authenticator becomes CHAP-Challenge', ({ client, down, salt }) => {
  const chap = attr(Attr.ChapPassword, Buffer.concat([Buffer.from([0x16]), Buffer.alloc(16, 0x42)]));
  const out = downstreamRequestAttributes([attr(Attr.UserName, 'bob'), chap, NAS_IP], client, down, undefined, salt);
  const challenges = out.filter((a) => a.type === Attr.ChapChallenge);
  assert.is(challenges.length, 1);
  assert.equal(challenges[0]!.value, client.authenticator);
  assert.equal(out.find((a) => a.type === Attr.ChapPassword)!.value, chap.value);
});

Rewrite('CHAP with its own CHAP-Challenge: forwarded as is, not added twice', ({ client, down, salt }) => {
  const challenge = attr(Attr.ChapChallenge, Buffer.from('0123456789abcdef0123'));
  const chap = attr(Attr.ChapPassword, Buffer.concat([Buffer.from([1]), Buffer.alloc(16, 0x42)]));
  const attrs = [attr(Attr.UserName, 'bob'), challenge, chap];
  const out = downstreamRequestAttributes(attrs, client, down, undefined, salt);
  assert.equal(hexOf(out), hexOf(attrs));
});

Rewrite('no CHAP-Password: no CHAP-Challenge is added', ({ client, down, salt }) => {
  const out = downstreamRequestAttributes([attr(Attr.UserName, 'bob'), NAS_IP], client, down, undefined, salt);
  assert.not.ok(out.some((a) => a.type === Attr.ChapChallenge));
});

Rewrite("request: Message-Authenticator and the client's Proxy-State dropped, other attributes byte-identical and in order", ({ client, down, salt }) => {
  const msChap2 = attr(Attr.VendorSpecific, encodeVsa(VENDOR_MICROSOFT, [attr(MsAttr.ChapChallenge, Buffer.alloc(16, 3)), attr(MsAttr.Chap2Response, Buffer.alloc(50, 4))]));
  const kept = [attr(Attr.UserName, 'carol'), NAS_IP, msChap2, NAS_PORT, attr(Attr.State, Buffer.from([0, 1, 2])), attr(Attr.EapMessage, Buffer.from([2, 1, 0, 5, 1]))];
  const attrs = [MA, ...kept.slice(0, 3), attr(Attr.ProxyState, 'ps-1'), ...kept.slice(3), attr(Attr.ProxyState, 'ps-2')];
  const out = downstreamRequestAttributes(attrs, client, down, undefined, salt);
  assert.equal(hexOf(out), hexOf(kept));
});

Rewrite('request: Tunnel-Password re-encrypted for the downstream leg, tag kept', ({ client, down, salt, salts }) => {
  const tp = attr(Attr.TunnelPassword, Buffer.concat([Buffer.from([0x01]), saltEncrypt(Buffer.from('tunnel-pw'), client.secret, client.authenticator, Buffer.from([0x80, 0x77]))]));
  const out = downstreamRequestAttributes([attr(Attr.UserName, 'a'), tp], client, down, undefined, salt);
  const v = out[1]!.value;
  assert.is(v[0], 0x01);
  assert.is(saltDecrypt(v.subarray(1), down.secret, down.authenticator).toString(), 'tunnel-pw');
  assert.equal(v.subarray(1, 3), salts[0]);
});

// --- responses (downstream -> client) ---------------------------------------

Rewrite('response: Tunnel-Password re-encrypted with a fresh salt; the client leg decrypts the original, tag kept', ({ client, down, salt, salts }) => {
  for (const tag of [0x00, 0x01, 0x1f]) {
    const value = Buffer.concat([Buffer.from([tag]), saltEncrypt(Buffer.from('vpn-tunnel-secret'), down.secret, down.authenticator, Buffer.from([0x85, 0x11]))]);
    const out = clientResponseAttributes([attr(Attr.TunnelPassword, value)], down, client, [], salt);
    assert.is(out.length, 1);
    const v = out[0]!.value;
    assert.is(v[0], tag);
    assert.equal(v.subarray(1, 3), salts[salts.length - 1]);
    assert.ok((v[1]! & 0x80) !== 0, 'salt high bit set');
    assert.is(saltDecrypt(v.subarray(1), client.secret, client.authenticator).toString(), 'vpn-tunnel-secret');
  }
});

Rewrite('response: MS-MPPE-Send/Recv-Key in a Microsoft VSA re-encrypted; other subs kept in order', ({ client, down, salt }) => {
  const sendKey = Buffer.alloc(32, 0xa5);
  const recvKey = Buffer.alloc(32, 0x5a);
  const policy = attr(7, Buffer.from([0, 0, 0, 1]));
  const types = attr(8, Buffer.from([0, 0, 0, 6]));
  const vsa = encodeVsa(VENDOR_MICROSOFT, [
    policy,
    attr(MsAttr.MppeSendKey, saltEncrypt(sendKey, down.secret, down.authenticator, Buffer.from([0x81, 1]))),
    attr(MsAttr.MppeRecvKey, saltEncrypt(recvKey, down.secret, down.authenticator, Buffer.from([0x82, 2]))),
    types,
  ]);
  const out = clientResponseAttributes([attr(Attr.VendorSpecific, vsa)], down, client, [], salt);
  const d = decodeVsa(out[0]!.value);
  assert.ok(d);
  assert.is(d!.vendor, VENDOR_MICROSOFT);
  assert.equal(
    d!.subs.map((s) => s.type),
    [7, MsAttr.MppeSendKey, MsAttr.MppeRecvKey, 8],
  );
  assert.equal(d!.subs[0]!.value, policy.value);
  assert.equal(d!.subs[3]!.value, types.value);
  assert.equal(saltDecrypt(d!.subs[1]!.value, client.secret, client.authenticator), sendKey);
  assert.equal(saltDecrypt(d!.subs[2]!.value, client.secret, client.authenticator), recvKey);
  assert.ok((d!.subs[1]!.value[0]! & 0x80) !== 0 && (d!.subs[2]!.value[0]! & 0x80) !== 0, 'salts have the high bit set');
  assert.not.equal(d!.subs[1]!.value.subarray(0, 2), d!.subs[2]!.value.subarray(0, 2), 'each key gets its own salt');
});

Rewrite('response: MS-CHAP-MPPE-Keys (type 12) re-hidden with hideFixed for the client leg', ({ client, down, salt }) => {
  const keys = Buffer.concat([Buffer.alloc(8, 0x11), Buffer.alloc(16, 0x22), Buffer.alloc(8, 0)]);
  const vsa = encodeVsa(VENDOR_MICROSOFT, [attr(MsAttr.ChapMppeKeys, hideFixed(keys, down.secret, down.authenticator))]);
  const out = clientResponseAttributes([attr(Attr.VendorSpecific, vsa)], down, client, [], salt);
  const sub = decodeVsa(out[0]!.value)!.subs[0]!;
  assert.is(sub.type, MsAttr.ChapMppeKeys);
  assert.equal(sub.value, hideFixed(keys, client.secret, client.authenticator));
  assert.equal(unhideFixed(sub.value, client.secret, client.authenticator), keys);
});

Rewrite('response: a non-Microsoft VSA and a Microsoft VSA without hidden values pass unchanged', ({ client, down, salt }) => {
  const cisco = attr(Attr.VendorSpecific, encodeVsa(9, [attr(1, 'shell:priv-lvl=15'), attr(MsAttr.MppeSendKey, Buffer.alloc(18, 0x80))]));
  const ms = attr(Attr.VendorSpecific, encodeVsa(VENDOR_MICROSOFT, [attr(MsAttr.Chap2Success, 'S=0123456789ABCDEF0123456789ABCDEF01234567')]));
  const out = clientResponseAttributes([cisco, ms], down, client, [], salt);
  assert.equal(hexOf(out), hexOf([cisco, ms]));
});

Rewrite('response: MA and downstream Proxy-State removed; others byte-identical in order; client Proxy-State appended in order', ({ client, down, salt }) => {
  const others = [attr(Attr.ReplyMessage, 'Welcome'), attr(25, Buffer.from('class-bytes')), NAS_PORT, attr(27, Buffer.from([0, 0, 0x0e, 0x10])), attr(Attr.ReplyMessage, 'second line')];
  const answer = [MA, others[0]!, attr(Attr.ProxyState, 'downstream-ps'), others[1]!, others[2]!, attr(Attr.ProxyState, 'client-ps-1'), others[3]!, others[4]!];
  const clientPs = [attr(Attr.ProxyState, 'client-ps-1'), attr(Attr.ProxyState, 'client-ps-2')];
  const out = clientResponseAttributes(answer, down, client, clientPs, salt);
  assert.equal(hexOf(out), hexOf([...others, ...clientPs]));
});

Rewrite('proxyStateOf picks the Proxy-State attributes in order', () => {
  const attrs = [attr(Attr.ProxyState, 'a'), attr(Attr.UserName, 'u'), attr(Attr.ProxyState, 'b')];
  assert.equal(
    proxyStateOf(attrs).map((a) => a.value.toString()),
    ['a', 'b'],
  );
});

Rewrite('everything the proxy does not rewrite keeps its bytes in both directions', ({ client, down, salt }) => {
  const mixed = [attr(Attr.UserName, 'x'), attr(Attr.State, Buffer.from([9, 9])), NAS_IP, attr(Attr.CallingStationId, '10.9.8.7'), attr(Attr.EapMessage, Buffer.from([3, 1, 0, 4]))];
  const req = downstreamRequestAttributes(mixed, client, down, undefined, salt);
  const resp = clientResponseAttributes(mixed, down, client, [], salt);
  assert.equal(hexOf(req), hexOf(mixed));
  assert.equal(hexOf(resp), hexOf(mixed));
});

Rewrite.run();
