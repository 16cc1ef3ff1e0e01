// Admins of the web UI, their sessions, and API tokens.
import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { adminSessions, admins, apiTokens, windowsAgents } from '../schema.js';
import type { Sealer } from '../secrets.js';

/** As in app/admin/roles.ts (the store keeps the word; what it allows is decided there). */
export type StoredRole = (typeof admins.$inferSelect)['role'];

const SEED_PURPOSE = 'admins.totp_seed';

export interface AdminRow {
  id: number;
  name: string;
  passwordHash: string;
  hasTotp: boolean;
  totpLastUsedStep: number;
  failedAttempts: number;
  lockedUntil: number | null;
  role: StoredRole;
  createdAt: number;
}

export class DuplicateAdminError extends Error {}

function toAdmin(r: typeof admins.$inferSelect): AdminRow {
  return { id: r.id, name: r.name, passwordHash: r.passwordHash, hasTotp: r.totpSeedSealed !== null, totpLastUsedStep: r.totpLastUsedStep, failedAttempts: r.failedAttempts, lockedUntil: r.lockedUntil, role: r.role, createdAt: r.createdAt };
}

export function countAdmins(store: Store): number {
  return store.db.select({ n: sql<number>`count(*)` }).from(admins).get()?.n ?? 0;
}

export function listAdmins(store: Store): AdminRow[] {
  return store.db.select().from(admins).orderBy(asc(admins.name)).all().map(toAdmin);
}

export function findAdminByName(store: Store, name: string): AdminRow | undefined {
  const r = store.db.select().from(admins).where(eq(admins.name, name)).get();
  return r === undefined ? undefined : toAdmin(r);
}

export function findAdminById(store: Store, id: number): AdminRow | undefined {
  const r = store.db.select().from(admins).where(eq(admins.id, id)).get();
  return r === undefined ? undefined : toAdmin(r);
}

export function insertAdmin(store: Store, name: string, passwordHash: string, role: StoredRole = 'admin'): number {
  if (findAdminByName(store, name)) throw new DuplicateAdminError(`admin ${name} already exists`);
  return store.db.insert(admins).values({ name, passwordHash, role }).returning({ id: admins.id }).get().id;
}

export function updateAdminPassword(store: Store, name: string, passwordHash: string): boolean {
  return store.db.update(admins).set({ passwordHash }).where(eq(admins.name, name)).run().changes > 0;
}

export function openAdminSeed(store: Store, sealer: Sealer, id: number): Buffer | undefined {
  const r = store.db.select({ seed: admins.totpSeedSealed }).from(admins).where(eq(admins.id, id)).get();
  return r?.seed ? sealer.open(r.seed, SEED_PURPOSE) : undefined;
}

export function setAdminSeed(store: Store, sealer: Sealer, id: number, seed: Buffer | null, lastUsedStep = -1): void {
  store.db
    .update(admins)
    .set({ totpSeedSealed: seed === null ? null : sealer.seal(seed, SEED_PURPOSE), totpLastUsedStep: lastUsedStep })
    .where(eq(admins.id, id))
    .run();
}

/**
 * Remove an admin or change their role as `decide` says, given their current role and how many
 * admins hold each role, in one immediate transaction: no other write comes between the counting
 * and the change, so two requests cannot each remove one of the last two of a role. `decide`
 * returns the change, or null to leave things as they are. Undefined when there is no such admin.
 */
export function changeAdminCounted<T extends { change: 'delete' | StoredRole | null }>(store: Store, name: string, decide: (role: StoredRole, counts: Record<StoredRole, number>) => T): T | undefined {
  return store.sqlite
    .transaction((): T | undefined => {
      const cur = store.db.select({ role: admins.role }).from(admins).where(eq(admins.name, name)).get();
      if (cur === undefined) return undefined;
      const counts: Record<StoredRole, number> = { admin: 0, helpdesk: 0, readonly: 0 };
      for (const r of store.db.select({ role: admins.role, n: sql<number>`count(*)` }).from(admins).groupBy(admins.role).all()) counts[r.role] = r.n;
      const out = decide(cur.role, counts);
      if (out.change === 'delete') store.db.delete(admins).where(eq(admins.name, name)).run();
      else if (out.change !== null) store.db.update(admins).set({ role: out.change }).where(eq(admins.name, name)).run();
      return out;
    })
    .immediate();
}

/** An admin's failure count and automatic lockout, as stored. */
export interface AdminLockFields {
  failedAttempts: number;
  lockedUntil: number | null;
}

/**
 * Read an admin's lock fields and write what `next` makes of them, in one immediate transaction:
 * no other write (from this process or another) comes between, so parallel failures all count.
 * Undefined when there is no such admin.
 */
export function changeAdminLockState<T extends AdminLockFields>(store: Store, id: number, next: (current: AdminLockFields) => T): T | undefined {
  return store.sqlite
    .transaction(() => {
      const cur = store.db.select({ failedAttempts: admins.failedAttempts, lockedUntil: admins.lockedUntil }).from(admins).where(eq(admins.id, id)).get();
      if (cur === undefined) return undefined;
      const out = next(cur);
      store.db.update(admins).set({ failedAttempts: out.failedAttempts, lockedUntil: out.lockedUntil }).where(eq(admins.id, id)).run();
      return out;
    })
    .immediate();
}

/**
 * Claim a TOTP step for an admin in one statement: true only if it is newer than every step used
 * before (so one code signs in once, however many requests carry it); the failure count and any
 * lockout are cleared with it.
 */
export function claimAdminTotpStep(store: Store, id: number, step: number): boolean {
  return store.sqlite.prepare('UPDATE admins SET totp_last_used_step = ?, failed_attempts = 0, locked_until = NULL WHERE id = ? AND totp_last_used_step < ?').run(step, id, step).changes === 1;
}

// --- sessions

export interface SessionRow {
  id: string;
  adminId: number;
  adminName: string;
  /** The admin's role now (read with the session, so a change applies on the next request). */
  adminRole: StoredRole;
  stage: 'password' | 'full';
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export function insertSession(store: Store, s: Omit<SessionRow, 'adminName' | 'adminRole'> & { pendingSeedSealed?: Buffer | null }): void {
  store.db.insert(adminSessions).values(s).run();
}

export function findSession(store: Store, id: string): SessionRow | undefined {
  return store.db
    .select({ id: adminSessions.id, adminId: adminSessions.adminId, adminName: admins.name, adminRole: admins.role, stage: adminSessions.stage, csrfToken: adminSessions.csrfToken, createdAt: adminSessions.createdAt, lastSeenAt: adminSessions.lastSeenAt })
    .from(adminSessions)
    .innerJoin(admins, eq(admins.id, adminSessions.adminId))
    .where(eq(adminSessions.id, id))
    .get();
}

export function touchSession(store: Store, id: string, now: number): void {
  store.db.update(adminSessions).set({ lastSeenAt: now }).where(eq(adminSessions.id, id)).run();
}

export function deleteSession(store: Store, id: string): void {
  store.db.delete(adminSessions).where(eq(adminSessions.id, id)).run();
}

export function deleteSessionsOfAdmin(store: Store, adminId: number): void {
  store.db.delete(adminSessions).where(eq(adminSessions.adminId, adminId)).run();
}

/** Every session (a restored store starts with none). */
export function deleteAllSessions(store: Store): void {
  store.db.delete(adminSessions).run();
}

export function deleteSessionsIdleSince(store: Store, idleBefore: number, createdBefore: number): void {
  store.db.delete(adminSessions).where(lt(adminSessions.lastSeenAt, idleBefore)).run();
  store.db.delete(adminSessions).where(lt(adminSessions.createdAt, createdBefore)).run();
}

// --- API tokens

export interface TokenRow {
  id: number;
  name: string;
  createdBy: string;
  role: StoredRole;
  createdAt: number;
  lastUsedAt: number | null;
}

const tokenColumns = { id: apiTokens.id, name: apiTokens.name, createdBy: apiTokens.createdBy, role: apiTokens.role, createdAt: apiTokens.createdAt, lastUsedAt: apiTokens.lastUsedAt };

export class DuplicateTokenError extends Error {}

export function insertApiToken(store: Store, name: string, tokenHash: string, createdBy: string, role: StoredRole = 'admin'): number {
  if (store.db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.name, name)).get()) throw new DuplicateTokenError(`a token named ${name} already exists`);
  return store.db.insert(apiTokens).values({ name, tokenHash, createdBy, role }).returning({ id: apiTokens.id }).get().id;
}

export function listApiTokens(store: Store): TokenRow[] {
  return store.db.select(tokenColumns).from(apiTokens).orderBy(asc(apiTokens.name)).all();
}

export function findApiTokenByHash(store: Store, tokenHash: string): TokenRow | undefined {
  return store.db.select(tokenColumns).from(apiTokens).where(eq(apiTokens.tokenHash, tokenHash)).get();
}

export function touchApiToken(store: Store, id: number, now: number): void {
  store.db.update(apiTokens).set({ lastUsedAt: now }).where(and(eq(apiTokens.id, id))).run();
}

export function deleteApiToken(store: Store, name: string): boolean {
  return store.db.delete(apiTokens).where(eq(apiTokens.name, name)).run().changes > 0;
}

export function setSessionStage(store: Store, id: string, stage: 'password' | 'full', pendingSeedSealed: Buffer | null): void {
  store.db.update(adminSessions).set({ stage, pendingSeedSealed }).where(eq(adminSessions.id, id)).run();
}

export function findSessionPendingSeed(store: Store, id: string): Buffer | null {
  return store.db.select({ s: adminSessions.pendingSeedSealed }).from(adminSessions).where(eq(adminSessions.id, id)).get()?.s ?? null;
}

// --- Windows agents

export interface AgentRow {
  id: number;
  name: string;
  createdBy: string;
  createdAt: number;
  lastSeenAt: number | null;
}

const agentColumns = { id: windowsAgents.id, name: windowsAgents.name, createdBy: windowsAgents.createdBy, createdAt: windowsAgents.createdAt, lastSeenAt: windowsAgents.lastSeenAt };

export function insertAgent(store: Store, name: string, tokenHash: string, createdBy: string): void {
  if (store.db.select({ id: windowsAgents.id }).from(windowsAgents).where(eq(windowsAgents.name, name)).get()) throw new DuplicateTokenError(`an agent token named ${name} already exists`);
  store.db.insert(windowsAgents).values({ name, tokenHash, createdBy }).run();
}

export function listAgents(store: Store): AgentRow[] {
  return store.db.select(agentColumns).from(windowsAgents).orderBy(asc(windowsAgents.name)).all();
}

export function findAgentByHash(store: Store, tokenHash: string): AgentRow | undefined {
  return store.db.select(agentColumns).from(windowsAgents).where(eq(windowsAgents.tokenHash, tokenHash)).get();
}

export function touchAgent(store: Store, id: number, now: number): void {
  store.db.update(windowsAgents).set({ lastSeenAt: now }).where(eq(windowsAgents.id, id)).run();
}

export function deleteAgent(store: Store, name: string): boolean {
  return store.db.delete(windowsAgents).where(eq(windowsAgents.name, name)).run().changes > 0;
}
