// Random bearer secrets (session cookies, API tokens) and the hash under which they are stored.
import { createHash, randomBytes } from 'node:crypto';

export function newToken(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

// 128 random bits at a time, cut from a pool the CSPRNG fills 4 KiB at once: one call for 256 ids
// instead of one each (a push request takes two, its id and its nonce; a push admission and a shared
// push one each; all on the login path). Each byte of the pool is used once.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let taken = 0;

/** 16 random bytes, base64url (22 characters): ids and nonces that must not be guessed. */
export function randomId(): string {
  if (taken + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    taken = 0;
  }
  const id = pool.toString('base64url', taken, taken + 16);
  taken += 16;
  return id;
}
