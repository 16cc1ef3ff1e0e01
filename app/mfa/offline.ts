// Offline logon for Windows workstations (--windows-offline-days; 0, the default, is off): the
// one place that decides who gets offline codes and computes them.
//
// After an approved online Windows sign-in with a TOTP code, the workstation's service may ask
// for the user's next codes. It gets, for each 30-second step of the window, PBKDF2-HMAC-SHA256
// of "STEP:CODE" with a fresh per-user salt - never the seed, never a code - and keeps them sealed
// (DPAPI, machine scope) to check a typed code while the appliance cannot be reached
// (native/service/core/offline_store.h has the rules there: each code once, lockout after 5).
//
// Threat model (README "Offline logon"): whoever holds the sealed file and the machine's DPAPI
// key (a local administrator) can try all 10^6 codes of a chosen step at the hash's cost and so
// learn that step's code, which is also a valid online code at that moment (the password is
// still needed). The iterations make that minutes of CPU per step rather than microseconds; the
// window bounds how far ahead it reaches. That is why offline logon is off by default.
//
// Cost: one hash per step, 2,880 a day, about 0.2 ms each on the appliance, run on libuv's
// thread pool (crypto.pbkdf2), two at a time and one user at a time so that sign-ins keep their
// threads; a workstation asks again only when less than half its window is left.
import { pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { UserWithTotp } from '../db/queries/users.js';
import { hotp, totpStep } from './otp.js';

const pbkdf2Async = promisify(pbkdf2);

/** The step length offline codes are for: the service counts in 30-second steps. */
export const OFFLINE_STEP_SECONDS = 30;
/** PBKDF2 iterations per step (carried in the material, so it can change without the service). */
export const OFFLINE_ITERATIONS = 1000;
/** Users whose codes may wait to be computed; beyond that a sign-in gets none this time. */
const MAX_WAITING = 16;

export interface OfflineMaterial {
  /** The user as Gatehouse knows them (the service files them under the name it sent). */
  username: string;
  /** Base64 of the 16-byte salt. */
  salt: string;
  iterations: number;
  /** The first step (unix seconds / 30) covered. */
  first_step: number;
  /** Base64 of 32 bytes per step from first_step on. */
  hashes: string;
}

export interface OfflineDeps {
  /** The user with the seed opened (the store's `find`). */
  find(username: string): Promise<UserWithTotp | undefined>;
  settings(): { windowsOfflineDays: number };
  now(): number;
}

export interface OfflineIssuer {
  /**
   * The material for `username` after an accepted sign-in that used `factor`, or undefined when
   * none is due: offline logon off, a factor other than TOTP, a TOTP account not on 30-second
   * steps, or a workstation that still holds more than half a window (`heldThroughStep`: the last
   * step it has, 0 for none).
   */
  issue(username: string, factor: unknown, heldThroughStep: number): Promise<OfflineMaterial | undefined>;
}

export function createOfflineIssuer(d: OfflineDeps): OfflineIssuer {
  let queue: Promise<unknown> = Promise.resolve();
  let waiting = 0;
  return {
    async issue(username, factor, heldThroughStep) {
      const days = d.settings().windowsOfflineDays;
      if (days <= 0 || factor !== 'totp') return undefined;
      const steps = (days * 86_400) / OFFLINE_STEP_SECONDS;
      const nowStep = totpStep(d.now(), OFFLINE_STEP_SECONDS);
      if (heldThroughStep - nowStep > steps / 2) return undefined;
      if (waiting >= MAX_WAITING) return undefined;
      waiting++;
      const turn = queue.then(() => compute(username, steps));
      queue = turn.catch(() => undefined);
      try {
        return await turn;
      } finally {
        waiting--;
      }
    },
  };

  async function compute(username: string, steps: number): Promise<OfflineMaterial | undefined> {
    const u = await d.find(username);
    if (u === undefined || u.totp === null || u.locked || u.directoryGone) return undefined;
    const { seed, params, lastUsedStep } = u.totp;
    try {
      if (params.period !== OFFLINE_STEP_SECONDS) return undefined;
      // Never a step the user may already have spent online (the code just typed, or drift).
      const first = Math.max(totpStep(d.now(), OFFLINE_STEP_SECONDS), lastUsedStep) + 1;
      const salt = randomBytes(16);
      const out = Buffer.alloc(steps * 32);
      const one = async (i: number) => {
        const step = first + i;
        const code = hotp(seed, step, params.digits, params.algorithm);
        (await pbkdf2Async(`${step}:${code}`, salt, OFFLINE_ITERATIONS, 32, 'sha256')).copy(out, i * 32);
      };
      // Two lanes: the thread pool keeps threads for the sign-ins meanwhile.
      const lane = async (from: number) => {
        for (let i = from; i < steps; i += 2) await one(i);
      };
      await Promise.all([lane(0), lane(1)]);
      return { username, salt: salt.toString('base64'), iterations: OFFLINE_ITERATIONS, first_step: first, hashes: out.toString('base64') };
    } finally {
      seed.fill(0);
    }
  }
}
