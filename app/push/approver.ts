// What the phone approver may do, without HTTP: enrol with a one-time link (a passkey made for the
// user, the phone named), list and follow the user's open requests, and decide one with a passkey
// signature over the request, the decision and the request's nonce. Verification of passkeys is
// @simplewebauthn/server's (never hand-written); every decision and every refused signature is
// audited, and no credential data or token reaches a log.
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { createHash } from 'node:crypto';
import type { Auditor } from '../audit/audit.js';
import type { SharedStore } from '../db/store.js';
import { enrolmentChallenge, enrolPushDevice, findPushDeviceByToken, findPushEnrolment, recordPushSignature, setEnrolmentChallenge, setPushSubscription, type PushDeviceRow } from '../db/queries/push.js';
import { parseSubscription } from './webpush.js';
import { newToken, tokenHash } from '../lib/tokens.js';
import { pushDescription } from '../mfa/push/api.js';
import { decisionChallenge, type Decision, type PushRequest, type RequestBoard } from './requests.js';

export interface ApproverDeps {
  store: SharedStore;
  audit: Auditor;
  requests: RequestBoard;
  now(): number;
  /** The origin phones use (`--public-url`); its host is the relying party. */
  origin(): string;
}

/** How long a phone has between asking for the passkey options and sending the new passkey. */
const REGISTRATION_MS = 5 * 60_000;
const MAX_NAME = 64;

export type ApproverResult<T> = { ok: true; value: T } | { ok: false; status: 400 | 401 | 404 | 409; error: string };
const ok = <T>(value: T): ApproverResult<T> => ({ ok: true, value });
const no = (status: 400 | 401 | 404 | 409, error: string): ApproverResult<never> => ({ ok: false, status, error });

/** A request as a phone sees it: who, what, where, when; nothing the engine keeps for itself. */
export interface RequestView {
  id: string;
  title: string;
  description: string;
  where: string;
  createdAt: number;
  expiresAt: number;
  /** The number to type where the person signs in (RADIUS number matching). */
  number: number | null;
  /** The numbers to pick from (Windows number matching): which one is right is not said. */
  choices: number[] | null;
}

export function requestView(r: PushRequest): RequestView {
  const picking = r.choices !== undefined;
  return { id: r.id, title: r.title, description: pushDescription(r.description, r.username), where: r.fingerprint, createdAt: r.createdAt, expiresAt: r.expiresAt, number: picking ? null : (r.number ?? null), choices: picking ? [...r.choices!] : null };
}

/**
 * The number picked with a decision: required with an approval of a request with choices (one of
 * them), refused anywhere else. Undefined: none; a string: what is wrong.
 */
function pickOf(r: PushRequest, decision: Decision, raw: unknown): { picked: number | undefined } | { error: string } {
  const wanted = r.choices !== undefined && decision === 'approve';
  if (raw === undefined || raw === null) return wanted ? { error: 'Pick the number the sign-in screen shows.' } : { picked: undefined };
  if (!wanted || typeof raw !== 'number' || !r.choices!.includes(raw)) return { error: 'That is not one of the numbers offered.' };
  return { picked: raw };
}

export function createApprover(d: ApproverDeps) {
  const rp = () => new URL(d.origin()).hostname;

  return {
    /** The phone behind a device token (its cookie), if it is still enrolled. */
    async device(token: string | undefined): Promise<PushDeviceRow | undefined> {
      return token === undefined || token === '' ? undefined : await findPushDeviceByToken(d.store, tokenHash(token));
    },

    /** Passkey options for a phone opening an enrolment link. */
    async registrationOptions(linkToken: string): Promise<ApproverResult<{ username: string; options: PublicKeyCredentialCreationOptionsJSON }>> {
      const hash = tokenHash(linkToken);
      const e = await findPushEnrolment(d.store, hash, d.now());
      if (e === undefined) return no(404, 'This enrolment link was used already or has expired. Ask for a new one.');
      const options = await generateRegistrationOptions({
        rpName: 'Gatehouse',
        rpID: rp(),
        userName: e.username,
        // The passkey's user handle: stable per user, no personal data (the user's row id, hashed).
        userID: createHash('sha256').update(`gatehouse user ${e.userId}`).digest().subarray(0, 16),
        attestationType: 'none',
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      });
      // Kept with the link in the store: the phone's next step may reach another appliance.
      if (!(await setEnrolmentChallenge(d.store, hash, options.challenge, d.now() + REGISTRATION_MS, d.now()))) return no(404, 'This enrolment link was used already or has expired. Ask for a new one.');
      return ok({ username: e.username, options });
    },

    /**
     * The new passkey from the phone: verified, then the link is used and the phone added in one
     * transaction. Returns the device token the phone keeps (shown to nobody, stored hashed).
     */
    async finishEnrolment(linkToken: string, rawName: unknown, response: unknown): Promise<ApproverResult<{ username: string; deviceToken: string; name: string }>> {
      const hash = tokenHash(linkToken);
      const challenge = await enrolmentChallenge(d.store, hash, d.now());
      if (challenge === undefined) return no(409, 'The enrolment took too long. Open the link again.');
      const name = typeof rawName === 'string' ? rawName.normalize('NFC').trim() : '';
      if (name === '' || name.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(name)) return no(400, `Name this phone (at most ${MAX_NAME} characters), e.g. "Alice's iPhone".`);
      let verified;
      try {
        verified = await verifyRegistrationResponse({ response: response as RegistrationResponseJSON, expectedChallenge: challenge, expectedOrigin: d.origin(), expectedRPID: rp(), requireUserVerification: true });
      } catch (e) {
        verified = { verified: false as const, why: (e as Error).message };
      }
      if (!verified.verified) {
        const e = await findPushEnrolment(d.store, hash, d.now());
        await d.audit.record({ event: 'push.device.enrol', outcome: 'reject', reason: 'passkey_not_verified', username: e?.username ?? null });
        return no(400, 'The passkey could not be verified. Try again.');
      }
      const cred = verified.registrationInfo.credential;
      const deviceToken = newToken('ghd_');
      const done = await enrolPushDevice(d.store, hash, d.now(), { name, credentialId: cred.id, publicKey: Buffer.from(cred.publicKey), signCount: cred.counter, transports: cred.transports ?? [], tokenHash: tokenHash(deviceToken) });
      if (done === undefined) return no(404, 'This enrolment link was used already or has expired. Ask for a new one.');
      await d.audit.record({ event: 'push.device.enrol', outcome: 'ok', username: done.username, details: { name } });
      return ok({ username: done.username, deviceToken, name });
    },

    /** Keep the phone's Web Push subscription (checked: an https endpoint, P-256 and auth keys). */
    async subscribe(device: PushDeviceRow, raw: unknown): Promise<ApproverResult<true>> {
      const sub = parseSubscription(raw);
      if (sub === undefined) return no(400, 'not a push subscription (an https endpoint with p256dh and auth keys)');
      await setPushSubscription(d.store, device.id, JSON.stringify(sub));
      if (device.subscription === null) await d.audit.record({ event: 'push.device.subscribe', outcome: 'ok', username: device.username, details: { name: device.name } });
      return ok(true);
    },

    /** The open requests of the phone's user. */
    async requests(device: PushDeviceRow): Promise<RequestView[]> {
      return (await d.requests.forUser(device.username)).map(requestView);
    },

    /** Passkey options for deciding a request: the challenge binds the request, the decision and its nonce. */
    async decisionOptions(device: PushDeviceRow, id: string, decision: Decision, rawPick?: unknown): Promise<ApproverResult<PublicKeyCredentialRequestOptionsJSON>> {
      const r = await d.requests.get(id);
      if (r === undefined || r.username !== device.username) return no(404, 'This request was answered or has expired.');
      const pick = pickOf(r, decision, rawPick);
      if ('error' in pick) return no(400, pick.error);
      return ok(
        await generateAuthenticationOptions({
          rpID: rp(),
          challenge: Buffer.from(decisionChallenge(r, decision, pick.picked), 'base64url'),
          allowCredentials: [{ id: device.credentialId, transports: device.transports as never }],
          userVerification: 'required',
        }),
      );
    },

    /**
     * Decide a request with a passkey signature made for exactly this request and decision. The
     * signature is verified first; then the counter moves and the request is decided, each in one
     * step (a synchronous turn, or one statement for another appliance's request), so one
     * signature decides once.
     */
    async decide(device: PushDeviceRow, id: string, decision: Decision, response: unknown, rawPick?: unknown): Promise<ApproverResult<Decision>> {
      const r = await d.requests.get(id);
      if (r === undefined || r.username !== device.username) return no(404, 'This request was answered or has expired.');
      const pick = pickOf(r, decision, rawPick);
      if ('error' in pick) return no(400, pick.error);
      const refuse = async (why: string) => {
        await d.audit.record({ event: 'push.decision', outcome: 'reject', reason: 'signature_refused', username: device.username, details: { name: device.name, message: `${decision}: ${why}` } });
        return no(401, 'The passkey signature was refused.');
      };
      const res = response as AuthenticationResponseJSON;
      if (res === null || typeof res !== 'object' || res.id !== device.credentialId) return refuse('not this phone’s passkey');
      let verified;
      try {
        verified = await verifyAuthenticationResponse({
          response: res,
          expectedChallenge: decisionChallenge(r, decision, pick.picked),
          expectedOrigin: d.origin(),
          expectedRPID: rp(),
          credential: { id: device.credentialId, publicKey: new Uint8Array(device.publicKey), counter: device.signCount, transports: device.transports as never },
          requireUserVerification: true,
        });
      } catch (e) {
        return refuse((e as Error).message.slice(0, 120));
      }
      if (!verified.verified) return refuse('signature does not verify');
      if (!await recordPushSignature(d.store, device.id, verified.authenticationInfo.newCounter, d.now())) return refuse('signature counter did not move forward');
      if (!(await d.requests.decide(id, decision, pick.picked))) return no(404, 'This request was answered or has expired.');
      // Whether the pick was right is not told here: the login's own record says (push_number_wrong).
      // Committed with the other records of this turn (one transaction for a burst of phones); the
      // phone hears back once it is stored.
      await d.audit.commit({ event: 'push.decision', outcome: 'ok', reason: decision === 'approve' ? 'approved' : 'denied', username: device.username, details: { name: device.name } });
      return ok(decision);
    },
  };
}

export type Approver = ReturnType<typeof createApprover>;
