// The security-relevant RADIUS functions, written here and tested with vectors:
// User-Password hiding (RFC 2865 5.2), authenticators (RFC 2865 3), Message-Authenticator
// (RFC 3579 3.2), salt encryption (RFC 2548 2.4.2, RFC 2868 3.5) and CHAP (RFC 1994).
// Pure: no sockets, clock or rng (salts and authenticators are passed in).
import { hash, timingSafeEqual } from 'node:crypto';

const MD5_LEN = 16;

/** One-shot MD5 (cheaper than a Hash object per call on the hot path). */
function md5(...parts: Buffer[]): Buffer {
  return hash('md5', parts.length === 1 ? parts[0]! : Buffer.concat(parts), 'buffer');
}

/** Constant-time equality; different lengths compare unequal without leaking where. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/**
 * RFC 2865 5.2 stream: c(1) = p(1) xor MD5(S + seed), c(i) = p(i) xor MD5(S + c(i-1)).
 * `plain` is padded with zeros to a multiple of 16 (at least 16).
 */
function hideBlocks(plain: Buffer, secret: Buffer, seed: Buffer): Buffer {
  const len = Math.max(MD5_LEN, Math.ceil(plain.length / MD5_LEN) * MD5_LEN);
  const out = Buffer.alloc(len);
  plain.copy(out);
  let prev = seed;
  for (let i = 0; i < len; i += MD5_LEN) {
    const b = md5(secret, prev);
    for (let j = 0; j < MD5_LEN; j++) out[i + j] = out[i + j]! ^ b[j]!;
    prev = out.subarray(i, i + MD5_LEN);
  }
  return out;
}

function unhideBlocks(hidden: Buffer, secret: Buffer, seed: Buffer): Buffer {
  const out = Buffer.alloc(hidden.length);
  let prev = seed;
  for (let i = 0; i < hidden.length; i += MD5_LEN) {
    const b = md5(secret, prev);
    for (let j = 0; j < MD5_LEN; j++) out[i + j] = hidden[i + j]! ^ b[j]!;
    prev = hidden.subarray(i, i + MD5_LEN);
  }
  return out;
}

export class CryptoError extends Error {}

/** RFC 2865 5.2: hide a User-Password (1..128 bytes) with the Request Authenticator. */
export function hidePassword(password: Buffer, secret: Buffer, authenticator: Buffer): Buffer {
  if (password.length > 128) throw new CryptoError('User-Password longer than 128 bytes');
  return hideBlocks(password, secret, authenticator);
}

/** Inverse of hidePassword; trailing NUL padding is removed. */
export function unhidePassword(hidden: Buffer, secret: Buffer, authenticator: Buffer): Buffer {
  if (hidden.length < MD5_LEN || hidden.length > 128 || hidden.length % MD5_LEN !== 0) {
    throw new CryptoError(`User-Password of ${hidden.length} bytes is not a multiple of 16 in 16..128`);
  }
  const plain = unhideBlocks(hidden, secret, authenticator);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  return plain.subarray(0, end);
}

/** RFC 2548 2.4.1: MS-CHAP-MPPE-Keys is hidden like User-Password, but no padding is stripped. */
export function hideFixed(plain: Buffer, secret: Buffer, authenticator: Buffer): Buffer {
  return hideBlocks(plain, secret, authenticator);
}
export function unhideFixed(hidden: Buffer, secret: Buffer, authenticator: Buffer): Buffer {
  if (hidden.length === 0 || hidden.length % MD5_LEN !== 0) {
    throw new CryptoError(`hidden value of ${hidden.length} bytes is not a multiple of 16`);
  }
  return unhideBlocks(hidden, secret, authenticator);
}

/**
 * RFC 2548 2.4.2 / RFC 2868 3.5 salt encryption: the plaintext is Length(1) + data, padded;
 * the result is Salt(2) + cipher. b(1) = MD5(S + R + A), A = salt.
 */
export function saltEncrypt(data: Buffer, secret: Buffer, requestAuthenticator: Buffer, salt: Buffer): Buffer {
  if (salt.length !== 2 || (salt[0]! & 0x80) === 0) throw new CryptoError('salt must be 2 bytes with the high bit set');
  if (data.length > 239) throw new CryptoError('salt-encrypted value too long');
  const plain = Buffer.concat([Buffer.from([data.length]), data]);
  return Buffer.concat([salt, hideBlocks(plain, secret, Buffer.concat([requestAuthenticator, salt]))]);
}

export function saltDecrypt(value: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer {
  if (value.length < 2 + MD5_LEN || (value.length - 2) % MD5_LEN !== 0) {
    throw new CryptoError(`salt-encrypted value of ${value.length} bytes has a bad length`);
  }
  const salt = value.subarray(0, 2);
  const plain = unhideBlocks(value.subarray(2), secret, Buffer.concat([requestAuthenticator, salt]));
  const len = plain[0]!;
  if (len > plain.length - 1) throw new CryptoError('salt-encrypted value: inner length exceeds data (wrong secret?)');
  return plain.subarray(1, 1 + len);
}

/** RFC 2865 3: Response Authenticator = MD5(Code+ID+Length+RequestAuth+Attributes+Secret). */
export function responseAuthenticator(packet: Buffer, requestAuthenticator: Buffer, secret: Buffer): Buffer {
  return md5(packet.subarray(0, 4), requestAuthenticator, packet.subarray(20), secret);
}

/**
 * RFC 3579 3.2: HMAC-MD5 over the packet with the Message-Authenticator value zeroed and, for
 * responses, the Request Authenticator in the authenticator field. `maOffset` is the offset
 * of the 16-byte value inside `packet`.
 */
export function messageAuthenticator(packet: Buffer, maOffset: number, authenticator: Buffer, secret: Buffer): Buffer {
  // HMAC-MD5 (RFC 2104) as two one-shot MD5 calls over one scratch buffer: about half the cost
  // of an Hmac object fed five pieces, and this runs four times per proxied request.
  const keys = hmacKeys(secret);
  const len = packet.length;
  // The codec never builds or accepts a packet over 4096 bytes (RFC 2865 3).
  if (len > MAX_PACKET) throw new RangeError(`packet of ${len} bytes exceeds ${MAX_PACKET}`);
  keys.ipad.copy(SCRATCH, 0);
  packet.copy(SCRATCH, HMAC_BLOCK, 0, 4);
  authenticator.copy(SCRATCH, HMAC_BLOCK + 4, 0, MD5_LEN);
  packet.copy(SCRATCH, HMAC_BLOCK + 20, 20, maOffset);
  SCRATCH.fill(0, HMAC_BLOCK + maOffset, HMAC_BLOCK + maOffset + MD5_LEN);
  packet.copy(SCRATCH, HMAC_BLOCK + maOffset + MD5_LEN, maOffset + MD5_LEN, len);
  const inner = hash('md5', SCRATCH.subarray(0, HMAC_BLOCK + len), 'buffer');
  keys.opad.copy(OUTER, 0);
  inner.copy(OUTER, HMAC_BLOCK);
  return hash('md5', OUTER, 'buffer');
}

const HMAC_BLOCK = 64;
const MAX_PACKET = 4096;
/** ipad-key + message; reused by every call (this runs on one thread, synchronously). */
const SCRATCH = Buffer.alloc(HMAC_BLOCK + MAX_PACKET);
const OUTER = Buffer.alloc(HMAC_BLOCK + MD5_LEN);
/** Padded keys per secret object: secrets live as long as their client or server entry. */
const HMAC_KEYS = new WeakMap<Buffer, { ipad: Buffer; opad: Buffer }>();
function hmacKeys(secret: Buffer): { ipad: Buffer; opad: Buffer } {
  let k = HMAC_KEYS.get(secret);
  if (k === undefined) {
    const key = secret.length > HMAC_BLOCK ? hash('md5', secret, 'buffer') : secret;
    const ipad = Buffer.alloc(HMAC_BLOCK, 0x36);
    const opad = Buffer.alloc(HMAC_BLOCK, 0x5c);
    for (let i = 0; i < key.length; i++) {
      ipad[i] = ipad[i]! ^ key[i]!;
      opad[i] = opad[i]! ^ key[i]!;
    }
    k = { ipad, opad };
    HMAC_KEYS.set(secret, k);
  }
  return k;
}

/** RFC 1994: CHAP response = MD5(ident + secret + challenge). */
export function chapResponse(ident: number, password: Buffer, challenge: Buffer): Buffer {
  return md5(Buffer.from([ident]), password, challenge);
}
