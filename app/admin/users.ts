// People who log in through Gatehouse: add, remove, lock, unlock, their profile (display name,
// email, groups), TOTP enrolment and its confirmation. Names are made canonical
// (app/lib/username.ts) the same way the engine does for every login.
import { randomBytes } from 'node:crypto';
import {
  confirmPendingTotp,
  countUsers,
  deletePendingTotp,
  deleteTotpAccount,
  deleteUser,
  DuplicateUserError,
  findPendingTotp,
  findUserDetail,
  insertUser,
  pageUsers,
  replaceTotpAccount,
  setPendingTotp,
  setUserLocked,
  writeProfiles,
  type TotpParams,
  type UserListRow,
} from '../db/queries/users.js';
import { canonicalUsername } from '../lib/username.js';
import { checkTotp, codeEquals, DEFAULT_TOTP, otpauthUri } from '../mfa/otp.js';
import { bad, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

/** 160 bits, the size RFC 4226 recommends and every authenticator app accepts. */
const SEED_BYTES = 20;
export const USERS_PAGE = 50;

export function cleanUserName(d: AdminDeps, raw: string | undefined): Result<string> {
  const c = canonicalUsername(raw ?? '', d.nameRules());
  return c.ok ? ok(c.name) : bad(`user name: ${c.problem}`, 'username');
}

/** A search as typed, folded the way users.search_text is (any script, any case). */
export function foldQuery(q: string): string {
  return q.normalize('NFKC').trim().toLowerCase().slice(0, 253);
}

export interface UserPage {
  users: UserListRow[];
  /** Users matching the search in all (every user without one). */
  total: number;
  /** The `after` of the next page, or undefined on the last. */
  next: string | undefined;
}

/** One page of users in name order, matching `q` (name, display name, email, or a group's exact name). */
export async function pageOfUsers(d: AdminDeps, q: string, after?: string, limit = USERS_PAGE): Promise<UserPage> {
  const folded = foldQuery(q);
  const rows = await pageUsers(d.store, { q: folded, after, limit: limit + 1 });
  const users = rows.slice(0, limit);
  return { users, total: await countUsers(d.store, folded), next: rows.length > limit ? users[users.length - 1]!.username : undefined };
}

/** A user and their profile, factors and lock state, by any spelling of their name. */
export async function userDetail(d: AdminDeps, raw: string) {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const u = await findUserDetail(d.store, name.value);
  return u === undefined ? missing(`no user ${name.value}`) : ok(u);
}

export async function addUser(d: AdminDeps, actor: string, raw: string | undefined): Promise<Result<string>> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  try {
    await insertUser(d.store, name.value);
  } catch (e) {
    if (!(e instanceof DuplicateUserError)) throw e;
    return conflict(`user ${name.value} already exists`, 'username');
  }
  await d.audit.record({ event: 'user.add', outcome: 'ok', actor, username: name.value });
  return ok(name.value);
}

export type UserAction = 'remove' | 'lock' | 'unlock' | 'reset-totp' | 'cancel-enrolment';

export async function changeUser(d: AdminDeps, actor: string, raw: string, action: UserAction): Promise<Result<string>> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const done =
    action === 'remove'
      ? await deleteUser(d.store, name.value)
      : action === 'reset-totp'
        ? await deleteTotpAccount(d.store, name.value)
        : action === 'cancel-enrolment'
          ? await deletePendingTotp(d.store, name.value)
          : await setUserLocked(d.store, name.value, action === 'lock');
  if (!done) return missing(action === 'reset-totp' ? `${name.value} has no TOTP account` : action === 'cancel-enrolment' ? `${name.value} has no enrolment waiting for a code` : `no user ${name.value}`);
  const event = action === 'reset-totp' ? 'totp.remove' : action === 'cancel-enrolment' ? 'totp.enroll.cancel' : `user.${action}`;
  await d.audit.record({ event, outcome: 'ok', actor, username: name.value });
  return ok(name.value);
}

/**
 * A new TOTP seed for the user (created if needed); the URI is shown once.
 * `activate: 'now'`: it replaces the user's account at once (the command line, provisioning
 * scripts). `'after-code'`: it waits until a code from the user's app confirms it
 * (confirmUserTotp); until then logins see only the account the user had, if any, so a QR code
 * scanned wrongly locks nobody out.
 */
export async function enrolUserTotp(d: AdminDeps, actor: string, raw: string, o: { activate: 'now' | 'after-code'; params?: TotpParams }): Promise<Result<{ username: string; uri: string; confirmed: boolean }>> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const params = o.params ?? DEFAULT_TOTP;
  const seed = randomBytes(SEED_BYTES);
  const { userCreated } = o.activate === 'now' ? await replaceTotpAccount(d.store, d.sealer, name.value, seed, params) : await setPendingTotp(d.store, d.sealer, name.value, seed, params, d.now());
  const message = [userCreated ? 'user created' : o.activate === 'now' ? 'account replaced' : undefined, o.activate === 'after-code' ? 'waiting for a code' : undefined].filter((m) => m !== undefined).join(', ');
  await d.audit.record({ event: 'totp.enroll', outcome: 'ok', actor, username: name.value, ...(message !== '' ? { details: { name: message } } : {}) });
  const uri = otpauthUri(d.totpIssuer(), name.value, seed, params);
  seed.fill(0);
  return ok({ username: name.value, uri, confirmed: o.activate === 'now' });
}

/**
 * The enrolment waiting for `raw` becomes their TOTP account if `code` is one of its codes (now,
 * or a step either side). The check and the move are one transaction against the enrolment
 * checked, so one enrolment is confirmed once; the confirming code does not also log in.
 */
export async function confirmUserTotp(d: AdminDeps, actor: string, raw: string, code: string | undefined): Promise<Result<string>> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const typed = (code ?? '').replace(/\s+/g, '');
  const pending = await findPendingTotp(d.store, d.sealer, name.value);
  if (pending === undefined) return missing(`${name.value} has no enrolment waiting for a code`);
  try {
    if (!new RegExp(`^\\d{${pending.params.digits}}$`).test(typed)) return bad(`the code is ${pending.params.digits} digits from the authenticator app`, 'code');
    const check = checkTotp(pending.seed, codeEquals(typed), d.now(), pending.params, -1);
    if (!check.ok) {
      await d.audit.record({ event: 'totp.confirm', outcome: 'reject', reason: 'wrong_code', actor, username: name.value });
      return bad('that code does not match the new authenticator: check the app shows Gatehouse for this user, and its clock', 'code');
    }
    if (!await confirmPendingTotp(d.store, pending.userId, pending.createdAt, check.step)) return conflict(`the enrolment of ${name.value} was confirmed, cancelled or restarted meanwhile`);
  } finally {
    pending.seed.fill(0);
  }
  await d.audit.record({ event: 'totp.confirm', outcome: 'ok', actor, username: name.value });
  return ok(name.value);
}

// --- profiles

const MAX_DISPLAY = 200;
const MAX_EMAIL = 254;
const MAX_GROUP = 64;
const MAX_GROUPS = 100;

/** A display name: trimmed, at most 200 printable characters; empty is none. */
export function cleanDisplayName(raw: string | undefined): Result<string | null> {
  const v = (raw ?? '').normalize('NFC').trim();
  if (v === '') return ok(null);
  if (v.length > MAX_DISPLAY || /[\u0000-\u001f\u007f]/.test(v)) return bad(`display name must be at most ${MAX_DISPLAY} printable characters`, 'displayName');
  return ok(v);
}

/** An email address as mail systems take it (one @, no spaces); empty is none. */
export function cleanEmail(raw: string | undefined): Result<string | null> {
  const v = (raw ?? '').trim();
  if (v === '') return ok(null);
  if (v.length > MAX_EMAIL || !/^[^\s@",;<>()]+@[^\s@",;<>()]+\.[^\s@",;<>()]+$/.test(v)) return bad(`email: '${v.slice(0, 80)}' is not an email address`, 'email');
  return ok(v);
}

/**
 * Groups as typed: names separated by semicolons, commas or line breaks, each folded to lower
 * case (NFKC) and at most 64 printable characters; spaces inside a name are kept ("vpn users").
 */
export function cleanGroups(raw: string | readonly string[] | undefined): Result<string[]> {
  const parts = (typeof raw === 'string' ? raw.split(/[;,\n]/) : (raw ?? [])).map((g) => g.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ')).filter((g) => g !== '');
  for (const g of parts) if (g.length > MAX_GROUP || /[\u0000-\u001f\u007f]/.test(g)) return bad(`group '${g.slice(0, 80)}' must be at most ${MAX_GROUP} printable characters`, 'groups');
  const groups = [...new Set(parts)].sort();
  if (groups.length > MAX_GROUPS) return bad(`at most ${MAX_GROUPS} groups per user`, 'groups');
  return ok(groups);
}

/** Set a user's display name, email and groups (each as given: empty clears it). */
export async function setUserProfile(d: AdminDeps, actor: string, raw: string, input: { displayName?: string | undefined; email?: string | undefined; groups?: string | readonly string[] | undefined }): Promise<Result<string>> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const before = await findUserDetail(d.store, name.value);
  if (before === undefined) return missing(`no user ${name.value}`);
  const displayName = input.displayName === undefined ? ok(before.displayName) : cleanDisplayName(input.displayName);
  if (!displayName.ok) return displayName;
  const email = input.email === undefined ? ok(before.email) : cleanEmail(input.email);
  if (!email.ok) return email;
  const groups = input.groups === undefined ? ok(before.groups) : cleanGroups(input.groups);
  if (!groups.ok) return groups;
  const changed = [displayName.value !== before.displayName ? 'display name' : '', email.value !== before.email ? 'email' : '', groups.value.join('\n') !== before.groups.join('\n') ? 'groups' : ''].filter((f) => f !== '');
  if (changed.length === 0) return ok(name.value);
  await writeProfiles(d.store, [{ username: name.value, create: false, displayName: displayName.value, email: email.value, groups: groups.value }]);
  await d.audit.record({ event: 'user.update', outcome: 'ok', actor, username: name.value, details: { message: changed.join(', ') } });
  return ok(name.value);
}
