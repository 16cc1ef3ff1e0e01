// Bearer tokens: API tokens (manage Gatehouse through /api/v1) and agent tokens (a Windows
// machine's agent forwarding logons). Shown once; only their SHA-256 is stored.
import { deleteAgent, deleteApiToken, DuplicateTokenError, insertAgent, insertApiToken } from '../db/queries/admins.js';
import { newToken, tokenHash } from '../lib/tokens.js';
import { checkRole } from './admins.js';
import { cleanTokenName, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';
import type { Role } from './roles.js';

/** An API token acts with a role like an admin's (./roles.ts); absent means a full admin's. */
export async function createApiToken(d: AdminDeps, actor: string, rawName: string | undefined, rawRole?: string): Promise<Result<{ name: string; role: Role; token: string }>> {
  const name = cleanTokenName(rawName, 'name');
  if (!name.ok) return name;
  const role = checkRole(rawRole);
  if (!role.ok) return role;
  const token = newToken('gh_');
  try {
    await insertApiToken(d.store, name.value, tokenHash(token), actor, role.value);
  } catch (e) {
    if (!(e instanceof DuplicateTokenError)) throw e;
    return conflict(`a token named ${name.value} already exists`, 'name');
  }
  await d.audit.record({ event: 'token.create', outcome: 'ok', actor, details: { name: name.value, role: role.value } });
  return ok({ name: name.value, role: role.value, token });
}

export async function revokeApiToken(d: AdminDeps, actor: string, name: string): Promise<Result<string>> {
  if (!await deleteApiToken(d.store, name)) return missing(`no token ${name}`);
  await d.audit.record({ event: 'token.revoke', outcome: 'ok', actor, details: { name } });
  return ok(name);
}

/**
 * An agent token is bound to one Windows machine: NAME is that machine's name, and it is what
 * every push and audit record of a logon through this token shows, whatever the agent claims.
 */
export async function createAgentToken(d: AdminDeps, actor: string, rawName: string | undefined): Promise<Result<{ name: string; token: string }>> {
  const name = cleanTokenName(rawName, 'machine name');
  if (!name.ok) return name;
  const token = newToken('gha_');
  try {
    await insertAgent(d.store, name.value, tokenHash(token), actor);
  } catch (e) {
    if (!(e instanceof DuplicateTokenError)) throw e;
    return conflict(`an agent token named ${name.value} already exists`, 'name');
  }
  await d.audit.record({ event: 'agent.token.create', outcome: 'ok', actor, details: { name: name.value } });
  return ok({ name: name.value, token });
}

export async function revokeAgentToken(d: AdminDeps, actor: string, name: string): Promise<Result<string>> {
  if (!await deleteAgent(d.store, name)) return missing(`no agent token ${name}`);
  await d.audit.record({ event: 'agent.token.revoke', outcome: 'ok', actor, details: { name } });
  return ok(name);
}
