// app/mfa/otp.ts: HOTP/TOTP against the RFC test vectors, the drift window and replay rule of
// checkTotp, constant-time code comparison, Base32 (RFC 4648) and the otpauth:// enrolment URI.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { base32Decode, base32Encode, checkTotp, codeEquals, DEFAULT_TOTP, hotp, type OtpAlgorithm, otpauthUri, totp, type TotpParams, totpStep } from '../../app/mfa/otp.js';

const Otp = suite('mfa/otp');

const RFC4226_SECRET = Buffer.from('12345678901234567890', 'ascii');
const RFC4226_CODES = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];

// RFC 6238 Appendix B: the seed length matches the hash (20, 32, 64 bytes).
const RFC6238_SEEDS: Record<OtpAlgorithm, Buffer> = {
  SHA1: Buffer.from('12345678901234567890', 'ascii'),
  SHA256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  SHA512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
};
const RFC6238_VECTORS: [seconds: number, codes: Record<OtpAlgorithm, string>][] = [
  [59, { SHA1: '94287082', SHA256: '46119246', SHA512: '90693936' }],
  [1111111109, { SHA1: '07081804', SHA256: '68084774', SHA512: '25091201' }],
  [1111111111, { SHA1: '14050471', SHA256: '67062674', SHA512: '99943326' }],
  [1234567890, { SHA1: '89005924', SHA256: '91819424', SHA512: '93441116' }],
  [2000000000, { SHA1: '69279037', SHA256: '90698825', SHA512: '38618901' }],
  [20000000000, { SHA1: '65353130', SHA256: '77737706', SHA512: '47863826' }],
];

// --- HOTP / TOTP vectors ------------------------------------------------------

Otp('hotp matches RFC 4226 Appendix D for counters 0-9', () => {
  RFC4226_CODES.forEach((code, counter) => {
    assert.is(hotp(RFC4226_SECRET, counter, 6), code, `counter ${counter}`);
    assert.is(hotp(RFC4226_SECRET, counter, 6, 'SHA1'), code, `counter ${counter} (explicit SHA1)`);
  });
});

Otp('totp matches RFC 6238 Appendix B for SHA1, SHA256 and SHA512 with 8 digits', () => {
  for (const [seconds, codes] of RFC6238_VECTORS) {
    for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
      const got = totp(RFC6238_SEEDS[algorithm], seconds * 1000, { algorithm, digits: 8, period: 30 });
      assert.is(got, codes[algorithm], `${algorithm} at T=${seconds}`);
    }
  }
});

Otp('totp with the defaults is 6-digit SHA1 over 30 s steps (the last 6 digits of the 8-digit code)', () => {
  assert.equal(DEFAULT_TOTP, { algorithm: 'SHA1', digits: 6, period: 30 });
  assert.is(totp(RFC6238_SEEDS.SHA1, 59_000), '287082');
  assert.is(totp(RFC6238_SEEDS.SHA1, 1111111109_000), '081804');
  // Codes with leading zeros keep them.
  assert.is(totp(RFC6238_SEEDS.SHA1, 1111111109_000, { algorithm: 'SHA1', digits: 8, period: 30 }), '07081804');
});

Otp('totpStep changes exactly at multiples of the period', () => {
  assert.is(totpStep(0, 30), 0);
  assert.is(totpStep(29_999, 30), 0);
  assert.is(totpStep(30_000, 30), 1);
  const k = 56_666_667;
  assert.is(totpStep(k * 30_000, 30), k);
  assert.is(totpStep(k * 30_000 - 1, 30), k - 1);
  assert.is(totpStep(59_999, 60), 0);
  assert.is(totpStep(60_000, 60), 1);
});

// --- checkTotp ----------------------------------------------------------------

const SEED = RFC6238_SEEDS.SHA1;
const P: TotpParams = DEFAULT_TOTP;
const K = 56_666_667; // a step around 2023-11
const codeAt = (step: number, p: TotpParams = P) => hotp(SEED, step, p.digits, p.algorithm);

Otp('checkTotp: the code of the current step is accepted and names that step', () => {
  const now = K * 30_000 + 12_345;
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K)), now, P, -1), { ok: true, step: K });
  assert.equal(checkTotp(SEED, codeEquals(totp(SEED, now)), now, P, -1), { ok: true, step: K });
});

Otp('checkTotp: one step of drift either side is accepted, two are refused as wrong', () => {
  const now = K * 30_000 + 15_000;
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K - 1)), now, P, -1), { ok: true, step: K - 1 });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 1)), now, P, -1), { ok: true, step: K + 1 });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K - 2)), now, P, -1), { ok: false, reason: 'wrong' });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 2)), now, P, -1), { ok: false, reason: 'wrong' });
  assert.equal(checkTotp(SEED, () => false, now, P, -1), { ok: false, reason: 'wrong' });
});

Otp('checkTotp: at t = k*30000 the window is k-1..k+1; one millisecond earlier it is k-2..k', () => {
  const edge = K * 30_000;
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K - 1)), edge, P, -1), { ok: true, step: K - 1 });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K)), edge, P, -1), { ok: true, step: K });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 1)), edge, P, -1), { ok: true, step: K + 1 });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K - 2)), edge, P, -1), { ok: false, reason: 'wrong' });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 2)), edge, P, -1), { ok: false, reason: 'wrong' });

  const before = edge - 1;
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K - 2)), before, P, -1), { ok: true, step: K - 2 });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K - 1)), before, P, -1), { ok: true, step: K - 1 });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K)), before, P, -1), { ok: true, step: K });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 1)), before, P, -1), { ok: false, reason: 'wrong' });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K - 3)), before, P, -1), { ok: false, reason: 'wrong' });
});

Otp('checkTotp: a wider window accepts further drift', () => {
  const now = K * 30_000;
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K - 2)), now, P, -1, 2), { ok: true, step: K - 2 });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 2)), now, P, -1, 2), { ok: true, step: K + 2 });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 3)), now, P, -1, 2), { ok: false, reason: 'wrong' });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 1)), now, P, -1, 0), { ok: false, reason: 'wrong' });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K)), now, P, -1, 0), { ok: true, step: K });
});

Otp('checkTotp: when a code matches several steps, the newest unused one is taken', () => {
  const now = 1_700_000_000_000;
  const step = totpStep(now, 30);
  const matchesAll = () => true;
  assert.equal(checkTotp(RFC4226_SECRET, matchesAll, now, DEFAULT_TOTP, step - 1), { ok: true, step: step + 1 });
  assert.equal(checkTotp(RFC4226_SECRET, matchesAll, now, DEFAULT_TOTP, step + 1), { ok: false, reason: 'replayed' });
});

Otp('checkTotp: a code whose step is at or before lastUsedStep is replayed', () => {
  const now = K * 30_000 + 1_000;
  // The same step again.
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K)), now, P, K), { ok: false, reason: 'replayed' });
  // An older step after a newer one was used.
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K - 1)), now, P, K), { ok: false, reason: 'replayed' });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K)), now, P, K + 1), { ok: false, reason: 'replayed' });
  // A newer step than the last used one is fine.
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K)), now, P, K - 1), { ok: true, step: K });
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 1)), now, P, K), { ok: true, step: K + 1 });
  // A wrong code stays wrong whatever lastUsedStep is.
  assert.equal(checkTotp(SEED, codeEquals(codeAt(K + 5)), now, P, K), { ok: false, reason: 'wrong' });
});

Otp('checkTotp: the matcher is called for every candidate, even when the first matches', () => {
  const now = K * 30_000 + 1_000;
  const counting = (typed: string) => {
    const seen: string[] = [];
    const eq = codeEquals(typed);
    return { seen, matches: (c: string) => (seen.push(c), eq(c)) };
  };
  for (const [typed, label] of [
    [codeAt(K - 1), 'first candidate'],
    [codeAt(K), 'middle candidate'],
    [codeAt(K + 1), 'last candidate'],
    ['000000x', 'no candidate'],
  ] as const) {
    const m = counting(typed);
    checkTotp(SEED, m.matches, now, P, -1);
    assert.equal(m.seen, [codeAt(K - 1), codeAt(K), codeAt(K + 1)], label);
  }
  const replay = counting(codeAt(K - 1));
  assert.equal(checkTotp(SEED, replay.matches, now, P, K), { ok: false, reason: 'replayed' });
  assert.is(replay.seen.length, 3);
  const wide = counting(codeAt(K));
  checkTotp(SEED, wide.matches, now, P, -1, 2);
  assert.is(wide.seen.length, 5);
});

Otp('checkTotp honours the account parameters (8 digits, SHA256, 60 s period)', () => {
  const p: TotpParams = { algorithm: 'SHA256', digits: 8, period: 60 };
  const now = 1_700_000_000_000;
  const step = Math.floor(now / 60_000);
  const code = hotp(SEED, step, 8, 'SHA256');
  assert.is(code.length, 8);
  assert.equal(checkTotp(SEED, codeEquals(code), now, p, -1), { ok: true, step });
  assert.equal(checkTotp(SEED, codeEquals(code), now, P, -1), { ok: false, reason: 'wrong' });
  assert.equal(checkTotp(SEED, codeEquals(hotp(SEED, step, 6, 'SHA1')), now, p, -1), { ok: false, reason: 'wrong' });
});

// --- codeEquals ---------------------------------------------------------------

Otp('codeEquals: equal, different, different length and empty', () => {
  assert.is(codeEquals('123456')('123456'), true);
  assert.is(codeEquals('123456')('123457'), false);
  assert.is(codeEquals('123456')('1234567'), false);
  assert.is(codeEquals('1234567')('123456'), false);
  assert.is(codeEquals('123456')('12345'), false);
  assert.is(codeEquals('')('123456'), false);
  assert.is(codeEquals('123456')(''), false);
  assert.is(codeEquals('')(''), true);
  // The matcher is reusable.
  const m = codeEquals('654321');
  assert.is(m('000000'), false);
  assert.is(m('654321'), true);
});

// --- Base32 -------------------------------------------------------------------

Otp('base32 matches the RFC 4648 section 10 vectors (encoder emits no padding)', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];
  for (const [plain, encoded] of vectors) {
    assert.is(base32Encode(Buffer.from(plain, 'ascii')), encoded, `encode "${plain}"`);
    assert.is(base32Decode(encoded).toString('ascii'), plain, `decode ${encoded}`);
  }
  // The padded forms of the RFC decode too.
  const padded: [string, string][] = [
    ['MY======', 'f'],
    ['MZXQ====', 'fo'],
    ['MZXW6===', 'foo'],
    ['MZXW6YQ=', 'foob'],
    ['MZXW6YTB', 'fooba'],
    ['MZXW6YTBOI======', 'foobar'],
  ];
  for (const [encoded, plain] of padded) assert.is(base32Decode(encoded).toString('ascii'), plain, `decode ${encoded}`);
});

Otp('base32 round-trips every length 0..40', () => {
  for (let n = 0; n <= 40; n++) {
    const buf = Buffer.alloc(n);
    for (let i = 0; i < n; i++) buf[i] = (i * 151 + n * 29 + 7) & 0xff;
    const text = base32Encode(buf);
    assert.is(text.length, Math.ceil((n * 8) / 5), `length ${n}`);
    assert.match(text, /^[A-Z2-7]*$/);
    assert.ok(base32Decode(text).equals(buf), `round trip of ${n} bytes`);
  }
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.ok(base32Decode(base32Encode(all)).equals(all));
  const ones = Buffer.alloc(40, 0xff);
  assert.ok(base32Decode(base32Encode(ones)).equals(ones));
});

Otp('base32Decode accepts lower case, spaces and padding as people type them', () => {
  const seed = RFC6238_SEEDS.SHA1;
  const text = base32Encode(seed);
  assert.is(text, 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  assert.ok(base32Decode(text.toLowerCase()).equals(seed));
  assert.ok(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq').equals(seed));
  assert.ok(base32Decode(' GEZD\tGNBV\nGY3T QOJQ GEZDGNBVGY3TQOJQ ').equals(seed));
  assert.is(base32Decode('mzxw6ytboi======').toString(), 'foobar');
  assert.is(base32Decode('mZ xW 6=').toString(), 'foo');
});

Otp('base32Decode rejects characters outside the alphabet', () => {
  assert.throws(() => base32Decode('MZXW1'), /invalid base32/);
  assert.throws(() => base32Decode('MZXW8'), /invalid base32/);
  assert.throws(() => base32Decode('MZ!W6'), /invalid base32/);
});

// --- otpauth:// ---------------------------------------------------------------

Otp('otpauthUri gives the Key URI Format with all parameters', () => {
  const uri = otpauthUri('Gatehouse', 'alice', RFC6238_SEEDS.SHA1, DEFAULT_TOTP);
  assert.is(uri, 'otpauth://totp/Gatehouse:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30');
  const other = otpauthUri('Gatehouse', 'bob', RFC6238_SEEDS.SHA512, { algorithm: 'SHA512', digits: 8, period: 60 });
  assert.match(other, /^otpauth:\/\/totp\/Gatehouse:bob\?secret=[A-Z2-7]+&issuer=Gatehouse&algorithm=SHA512&digits=8&period=60$/);
});

Otp('otpauthUri percent-encodes spaces and special characters in issuer and account', () => {
  const seed = Buffer.from('00112233445566778899aabbccddeeff01234567', 'hex');
  const uri = otpauthUri('Acme Corp & Co', 'alice smith@example.com', seed, DEFAULT_TOTP);
  assert.ok(uri.startsWith('otpauth://totp/Acme%20Corp%20%26%20Co:alice%20smith%40example.com?'), uri);
  assert.ok(uri.includes('&issuer=Acme%20Corp%20%26%20Co&'), uri);
  assert.not.ok(uri.includes('+'), 'spaces are %20, not +');
  assert.not.ok(uri.includes(' '), 'no raw spaces');

  // A ':' in issuer or account is encoded, so the label has exactly one separator.
  const colon = otpauthUri('A:B', 'c:d', seed, DEFAULT_TOTP);
  const label = colon.slice('otpauth://totp/'.length, colon.indexOf('?'));
  assert.is(label, 'A%3AB:c%3Ad');

  // Parsed back, every value is what went in, including '+', '&', '=' and non-ASCII.
  for (const [issuer, account] of [
    ['Acme Corp & Co', 'alice smith@example.com'],
    ['A+B=C?', 'x/y#z'],
    ['Zürich IT', 'jörg'],
  ] as const) {
    const u = new URL(otpauthUri(issuer, account, seed, DEFAULT_TOTP));
    assert.is(u.protocol, 'otpauth:');
    assert.is(u.host, 'totp');
    assert.is(decodeURIComponent(u.pathname), `/${issuer}:${account}`);
    const [encIssuer, encAccount, ...rest] = u.pathname.slice(1).split(':');
    assert.is(rest.length, 0);
    assert.is(decodeURIComponent(encIssuer!), issuer);
    assert.is(decodeURIComponent(encAccount!), account);
    assert.is(u.searchParams.get('issuer'), issuer);
    assert.is(u.searchParams.get('algorithm'), 'SHA1');
    assert.is(u.searchParams.get('digits'), '6');
    assert.is(u.searchParams.get('period'), '30');
  }
});

Otp('otpauthUri carries a secret that base32-decodes back to the seed', () => {
  for (const seed of [RFC6238_SEEDS.SHA1, RFC6238_SEEDS.SHA256, RFC6238_SEEDS.SHA512, Buffer.from('ff00ee11dd22cc33bb44aa55', 'hex')]) {
    const secret = new URL(otpauthUri('Gatehouse', 'alice', seed, DEFAULT_TOTP)).searchParams.get('secret');
    assert.ok(secret !== null);
    assert.match(secret, /^[A-Z2-7]+$/);
    assert.ok(base32Decode(secret).equals(seed));
  }
});

Otp.run();
