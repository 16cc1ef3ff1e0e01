// Applications of the push API Gatehouse serves, and the OAuth2 access tokens issued to them.
// Only hashes of client secrets and tokens are stored. No policy here: who may call what is
// decided in app/push/served.ts.
import { statement, type Store } from '../open.js';

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

const COLUMNS = 'id, name, access_id, client_id, client_secret_hash, allowed_sources, rate_limit, created_by, created_at, last_used_at';
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

export function insertPushApplication(store: Store, a: { name: string; accessId: string; clientId: string; clientSecretHash: string; allowedSources: string[]; rateLimit: number; createdBy: string }): void {
  try {
    statement(store, 'INSERT INTO push_applications (name, access_id, client_id, client_secret_hash, allowed_sources, rate_limit, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(a.name, a.accessId, a.clientId, a.clientSecretHash, a.allowedSources.join(','), a.rateLimit, a.createdBy);
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateApplicationError(a.name);
    throw e;
  }
}

export function listPushApplications(store: Store): PushApplicationRow[] {
  return statement<[], RawApplication>(store, `SELECT ${COLUMNS} FROM push_applications ORDER BY name`).all().map(toApplication);
}

export function findPushApplication(store: Store, by: { accessId: string } | { clientId: string } | { name: string }): PushApplicationRow | undefined {
  const [column, value] = 'accessId' in by ? ['access_id', by.accessId] : 'clientId' in by ? ['client_id', by.clientId] : ['name', by.name];
  const r = statement<[string], RawApplication>(store, `SELECT ${COLUMNS} FROM push_applications WHERE ${column} = ?`).get(value);
  return r === undefined ? undefined : toApplication(r);
}

/** Change what an application may do; false when there is no such application. */
export function updatePushApplication(store: Store, name: string, change: { allowedSources: string[]; rateLimit: number }): boolean {
  return statement(store, 'UPDATE push_applications SET allowed_sources = ?, rate_limit = ? WHERE name = ?').run(change.allowedSources.join(','), change.rateLimit, name).changes === 1;
}

/** A new client secret (its hash); every token issued with the old one is revoked with it. */
export function replacePushApplicationSecret(store: Store, name: string, clientSecretHash: string): boolean {
  return store.sqlite.transaction(() => {
    const app = findPushApplication(store, { name });
    if (app === undefined) return false;
    statement(store, 'UPDATE push_applications SET client_secret_hash = ? WHERE id = ?').run(clientSecretHash, app.id);
    statement(store, 'DELETE FROM push_app_tokens WHERE application_id = ?').run(app.id);
    return true;
  })();
}

/** Remove an application (its tokens go with it); false when there is none by that name. */
export function deletePushApplication(store: Store, name: string): boolean {
  return statement(store, 'DELETE FROM push_applications WHERE name = ?').run(name).changes === 1;
}

export function touchPushApplication(store: Store, id: number, at: number): void {
  statement(store, 'UPDATE push_applications SET last_used_at = ? WHERE id = ?').run(at, id);
}

/** Store a token issued now; tokens expired by `now` are removed in the same write. */
export function insertPushAppToken(store: Store, t: { tokenHash: string; applicationId: number; scope: string; expiresAt: number }, now: number): void {
  store.sqlite.transaction(() => {
    statement(store, 'DELETE FROM push_app_tokens WHERE expires_at <= ?').run(now);
    statement(store, 'INSERT INTO push_app_tokens (token_hash, application_id, scope, expires_at) VALUES (?, ?, ?, ?)').run(t.tokenHash, t.applicationId, t.scope, t.expiresAt);
  })();
}

/** The unexpired token with this hash: its application and scope. */
export function findPushAppToken(store: Store, tokenHash: string, now: number): { applicationId: number; scope: string; expiresAt: number } | undefined {
  const r = statement<[string, number], { application_id: number; scope: string; expires_at: number }>(store, 'SELECT application_id, scope, expires_at FROM push_app_tokens WHERE token_hash = ? AND expires_at > ?')
    .get(tokenHash, now);
  return r === undefined ? undefined : { applicationId: r.application_id, scope: r.scope, expiresAt: r.expires_at };
}
