// Users and their TOTP accounts. Names are stored and looked up exactly as given: callers pass
// the canonical form (app/lib/username.ts), so every spelling of a user finds the same row.
// Written once for both engines (app/db/store.ts), except the login path's lookups and writes
// (createUserFactorQueries), still SQLite's own prepared statements: they move with the engine.
import { sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { bool, contains, linesOf, type Runner, type SharedStore } from '../store.js';
import type { Sealer } from '../secrets.js';

const SEED_PURPOSE = 'totp_accounts.seed';

export type OtpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** A TOTP account's parameters, as the row stores them. */
export interface TotpParams {
  algorithm: OtpAlgorithm;
  digits: 6 | 8;
  /** Seconds per step. */
  period: number;
}

export interface UserRow {
  id: number;
  username: string;
  locked: boolean;
  lockedUntil: number | null;
  failedAttempts: number;
  createdAt: number;
  hasTotp: boolean;
}

/** A user as `user list` shows it: the row, the profile, and where it comes from. */
export interface UserListEntry extends UserRow {
  displayName: string | null;
  email: string | null;
  upn: string | null;
  /** Sorted. */
  groups: string[];
  source: 'local' | 'directory';
  directoryState: 'active' | 'disabled' | 'removed' | null;
}

export interface UserWithTotp {
  id: number;
  locked: boolean;
  lockedUntil: number | null;
  failedAttempts: number;
  /** A directory user the directory disabled or no longer has: no way in until it has them again. */
  directoryGone: boolean;
  totp: { id: number; seed: Buffer; params: TotpParams; lastUsedStep: number } | null;
}

export class DuplicateUserError extends Error {}

export async function listUsers(r: Runner): Promise<UserListEntry[]> {
  const rows = await r.all<Omit<UserListEntry, 'groups' | 'locked' | 'hasTotp'> & { locked: number | boolean; hasTotp: number | boolean; groups: string | null }>(sql`
    SELECT u.id, u.username, u.locked, u.locked_until AS "lockedUntil", u.failed_attempts AS "failedAttempts", u.created_at AS "createdAt",
      (t.id IS NOT NULL) AS "hasTotp", u.display_name AS "displayName", u.email, u.upn,
      (SELECT ${linesOf(r, sql`g.name`)} FROM user_groups g WHERE g.user_id = u.id) AS groups, u.source, u.directory_state AS "directoryState"
    FROM users u LEFT JOIN totp_accounts t ON t.user_id = u.id ORDER BY u.username`);
  return rows.map((row) => ({ ...row, locked: Boolean(row.locked), hasTotp: Boolean(row.hasTotp), groups: row.groups === null ? [] : row.groups.split('\n').sort() }));
}

export async function insertUser(r: Runner, username: string): Promise<number> {
  const row = await r.get<{ id: number }>(sql`INSERT INTO users (username, search_text, created_at) VALUES (${username}, ${searchTextOf(username, null, null)}, ${Date.now()}) ON CONFLICT (username) DO NOTHING RETURNING id`);
  if (row === undefined) throw new DuplicateUserError(`user ${username} already exists`);
  return row.id;
}

export async function deleteUser(r: Runner, username: string): Promise<boolean> {
  return (await r.run(sql`DELETE FROM users WHERE username = ${username}`)) > 0;
}

/** Lock (by an admin, until unlocked) or unlock (which also clears an automatic lockout). */
export async function setUserLocked(r: Runner, username: string, locked: boolean): Promise<boolean> {
  const set = locked ? sql`locked = ${bool(true)}` : sql`locked = ${bool(false)}, locked_until = NULL, failed_attempts = 0`;
  return (await r.run(sql`UPDATE users SET ${set} WHERE username = ${username}`)) > 0;
}

/** The user's id, creating the user (a local one) if there is none: one statement, whoever else adds them. */
async function ensureUser(tx: Runner, username: string): Promise<{ id: number; created: boolean }> {
  const made = await tx.get<{ id: number }>(sql`INSERT INTO users (username, search_text, created_at) VALUES (${username}, ${searchTextOf(username, null, null)}, ${Date.now()}) ON CONFLICT (username) DO NOTHING RETURNING id`);
  if (made !== undefined) return { id: made.id, created: true };
  return { id: (await tx.get<{ id: number }>(sql`SELECT id FROM users WHERE username = ${username}`))!.id, created: false };
}

/** Create or replace the user's TOTP account (creating the user if needed). */
export async function replaceTotpAccount(store: SharedStore, sealer: Sealer, username: string, seed: Buffer, params: TotpParams): Promise<{ userCreated: boolean }> {
  const sealed = sealer.seal(seed, SEED_PURPOSE);
  return store.transaction(async (tx) => {
    const user = await ensureUser(tx, username);
    // An enrolment waiting for its code is overtaken by this one.
    await tx.run(sql`DELETE FROM totp_pending WHERE user_id = ${user.id}`);
    await tx.run(sql`INSERT INTO totp_accounts (user_id, seed_sealed, algorithm, digits, period, last_used_step, created_at)
      VALUES (${user.id}, ${sealed}, ${params.algorithm}, ${params.digits}, ${params.period}, -1, ${Date.now()})
      ON CONFLICT (user_id) DO UPDATE SET seed_sealed = excluded.seed_sealed, algorithm = excluded.algorithm, digits = excluded.digits,
        period = excluded.period, last_used_step = -1, created_at = excluded.created_at`);
    return { userCreated: user.created };
  });
}

/** Remove the user's TOTP account and any enrolment waiting for its code; false when there was neither. */
export async function deleteTotpAccount(store: SharedStore, username: string): Promise<boolean> {
  return store.transaction(async (tx) => {
    const pending = await tx.run(sql`DELETE FROM totp_pending WHERE user_id = (SELECT id FROM users WHERE username = ${username})`);
    return (await tx.run(sql`DELETE FROM totp_accounts WHERE user_id = (SELECT id FROM users WHERE username = ${username})`)) + pending > 0;
  });
}

// --- the users list at scale, a user's page, profiles and imports

/** What a search looks in (users.search_text): name, display name and email, folded. */
export function searchTextOf(username: string, displayName: string | null, email: string | null): string {
  return [username, displayName ?? '', email ?? ''].join('\n').normalize('NFKC').toLowerCase();
}

export interface UserListRow extends UserRow {
  displayName: string | null;
  email: string | null;
  /** Sorted. */
  groups: string[];
  /** A TOTP enrolment waiting for its first code. */
  pendingTotp: boolean;
  /** Kept by the directory sync: active, disabled or removed there; null for a local user. */
  directoryState: 'active' | 'disabled' | 'removed' | null;
}

interface ListRow {
  id: number;
  username: string;
  locked: number | boolean;
  locked_until: number | null;
  failed_attempts: number;
  created_at: number;
  display_name: string | null;
  email: string | null;
  has_totp: number | boolean;
  pending: number | boolean;
  groups: string | null;
  directory_state: 'active' | 'disabled' | 'removed' | null;
}

const listColumns = (r: Runner) => sql`u.id, u.username, u.locked, u.locked_until, u.failed_attempts, u.created_at, u.display_name, u.email, u.directory_state,
  EXISTS (SELECT 1 FROM totp_accounts t WHERE t.user_id = u.id) AS has_totp,
  EXISTS (SELECT 1 FROM totp_pending p WHERE p.user_id = u.id) AS pending,
  (SELECT ${linesOf(r, sql`g.name`)} FROM user_groups g WHERE g.user_id = u.id) AS groups`;

/** Rows match a search when it is in the name, display name or email, or is one of their groups. */
const match = (r: Runner, q: string) =>
  sql`(${q} = '' OR ${contains(r, sql`u.search_text`, q)} OR EXISTS (SELECT 1 FROM user_groups m WHERE m.name = ${q} AND m.user_id = u.id))`;

const toListRow = (r: ListRow): UserListRow => ({
  id: r.id,
  username: r.username,
  locked: Boolean(r.locked),
  lockedUntil: r.locked_until,
  failedAttempts: r.failed_attempts,
  createdAt: r.created_at,
  hasTotp: Boolean(r.has_totp),
  displayName: r.display_name,
  email: r.email,
  groups: r.groups === null ? [] : r.groups.split('\n').sort(),
  pendingTotp: Boolean(r.pending),
  directoryState: r.directory_state,
});

/**
 * One page of users in name order, after `after` (keyset: the last name of the page before), with
 * `q` (folded like searchTextOf) matched as `match` says. The first page costs the same at 100,000
 * users as at ten; a search reads every row once, without sorting.
 */
export async function pageUsers(r: Runner, o: { q: string; after?: string | undefined; limit: number }): Promise<UserListRow[]> {
  const after = o.after === undefined ? sql`` : sql`u.username > ${o.after} AND `;
  const rows = await r.all<ListRow>(sql`SELECT ${listColumns(r)} FROM users u WHERE ${after}${match(r, o.q)} ORDER BY u.username LIMIT ${o.limit}`);
  return rows.map(toListRow);
}

export async function countUsers(r: Runner, q: string): Promise<number> {
  return Number((await r.get<{ n: number }>(sql`SELECT count(*) AS n FROM users u WHERE ${match(r, q)}`))?.n ?? 0);
}

export interface UserDetail extends UserListRow {
  /** When the TOTP account in use was enrolled, if there is one. */
  totpSince: number | null;
  /** When the enrolment waiting for its code was started, if there is one. */
  pendingSince: number | null;
}

export async function findUserDetail(r: Runner, username: string): Promise<UserDetail | undefined> {
  const row = await r.get<ListRow & { totp_since: number | null; pending_since: number | null }>(sql`
    SELECT ${listColumns(r)}, (SELECT t.created_at FROM totp_accounts t WHERE t.user_id = u.id) AS totp_since,
      (SELECT p.created_at FROM totp_pending p WHERE p.user_id = u.id) AS pending_since
    FROM users u WHERE u.username = ${username}`);
  return row === undefined ? undefined : { ...toListRow(row), totpSince: row.totp_since, pendingSince: row.pending_since };
}

/** A user's descriptive fields; groups sorted and distinct. */
export interface UserProfile {
  displayName: string | null;
  email: string | null;
  groups: string[];
}

/** Users by name (those that exist), with their profiles, for planning an import. */
export async function findProfiles(r: Runner, usernames: readonly string[]): Promise<Map<string, UserProfile & { id: number }>> {
  const out = new Map<string, UserProfile & { id: number }>();
  for (const name of usernames) {
    const row = await r.get<ListRow>(sql`SELECT ${listColumns(r)} FROM users u WHERE u.username = ${name}`);
    if (row !== undefined) out.set(name, { id: row.id, displayName: row.display_name, email: row.email, groups: row.groups === null ? [] : row.groups.split('\n').sort() });
  }
  return out;
}

/** A user to create or change: a field left undefined is left as it is. */
export interface ProfileWrite {
  username: string;
  create: boolean;
  displayName?: string | null;
  email?: string | null;
  groups?: readonly string[];
}

/**
 * Write profiles in one transaction: all of them or, on any error, none. A user to create that
 * exists by then (made meanwhile) is changed instead. Returns the names created.
 */
export async function writeProfiles(store: SharedStore, writes: readonly ProfileWrite[]): Promise<string[]> {
  return store.transaction(async (tx) => {
    const created: string[] = [];
    for (const w of writes) {
      const displayName = w.displayName ?? null;
      const email = w.email ?? null;
      const made = await tx.get<{ id: number }>(sql`INSERT INTO users (username, display_name, email, search_text, created_at)
        VALUES (${w.username}, ${displayName}, ${email}, ${searchTextOf(w.username, displayName, email)}, ${Date.now()}) ON CONFLICT (username) DO NOTHING RETURNING id`);
      let id: number;
      if (made !== undefined) {
        id = made.id;
        created.push(w.username);
      } else {
        const cur = (await tx.get<{ id: number; displayName: string | null; email: string | null }>(sql`SELECT id, display_name AS "displayName", email FROM users WHERE username = ${w.username}`))!;
        id = cur.id;
        const d = w.displayName === undefined ? cur.displayName : w.displayName;
        const e = w.email === undefined ? cur.email : w.email;
        await tx.run(sql`UPDATE users SET display_name = ${d}, email = ${e}, search_text = ${searchTextOf(w.username, d, e)} WHERE id = ${id}`);
      }
      if (w.groups !== undefined) {
        await tx.run(sql`DELETE FROM user_groups WHERE user_id = ${id}`);
        for (const g of w.groups) await tx.run(sql`INSERT INTO user_groups (user_id, name) VALUES (${id}, ${g}) ON CONFLICT DO NOTHING`);
      }
    }
    return created;
  });
}

// --- TOTP enrolments waiting for their first code

/** Start (or restart) an enrolment that counts only once confirmed; creates the user if needed. */
export async function setPendingTotp(store: SharedStore, sealer: Sealer, username: string, seed: Buffer, params: TotpParams, now: number): Promise<{ userCreated: boolean }> {
  // Sealed for the same purpose as an account's seed: confirming moves the blob as it is.
  const sealed = sealer.seal(seed, SEED_PURPOSE);
  return store.transaction(async (tx) => {
    const user = await ensureUser(tx, username);
    await tx.run(sql`INSERT INTO totp_pending (user_id, seed_sealed, algorithm, digits, period, created_at)
      VALUES (${user.id}, ${sealed}, ${params.algorithm}, ${params.digits}, ${params.period}, ${now})
      ON CONFLICT (user_id) DO UPDATE SET seed_sealed = excluded.seed_sealed, algorithm = excluded.algorithm, digits = excluded.digits,
        period = excluded.period, created_at = excluded.created_at`);
    return { userCreated: user.created };
  });
}

export interface PendingTotp {
  userId: number;
  seed: Buffer;
  params: TotpParams;
  createdAt: number;
}

export async function findPendingTotp(r: Runner, sealer: Sealer, username: string): Promise<PendingTotp | undefined> {
  const row = await r.get<{ userId: number; seed: Buffer; algorithm: OtpAlgorithm; digits: number; period: number; createdAt: number }>(sql`
    SELECT p.user_id AS "userId", p.seed_sealed AS seed, p.algorithm, p.digits, p.period, p.created_at AS "createdAt"
    FROM totp_pending p JOIN users u ON u.id = p.user_id WHERE u.username = ${username}`);
  if (row === undefined) return undefined;
  return { userId: row.userId, seed: sealer.open(row.seed, SEED_PURPOSE), params: { algorithm: row.algorithm, digits: row.digits === 8 ? 8 : 6, period: row.period }, createdAt: row.createdAt };
}

/**
 * Make the enrolment started at `createdAt` the user's TOTP account, replacing any, with `step`
 * (the confirming code's) as its last used step, so that code does not also log in. The
 * enrolment is taken by one statement (DELETE ... RETURNING) in the transaction that writes the
 * account: false when it is no longer waiting (confirmed, cancelled or restarted meanwhile), so
 * two confirmations of one enrolment, on one node or two, cannot both succeed.
 */
export async function confirmPendingTotp(store: SharedStore, userId: number, createdAt: number, step: number): Promise<boolean> {
  return store.transaction(async (tx) => {
    const taken = await tx.get<{ seed: Buffer; algorithm: OtpAlgorithm; digits: number; period: number }>(sql`
      DELETE FROM totp_pending WHERE user_id = ${userId} AND created_at = ${createdAt} RETURNING seed_sealed AS seed, algorithm, digits, period`);
    if (taken === undefined) return false;
    await tx.run(sql`INSERT INTO totp_accounts (user_id, seed_sealed, algorithm, digits, period, last_used_step, created_at)
      VALUES (${userId}, ${taken.seed}, ${taken.algorithm}, ${taken.digits}, ${taken.period}, ${step}, ${Date.now()})
      ON CONFLICT (user_id) DO UPDATE SET seed_sealed = excluded.seed_sealed, algorithm = excluded.algorithm, digits = excluded.digits,
        period = excluded.period, last_used_step = excluded.last_used_step, created_at = excluded.created_at`);
    return true;
  });
}

/** Drop an enrolment waiting for its code; the account in use, if any, stays. */
export async function deletePendingTotp(r: Runner, username: string): Promise<boolean> {
  return (await r.run(sql`DELETE FROM totp_pending WHERE user_id = (SELECT id FROM users WHERE username = ${username})`)) > 0;
}

interface FactorRow {
  id: number;
  locked: number;
  gone: number;
  locked_until: number | null;
  failed_attempts: number;
  totp_id: number | null;
  seed_sealed: Buffer | null;
  algorithm: OtpAlgorithm | null;
  digits: number | null;
  period: number | null;
  last_used_step: number | null;
}

/** Prepared statements for the RADIUS hot path: one lookup per accepted password. */
export interface UserFactorQueries {
  find(username: string): UserWithTotp | undefined;
  /** The same without opening the seed, for deciding which factor applies. */
  findStatus(username: string): (Omit<UserWithTotp, 'totp'> & { totp: TotpParams | null }) | undefined;
  /** A good code: remember its step and clear the failure count. */
  recordSuccess(userId: number, totpId: number, step: number): void;
  /**
   * The same, written later (in the audit batch): the step only grows, and the failure count is
   * cleared only if it is still what it was when the code was checked (a wrong code recorded in
   * between keeps counting).
   */
  recordSuccessLater(userId: number, totpId: number, step: number, failedAttempts: number): void;
  recordLockState(userId: number, lockedUntil: number | null, failedAttempts: number): void;
  transaction<T>(fn: () => T): T;
}

export function createUserFactorQueries(store: Store, sealer: Sealer): UserFactorQueries {
  const find = store.sqlite.prepare<[string], FactorRow>(
    `SELECT u.id, u.locked, u.directory_state IN ('disabled', 'removed') AS gone, u.locked_until, u.failed_attempts, t.id AS totp_id, t.seed_sealed, t.algorithm, t.digits, t.period, t.last_used_step
     FROM users u LEFT JOIN totp_accounts t ON t.user_id = u.id WHERE u.username = ?`,
  );
  // The factor decision needs no seed: leaving the sealed blob out saves a Buffer per lookup.
  const status = store.sqlite.prepare<[string], Omit<FactorRow, 'seed_sealed' | 'last_used_step'>>(
    `SELECT u.id, u.locked, u.directory_state IN ('disabled', 'removed') AS gone, u.locked_until, u.failed_attempts, t.id AS totp_id, t.algorithm, t.digits, t.period
     FROM users u LEFT JOIN totp_accounts t ON t.user_id = u.id WHERE u.username = ?`,
  );
  const success = store.sqlite.prepare<[number]>('UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?');
  const step = store.sqlite.prepare<[number, number]>('UPDATE totp_accounts SET last_used_step = ? WHERE id = ?');
  const lock = store.sqlite.prepare<[number | null, number, number]>('UPDATE users SET locked_until = ?, failed_attempts = ? WHERE id = ?');
  const laterStep = store.sqlite.prepare<[number, number]>('UPDATE totp_accounts SET last_used_step = max(coalesce(last_used_step, -1), ?) WHERE id = ?');
  const laterSuccess = store.sqlite.prepare<[number, number]>('UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ? AND failed_attempts = ? AND (failed_attempts <> 0 OR locked_until IS NOT NULL)');
  return {
    find(username) {
      const r = find.get(username);
      if (r === undefined) return undefined;
      return {
        id: r.id,
        locked: r.locked === 1,
        directoryGone: r.gone === 1,
        lockedUntil: r.locked_until,
        failedAttempts: r.failed_attempts,
        totp:
          r.totp_id === null || r.seed_sealed === null
            ? null
            : {
                id: r.totp_id,
                seed: sealer.open(r.seed_sealed, SEED_PURPOSE),
                params: { algorithm: r.algorithm ?? 'SHA1', digits: r.digits === 8 ? 8 : 6, period: r.period ?? 30 },
                lastUsedStep: r.last_used_step ?? -1,
              },
      };
    },
    findStatus(username) {
      const r = status.get(username);
      if (r === undefined) return undefined;
      const totp: TotpParams | null = r.totp_id === null ? null : { algorithm: r.algorithm ?? 'SHA1', digits: r.digits === 8 ? 8 : 6, period: r.period ?? 30 };
      return { id: r.id, locked: r.locked === 1, directoryGone: r.gone === 1, lockedUntil: r.locked_until, failedAttempts: r.failed_attempts, totp };
    },
    recordSuccess(userId, totpId, s) {
      step.run(s, totpId);
      success.run(userId);
    },
    recordSuccessLater(userId, totpId, s, failedAttempts) {
      laterStep.run(s, totpId);
      laterSuccess.run(userId, failedAttempts);
    },
    recordLockState(userId, lockedUntil, failedAttempts) {
      lock.run(lockedUntil, failedAttempts, userId);
    },
    transaction: (fn) => store.sqlite.transaction(fn).immediate(),
  };
}
