// Users and their TOTP accounts. Names are stored and looked up exactly as given: callers pass
// the canonical form (app/lib/username.ts), so every spelling of a user finds the same row.
import { asc, eq, sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { totpAccounts, totpPending, userGroups, users } from '../schema.js';
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

export function listUsers(store: Store): UserListEntry[] {
  return store.db
    .select({
      id: users.id,
      username: users.username,
      locked: users.locked,
      lockedUntil: users.lockedUntil,
      failedAttempts: users.failedAttempts,
      createdAt: users.createdAt,
      hasTotp: sql<number>`${totpAccounts.id} IS NOT NULL`,
      displayName: users.displayName,
      email: users.email,
      upn: users.upn,
      groups: sql<string | null>`(SELECT group_concat(g.name, char(10)) FROM ${userGroups} g WHERE g.user_id = ${users.id})`,
      source: users.source,
      directoryState: users.directoryState,
    })
    .from(users)
    .leftJoin(totpAccounts, eq(totpAccounts.userId, users.id))
    .orderBy(asc(users.username))
    .all()
    .map((r) => ({ ...r, hasTotp: Boolean(r.hasTotp), groups: r.groups === null ? [] : r.groups.split('\n').sort() }));
}

export function insertUser(store: Store, username: string): number {
  const existing = store.db.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
  if (existing) throw new DuplicateUserError(`user ${username} already exists`);
  return store.db.insert(users).values({ username, searchText: searchTextOf(username, null, null) }).returning({ id: users.id }).get().id;
}

export function deleteUser(store: Store, username: string): boolean {
  return store.db.delete(users).where(eq(users.username, username)).run().changes > 0;
}

/** Lock (by an admin, until unlocked) or unlock (which also clears an automatic lockout). */
export function setUserLocked(store: Store, username: string, locked: boolean): boolean {
  const set = locked ? { locked: true } : { locked: false, lockedUntil: null, failedAttempts: 0 };
  return store.db.update(users).set(set).where(eq(users.username, username)).run().changes > 0;
}

/** Create or replace the user's TOTP account (creating the user if needed). */
export function replaceTotpAccount(store: Store, sealer: Sealer, username: string, seed: Buffer, params: TotpParams): { userCreated: boolean } {
  return store.sqlite.transaction(() => {
    let user = store.db.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
    const userCreated = user === undefined;
    user ??= store.db.insert(users).values({ username, searchText: searchTextOf(username, null, null) }).returning({ id: users.id }).get();
    store.db.delete(totpAccounts).where(eq(totpAccounts.userId, user.id)).run();
    // An enrolment waiting for its code is overtaken by this one.
    store.db.delete(totpPending).where(eq(totpPending.userId, user.id)).run();
    store.db
      .insert(totpAccounts)
      .values({ userId: user.id, seedSealed: sealer.seal(seed, SEED_PURPOSE), algorithm: params.algorithm, digits: params.digits, period: params.period })
      .run();
    return { userCreated };
  })();
}

/** Remove the user's TOTP account and any enrolment waiting for its code; false when there was neither. */
export function deleteTotpAccount(store: Store, username: string): boolean {
  const user = store.db.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
  if (user === undefined) return false;
  return store.sqlite.transaction(() => {
    const pending = store.db.delete(totpPending).where(eq(totpPending.userId, user.id)).run().changes;
    return store.db.delete(totpAccounts).where(eq(totpAccounts.userId, user.id)).run().changes + pending > 0;
  })();
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
  locked: number;
  locked_until: number | null;
  failed_attempts: number;
  created_at: number;
  display_name: string | null;
  email: string | null;
  has_totp: number;
  pending: number;
  groups: string | null;
  directory_state: 'active' | 'disabled' | 'removed' | null;
}

const LIST_COLUMNS = `u.id, u.username, u.locked, u.locked_until, u.failed_attempts, u.created_at, u.display_name, u.email, u.directory_state,
  EXISTS (SELECT 1 FROM totp_accounts t WHERE t.user_id = u.id) AS has_totp,
  EXISTS (SELECT 1 FROM totp_pending p WHERE p.user_id = u.id) AS pending,
  (SELECT group_concat(g.name, char(10)) FROM user_groups g WHERE g.user_id = u.id) AS groups`;

/** Rows match a search when it is in the name, display name or email, or is one of their groups. */
const MATCH = `(@q = '' OR instr(u.search_text, @q) > 0 OR EXISTS (SELECT 1 FROM user_groups m WHERE m.name = @q AND m.user_id = u.id))`;

const toListRow = (r: ListRow): UserListRow => ({
  id: r.id,
  username: r.username,
  locked: r.locked === 1,
  lockedUntil: r.locked_until,
  failedAttempts: r.failed_attempts,
  createdAt: r.created_at,
  hasTotp: r.has_totp === 1,
  displayName: r.display_name,
  email: r.email,
  groups: r.groups === null ? [] : r.groups.split('\n').sort(),
  pendingTotp: r.pending === 1,
  directoryState: r.directory_state,
});

/**
 * One page of users in name order, after `after` (keyset: the last name of the page before), with
 * `q` (folded like searchTextOf) matched as MATCH says. The first page costs the same at 100,000
 * users as at ten; a search reads every row once, without sorting.
 */
export function pageUsers(store: Store, o: { q: string; after?: string | undefined; limit: number }): UserListRow[] {
  const rows = store.sqlite
    .prepare<{ q: string; after: string | null; limit: number }, ListRow>(`SELECT ${LIST_COLUMNS} FROM users u WHERE (@after IS NULL OR u.username > @after) AND ${MATCH} ORDER BY u.username LIMIT @limit`)
    .all({ q: o.q, after: o.after ?? null, limit: o.limit });
  return rows.map(toListRow);
}

export function countUsers(store: Store, q: string): number {
  return store.sqlite.prepare<{ q: string }, { n: number }>(`SELECT count(*) AS n FROM users u WHERE ${MATCH}`).get({ q })?.n ?? 0;
}

export interface UserDetail extends UserListRow {
  /** When the TOTP account in use was enrolled, if there is one. */
  totpSince: number | null;
  /** When the enrolment waiting for its code was started, if there is one. */
  pendingSince: number | null;
}

export function findUserDetail(store: Store, username: string): UserDetail | undefined {
  const r = store.sqlite
    .prepare<[string], ListRow & { totp_since: number | null; pending_since: number | null }>(
      `SELECT ${LIST_COLUMNS}, (SELECT t.created_at FROM totp_accounts t WHERE t.user_id = u.id) AS totp_since, (SELECT p.created_at FROM totp_pending p WHERE p.user_id = u.id) AS pending_since FROM users u WHERE u.username = ?`,
    )
    .get(username);
  return r === undefined ? undefined : { ...toListRow(r), totpSince: r.totp_since, pendingSince: r.pending_since };
}

/** A user's descriptive fields; groups sorted and distinct. */
export interface UserProfile {
  displayName: string | null;
  email: string | null;
  groups: string[];
}

/** Users by name (those that exist), with their profiles, for planning an import. */
export function findProfiles(store: Store, usernames: readonly string[]): Map<string, UserProfile & { id: number }> {
  const out = new Map<string, UserProfile & { id: number }>();
  const q = store.sqlite.prepare<[string], ListRow>(`SELECT ${LIST_COLUMNS} FROM users u WHERE u.username = ?`);
  for (const name of usernames) {
    const r = q.get(name);
    if (r !== undefined) out.set(name, { id: r.id, displayName: r.display_name, email: r.email, groups: r.groups === null ? [] : r.groups.split('\n').sort() });
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
export function writeProfiles(store: Store, writes: readonly ProfileWrite[]): string[] {
  const find = store.sqlite.prepare<[string], { id: number; display_name: string | null; email: string | null }>('SELECT id, display_name, email FROM users WHERE username = ?');
  const insert = store.sqlite.prepare<[string, string | null, string | null, string]>('INSERT INTO users (username, display_name, email, search_text) VALUES (?, ?, ?, ?) RETURNING id');
  const update = store.sqlite.prepare<[string | null, string | null, string, number]>('UPDATE users SET display_name = ?, email = ?, search_text = ? WHERE id = ?');
  const clearGroups = store.sqlite.prepare<[number]>('DELETE FROM user_groups WHERE user_id = ?');
  const addGroup = store.sqlite.prepare<[number, string]>('INSERT OR IGNORE INTO user_groups (user_id, name) VALUES (?, ?)');
  return store.sqlite.transaction(() => {
    const created: string[] = [];
    for (const w of writes) {
      const cur = find.get(w.username);
      let id: number;
      if (cur === undefined) {
        const displayName = w.displayName ?? null;
        const email = w.email ?? null;
        id = (insert.get(w.username, displayName, email, searchTextOf(w.username, displayName, email)) as { id: number }).id;
        created.push(w.username);
      } else {
        id = cur.id;
        const displayName = w.displayName === undefined ? cur.display_name : w.displayName;
        const email = w.email === undefined ? cur.email : w.email;
        update.run(displayName, email, searchTextOf(w.username, displayName, email), id);
      }
      if (w.groups !== undefined) {
        clearGroups.run(id);
        for (const g of w.groups) addGroup.run(id, g);
      }
    }
    return created;
  })();
}

// --- TOTP enrolments waiting for their first code

/** Start (or restart) an enrolment that counts only once confirmed; creates the user if needed. */
export function setPendingTotp(store: Store, sealer: Sealer, username: string, seed: Buffer, params: TotpParams, now: number): { userCreated: boolean } {
  return store.sqlite.transaction(() => {
    let user = store.db.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
    const userCreated = user === undefined;
    user ??= store.db.insert(users).values({ username, searchText: searchTextOf(username, null, null) }).returning({ id: users.id }).get();
    store.db.delete(totpPending).where(eq(totpPending.userId, user.id)).run();
    // Sealed for the same purpose as an account's seed: confirming moves the blob as it is.
    store.db
      .insert(totpPending)
      .values({ userId: user.id, seedSealed: sealer.seal(seed, SEED_PURPOSE), algorithm: params.algorithm, digits: params.digits, period: params.period, createdAt: now })
      .run();
    return { userCreated };
  })();
}

export interface PendingTotp {
  userId: number;
  seed: Buffer;
  params: TotpParams;
  createdAt: number;
}

export function findPendingTotp(store: Store, sealer: Sealer, username: string): PendingTotp | undefined {
  const r = store.db
    .select({ userId: totpPending.userId, seed: totpPending.seedSealed, algorithm: totpPending.algorithm, digits: totpPending.digits, period: totpPending.period, createdAt: totpPending.createdAt })
    .from(totpPending)
    .innerJoin(users, eq(users.id, totpPending.userId))
    .where(eq(users.username, username))
    .get();
  if (r === undefined) return undefined;
  return { userId: r.userId, seed: sealer.open(r.seed, SEED_PURPOSE), params: { algorithm: r.algorithm, digits: r.digits === 8 ? 8 : 6, period: r.period }, createdAt: r.createdAt };
}

/**
 * Make the enrolment started at `createdAt` the user's TOTP account, replacing any, with `step`
 * (the confirming code's) as its last used step, so that code does not also log in. One
 * transaction; false when that enrolment is no longer waiting (confirmed, cancelled or restarted
 * meanwhile): two confirmations of one enrolment cannot both succeed.
 */
export function confirmPendingTotp(store: Store, userId: number, createdAt: number, step: number): boolean {
  return store.sqlite.transaction(() => {
    const moved = store.sqlite
      .prepare<[number, number]>('SELECT 1 FROM totp_pending WHERE user_id = ? AND created_at = ?')
      .get(userId, createdAt);
    if (moved === undefined) return false;
    store.sqlite.prepare<[number]>('DELETE FROM totp_accounts WHERE user_id = ?').run(userId);
    store.sqlite
      .prepare<[number, number]>('INSERT INTO totp_accounts (user_id, seed_sealed, algorithm, digits, period, last_used_step) SELECT user_id, seed_sealed, algorithm, digits, period, ? FROM totp_pending WHERE user_id = ?')
      .run(step, userId);
    store.sqlite.prepare<[number]>('DELETE FROM totp_pending WHERE user_id = ?').run(userId);
    return true;
  }).immediate();
}

/** Drop an enrolment waiting for its code; the account in use, if any, stays. */
export function deletePendingTotp(store: Store, username: string): boolean {
  const user = store.db.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
  if (user === undefined) return false;
  return store.db.delete(totpPending).where(eq(totpPending.userId, user.id)).run().changes > 0;
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
