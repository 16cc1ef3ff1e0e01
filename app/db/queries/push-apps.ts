// Applications of the push API Gatehouse serves, and the OAuth2 access tokens issued to them.
// Only hashes of client secrets and tokens are stored. No policy here: who may call what is
// decided in app/push/served.ts. Written once for both engines (app/db/store.ts).
import { sql } from 'drizzle-orm';
import type { Runner, SharedStore } from '../store.js';

export interface PushApplicationRow {
  id: number;
  name: string;
  accessId: string;
  clientId: string;
  clientSecretHash: string;
  /** CIDRs allowed to call without a token; empty: none. */
  allowedSources: string[];
  /** Calls per second; 0: no limit. */
  rateLimit: number;
  createdBy: string;
  createdAt: number;
  lastUsedAt: number | null;
}

interface RawApplication {
  id: number;
  name: string;
  access_id: string;
  client_id: string;
  client_secret_hash: string;
  allowed_sources: string;
  rate_limit: number;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
}

const COLUMNS = sql.raw('id, name, access_id, client_id, client_secret_hash, allowed_sources, rate_limit, created_by, created_at, last_used_at');
const toApplication = (r: RawApplication): PushApplicationRow => ({
  id: r.id,
  name: r.name,
  accessId: r.access_id,
  clientId: r.client_id,
  clientSecretHash: r.client_secret_hash,
  allowedSources: r.allowed_sources === '' ? [] : r.allowed_sources.split(','),
  rateLimit: r.rate_limit,
  createdBy: r.created_by,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

export class DuplicateApplicationError extends Error {}

export async function insertPushApplication(r: Runner, a: { name: string; accessId: string; clientId: string; clientSecretHash: string; allowedSources: string[]; rateLimit: number; createdBy: string }): Promise<void> {
  // Names, access ids and client ids are unique: a clash adds nothing (one statement).
  const added = await r.run(sql`INSERT INTO push_applications (name, access_id, client_id, client_secret_hash, allowed_sources, rate_limit, created_by, created_at)
    VALUES (${a.name}, ${a.accessId}, ${a.clientId}, ${a.clientSecretHash}, ${a.allowedSources.join(',')}, ${a.rateLimit}, ${a.createdBy}, ${Date.now()}) ON CONFLICT DO NOTHING`);
  if (added === 0) throw new DuplicateApplicationError(a.name);
}

export async function listPushApplications(r: Runner): Promise<PushApplicationRow[]> {
  return (await r.all<RawApplication>(sql`SELECT ${COLUMNS} FROM push_applications ORDER BY name`)).map(toApplication);
}

export async function findPushApplication(r: Runner, by: { accessId: string } | { clientId: string } | { name: string }): Promise<PushApplicationRow | undefined> {
  const where = 'accessId' in by ? sql`access_id = ${by.accessId}` : 'clientId' in by ? sql`client_id = ${by.clientId}` : sql`name = ${by.name}`;
  const row = await r.get<RawApplication>(sql`SELECT ${COLUMNS} FROM push_applications WHERE ${where}`);
  return row === undefined ? undefined : toApplication(row);
}

/** Change what an application may do; false when there is no such application. */
export async function updatePushApplication(r: Runner, name: string, change: { allowedSources: string[]; rateLimit: number }): Promise<boolean> {
  return (await r.run(sql`UPDATE push_applications SET allowed_sources = ${change.allowedSources.join(',')}, rate_limit = ${change.rateLimit} WHERE name = ${name}`)) === 1;
}

/** A new client secret (its hash); every token issued with the old one is revoked with it. */
export async function replacePushApplicationSecret(store: SharedStore, name: string, clientSecretHash: string): Promise<boolean> {
  return store.transaction(async (tx) => {
    const app = await tx.get<{ id: number }>(sql`UPDATE push_applications SET client_secret_hash = ${clientSecretHash} WHERE name = ${name} RETURNING id`);
    if (app === undefined) return false;
    await tx.run(sql`DELETE FROM push_app_tokens WHERE application_id = ${app.id}`);
    return true;
  });
}

/** Remove an application (its tokens go with it); false when there is none by that name. */
export async function deletePushApplication(r: Runner, name: string): Promise<boolean> {
  return (await r.run(sql`DELETE FROM push_applications WHERE name = ${name}`)) === 1;
}

export async function touchPushApplication(r: Runner, id: number, at: number): Promise<void> {
  await r.run(sql`UPDATE push_applications SET last_used_at = ${at} WHERE id = ${id}`);
}

/** Store a token issued now; tokens expired by `now` are removed in the same write. */
export async function insertPushAppToken(store: SharedStore, t: { tokenHash: string; applicationId: number; scope: string; expiresAt: number }, now: number): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.run(sql`DELETE FROM push_app_tokens WHERE expires_at <= ${now}`);
    await tx.run(sql`INSERT INTO push_app_tokens (token_hash, application_id, scope, expires_at) VALUES (${t.tokenHash}, ${t.applicationId}, ${t.scope}, ${t.expiresAt})`);
  });
}

/** The unexpired token with this hash: its application and scope. */
export async function findPushAppToken(r: Runner, tokenHash: string, now: number): Promise<{ applicationId: number; scope: string; expiresAt: number } | undefined> {
  return r.get(sql`SELECT application_id AS "applicationId", scope, expires_at AS "expiresAt" FROM push_app_tokens WHERE token_hash = ${tokenHash} AND expires_at > ${now}`);
}
