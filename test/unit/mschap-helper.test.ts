import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { desEncryptBlock, desExpandKey56, md4 } from '../helpers/md4-des.js';
import {
  challengeHash,
  mppeDecryptKeyAttribute,
  mppeGetAsymmetricStartKey,
  mppeGetMasterKey,
  mppeV2MasterKeys,
  mschapV1Response,
  mschapV1ResponseAttribute,
  mschapV2AuthenticatorResponse,
  mschapV2NtResponse,
  mschapV2ResponseAttribute,
  ntPasswordHash,
  ntPasswordHashHash,
} from '../helpers/mschap.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const toHex = (b: Buffer): string => b.toString('hex').toUpperCase();

// ---------------------------------------------------------------------------
// MD4 (RFC 1320 appendix A.5 test suite)
// ---------------------------------------------------------------------------
const Md4 = suite('md4 (RFC 1320 A.5)');

const MD4_SUITE: [string, string][] = [
  ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
  ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
  ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
  ['message digest', 'd9130a8164549fe818874806e1c7014b'],
  ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
  ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
  [
    '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
    'e33b4ddc9c38f2199c3e7b164fcc0536',
  ],
];

for (const [input, digest] of MD4_SUITE) {
  Md4(`MD4("${input.length > 20 ? input.slice(0, 20) + '...' : input}")`, () => {
    assert.is(md4(Buffer.from(input, 'ascii')).toString('hex'), digest);
  });
}

Md4('padding boundaries (55/56/63/64/65 bytes) are self-consistent lengths', () => {
  for (const n of [55, 56, 63, 64, 65, 119, 120, 128]) {
    const d = md4(Buffer.alloc(n, 0x61));
    assert.is(d.length, 16);
    assert.not.equal(d, md4(Buffer.alloc(n + 1, 0x61)));
  }
});

Md4.run();

// ---------------------------------------------------------------------------
// DES (FIPS 46-3) known answers
// ---------------------------------------------------------------------------
const Des = suite('des');

const DES_KAT: [key: string, plain: string, cipher: string][] = [
  // Classic worked example (Grabbe, "The DES Algorithm Illustrated").
  ['133457799BBCDFF1', '0123456789ABCDEF', '85E813540F0AB405'],
  // FIPS 81 appendix B: "Now is t" under 0123456789ABCDEF.
  ['0123456789ABCDEF', '4E6F772069732074', '3FA40E8A984D4815'],
  // From the widely used DES validation set (Schneier / Eric Young).
  ['7CA110454A1A6E57', '01A1D6D039776742', '690F5B0D9A26939B'],
  ['0131D9619DC1376E', '5CD54CA83DEF57DA', '7A389D10354BD271'],
];

for (const [key, plain, cipher] of DES_KAT) {
  Des(`E(${key}, ${plain}) = ${cipher}`, () => {
    assert.is(toHex(desEncryptBlock(hex(key), hex(plain))), cipher);
  });
}

Des('parity bits of the key are ignored', () => {
  const key = hex('133457799BBCDFF1');
  const flipped = Buffer.from(key.map((b) => b ^ 1));
  assert.equal(desEncryptBlock(flipped, hex('0123456789ABCDEF')), hex('85E813540F0AB405'));
});

Des('56-bit key expansion inserts (odd) parity bits', () => {
  assert.is(toHex(desExpandKey56(Buffer.alloc(7))), '0101010101010101');
  assert.is(toHex(desExpandKey56(Buffer.alloc(7, 0xff))), 'FEFEFEFEFEFEFEFE');
  // First 7 bytes of the RFC 2759 9.2 PasswordHash: 0100010|0111010|... -> 0x45 0x75 ...
  assert.is(toHex(desExpandKey56(hex('44EBBA8D5312B8'))), '4575EF51D5984A70');
});

Des('rejects wrong-sized inputs', () => {
  assert.throws(() => desEncryptBlock(Buffer.alloc(7), Buffer.alloc(8)));
  assert.throws(() => desEncryptBlock(Buffer.alloc(8), Buffer.alloc(9)));
  assert.throws(() => desExpandKey56(Buffer.alloc(8)));
});

Des.run();

// ---------------------------------------------------------------------------
// MS-CHAPv1 (RFC 2433 appendix B.2)
// ---------------------------------------------------------------------------
const V1 = suite('mschap v1 (RFC 2433 B.2)');

const V1_CHALLENGE = hex('102DB5DF085D3041');

V1('NtPasswordHash("MyPw")', () => {
  assert.is(toHex(ntPasswordHash('MyPw')), 'FC156AF7EDCD6C0EDDE3337D427F4EAC');
});

V1('NT ChallengeResponse', () => {
  assert.is(toHex(mschapV1Response(V1_CHALLENGE, 'MyPw')), '4E9D3C8F9CFD385D5BF4D3246791956CA4C351AB409A3D61');
});

V1('MS-CHAP-Response attribute layout', () => {
  const attr = mschapV1ResponseAttribute(0x2a, V1_CHALLENGE, 'MyPw');
  assert.is(attr.length, 50);
  assert.is(attr[0], 0x2a);
  assert.is(attr[1], 1, 'Flags = 1: use NT-Response');
  assert.equal(attr.subarray(2, 26), Buffer.alloc(24), 'LM-Response zeroed');
  assert.equal(attr.subarray(26), mschapV1Response(V1_CHALLENGE, 'MyPw'));
});

V1('rejects a challenge that is not 8 bytes', () => {
  assert.throws(() => mschapV1Response(Buffer.alloc(16), 'MyPw'));
});

V1.run();

// ---------------------------------------------------------------------------
// MS-CHAPv2 (RFC 2759 section 9.2) and MPPE (RFC 3079 section 3.5.3)
// ---------------------------------------------------------------------------
const V2 = suite('mschap v2 (RFC 2759 9.2) + MPPE (RFC 3079 3.5.3)');

const USER = 'User';
const PASS = 'clientPass';
const AUTH_CHALLENGE = hex('5B5D7C7D7B3F2F3E3C2C602132262628');
const PEER_CHALLENGE = hex('21402324255E262A28295F2B3A337C7E');
const NT_RESPONSE = '82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF';

V2('PasswordHash / PasswordHashHash', () => {
  assert.is(toHex(ntPasswordHash(PASS)), '44EBBA8D5312B8D611474411F56989AE');
  assert.is(toHex(ntPasswordHashHash(PASS)), '41C00C584BD2D91C4017A2A12FA59F3F');
});

V2('ChallengeHash', () => {
  assert.is(toHex(challengeHash(PEER_CHALLENGE, AUTH_CHALLENGE, USER)), 'D02E4386BCE91226');
});

V2('GenerateNTResponse', () => {
  assert.is(toHex(mschapV2NtResponse(AUTH_CHALLENGE, PEER_CHALLENGE, USER, PASS)), NT_RESPONSE);
});

V2('GenerateAuthenticatorResponse', () => {
  assert.is(
    mschapV2AuthenticatorResponse(PASS, hex(NT_RESPONSE), PEER_CHALLENGE, AUTH_CHALLENGE, USER),
    'S=407A5589115FD0D6209F510FE9C04566932CDA56',
  );
});

V2('MS-CHAP2-Response attribute layout', () => {
  const attr = mschapV2ResponseAttribute(7, AUTH_CHALLENGE, PEER_CHALLENGE, USER, PASS);
  assert.is(attr.length, 50);
  assert.is(attr[0], 7);
  assert.is(attr[1], 0, 'Flags = 0');
  assert.equal(attr.subarray(2, 18), PEER_CHALLENGE);
  assert.equal(attr.subarray(18, 26), Buffer.alloc(8), 'Reserved zeroed');
  assert.is(toHex(attr.subarray(26)), NT_RESPONSE);
});

V2('GetMasterKey', () => {
  assert.is(toHex(mppeGetMasterKey(ntPasswordHashHash(PASS), hex(NT_RESPONSE))), 'FDECE3717A8C838CB388E527AE3CDD31');
});

V2('server perspective: MS-MPPE-Send-Key is RFC 3079 "SendStartKey128"', () => {
  // RFC 3079 3.5.3 lists SendStartKey128 = 8B7CDC14... It is
  // GetAsymmetricStartKey(IsSend=TRUE, IsServer=TRUE), i.e. built with Magic3
  // ("...on the server side, it is the send key."), the key the authenticator
  // uses for server->client traffic. FreeRADIUS puts that key in
  // MS-MPPE-Send-Key; the client's send key (Magic2) is MS-MPPE-Recv-Key.
  const master = hex('FDECE3717A8C838CB388E527AE3CDD31');
  const serverSend = mppeGetAsymmetricStartKey(master, 16, true, true);
  const serverRecv = mppeGetAsymmetricStartKey(master, 16, false, true);
  assert.is(toHex(serverSend), '8B7CDC149B993A1BA118CB153F56DCCB');
  // Client and server views mirror each other.
  assert.equal(mppeGetAsymmetricStartKey(master, 16, false, false), serverSend, 'client recv = server send');
  assert.equal(mppeGetAsymmetricStartKey(master, 16, true, false), serverRecv, 'client send = server recv');
  assert.not.equal(serverSend, serverRecv);

  const keys = mppeV2MasterKeys(PASS, hex(NT_RESPONSE));
  assert.is(toHex(keys.sendKey), '8B7CDC149B993A1BA118CB153F56DCCB');
  assert.equal(keys.recvKey, serverRecv);
  assert.is(keys.sendKey.length, 16);
  assert.is(keys.recvKey.length, 16);
});

V2.run();

// ---------------------------------------------------------------------------
// MS-MPPE-Send/Recv-Key attribute decryption (RFC 2548 section 2.4.2)
// ---------------------------------------------------------------------------
const Attr = suite('MS-MPPE key attribute (RFC 2548 2.4.2)');

/** Reference encryption written independently from RFC 2548 2.4.2. */
function encryptMppeKey(key: Buffer, secret: Buffer, reqAuth: Buffer, salt: Buffer): Buffer {
  const plainLen = Math.ceil((key.length + 1) / 16) * 16;
  const p = Buffer.alloc(plainLen); // zero padding
  p[0] = key.length;
  key.copy(p, 1);
  const out: Buffer[] = [salt];
  let prev: Buffer = Buffer.concat([reqAuth, salt]);
  for (let i = 0; i < plainLen; i += 16) {
    const b = createHash('md5').update(secret).update(prev).digest();
    const c = Buffer.alloc(16);
    for (let j = 0; j < 16; j++) c[j] = p[i + j]! ^ b[j]!;
    out.push(c);
    prev = c;
  }
  return Buffer.concat(out);
}

const SECRET = Buffer.from('testing123');
const REQ_AUTH = hex('0F1E2D3C4B5A69788796A5B4C3D2E1F0');
const SALT = hex('8001');

Attr('round trip of a 16-byte key (two cipher blocks)', () => {
  const key = hex('8B7CDC149B993A1BA118CB153F56DCCB');
  const value = encryptMppeKey(key, SECRET, REQ_AUTH, SALT);
  assert.is(value.length, 2 + 32);
  assert.equal(value.subarray(0, 2), SALT);
  assert.equal(mppeDecryptKeyAttribute(value, SECRET, REQ_AUTH), key);
});

Attr('round trip of short and long keys', () => {
  for (const len of [0, 8, 15, 31, 32, 40]) {
    const key = Buffer.from(Array.from({ length: len }, (_, i) => (i * 37 + 11) & 0xff));
    const value = encryptMppeKey(key, SECRET, REQ_AUTH, SALT);
    assert.equal(mppeDecryptKeyAttribute(value, SECRET, REQ_AUTH), key, `len ${len}`);
  }
});

Attr('wrong secret or authenticator does not yield the key', () => {
  const key = hex('8B7CDC149B993A1BA118CB153F56DCCB');
  const value = encryptMppeKey(key, SECRET, REQ_AUTH, SALT);
  for (const [secret, auth] of [
    [Buffer.from('wrong'), REQ_AUTH],
    [SECRET, Buffer.alloc(16)],
  ] as const) {
    let got: Buffer | undefined;
    try {
      got = mppeDecryptKeyAttribute(value, secret, auth);
    } catch {
      got = undefined;
    }
    assert.ok(got === undefined || !got.equals(key));
  }
});

Attr('rejects malformed values', () => {
  assert.throws(() => mppeDecryptKeyAttribute(Buffer.alloc(2 + 15, 0x80), SECRET, REQ_AUTH));
  assert.throws(() => mppeDecryptKeyAttribute(Buffer.alloc(2), SECRET, REQ_AUTH));
  const noSaltBit = encryptMppeKey(Buffer.alloc(16), SECRET, REQ_AUTH, hex('0001'));
  assert.throws(() => mppeDecryptKeyAttribute(noSaltBit, SECRET, REQ_AUTH));
});

Attr.run();
