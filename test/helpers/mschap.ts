/**
 * Client-side MS-CHAP cryptography for integration tests: lets a test act as
 * a VPN concentrator (NAS) sending MS-CHAPv1 / MS-CHAPv2 through the proxy to
 * a real FreeRADIUS, and check the MPPE keys in the Access-Accept.
 *
 *  - MS-CHAPv1: RFC 2433 (appendix A)
 *  - MS-CHAPv2: RFC 2759 (section 8)
 *  - MPPE key derivation for MS-CHAPv2: RFC 3079 (section 3)
 *  - RADIUS attribute formats and MS-MPPE-*-Key encryption: RFC 2548
 *
 * MD4 and DES are implemented in ./md4-des.ts (Node's OpenSSL 3 only has them
 * in the legacy provider); SHA-1, MD5 and randomness come from node:crypto.
 */
import { createHash } from 'node:crypto';
import { desEncryptBlock, desExpandKey56, md4 } from './md4-des.js';

function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

function requireLength(name: string, buf: Uint8Array, len: number): void {
  if (buf.length !== len) throw new RangeError(`${name} must be ${len} bytes, got ${buf.length}`);
}

// ---------------------------------------------------------------------------
// Shared (RFC 2433 appendix A / RFC 2759 section 8)
// ---------------------------------------------------------------------------

/** NtPasswordHash: MD4 of the UTF-16LE password (no terminating NUL). */
export function ntPasswordHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/** HashNtPasswordHash (RFC 2759 8.4): MD4(NtPasswordHash). */
export function ntPasswordHashHash(password: string): Buffer {
  return md4(ntPasswordHash(password));
}

/**
 * ChallengeResponse: DES-encrypt the 8-byte challenge under each of the three
 * 7-byte slices of the password hash zero-padded to 21 bytes.
 */
export function challengeResponse(challenge8: Buffer, passwordHash16: Buffer): Buffer {
  requireLength('challenge', challenge8, 8);
  requireLength('password hash', passwordHash16, 16);
  const z = Buffer.alloc(21);
  passwordHash16.copy(z);
  return Buffer.concat([0, 7, 14].map((o) => desEncryptBlock(desExpandKey56(z.subarray(o, o + 7)), challenge8)));
}

// ---------------------------------------------------------------------------
// MS-CHAPv1 (RFC 2433)
// ---------------------------------------------------------------------------

/** NtChallengeResponse: the 24-byte MS-CHAPv1 NT-Response. */
export function mschapV1Response(challenge8: Buffer, password: string): Buffer {
  return challengeResponse(challenge8, ntPasswordHash(password));
}

/**
 * MS-CHAP-Response VSA value (RFC 2548 2.3.2), 50 bytes:
 * Ident(1) Flags(1)=1 (use NT-Response) LM-Response(24)=zeros NT-Response(24).
 * The challenge goes in MS-CHAP-Challenge (8 bytes).
 */
export function mschapV1ResponseAttribute(ident: number, challenge8: Buffer, password: string): Buffer {
  const out = Buffer.alloc(50);
  out[0] = ident & 0xff;
  out[1] = 1;
  mschapV1Response(challenge8, password).copy(out, 26);
  return out;
}

// ---------------------------------------------------------------------------
// MS-CHAPv2 (RFC 2759)
// ---------------------------------------------------------------------------

/**
 * ChallengeHash (RFC 2759 8.2): SHA1(PeerChallenge || AuthChallenge || UserName)[0..8].
 *
 * `username` is hashed exactly as given (UTF-8 bytes). RFC 2759 says the
 * user name excludes any "DOMAIN\" prefix; pass whatever the server side will
 * hash (FreeRADIUS: the User-Name / MS-CHAP-User-Name, subject to its
 * with_ntdomain_hack setting).
 */
export function challengeHash(peerChallenge16: Buffer, authChallenge16: Buffer, username: string): Buffer {
  requireLength('peer challenge', peerChallenge16, 16);
  requireLength('authenticator challenge', authChallenge16, 16);
  return sha1(peerChallenge16, authChallenge16, Buffer.from(username, 'utf8')).subarray(0, 8);
}

/** GenerateNTResponse (RFC 2759 8.1): 24-byte NT-Response. */
export function mschapV2NtResponse(
  authChallenge16: Buffer,
  peerChallenge16: Buffer,
  username: string,
  password: string,
): Buffer {
  return challengeResponse(challengeHash(peerChallenge16, authChallenge16, username), ntPasswordHash(password));
}

/**
 * MS-CHAP2-Response VSA value (RFC 2548 2.3.2), 50 bytes:
 * Ident(1) Flags(1)=0 Peer-Challenge(16) Reserved(8)=0 NT-Response(24).
 * The authenticator challenge goes in MS-CHAP-Challenge (16 bytes).
 */
export function mschapV2ResponseAttribute(
  ident: number,
  authChallenge16: Buffer,
  peerChallenge16: Buffer,
  username: string,
  password: string,
): Buffer {
  const out = Buffer.alloc(50);
  out[0] = ident & 0xff;
  out[1] = 0;
  peerChallenge16.copy(out, 2);
  mschapV2NtResponse(authChallenge16, peerChallenge16, username, password).copy(out, 26);
  return out;
}

const AUTH_MAGIC1 = Buffer.from('Magic server to client signing constant', 'ascii'); // 39 bytes
const AUTH_MAGIC2 = Buffer.from('Pad to make it do more than one iteration', 'ascii'); // 41 bytes

/**
 * GenerateAuthenticatorResponse (RFC 2759 8.7): "S=" + 40 upper-case hex
 * chars, the value the server returns (in MS-CHAP2-Success after the Ident
 * byte) to prove it knows the password.
 */
export function mschapV2AuthenticatorResponse(
  password: string,
  ntResponse24: Buffer,
  peerChallenge16: Buffer,
  authChallenge16: Buffer,
  username: string,
): string {
  requireLength('NT-Response', ntResponse24, 24);
  const digest = sha1(ntPasswordHashHash(password), ntResponse24, AUTH_MAGIC1);
  const challenge = challengeHash(peerChallenge16, authChallenge16, username);
  return 'S=' + sha1(digest, challenge, AUTH_MAGIC2).toString('hex').toUpperCase();
}

// ---------------------------------------------------------------------------
// MPPE keys for MS-CHAPv2 (RFC 3079 section 3)
// ---------------------------------------------------------------------------

const MPPE_MAGIC1 = Buffer.from('This is the MPPE Master Key', 'ascii'); // 27 bytes
const MPPE_MAGIC2 = Buffer.from(
  'On the client side, this is the send key; on the server side, it is the receive key.',
  'ascii',
); // 84 bytes
const MPPE_MAGIC3 = Buffer.from(
  'On the client side, this is the receive key; on the server side, it is the send key.',
  'ascii',
); // 84 bytes
const SHS_PAD1 = Buffer.alloc(40, 0x00);
const SHS_PAD2 = Buffer.alloc(40, 0xf2);

/** GetMasterKey (RFC 3079 3.4): SHA1(PasswordHashHash || NTResponse || Magic1)[0..16]. */
export function mppeGetMasterKey(passwordHashHash16: Buffer, ntResponse24: Buffer): Buffer {
  requireLength('PasswordHashHash', passwordHashHash16, 16);
  requireLength('NT-Response', ntResponse24, 24);
  return sha1(passwordHashHash16, ntResponse24, MPPE_MAGIC1).subarray(0, 16);
}

/**
 * GetAsymmetricStartKey (RFC 3079 3.4). Magic3 is used for the server's send
 * key (= client's receive key), Magic2 for the server's receive key
 * (= client's send key).
 */
export function mppeGetAsymmetricStartKey(
  masterKey16: Buffer,
  sessionKeyLength: 8 | 16,
  isSend: boolean,
  isServer: boolean,
): Buffer {
  requireLength('MasterKey', masterKey16, 16);
  const magic = isSend === isServer ? MPPE_MAGIC3 : MPPE_MAGIC2;
  return sha1(masterKey16, SHS_PAD1, magic, SHS_PAD2).subarray(0, sessionKeyLength);
}

/**
 * The 128-bit MPPE start keys from the *server's* (authenticator's / NAS's)
 * point of view, i.e. what FreeRADIUS returns in the Access-Accept:
 *  - sendKey = MS-MPPE-Send-Key = key for server->client traffic
 *              (= GetAsymmetricStartKey(IsSend=TRUE, IsServer=TRUE), Magic3;
 *              this is the RFC 3079 3.5.3 "SendStartKey128" 8B7CDC14...)
 *  - recvKey = MS-MPPE-Recv-Key = key for client->server traffic
 *              (= GetAsymmetricStartKey(IsSend=FALSE, IsServer=TRUE), Magic2)
 */
export function mppeV2MasterKeys(password: string, ntResponse24: Buffer): { sendKey: Buffer; recvKey: Buffer } {
  const masterKey = mppeGetMasterKey(ntPasswordHashHash(password), ntResponse24);
  return {
    sendKey: mppeGetAsymmetricStartKey(masterKey, 16, true, true),
    recvKey: mppeGetAsymmetricStartKey(masterKey, 16, false, true),
  };
}

// ---------------------------------------------------------------------------
// MS-MPPE-Send-Key / MS-MPPE-Recv-Key attribute decryption (RFC 2548 2.4.2)
// ---------------------------------------------------------------------------

/**
 * Decrypt an MS-MPPE-Send-Key / MS-MPPE-Recv-Key VSA value:
 * Salt(2) || c(1) || ... || c(n), where
 *   b(1) = MD5(Secret || Request-Authenticator || Salt), p(1) = c(1) xor b(1)
 *   b(i) = MD5(Secret || c(i-1)),                        p(i) = c(i) xor b(i)
 * The plaintext is Key-Length(1) || Key || zero padding; returns the Key.
 */
export function mppeDecryptKeyAttribute(value: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer {
  requireLength('Request Authenticator', requestAuthenticator, 16);
  if (value.length < 2 + 16 || (value.length - 2) % 16 !== 0) {
    throw new RangeError(`MPPE key attribute must be Salt(2) + n*16 bytes, got ${value.length}`);
  }
  const salt = value.subarray(0, 2);
  if ((salt[0]! & 0x80) === 0) throw new Error('MPPE key attribute salt must have its high bit set');
  const cipher = value.subarray(2);
  const plain = Buffer.alloc(cipher.length);
  let b = md5(secret, requestAuthenticator, salt);
  for (let off = 0; off < cipher.length; off += 16) {
    for (let i = 0; i < 16; i++) plain[off + i] = cipher[off + i]! ^ b[i]!;
    b = md5(secret, cipher.subarray(off, off + 16));
  }
  const keyLength = plain[0]!;
  if (keyLength > plain.length - 1) {
    throw new Error(`MPPE key attribute decrypts to Key-Length ${keyLength} > ${plain.length - 1} (wrong secret?)`);
  }
  return Buffer.from(plain.subarray(1, 1 + keyLength));
}
