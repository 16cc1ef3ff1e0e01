// Admins of the web UI, their sessions, API tokens and Windows agent tokens. Written once for both
// engines (app/db/store.ts).
import { sql } from 'drizzle-orm';
import { admins } from '../schema.js';
import type { Sealer } from '../secrets.js';
import { lockForWrite, type Runner, type SharedStore } from '../store.js';

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

const ADMIN_COLUMNS = sql.raw(`id, name, password_hash AS "passwordHash", (totp_seed_sealed IS NOT NULL) AS "hasTotp", totp_last_used_step AS "totpLastUsedStep",
  failed_attempts AS "failedAttempts", locked_until AS "lockedUntil", role, created_at AS "createdAt"`);
const toAdmin = (r: AdminRow): AdminRow => ({ ...r, hasTotp: Boolean(r.hasTotp) });

export async function countAdmins(r: Runner): Promise<number> {
  return Number((await r.get<{ n: number }>(sql`SELECT count(*) AS n FROM admins`))?.n ?? 0);
}

export async function listAdmins(r: Runner): Promise<AdminRow[]> {
  return (await r.all<AdminRow>(sql`SELECT ${ADMIN_COLUMNS} FROM admins ORDER BY name`)).map(toAdmin);
}

export async function findAdminByName(r: Runner, name: string): Promise<AdminRow | undefined> {
  const row = await r.get<AdminRow>(sql`SELECT ${ADMIN_COLUMNS} FROM admins WHERE name = ${name}`);
  return row === undefined ? undefined : toAdmin(row);
}

export async function findAdminById(r: Runner, id: number): Promise<AdminRow | undefined> {
  const row = await r.get<AdminRow>(sql`SELECT ${ADMIN_COLUMNS} FROM admins WHERE id = ${id}`);
  return row === undefined ? undefined : toAdmin(row);
}

export async function insertAdmin(r: Runner, name: string, passwordHash: string, role: StoredRole = 'admin'): Promise<number> {
  const row = await r.get<{ id: number }>(sql`INSERT INTO admins (name, password_hash, role, created_at) VALUES (${name}, ${passwordHash}, ${role}, ${Date.now()}) ON CONFLICT (name) DO NOTHING RETURNING id`);
  if (row === undefined) throw new DuplicateAdminError(`admin ${name} already exists`);
  return row.id;
}

export async function updateAdminPassword(r: Runner, name: string, passwordHash: string): Promise<boolean> {
  return (await r.run(sql`UPDATE admins SET password_hash = ${passwordHash} WHERE name = ${name}`)) > 0;
}

export async function openAdminSeed(r: Runner, sealer: Sealer, id: number): Promise<Buffer | undefined> {
  const row = await r.get<{ seed: Buffer | null }>(sql`SELECT totp_seed_sealed AS seed FROM admins WHERE id = ${id}`);
  return row?.seed ? sealer.open(row.seed, SEED_PURPOSE) : undefined;
}

export async function setAdminSeed(r: Runner, sealer: Sealer, id: number, seed: Buffer | null, lastUsedStep = -1): Promise<void> {
  await r.run(sql`UPDATE admins SET totp_seed_sealed = ${seed === null ? null : sealer.seal(seed, SEED_PURPOSE)}, totp_last_used_step = ${lastUsedStep} WHERE id = ${id}`);
}

/**
 * Remove an admin or change their role as `decide` says, given their current role and how many
 * admins hold each role, in one transaction that no other write to the admins comes into (the
 * table is locked first on PostgreSQL; SQLite's transaction is immediate): two requests, on one
 * node or two, cannot each remove one of the last two of a role. `decide` returns the change, or
 * null to leave things as they are. Undefined when there is no such admin.
 */
export async function changeAdminCounted<T extends { change: 'delete' | StoredRole | null }>(store: SharedStore, name: string, decide: (role: StoredRole, counts: Record<StoredRole, number>) => T): Promise<T | undefined> {
  return store.transaction(async (tx) => {
    await lockForWrite(tx, 'admins');
    const cur = await tx.get<{ role: StoredRole }>(sql`SELECT role FROM admins WHERE name = ${name}`);
    if (cur === undefined) return undefined;
    const counts: Record<StoredRole, number> = { admin: 0, helpdesk: 0, readonly: 0 };
    for (const row of await tx.all<{ role: StoredRole; n: number }>(sql`SELECT role, count(*) AS n FROM admins GROUP BY role`)) counts[row.role] = Number(row.n);
    const out = decide(cur.role, counts);
    if (out.change === 'delete') await tx.run(sql`DELETE FROM admins WHERE name = ${name}`);
    else if (out.change !== null) await tx.run(sql`UPDATE admins SET role = ${out.change} WHERE name = ${name}`);
    return out;
  });
}

/** An admin's failure count and automatic lockout, as stored. */
export interface AdminLockFields {
  failedAttempts: number;
  lockedUntil: number | null;
}

/**
 * Read an admin's lock fields and write what `next` makes of them, in one transaction with the
 * row locked (FOR UPDATE on PostgreSQL; SQLite's transaction is immediate): no other write, from
 * this process, another or another node, comes between, so parallel failures all count.
 * Undefined when there is no such admin.
 */
export async function changeAdminLockState<T extends AdminLockFields>(store: SharedStore, id: number, next: (current: AdminLockFields) => T): Promise<T | undefined> {
  return store.transaction(async (tx) => {
    const lock = tx.dialect === 'postgres' ? sql` FOR UPDATE` : sql``;
    const cur = await tx.get<AdminLockFields>(sql`SELECT failed_attempts AS "failedAttempts", locked_until AS "lockedUntil" FROM admins WHERE id = ${id}${lock}`);
    if (cur === undefined) return undefined;
    const out = next(cur);
    await tx.run(sql`UPDATE admins SET failed_attempts = ${out.failedAttempts}, locked_until = ${out.lockedUntil} WHERE id = ${id}`);
    return out;
  });
}

/**
 * Claim a TOTP step for an admin in one statement: true only if it is newer than every step used
 * before (so one code signs in once, however many requests carry it, on any node) and the admin is
 * not locked out; the failure count and any expired lockout are cleared with it.
 */
export async function claimAdminTotpStep(r: Runner, id: number, step: number, now: number): Promise<boolean> {
  return (await r.run(sql`UPDATE admins SET totp_last_used_step = ${step}, failed_attempts = 0, locked_until = NULL
    WHERE id = ${id} AND totp_last_used_step < ${step} AND (locked_until IS NULL OR locked_until <= ${now})`)) === 1;
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

export async function insertSession(r: Runner, s: Omit<SessionRow, 'adminName' | 'adminRole'> & { pendingSeedSealed?: Buffer | null }): Promise<void> {
  await r.run(sql`INSERT INTO admin_sessions (id, admin_id, stage, csrf_token, pending_seed_sealed, created_at, last_seen_at)
    VALUES (${s.id}, ${s.adminId}, ${s.stage}, ${s.csrfToken}, ${s.pendingSeedSealed ?? null}, ${s.createdAt}, ${s.lastSeenAt})`);
}

export async function findSession(r: Runner, id: string): Promise<SessionRow | undefined> {
  return r.get(sql`SELECT s.id, s.admin_id AS "adminId", a.name AS "adminName", a.role AS "adminRole", s.stage, s.csrf_token AS "csrfToken", s.created_at AS "createdAt", s.last_seen_at AS "lastSeenAt"
    FROM admin_sessions s JOIN admins a ON a.id = s.admin_id WHERE s.id = ${id}`);
}

export async function touchSession(r: Runner, id: string, now: number): Promise<void> {
  await r.run(sql`UPDATE admin_sessions SET last_seen_at = ${now} WHERE id = ${id}`);
}

export async function deleteSession(r: Runner, id: string): Promise<void> {
  await r.run(sql`DELETE FROM admin_sessions WHERE id = ${id}`);
}

export async function deleteSessionsOfAdmin(r: Runner, adminId: number): Promise<void> {
  await r.run(sql`DELETE FROM admin_sessions WHERE admin_id = ${adminId}`);
}

/** Every session (a restored store starts with none). */
export async function deleteAllSessions(r: Runner): Promise<void> {
  await r.run(sql`DELETE FROM admin_sessions`);
}

export async function deleteSessionsIdleSince(r: Runner, idleBefore: number, createdBefore: number): Promise<void> {
  await r.run(sql`DELETE FROM admin_sessions WHERE last_seen_at < ${idleBefore} OR created_at < ${createdBefore}`);
}

export async function setSessionStage(r: Runner, id: string, stage: 'password' | 'full', pendingSeedSealed: Buffer | null): Promise<void> {
  await r.run(sql`UPDATE admin_sessions SET stage = ${stage}, pending_seed_sealed = ${pendingSeedSealed} WHERE id = ${id}`);
}

export async function findSessionPendingSeed(r: Runner, id: string): Promise<Buffer | null> {
  return (await r.get<{ s: Buffer | null }>(sql`SELECT pending_seed_sealed AS s FROM admin_sessions WHERE id = ${id}`))?.s ?? null;
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

const TOKEN_COLUMNS = sql.raw(`id, name, created_by AS "createdBy", role, created_at AS "createdAt", last_used_at AS "lastUsedAt"`);

export class DuplicateTokenError extends Error {}

export async function insertApiToken(r: Runner, name: string, tokenHash: string, createdBy: string, role: StoredRole = 'admin'): Promise<number> {
  const row = await r.get<{ id: number }>(sql`INSERT INTO api_tokens (name, token_hash, created_by, role, created_at) VALUES (${name}, ${tokenHash}, ${createdBy}, ${role}, ${Date.now()}) ON CONFLICT (name) DO NOTHING RETURNING id`);
  if (row === undefined) throw new DuplicateTokenError(`a token named ${name} already exists`);
  return row.id;
}

export async function listApiTokens(r: Runner): Promise<TokenRow[]> {
  return r.all(sql`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY name`);
}

export async function findApiTokenByHash(r: Runner, tokenHash: string): Promise<TokenRow | undefined> {
  return r.get(sql`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ${tokenHash}`);
}

export async function touchApiToken(r: Runner, id: number, now: number): Promise<void> {
  await r.run(sql`UPDATE api_tokens SET last_used_at = ${now} WHERE id = ${id}`);
}

export async function deleteApiToken(r: Runner, name: string): Promise<boolean> {
  return (await r.run(sql`DELETE FROM api_tokens WHERE name = ${name}`)) > 0;
}

// --- Windows agents

export interface AgentRow {
  id: number;
  name: string;
  createdBy: string;
  createdAt: number;
  lastSeenAt: number | null;
}

const AGENT_COLUMNS = sql.raw(`id, name, created_by AS "createdBy", created_at AS "createdAt", last_seen_at AS "lastSeenAt"`);

export async function insertAgent(r: Runner, name: string, tokenHash: string, createdBy: string): Promise<void> {
  const added = await r.run(sql`INSERT INTO windows_agents (name, token_hash, created_by, created_at) VALUES (${name}, ${tokenHash}, ${createdBy}, ${Date.now()}) ON CONFLICT (name) DO NOTHING`);
  if (added === 0) throw new DuplicateTokenError(`an agent token named ${name} already exists`);
}

export async function listAgents(r: Runner): Promise<AgentRow[]> {
  return r.all(sql`SELECT ${AGENT_COLUMNS} FROM windows_agents ORDER BY name`);
}

export async function findAgentByHash(r: Runner, tokenHash: string): Promise<AgentRow | undefined> {
  return r.get(sql`SELECT ${AGENT_COLUMNS} FROM windows_agents WHERE token_hash = ${tokenHash}`);
}

export async function touchAgent(r: Runner, id: number, now: number): Promise<void> {
  await r.run(sql`UPDATE windows_agents SET last_seen_at = ${now} WHERE id = ${id}`);
}

export async function deleteAgent(r: Runner, name: string): Promise<boolean> {
  return (await r.run(sql`DELETE FROM windows_agents WHERE name = ${name}`)) > 0;
}
