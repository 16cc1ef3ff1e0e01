// Self-service enrolment at /my (app/routes/portal.tsx): who may enrol a first factor without an
// admin, and the one-time codes admins give to those who may not.
import { randomInt } from 'node:crypto';
import type { Settings } from '../config.js';
import { putEnrolmentCode } from '../db/queries/enrolment-codes.js';
import { hashPassword } from '../lib/password.js';
import { missing, ok, type AdminDeps, type Result } from './deps.js';
import { cleanUserName } from './users.js';

/** How long an enrolment code works. */
export const ENROLMENT_CODE_MS = 7 * 86_400_000;
/** Letters and digits that cannot be misread for each other when read out on the phone. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A code of 10 characters (50 bits), shown as XXXXX-XXXXX. */
export function newEnrolmentCode(): string {
  let s = '';
  for (let i = 0; i < 10; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

/** A code as typed, in the form it is hashed in: case, spaces and dashes do not matter. */
export function normalEnrolmentCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

/** Whether a user first seen at `createdAt` may enrol a first factor without a code now. */
export function inEnrolWindow(s: Pick<Settings, 'enrolWindow'>, createdAt: number, now: number): boolean {
  if (s.enrolWindow === 'always') return true;
  if (s.enrolWindow === 'never') return false;
  return now < createdAt + s.enrolWindow * 86_400_000;
}

/** A new one-time enrolment code for the user (any earlier one stops working); shown once. */
export async function createEnrolmentCode(d: AdminDeps, actor: string, raw: string): Promise<Result<{ username: string; code: string; expiresAt: number }>> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const code = newEnrolmentCode();
  const expiresAt = d.now() + ENROLMENT_CODE_MS;
  // A slow, salted hash (scrypt, as for admin passwords): a copy of the store does not give the
  // 50-bit code away to a fast search.
  if (!await putEnrolmentCode(d.store, name.value, await hashPassword(normalEnrolmentCode(code)), expiresAt, actor)) return missing(`no user ${name.value}`);
  await d.audit.record({ event: 'enrolment.code', outcome: 'ok', actor, username: name.value });
  return ok({ username: name.value, code, expiresAt });
}
