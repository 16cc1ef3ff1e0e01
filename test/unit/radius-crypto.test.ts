// app/radius/crypto.ts: the security-relevant RADIUS functions, checked against the RFC
// formulas computed independently here with node:crypto, against the RFC 2865 section 7
// example packets, and against the `radius` npm package as an independent oracle.
import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chapResponse,
  CryptoError,
  hideFixed,
  hidePassword,
  messageAuthenticator,
  responseAuthenticator,
  safeEqual,
  saltDecrypt,
  saltEncrypt,
  unhideFixed,
  unhidePassword,
} from '../../app/radius/crypto.js';

interface RadiusOracle {
  encode(args: Record<string, unknown>): Buffer;
  decode(args: { packet: Buffer; secret: string }): { attributes: Record<string, unknown>; raw_attributes: [number, Buffer][] } & Record<string, unknown>;
  encode_response(args: Record<string, unknown>): Buffer;
}
const radius = createRequire(import.meta.url)('radius') as RadiusOracle;

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const md5 = (...parts: Buffer[]): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};
const bytes = (n: number, start = 0x41): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => ((start + i) % 0x5e) + 0x21));

/** RFC 2865 5.2, written out independently: c(i) = p(i) xor MD5(S + c(i-1)), c(0) seeded with RA. */
function rfcHide(password: Buffer, secret: Buffer, ra: Buffer): Buffer {
  const padded = Buffer.alloc(Math.max(16, Math.ceil(password.length / 16) * 16));
  password.copy(padded);
  const out: Buffer[] = [];
  let prev = ra;
  for (let i = 0; i < padded.length; i += 16) {
    const b = md5(secret, prev);
    const c = Buffer.alloc(16);
    for (let j = 0; j < 16; j++) c[j] = padded[i + j]! ^ b[j]!;
    out.push(c);
    prev = c;
  }
  return Buffer.concat(out);
}

/** RFC 2548 2.4.2 / RFC 2868 3.5: P = len + data, padded; b(1) = MD5(S + R + A), c(i) = p(i) xor b(i). */
function rfcSaltEncrypt(data: Buffer, secret: Buffer, ra: Buffer, salt: Buffer): Buffer {
  const p = Buffer.concat([Buffer.from([data.length]), data]);
  const padded = Buffer.alloc(Math.ceil(p.length / 16) * 16);
  p.copy(padded);
  const out: Buffer[] = [salt];
  let prev = Buffer.concat([ra, salt]);
  for (let i = 0; i < padded.length; i += 16) {
    const b = md5(secret, prev);
    const c = Buffer.alloc(16);
    for (let j = 0; j < 16; j++) c[j] = padded[i + j]! ^ b[j]!;
    out.push(c);
    prev = c;
  }
  return Buffer.concat(out);
}

const SECRET = Buffer.from('s3cr3t-shared');
const RA = hex('0f403f9473978057bd83d5cb98f4227a');

// RFC 2865 7.1: Access-Request from NAS 192.168.1.16 for "nemo" / "arctangent", secret "xyzzy5461",
// and the Access-Accept that answers it.
const RFC_SECRET = Buffer.from('xyzzy5461');
const RFC_REQUEST = hex(`
  01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
  98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
  93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
  01 10 05 06 00 00 00 03`);
const RFC_ACCEPT = hex(`
  02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
  9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
  0e 06 c0 a8 01 03`);

const Crypto = suite('radius/crypto');
/** Test names carry the area of the module they exercise. */
const area =
  (prefix: string) =>
  (name: string, fn: () => void): void =>
    Crypto(`${prefix}: ${name}`, fn);

// ---------------------------------------------------------------------------
const Password = area('User-Password (RFC 2865 5.2)');

Password('RFC 2865 7.1 example: "arctangent" hides to the bytes in the example packet', () => {
  const hidden = RFC_REQUEST.subarray(28, 44);
  const ra = RFC_REQUEST.subarray(4, 20);
  assert.equal(hidePassword(Buffer.from('arctangent'), RFC_SECRET, ra), hidden);
  assert.is(unhidePassword(hidden, RFC_SECRET, ra).toString(), 'arctangent');
});

for (const n of [1, 15, 16, 17, 31, 32, 33, 127, 128]) {
  Password(`${n}-byte password matches the RFC formula and round-trips`, () => {
    const pw = bytes(n, n);
    const hidden = hidePassword(pw, SECRET, RA);
    assert.is(hidden.length, Math.max(16, Math.ceil(n / 16) * 16));
    assert.equal(hidden, rfcHide(pw, SECRET, RA));
    assert.equal(unhidePassword(hidden, SECRET, RA), pw);
  });
}

Password('a known answer computed once with the radius package: secret testing123, RA 07*16, "pw"', () => {
  assert.is(hidePassword(Buffer.from('pw'), Buffer.from('testing123'), Buffer.alloc(16, 7)).toString('hex'), '477e70c9d413747bb6775f4eae725a32');
});

Password('radius package: its User-Password unhides to the password with ours, and ours decodes with it', () => {
  const secret = 'testing123';
  const authenticator = hex('00112233445566778899aabbccddeeff');
  for (const pw of ['pw', 'exactly-16-bytes', 'seventeen-bytes!!', 'x'.repeat(128)]) {
    const packet = radius.encode({ code: 'Access-Request', secret, identifier: 42, authenticator, attributes: [['User-Name', 'u'], ['User-Password', pw]] });
    const decoded = radius.decode({ packet, secret });
    const raw = decoded.raw_attributes.find(([t]) => t === 2);
    assert.ok(raw, 'radius package wrote a User-Password');
    assert.is(unhidePassword(raw![1], Buffer.from(secret), authenticator).toString(), pw);
    assert.equal(hidePassword(Buffer.from(pw), Buffer.from(secret), authenticator), raw![1]);
  }
});

Password('a different secret or authenticator does not recover the password', () => {
  const hidden = hidePassword(Buffer.from('correct horse'), SECRET, RA);
  assert.not.equal(unhidePassword(hidden, Buffer.from('other'), RA).toString('latin1'), 'correct horse');
  assert.not.equal(unhidePassword(hidden, SECRET, Buffer.alloc(16)).toString('latin1'), 'correct horse');
});

Password('a password over 128 bytes is refused', () => {
  assert.throws(() => hidePassword(Buffer.alloc(129, 0x61), SECRET, RA), (e: unknown) => e instanceof CryptoError);
});

for (const n of [0, 1, 15, 17, 31, 144]) {
  Password(`unhide of a ${n}-byte value throws CryptoError`, () => {
    assert.throws(() => unhidePassword(Buffer.alloc(n, 1), SECRET, RA), (e: unknown) => e instanceof CryptoError);
  });
}


// ---------------------------------------------------------------------------
const Fixed = area('hideFixed (RFC 2548 2.4.1)');

Fixed('32-byte key block follows the User-Password formula and keeps trailing zeros', () => {
  const keys = Buffer.concat([bytes(24), Buffer.alloc(8)]);
  const hidden = hideFixed(keys, SECRET, RA);
  assert.equal(hidden, rfcHide(keys, SECRET, RA));
  assert.equal(unhideFixed(hidden, SECRET, RA), keys);
});

Fixed('unhideFixed refuses an empty value or one that is not a multiple of 16', () => {
  for (const n of [0, 15, 33]) assert.throws(() => unhideFixed(Buffer.alloc(n), SECRET, RA), (e: unknown) => e instanceof CryptoError);
});


// ---------------------------------------------------------------------------
const Salt = area('salt (RFC 2548 2.4.2)');

for (let n = 0; n <= 64; n++) {
  Salt(`${n}-byte value: matches the RFC formula and round-trips`, () => {
    const data = bytes(n, 3 * n);
    const salt = Buffer.from([0x80 | n, 0x5a]);
    const enc = saltEncrypt(data, SECRET, RA, salt);
    assert.equal(enc, rfcSaltEncrypt(data, SECRET, RA, salt));
    assert.equal(enc.subarray(0, 2), salt);
    assert.is((enc.length - 2) % 16, 0);
    assert.equal(saltDecrypt(enc, SECRET, RA), data);
  });
}

Salt('a salt without the high bit, or not 2 bytes, is refused', () => {
  for (const salt of [Buffer.from([0x7f, 0xff]), Buffer.from([0x00, 0x01]), Buffer.from([0x80]), Buffer.from([0x80, 0, 0])]) {
    assert.throws(() => saltEncrypt(Buffer.from('k'), SECRET, RA, salt), (e: unknown) => e instanceof CryptoError);
  }
});

Salt('a different salt gives a different ciphertext for the same value', () => {
  const a = saltEncrypt(Buffer.from('same key'), SECRET, RA, Buffer.from([0x80, 1]));
  const b = saltEncrypt(Buffer.from('same key'), SECRET, RA, Buffer.from([0x80, 2]));
  assert.not.equal(a.subarray(2), b.subarray(2));
});

Salt('the wrong secret or authenticator never yields the plaintext', () => {
  const data = bytes(32);
  for (let i = 0; i < 50; i++) {
    const enc = saltEncrypt(data, SECRET, RA, Buffer.from([0x80 | i, i]));
    for (const [secret, ra] of [
      [Buffer.from(`wrong-${i}`), RA],
      [SECRET, md5(Buffer.from([i]))],
    ] as const) {
      let out: Buffer | undefined;
      try {
        out = saltDecrypt(enc, secret, ra);
      } catch (e) {
        assert.instance(e, CryptoError);
      }
      if (out !== undefined) assert.not.equal(out, data);
    }
  }
});

Salt('values longer than 239 bytes are refused (they would not fit in a 253-byte attribute)', () => {
  assert.is(saltEncrypt(Buffer.alloc(239), SECRET, RA, Buffer.from([0x80, 0])).length, 2 + 240);
  assert.throws(() => saltEncrypt(Buffer.alloc(240), SECRET, RA, Buffer.from([0x80, 0])), (e: unknown) => e instanceof CryptoError);
});

Salt('saltDecrypt refuses bad lengths', () => {
  for (const n of [0, 2, 17, 19, 33]) assert.throws(() => saltDecrypt(Buffer.alloc(n, 0x80), SECRET, RA), (e: unknown) => e instanceof CryptoError);
});


// ---------------------------------------------------------------------------
const Auth = area('Response Authenticator');

Auth('RFC 2865 7.1 example: the Access-Accept authenticator', () => {
  assert.equal(responseAuthenticator(RFC_ACCEPT, RFC_REQUEST.subarray(4, 20), RFC_SECRET), RFC_ACCEPT.subarray(4, 20));
});

Auth('matches MD5(Code+ID+Length+RequestAuth+Attributes+Secret) and the radius package encode_response', () => {
  const secret = 'nas-secret';
  const authenticator = hex('a1a2a3a4a5a6a7a8a9aaabacadaeafb0');
  const request = radius.encode({ code: 'Access-Request', secret, identifier: 200, authenticator, attributes: [['User-Name', 'bob'], ['User-Password', 'pw']] });
  const decoded = radius.decode({ packet: request, secret });
  const response = radius.encode_response({ packet: decoded, code: 'Access-Accept', secret, attributes: [['Reply-Message', 'welcome'], ['Session-Timeout', 3600]] });
  const expected = md5(response.subarray(0, 4), authenticator, response.subarray(20), Buffer.from(secret));
  assert.equal(response.subarray(4, 20), expected);
  assert.equal(responseAuthenticator(response, authenticator, Buffer.from(secret)), expected);
  assert.not.equal(responseAuthenticator(response, authenticator, Buffer.from('other')), expected);
  assert.not.equal(responseAuthenticator(response, Buffer.alloc(16), Buffer.from(secret)), expected);
});


// ---------------------------------------------------------------------------
const Ma = area('Message-Authenticator (RFC 3579)');

/** Independent: HMAC-MD5 over a copy of the packet with the MA zeroed and `auth` in the authenticator field. */
function rfcMa(packet: Buffer, maOffset: number, auth: Buffer, secret: Buffer): Buffer {
  const copy = Buffer.from(packet);
  auth.copy(copy, 4);
  copy.fill(0, maOffset, maOffset + 16);
  return createHmac('md5', secret).update(copy).digest();
}

function packetWithMa(code: number, auth: Buffer, before: Buffer, after: Buffer): { packet: Buffer; maOffset: number } {
  const body = Buffer.concat([before, Buffer.from([80, 18]), Buffer.alloc(16, 0xee), after]);
  const packet = Buffer.concat([Buffer.from([code, 7, 0, 0]), auth, body]);
  packet.writeUInt16BE(packet.length, 2);
  return { packet, maOffset: 20 + before.length + 2 };
}

Ma('request: HMAC-MD5 over the packet with the MA zeroed, whatever the MA field held before', () => {
  const before = Buffer.from([1, 7, ...Buffer.from('alice')]);
  const after = Buffer.from([4, 6, 10, 0, 0, 1]);
  const { packet, maOffset } = packetWithMa(1, RA, before, after);
  const ma = messageAuthenticator(packet, maOffset, RA, SECRET);
  assert.equal(ma, rfcMa(packet, maOffset, RA, SECRET));
  packet.fill(0x11, maOffset, maOffset + 16);
  assert.equal(messageAuthenticator(packet, maOffset, RA, SECRET), ma);
});

Ma('MA as first or last attribute', () => {
  const attr = Buffer.from([1, 5, 0x62, 0x6f, 0x62]);
  for (const [before, after] of [
    [Buffer.alloc(0), attr],
    [attr, Buffer.alloc(0)],
  ] as const) {
    const { packet, maOffset } = packetWithMa(1, RA, before, after);
    assert.equal(messageAuthenticator(packet, maOffset, RA, SECRET), rfcMa(packet, maOffset, RA, SECRET));
  }
});

Ma('response: keyed over the Request Authenticator, not the authenticator field the packet carries', () => {
  const responseAuthField = Buffer.alloc(16, 0x99);
  const { packet, maOffset } = packetWithMa(2, responseAuthField, Buffer.from([18, 4, 0x68, 0x69]), Buffer.alloc(0));
  const ma = messageAuthenticator(packet, maOffset, RA, SECRET);
  assert.equal(ma, rfcMa(packet, maOffset, RA, SECRET));
  assert.not.equal(ma, rfcMa(packet, maOffset, responseAuthField, SECRET));
  assert.not.equal(ma, messageAuthenticator(packet, maOffset, RA, Buffer.from('other')));
});

Ma('radius package: the MA it computes on a request is the one we compute', () => {
  const secret = 'testing123';
  const authenticator = hex('0102030405060708090a0b0c0d0e0f10');
  const packet = radius.encode({ code: 'Access-Request', secret, identifier: 1, authenticator, attributes: [['User-Name', 'u'], ['User-Password', 'pw']], add_message_authenticator: true });
  // radius appends the MA as the last attribute.
  const maOffset = packet.length - 16;
  assert.is(packet[maOffset - 2], 80);
  assert.equal(messageAuthenticator(packet, maOffset, authenticator, Buffer.from(secret)), packet.subarray(maOffset));
});


// ---------------------------------------------------------------------------
const Chap = area('CHAP (RFC 1994)');

Chap('response = MD5(identifier + secret + challenge)', () => {
  const challenge = hex('2aee86f08d0d55969ca5978e0d3367a2');
  for (const id of [0, 0x16, 255]) {
    const pw = Buffer.from('flopsy');
    const expected = createHash('md5').update(Buffer.from([id])).update(pw).update(challenge).digest();
    assert.equal(chapResponse(id, pw, challenge), expected);
  }
  assert.not.equal(chapResponse(1, Buffer.from('flopsy'), challenge), chapResponse(2, Buffer.from('flopsy'), challenge));
  assert.not.equal(chapResponse(1, Buffer.from('flopsy'), challenge), chapResponse(1, Buffer.from('flopsz'), challenge));
});


// ---------------------------------------------------------------------------
const Eq = area('safeEqual');

Eq('equal contents are equal, any differing byte or length is not, and lengths never throw', () => {
  assert.ok(safeEqual(Buffer.from('abcdef'), Buffer.from('abcdef')));
  assert.ok(safeEqual(Buffer.alloc(0), Buffer.alloc(0)));
  assert.not.ok(safeEqual(Buffer.from('abcdef'), Buffer.from('abcdeg')));
  assert.not.ok(safeEqual(Buffer.from('abcdef'), Buffer.from('bbcdef')));
  assert.not.ok(safeEqual(Buffer.from('abcdef'), Buffer.from('abcde')));
  assert.not.ok(safeEqual(Buffer.from('abc'), Buffer.from('abcdef')));
  assert.not.ok(safeEqual(Buffer.alloc(0), Buffer.from([0])));
});

Crypto.run();
