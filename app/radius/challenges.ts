// Gatehouse's own Access-Challenge rounds (asking for a TOTP code, or with number matching the
// number the phone shows): the State it hands out, and what it must remember until the answer
// comes: which client and user it was for, the number-matched push it asks about, and the
// downstream server's Access-Accept to pass on once the second factor is right.
import type { Attribute } from './codec.js';

/** Every State Gatehouse issues starts with these bytes; other States belong to the downstream server. */
const PREFIX = Buffer.from('GH\x01', 'latin1');
const STATE_LEN = PREFIX.length + 16;
const MAX_PENDING = 100_000;

export interface PendingChallenge {
  client: string;
  /** Normalised user name. */
  username: string;
  expires: number;
  /** The downstream Access-Accept: its attributes, and the leg they are encrypted for. */
  downstreamAttributes: readonly Attribute[];
  downstreamSecret: Buffer;
  downstreamAuthenticator: Buffer;
  /** Number matching: the engine's ticket for the push this challenge asks the number of. */
  pushTicket?: string;
}

export type ChallengeLookup = { found: true; challenge: PendingChallenge } | { found: false; reason: 'state_expired' };

export interface ChallengeStore {
  isOurs(state: Buffer): boolean;
  issue(c: PendingChallenge): Buffer;
  /** Take (and forget: a State is used once) the challenge behind a State. */
  take(state: Buffer): ChallengeLookup;
  size(): number;
}

export function createChallengeStore(random: (n: number) => Buffer, now: () => number): ChallengeStore {
  // Insertion order is issue order; TTLs differ only when the setting changes, so sweeping from
  // the front until the first live entry is enough.
  const pending = new Map<string, PendingChallenge>();
  const sweep = () => {
    const t = now();
    for (const [k, c] of pending) {
      if (c.expires > t && pending.size <= MAX_PENDING) break;
      pending.delete(k);
    }
  };
  return {
    isOurs: (state) => state.length === STATE_LEN && state.subarray(0, PREFIX.length).equals(PREFIX),
    issue(c) {
      sweep();
      const state = Buffer.concat([PREFIX, random(16)]);
      pending.set(state.toString('latin1'), c);
      return state;
    },
    take(state) {
      const key = state.toString('latin1');
      const c = pending.get(key);
      if (c === undefined) return { found: false, reason: 'state_expired' };
      pending.delete(key);
      if (c.expires <= now()) return { found: false, reason: 'state_expired' };
      return { found: true, challenge: c };
    },
    size: () => pending.size,
  };
}

/**
 * `password<delimiter>123456`: split off a code of exactly `digits` digits after the last
 * delimiter. Returns undefined when the password does not end that way.
 */
export function splitAppendedCode(password: Buffer, delimiter: string, digits: number): { password: Buffer; code: string } | undefined {
  const d = Buffer.from(delimiter, 'utf8');
  const at = password.lastIndexOf(d);
  if (at <= 0) return undefined;
  const code = password.subarray(at + d.length).toString('latin1');
  if (code.length !== digits || !/^\d+$/.test(code)) return undefined;
  return { password: password.subarray(0, at), code };
}
