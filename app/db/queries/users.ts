// Users and their TOTP accounts. Names are stored and looked up exactly as given: callers pass
// the canonical form (app/lib/username.ts), so every spelling of a user finds the same row.
// Written once for both engines (app/db/store.ts), except the login path (createUserFactorQueries):
// SQLite's own prepared statements there, and one statement per decision on PostgreSQL.
import { sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { bool, contains, linesOf, sqliteIdle, statement, type Runner, type SharedStore } from '../store.js';
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
  locked: number | boolean;
  gone: number | boolean;
  locked_until: number | null;
  failed_attempts: number;
  totp_id: number | null;
  seed_sealed: Buffer | null;
  algorithm: OtpAlgorithm | null;
  digits: number | null;
  period: number | null;
  last_used_step: number | null;
}

/** What deciding which factor applies needs: the user's lock state and TOTP parameters, no seed. */
export type UserFactorStatus = Omit<UserWithTotp, 'totp'> & { totp: TotpParams | null };

/** What a verification writes (app/mfa/totp.ts decides which). */
export type FactorWrite =
  | { kind: 'none' }
  /** A good code: the account's last used step becomes `step`, the failure count is cleared. */
  | { kind: 'success'; totpId: number; step: number }
  /** A wrong code: the lock state after it. */
  | { kind: 'failure'; lockedUntil: number | null; failedAttempts: number };

/** The login path's reads and writes. */
export interface UserFactorQueries {
  /** The user as deciding which factor applies needs it (no seed opened). */
  findStatus(username: string): Promise<UserFactorStatus | undefined>;
  /** The user with the seed opened, outside any verification (a restore checks its key with it). */
  find(username: string): Promise<UserWithTotp | undefined>;
  /**
   * Look the user up (seed opened) and write what `decide` makes of it, as one unit against every
   * other verification of this user's codes: on SQLite one synchronous turn of this process (the
   * only one that verifies codes), on PostgreSQL one transaction holding the user's row, so two
   * appliances checking codes for the same user take turns. Whatever `decide` returns as `result`
   * is returned once the write is committed.
   */
  verifyWith<R>(username: string, decide: (u: UserWithTotp | undefined) => { write: FactorWrite; result: R }): Promise<R>;
  /**
   * SQLite only: a good code's write made later, inside the audit record's transaction, by a
   * caller that remembers the step until then (app/mfa/totp.ts). The step only grows, and the
   * failure count is cleared only if it is still what it was when the code was checked (a wrong
   * code recorded in between keeps counting). Undefined where the store must take the claim
   * before the login is answered (PostgreSQL: other appliances check codes too).
   */
  readonly claimLater: ((userId: number, totpId: number, step: number, failedAttempts: number) => void) | undefined;
}

const paramsOf = (r: Pick<FactorRow, 'algorithm' | 'digits' | 'period'>): TotpParams => ({ algorithm: r.algorithm ?? 'SHA1', digits: r.digits === 8 ? 8 : 6, period: r.period ?? 30 });

function statusOf(r: Omit<FactorRow, 'seed_sealed' | 'last_used_step'>): UserFactorStatus {
  return { id: r.id, locked: Boolean(r.locked), directoryGone: Boolean(r.gone), lockedUntil: r.locked_until, failedAttempts: r.failed_attempts, totp: r.totp_id === null ? null : paramsOf(r) };
}

function withTotpOf(r: FactorRow, sealer: Sealer): UserWithTotp {
  return {
    ...statusOf(r),
    totp: r.totp_id === null || r.seed_sealed === null ? null : { id: r.totp_id, seed: sealer.open(r.seed_sealed, SEED_PURPOSE), params: paramsOf(r), lastUsedStep: r.last_used_step ?? -1 },
  };
}

const FACTOR_COLUMNS = `u.id, u.locked, u.directory_state IN ('disabled', 'removed') AS gone, u.locked_until, u.failed_attempts, t.id AS totp_id, t.algorithm, t.digits, t.period`;

export function createUserFactorQueries(store: SharedStore, sealer: Sealer): UserFactorQueries {
  return store.dialect === 'sqlite' && 'sqlite' in store ? sqliteFactorQueries(store as Store, sealer) : sharedFactorQueries(store, sealer);
}

type StatusRow = Omit<FactorRow, 'seed_sealed' | 'last_used_step'>;

/**
 * The rows of the factor decision, kept in memory (SQLite only): every login asks for its user's
 * status, most of them for users the store does not know (PAP pass-through) or again within the
 * same login, and the store changes rarely. Kept current without reading the store per lookup:
 *   - this connection's writes: TEMP triggers on `users` and `totp_accounts` call back into this
 *     process (a function registered on the connection) with the user name, in the same
 *     statement, and that user's entry is dropped;
 *   - other connections' and processes' writes (the CLI, a restore): `PRAGMA data_version`,
 *     checked once per event-loop turn, empties the cache when it moved;
 *   - nothing is kept that was read inside an open transaction (it may yet roll back).
 * Only the factor decision reads it: a code's verification always reads the store afresh, in the
 * same synchronous turn as its write (verifyWith).
 */
interface StatusCache {
  get(username: string, load: (username: string) => StatusRow | undefined): StatusRow | undefined;
}

const MAX_CACHED = 200_000;
const statusCaches = new WeakMap<Store['sqlite'], StatusCache>();

function statusCacheOf(store: Store): StatusCache {
  const existing = statusCaches.get(store.sqlite);
  if (existing !== undefined) return existing;
  const entries = new Map<string, StatusRow | null>();
  const db = store.sqlite;
  db.function('gatehouse_user_factor_changed', { deterministic: false }, (username: unknown) => {
    if (typeof username === 'string') entries.delete(username);
    return null;
  });
  const changed = (row: string) => `SELECT gatehouse_user_factor_changed(${row});`;
  const ofTotp = (ref: 'NEW' | 'OLD') => `(SELECT username FROM main.users WHERE id = ${ref}.user_id)`;
  db.exec(`
    CREATE TEMP TRIGGER IF NOT EXISTS gatehouse_users_inserted AFTER INSERT ON main.users BEGIN ${changed('NEW.username')} END;
    CREATE TEMP TRIGGER IF NOT EXISTS gatehouse_users_updated AFTER UPDATE ON main.users BEGIN ${changed('OLD.username')} ${changed('NEW.username')} END;
    CREATE TEMP TRIGGER IF NOT EXISTS gatehouse_users_deleted AFTER DELETE ON main.users BEGIN ${changed('OLD.username')} END;
    CREATE TEMP TRIGGER IF NOT EXISTS gatehouse_totp_inserted AFTER INSERT ON main.totp_accounts BEGIN ${changed(ofTotp('NEW'))} END;
    CREATE TEMP TRIGGER IF NOT EXISTS gatehouse_totp_updated AFTER UPDATE ON main.totp_accounts BEGIN ${changed(ofTotp('OLD'))} ${changed(ofTotp('NEW'))} END;
    CREATE TEMP TRIGGER IF NOT EXISTS gatehouse_totp_deleted AFTER DELETE ON main.totp_accounts BEGIN ${changed(ofTotp('OLD'))} END;`);
  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  let version = dataVersion.get();
  let checkedThisTurn = false;
  const cache: StatusCache = {
    get(username, load) {
      if (!checkedThisTurn) {
        checkedThisTurn = true;
        setImmediate(() => (checkedThisTurn = false));
        const now = dataVersion.get();
        if (now !== version) {
          version = now;
          entries.clear();
        }
      }
      const hit = entries.get(username);
      if (hit !== undefined) return hit ?? undefined;
      const row = load(username);
      if (!db.inTransaction) {
        if (entries.size >= MAX_CACHED) entries.clear();
        entries.set(username, row ?? null);
      }
      return row;
    },
  };
  statusCaches.set(store.sqlite, cache);
  return cache;
}

/** SQLite: prepared once, run synchronously (a lookup is a few microseconds). */
function sqliteFactorQueries(store: Store, sealer: Sealer): UserFactorQueries {
  const find = statement<[string], FactorRow>(store, `SELECT ${FACTOR_COLUMNS}, t.seed_sealed, t.last_used_step FROM users u LEFT JOIN totp_accounts t ON t.user_id = u.id WHERE u.username = ?`);
  // The factor decision needs no seed: leaving the sealed blob out saves a Buffer per lookup.
  const status = statement<[string], StatusRow>(store, `SELECT ${FACTOR_COLUMNS} FROM users u LEFT JOIN totp_accounts t ON t.user_id = u.id WHERE u.username = ?`);
  const cache = statusCacheOf(store);
  const loadStatus = (username: string) => status.get(username);
  const step = statement<[number, number]>(store, 'UPDATE totp_accounts SET last_used_step = ? WHERE id = ?');
  const success = statement<[number]>(store, 'UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ? AND (failed_attempts <> 0 OR locked_until IS NOT NULL)');
  const laterStep = statement<[number, number]>(store, 'UPDATE totp_accounts SET last_used_step = max(coalesce(last_used_step, -1), ?) WHERE id = ?');
  const laterSuccess = statement<[number, number]>(store, 'UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ? AND failed_attempts = ? AND (failed_attempts <> 0 OR locked_until IS NOT NULL)');
  const lock = statement<[number | null, number, number]>(store, 'UPDATE users SET locked_until = ?, failed_attempts = ? WHERE id = ?');
  const write = store.sqlite.transaction((userId: number, w: FactorWrite) => {
    if (w.kind === 'success') {
      step.run(w.step, w.totpId);
      success.run(userId);
    } else if (w.kind === 'failure') lock.run(w.lockedUntil, w.failedAttempts, userId);
  });
  return {
    findStatus: async (username) => {
      const r = cache.get(username, loadStatus);
      return r === undefined ? undefined : statusOf(r);
    },
    find: async (username) => {
      const r = find.get(username);
      return r === undefined ? undefined : withTotpOf(r, sealer);
    },
    async verifyWith(username, decide) {
      // A transaction of this process open on the file (app/db/store.ts): these writes would land
      // inside it. Wait for its end; from there, read, decide and write in one synchronous turn.
      if (store.sqlite.inTransaction) await sqliteIdle(store);
      const r = find.get(username);
      const u = r === undefined ? undefined : withTotpOf(r, sealer);
      const d = decide(u);
      if (u !== undefined && d.write.kind !== 'none') write.immediate(u.id, d.write);
      return d.result;
    },
    claimLater(userId, totpId, s, failedAttempts) {
      laterStep.run(s, totpId);
      laterSuccess.run(userId, failedAttempts);
    },
  };
}

/** Any engine through the shared runner (PostgreSQL): a verification is one transaction holding the user's row. */
function sharedFactorQueries(store: SharedStore, sealer: Sealer): UserFactorQueries {
  return {
    findStatus: async (username) => {
      const r = await store.get<FactorRow>(sql`SELECT ${sql.raw(FACTOR_COLUMNS)} FROM users u LEFT JOIN totp_accounts t ON t.user_id = u.id WHERE u.username = ${username}`);
      return r === undefined ? undefined : statusOf(r);
    },
    find: async (username) => {
      const r = await store.get<FactorRow>(sql`SELECT ${sql.raw(FACTOR_COLUMNS)}, t.seed_sealed, t.last_used_step FROM users u LEFT JOIN totp_accounts t ON t.user_id = u.id WHERE u.username = ${username}`);
      return r === undefined ? undefined : withTotpOf(r, sealer);
    },
    verifyWith: (username, decide) =>
      store.transaction(async (tx) => {
        // The user's row stays locked until the transaction ends: a verification of the same
        // user elsewhere waits here. The read comes after, as its own statement: under READ
        // COMMITTED a locking read that waited re-reads only the locked row, and would join it
        // with the TOTP account as it was before the other verification wrote its step.
        await tx.run(sql`SELECT 1 FROM users WHERE username = ${username} FOR UPDATE`);
        const r = await tx.get<FactorRow>(sql`SELECT ${sql.raw(FACTOR_COLUMNS)}, t.seed_sealed, t.last_used_step FROM users u LEFT JOIN totp_accounts t ON t.user_id = u.id WHERE u.username = ${username}`);
        const u = r === undefined ? undefined : withTotpOf(r, sealer);
        const d = decide(u);
        const w = d.write;
        if (u !== undefined && w.kind === 'success') {
          await tx.run(sql`UPDATE totp_accounts SET last_used_step = ${w.step} WHERE id = ${w.totpId}`);
          await tx.run(sql`UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ${u.id} AND (failed_attempts <> 0 OR locked_until IS NOT NULL)`);
        } else if (u !== undefined && w.kind === 'failure') {
          await tx.run(sql`UPDATE users SET locked_until = ${w.lockedUntil}, failed_attempts = ${w.failedAttempts} WHERE id = ${u.id}`);
        }
        return d.result;
      }),
    claimLater: undefined,
  };
}
