// app/radius/codec.ts: framing, malformed input, signing and checks, VSAs, and interop with the
// `radius` npm package as an independent oracle.
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Attr,
  type Attribute,
  checkRequestMa,
  checkResponse,
  Code,
  decodePacket,
  decodeVsa,
  type DecodeErrorReason,
  encodeRequest,
  encodeResponse,
  encodeVsa,
  getAttr,
  getString,
  getVendorAttr,
  MsAttr,
  RadiusDecodeError,
  textAttributes,
  VENDOR_MICROSOFT,
} from '../../app/radius/codec.js';
import { hidePassword, unhidePassword } from '../../app/radius/crypto.js';

interface Decoded {
  code: string;
  identifier: number;
  attributes: Record<string, unknown>;
  raw_attributes: [number, Buffer][];
}
interface RadiusOracle {
  encode(args: Record<string, unknown>): Buffer;
  decode(args: { packet: Buffer; secret: string }): Decoded;
  verify_response(args: { request: Buffer; response: Buffer; secret: string }): boolean;
}
const radius = createRequire(import.meta.url)('radius') as RadiusOracle;

const Codec = suite('radius/codec');

const SECRET = Buffer.from('codec-secret');
const RA = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const attr = (type: number, value: string | Buffer): Attribute => ({ type, value: typeof value === 'string' ? Buffer.from(value) : value });
const plain = (attrs: readonly Attribute[]) => attrs.map((a) => ({ type: a.type, value: a.value.toString('hex') }));

/** A raw datagram: header with `length` (default: the real length) and the given attribute bytes. */
function raw(attrBytes: number[], opts: { code?: number; length?: number } = {}): Buffer {
  const body = Buffer.from(attrBytes);
  const buf = Buffer.concat([Buffer.from([opts.code ?? 1, 9, 0, 0]), RA, body]);
  buf.writeUInt16BE(opts.length ?? buf.length, 2);
  return buf;
}

function decodeFails(buf: Buffer, reason: DecodeErrorReason): void {
  try {
    decodePacket(buf);
  } catch (e) {
    assert.instance(e, RadiusDecodeError);
    assert.is((e as RadiusDecodeError).reason, reason);
    return;
  }
  assert.unreachable(`decodePacket accepted a packet that should fail with ${reason}`);
}

const SAMPLE: Attribute[] = [
  attr(Attr.UserName, 'alice'),
  attr(Attr.UserPassword, hidePassword(Buffer.from('pw'), SECRET, RA)),
  attr(4, Buffer.from([10, 0, 0, 1])),
  attr(Attr.CallingStationId, '00-11-22-33-44-55'),
  attr(Attr.ProxyState, Buffer.from([1, 2, 3])),
  attr(Attr.State, Buffer.alloc(0)),
];

// --- framing ---------------------------------------------------------------

Codec('encode then decode gives back the code, identifier, authenticator and attributes in order', () => {
  const buf = encodeRequest(Code.AccessRequest, 77, RA, SAMPLE, SECRET, false);
  const p = decodePacket(buf);
  assert.is(p.code, Code.AccessRequest);
  assert.is(p.identifier, 77);
  assert.equal(p.authenticator, RA);
  assert.equal(plain(p.attributes), plain(SAMPLE));
  assert.is(p.maOffset, -1);
  assert.is(buf.readUInt16BE(2), buf.length);
  assert.equal(encodeRequest(p.code, p.identifier, p.authenticator, p.attributes, SECRET, false), buf);
});

Codec('getAttr / getString return the first attribute of a type, undefined when absent', () => {
  const attrs = [attr(Attr.ReplyMessage, 'one'), attr(Attr.ReplyMessage, 'two')];
  assert.is(getString(attrs, Attr.ReplyMessage), 'one');
  assert.is(getAttr(attrs, Attr.State), undefined);
  assert.is(getString(attrs, Attr.State), undefined);
});

Codec('bytes after the Length field are ignored', () => {
  const buf = encodeRequest(Code.AccessRequest, 5, RA, SAMPLE, SECRET);
  const padded = Buffer.concat([buf, Buffer.from('trailing garbage \x00\xff')]);
  const p = decodePacket(padded);
  assert.equal(plain(p.attributes), plain(decodePacket(buf).attributes));
  assert.is(checkRequestMa(padded, p, SECRET), 'valid');
});

Codec('a packet shorter than 20 bytes: too_short', () => {
  decodeFails(Buffer.alloc(0), 'too_short');
  decodeFails(raw([]).subarray(0, 19), 'too_short');
});

Codec('Length below 20 or above 4096: length_mismatch', () => {
  decodeFails(raw([], { length: 19 }), 'length_mismatch');
  decodeFails(raw([], { length: 0 }), 'length_mismatch');
  decodeFails(Buffer.concat([raw([], { length: 4097 }), Buffer.alloc(4077)]), 'length_mismatch');
});

Codec('Length beyond the bytes received: length_mismatch', () => {
  decodeFails(raw([1, 3, 0x61], { length: 30 }), 'length_mismatch');
});

Codec('attribute of length 0 or 1: bad_attribute_length', () => {
  decodeFails(raw([1, 0, 0x61, 0x62]), 'bad_attribute_length');
  decodeFails(raw([1, 1, 0x61, 0x62]), 'bad_attribute_length');
});

Codec('attribute running past Length: bad_attribute_length', () => {
  decodeFails(raw([1, 10, 0x61, 0x62, 0x63]), 'bad_attribute_length');
  // The bytes exist in the datagram but lie beyond the Length field.
  const buf = raw([1, 3, 0x61, 18, 6, 0x61, 0x62, 0x63, 0x64]);
  buf.writeUInt16BE(20 + 3 + 4, 2);
  decodeFails(buf, 'bad_attribute_length');
});

Codec('attribute header cut by Length: bad_attribute_length', () => {
  decodeFails(raw([1, 3, 0x61, 18]), 'bad_attribute_length');
  const buf = raw([1, 3, 0x61, 18, 2]);
  buf.writeUInt16BE(24, 2);
  decodeFails(buf, 'bad_attribute_length');
});

Codec('Message-Authenticator not 18 bytes long: bad_message_authenticator', () => {
  decodeFails(raw([80, 10, ...Buffer.alloc(8)]), 'bad_message_authenticator');
  decodeFails(raw([80, 19, ...Buffer.alloc(17)]), 'bad_message_authenticator');
});

Codec('two Message-Authenticators: duplicate_message_authenticator', () => {
  decodeFails(raw([80, 18, ...Buffer.alloc(16), 1, 3, 0x61, 80, 18, ...Buffer.alloc(16)]), 'duplicate_message_authenticator');
});

Codec('an empty attribute (length 2) and an empty packet (just the header) decode', () => {
  assert.equal(plain(decodePacket(raw([24, 2])).attributes), [{ type: 24, value: '' }]);
  assert.equal(decodePacket(raw([])).attributes, []);
});

// --- signing and checks ---------------------------------------------------

Codec('encodeRequest with MA: checkRequestMa valid; any changed byte invalid; none absent', () => {
  const buf = encodeRequest(Code.AccessRequest, 3, RA, SAMPLE, SECRET);
  assert.is(checkRequestMa(buf, decodePacket(buf), SECRET), 'valid');
  assert.is(checkRequestMa(buf, decodePacket(buf), Buffer.from('wrong')), 'invalid');
  for (let i = 0; i < buf.length; i++) {
    if (i === 2 || i === 3) continue; // Length: framing, not content
    if (i === 20) continue; // the MA's own type byte: the packet then has no MA (checked below)
    const bad = Buffer.from(buf);
    bad[i] = bad[i]! ^ 0x01;
    let p;
    try {
      p = decodePacket(bad);
    } catch {
      continue; // a flipped type or length byte may break the framing instead
    }
    assert.is(checkRequestMa(bad, p, SECRET), 'invalid', `byte ${i} flipped`);
  }
  const retyped = Buffer.from(buf);
  retyped[20] = 81;
  assert.is(checkRequestMa(retyped, decodePacket(retyped), SECRET), 'absent');
  const none = encodeRequest(Code.AccessRequest, 3, RA, SAMPLE, SECRET, false);
  assert.is(checkRequestMa(none, decodePacket(none), SECRET), 'absent');
});

Codec('MA is the first attribute and is computed as RFC 3579 says', () => {
  for (const buf of [encodeRequest(Code.AccessRequest, 1, RA, SAMPLE, SECRET), encodeResponse(Code.AccessAccept, 1, RA, SAMPLE, SECRET)]) {
    const p = decodePacket(buf);
    assert.is(p.attributes[0]!.type, Attr.MessageAuthenticator);
    assert.is(p.maOffset, 22);
    assert.equal(plain(p.attributes.slice(1)), plain(SAMPLE));
    const copy = Buffer.from(buf);
    RA.copy(copy, 4);
    copy.fill(0, 22, 38);
    assert.equal(buf.subarray(22, 38), createHmac('md5', SECRET).update(copy).digest());
  }
});

Codec('an MA among the attributes given is replaced, not duplicated', () => {
  const buf = encodeRequest(Code.AccessRequest, 1, RA, [attr(Attr.MessageAuthenticator, Buffer.alloc(16, 0xab)), ...SAMPLE], SECRET);
  const p = decodePacket(buf);
  assert.is(p.attributes.filter((a) => a.type === Attr.MessageAuthenticator).length, 1);
  assert.is(checkRequestMa(buf, p, SECRET), 'valid');
});

Codec('encodeResponse: authentic with the right request authenticator and secret only', () => {
  const buf = encodeResponse(Code.AccessAccept, 9, RA, [attr(Attr.ReplyMessage, 'welcome')], SECRET);
  const p = decodePacket(buf);
  assert.equal(checkResponse(buf, p, RA, SECRET), { authentic: true, ma: 'valid' });
  const otherRa = Buffer.from(RA);
  otherRa[0] = otherRa[0]! ^ 1;
  assert.equal(checkResponse(buf, p, otherRa, SECRET), { authentic: false, ma: 'invalid' });
  assert.equal(checkResponse(buf, p, RA, Buffer.from('wrong')), { authentic: false, ma: 'invalid' });
  const tampered = Buffer.from(buf);
  tampered[tampered.length - 1] = 0x21;
  assert.is(checkResponse(tampered, decodePacket(tampered), RA, SECRET).authentic, false);
});

Codec('encodeResponse without MA: authentic, ma absent; padding after Length ignored', () => {
  const buf = encodeResponse(Code.AccessReject, 9, RA, [attr(Attr.ReplyMessage, 'no')], SECRET, false);
  const padded = Buffer.concat([buf, Buffer.alloc(7, 0x55)]);
  assert.equal(checkResponse(padded, decodePacket(padded), RA, SECRET), { authentic: true, ma: 'absent' });
});

Codec('a value over 253 bytes throws RangeError; 253 bytes is fine', () => {
  assert.is(decodePacket(encodeRequest(1, 1, RA, [attr(Attr.ReplyMessage, Buffer.alloc(253, 0x61))], SECRET)).attributes[1]!.value.length, 253);
  assert.throws(() => encodeRequest(1, 1, RA, [attr(Attr.ReplyMessage, Buffer.alloc(254, 0x61))], SECRET), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodeResponse(2, 1, RA, [attr(Attr.ReplyMessage, Buffer.alloc(254, 0x61))], SECRET), (e: unknown) => e instanceof RangeError);
});

Codec('a packet over 4096 bytes throws RangeError', () => {
  const many = Array.from({ length: 17 }, () => attr(Attr.ReplyMessage, Buffer.alloc(253, 0x61)));
  assert.throws(() => encodeResponse(2, 1, RA, many, SECRET), (e: unknown) => e instanceof RangeError);
});

// --- text -----------------------------------------------------------------

Codec('textAttributes splits at 253 bytes, in order', () => {
  const text = 'abcdefghij'.repeat(60);
  const parts = textAttributes(Attr.ReplyMessage, text);
  assert.equal(
    parts.map((p) => p.value.length),
    [253, 253, 94],
  );
  assert.ok(parts.every((p) => p.type === Attr.ReplyMessage));
  assert.is(Buffer.concat(parts.map((p) => p.value)).toString(), text);
  assert.is(textAttributes(Attr.ReplyMessage, 'x'.repeat(253)).length, 1);
  assert.equal(textAttributes(Attr.ReplyMessage, ''), []);
});

Codec('textAttributes never splits a UTF-8 character (RFC 2865 5: each text value is UTF-8)', () => {
  // 'é' is 2 bytes: 253 is odd, so a plain byte split would cut one in half.
  const text = 'é'.repeat(300);
  const parts = textAttributes(Attr.ReplyMessage, text);
  const strict = new TextDecoder('utf-8', { fatal: true });
  for (const p of parts) {
    assert.ok(p.value.length <= 253);
    assert.not.throws(() => strict.decode(p.value), 'each piece is valid UTF-8');
  }
  assert.is(parts.map((p) => strict.decode(p.value)).join(''), text);
});

// --- vendor-specific --------------------------------------------------------

Codec('encodeVsa / decodeVsa: vendor id, sub-attributes and layout', () => {
  const subs = [attr(MsAttr.MppeSendKey, Buffer.alloc(34, 1)), attr(7, Buffer.from([0, 0, 0, 1]))];
  const v = encodeVsa(VENDOR_MICROSOFT, subs);
  assert.equal(v.subarray(0, 6), Buffer.from([0, 0, 1, 0x37, 16, 36]));
  assert.is(v.length, 4 + 36 + 6);
  const d = decodeVsa(v);
  assert.ok(d);
  assert.is(d!.vendor, VENDOR_MICROSOFT);
  assert.equal(plain(d!.subs), plain(subs));
  assert.throws(() => encodeVsa(9, [attr(1, Buffer.alloc(248))]), (e: unknown) => e instanceof RangeError);
});

Codec('decodeVsa returns null for malformed values', () => {
  assert.is(decodeVsa(Buffer.from([0, 0, 1, 0x37, 1])), null);
  assert.is(decodeVsa(Buffer.from([0, 0, 1, 0x37, 1, 1])), null);
  assert.is(decodeVsa(Buffer.from([0, 0, 1, 0x37, 1, 9, 0])), null);
  assert.is(decodeVsa(Buffer.from([0, 0, 1, 0x37, 1, 3, 0x61, 2])), null);
});

Codec('getVendorAttr finds a sub-attribute by vendor and type across VSAs, through a packet', () => {
  const buf = encodeResponse(
    Code.AccessAccept,
    1,
    RA,
    [
      attr(Attr.VendorSpecific, encodeVsa(9, [attr(MsAttr.MppeRecvKey, 'cisco-17')])),
      attr(Attr.VendorSpecific, Buffer.from([0, 0, 1, 0x37, 1])), // malformed: skipped
      attr(Attr.VendorSpecific, encodeVsa(VENDOR_MICROSOFT, [attr(MsAttr.Chap2Success, 'S=ok')])),
      attr(Attr.VendorSpecific, encodeVsa(VENDOR_MICROSOFT, [attr(MsAttr.MppeSendKey, 'send'), attr(MsAttr.MppeRecvKey, 'recv')])),
    ],
    SECRET,
  );
  const { attributes } = decodePacket(buf);
  assert.is(getVendorAttr(attributes, VENDOR_MICROSOFT, MsAttr.MppeRecvKey)?.toString(), 'recv');
  assert.is(getVendorAttr(attributes, VENDOR_MICROSOFT, MsAttr.MppeSendKey)?.toString(), 'send');
  assert.is(getVendorAttr(attributes, VENDOR_MICROSOFT, MsAttr.Chap2Success)?.toString(), 'S=ok');
  assert.is(getVendorAttr(attributes, 9, MsAttr.MppeRecvKey)?.toString(), 'cisco-17');
  assert.is(getVendorAttr(attributes, VENDOR_MICROSOFT, MsAttr.ChapMppeKeys), undefined);
  assert.is(getVendorAttr(attributes, 14122, MsAttr.MppeRecvKey), undefined);
});

// --- interop with the radius package ----------------------------------------

Codec('radius package request (with MA) decodes with ours: attributes match, MA valid, password unhides', () => {
  const secret = 'interop-secret';
  const authenticator = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');
  const packet = radius.encode({
    code: 'Access-Request',
    secret,
    identifier: 123,
    authenticator,
    attributes: [
      ['User-Name', 'carol'],
      ['User-Password', 'hunter2'],
      ['NAS-IP-Address', '192.0.2.1'],
      ['NAS-Port', 7],
      ['Calling-Station-Id', '10.1.2.3'],
    ],
    add_message_authenticator: true,
  });
  const ours = decodePacket(packet);
  const theirs = radius.decode({ packet, secret });
  assert.is(ours.code, Code.AccessRequest);
  assert.is(ours.identifier, 123);
  assert.equal(ours.authenticator, authenticator);
  assert.equal(plain(ours.attributes), plain(theirs.raw_attributes.map(([type, value]) => ({ type, value }))));
  assert.is(checkRequestMa(packet, ours, Buffer.from(secret)), 'valid');
  assert.is(getString(ours.attributes, Attr.UserName), 'carol');
  assert.is(unhidePassword(getAttr(ours.attributes, Attr.UserPassword)!, Buffer.from(secret), authenticator).toString(), 'hunter2');
});

Codec('our request (with MA) decodes with the radius package, which checks our MA and unhides our password', () => {
  const secret = 'interop-secret';
  const buf = encodeRequest(Code.AccessRequest, 4, RA, [attr(Attr.UserName, 'dave'), attr(Attr.UserPassword, hidePassword(Buffer.from('pa55'), Buffer.from(secret), RA))], Buffer.from(secret));
  const theirs = radius.decode({ packet: buf, secret }); // throws on an MA mismatch
  assert.is(theirs.code, 'Access-Request');
  assert.is(theirs.attributes['User-Name'], 'dave');
  assert.is(theirs.attributes['User-Password'], 'pa55');
  assert.ok(Buffer.isBuffer(theirs.attributes['Message-Authenticator']));
  assert.throws(() => radius.decode({ packet: buf, secret: 'wrong' }));
});

Codec('our response passes radius.verify_response, with and without MA', () => {
  const secret = 'interop-secret';
  const withMa = radius.encode({ code: 'Access-Request', secret, identifier: 8, authenticator: RA, attributes: [['User-Name', 'erin']], add_message_authenticator: true });
  const resp = encodeResponse(Code.AccessAccept, 8, RA, [attr(Attr.ReplyMessage, 'hello'), attr(27, Buffer.from([0, 0, 14, 16]))], Buffer.from(secret));
  assert.is(radius.verify_response({ request: withMa, response: resp, secret }), true);
  assert.is(radius.verify_response({ request: withMa, response: resp, secret: 'wrong' }), false);
  // The radius package insists on an MA in the answer when the request had one; a request
  // without one accepts an answer without one (FreeRADIUS 3.2.1 answers carry none).
  const noMa = radius.encode({ code: 'Access-Request', secret, identifier: 8, authenticator: RA, attributes: [['User-Name', 'erin']] });
  const respNoMa = encodeResponse(Code.AccessAccept, 8, RA, [attr(Attr.ReplyMessage, 'hello')], Buffer.from(secret), false);
  assert.is(radius.verify_response({ request: noMa, response: respNoMa, secret }), true);
});

Codec.run();
