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
  issue(c: PendingChallenge): Promise<Buffer>;
  /** Take (and forget: a State is used once) the challenge behind a State. */
  take(state: Buffer): Promise<ChallengeLookup>;
  /** Challenges this appliance issued that are still waiting. */
  size(): number;
}

const newState = (random: (n: number) => Buffer) => Buffer.concat([PREFIX, random(16)]);
const isOurs = (state: Buffer) => state.length === STATE_LEN && state.subarray(0, PREFIX.length).equals(PREFIX);

/** One appliance: the challenges in this process's memory. */
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
    isOurs,
    async issue(c) {
      sweep();
      const state = newState(random);
      pending.set(state.toString('latin1'), c);
      return state;
    },
    async take(state) {
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

/** Where the challenges of several appliances are kept (app/db/queries/challenges.ts over the shared store). */
export interface SharedChallengeRows {
  put(state: string, payloadSealed: Buffer, expiresAt: number): Promise<void>;
  take(state: string): Promise<{ payloadSealed: Buffer; expiresAt: number } | undefined>;
  sweep(now: number): Promise<number>;
}

const PAYLOAD_PURPOSE = 'radius_challenges.payload';
/** How often challenges nobody answered are removed from the shared store. */
const SHARED_SWEEP_MS = 60_000;

interface Payload {
  client: string;
  username: string;
  expires: number;
  attributes: [number, string][];
  secret: string;
  authenticator: string;
  pushTicket?: string;
}

/**
 * Several appliances on one store: a challenge issued by one is answered on whichever the RADIUS
 * client sends the answer to (after a fail-over, or a load balancer's choice). What the answer
 * needs holds the downstream server's Access-Accept and the secret it is encrypted for, so it is
 * sealed with the master key; the State itself is only a random name for it.
 */
export function createSharedChallengeStore(rows: SharedChallengeRows, sealer: { seal(p: Buffer, purpose: string): Buffer; open(s: Buffer, purpose: string): Buffer }, random: (n: number) => Buffer, now: () => number): ChallengeStore {
  /** Issued here and not taken here yet, by State, with their expiry (for size()). */
  const mine = new Map<string, number>();
  let lastSweep = now();
  const forgetExpired = (t: number) => {
    for (const [k, e] of mine) {
      if (e > t) break;
      mine.delete(k);
    }
  };
  return {
    isOurs,
    async issue(c) {
      const t = now();
      forgetExpired(t);
      if (t - lastSweep >= SHARED_SWEEP_MS) {
        lastSweep = t;
        await rows.sweep(t);
      }
      const state = newState(random);
      const payload: Payload = {
        client: c.client,
        username: c.username,
        expires: c.expires,
        attributes: c.downstreamAttributes.map((a) => [a.type, a.value.toString('base64')]),
        secret: c.downstreamSecret.toString('base64'),
        authenticator: c.downstreamAuthenticator.toString('base64'),
        ...(c.pushTicket !== undefined ? { pushTicket: c.pushTicket } : {}),
      };
      const key = state.toString('hex');
      await rows.put(key, sealer.seal(Buffer.from(JSON.stringify(payload), 'utf8'), PAYLOAD_PURPOSE), c.expires);
      mine.set(key, c.expires);
      return state;
    },
    async take(state) {
      const key = state.toString('hex');
      mine.delete(key);
      const row = await rows.take(key);
      if (row === undefined || row.expiresAt <= now()) return { found: false, reason: 'state_expired' };
      const p = JSON.parse(sealer.open(row.payloadSealed, PAYLOAD_PURPOSE).toString('utf8')) as Payload;
      return {
        found: true,
        challenge: {
          client: p.client,
          username: p.username,
          expires: p.expires,
          downstreamAttributes: p.attributes.map(([type, value]) => ({ type, value: Buffer.from(value, 'base64') })),
          downstreamSecret: Buffer.from(p.secret, 'base64'),
          downstreamAuthenticator: Buffer.from(p.authenticator, 'base64'),
          ...(p.pushTicket !== undefined ? { pushTicket: p.pushTicket } : {}),
        },
      };
    },
    size: () => {
      forgetExpired(now());
      return mine.size;
    },
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
