// Users and their TOTP accounts. Names are stored and looked up exactly as given: callers pass
// the canonical form (app/lib/username.ts), so every spelling of a user finds the same row.
import { asc, eq, sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { totpAccounts, users } from '../schema.js';
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

export interface UserWithTotp {
  id: number;
  locked: boolean;
  lockedUntil: number | null;
  failedAttempts: number;
  totp: { id: number; seed: Buffer; params: TotpParams; lastUsedStep: number } | null;
}

export class DuplicateUserError extends Error {}

export function listUsers(store: Store): UserRow[] {
  return store.db
    .select({
      id: users.id,
      username: users.username,
      locked: users.locked,
      lockedUntil: users.lockedUntil,
      failedAttempts: users.failedAttempts,
      createdAt: users.createdAt,
      hasTotp: sql<number>`${totpAccounts.id} IS NOT NULL`,
    })
    .from(users)
    .leftJoin(totpAccounts, eq(totpAccounts.userId, users.id))
    .orderBy(asc(users.username))
    .all()
    .map((r) => ({ ...r, hasTotp: Boolean(r.hasTotp) }));
}

export function insertUser(store: Store, username: string): number {
  const existing = store.db.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
  if (existing) throw new DuplicateUserError(`user ${username} already exists`);
  return store.db.insert(users).values({ username }).returning({ id: users.id }).get().id;
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
    user ??= store.db.insert(users).values({ username }).returning({ id: users.id }).get();
    store.db.delete(totpAccounts).where(eq(totpAccounts.userId, user.id)).run();
    store.db
      .insert(totpAccounts)
      .values({ userId: user.id, seedSealed: sealer.seal(seed, SEED_PURPOSE), algorithm: params.algorithm, digits: params.digits, period: params.period })
      .run();
    return { userCreated };
  })();
}

export function deleteTotpAccount(store: Store, username: string): boolean {
  const user = store.db.select({ id: users.id }).from(users).where(eq(users.username, username)).get();
  if (user === undefined) return false;
  return store.db.delete(totpAccounts).where(eq(totpAccounts.userId, user.id)).run().changes > 0;
}

interface FactorRow {
  id: number;
  locked: number;
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
    `SELECT u.id, u.locked, u.locked_until, u.failed_attempts, t.id AS totp_id, t.seed_sealed, t.algorithm, t.digits, t.period, t.last_used_step
     FROM users u LEFT JOIN totp_accounts t ON t.user_id = u.id WHERE u.username = ?`,
  );
  // The factor decision needs no seed: leaving the sealed blob out saves a Buffer per lookup.
  const status = store.sqlite.prepare<[string], Omit<FactorRow, 'seed_sealed' | 'last_used_step'>>(
    `SELECT u.id, u.locked, u.locked_until, u.failed_attempts, t.id AS totp_id, t.algorithm, t.digits, t.period
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
      return { id: r.id, locked: r.locked === 1, lockedUntil: r.locked_until, failedAttempts: r.failed_attempts, totp };
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
