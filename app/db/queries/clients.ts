// RADIUS clients stored in the database (flag/env clients are merged in by app/radius/clients.ts).
// Written once for both engines (app/db/store.ts).
import { sql } from 'drizzle-orm';
import type { Sealer } from '../secrets.js';
import { bool, type Runner } from '../store.js';

export type RequireMa = 'yes' | 'no' | 'auto';
/** Who checks a client's passwords; null on a stored client: the --first-factor setting. */
export type FirstFactor = 'downstream' | 'directory';
const PURPOSE = 'radius_clients.secret';

export interface StoredClient {
  id: number;
  name: string;
  address: string;
  secret: Buffer;
  requireMessageAuthenticator: RequireMa;
  messageAuthenticatorSeen: boolean;
  firstFactor: FirstFactor | null;
  createdAt: number;
}

export async function listClients(r: Runner, sealer: Sealer): Promise<StoredClient[]> {
  const rows = await r.all<Omit<StoredClient, 'secret' | 'messageAuthenticatorSeen'> & { secretSealed: Buffer; messageAuthenticatorSeen: number | boolean }>(sql`
    SELECT id, name, address, secret_sealed AS "secretSealed", require_message_authenticator AS "requireMessageAuthenticator",
      message_authenticator_seen AS "messageAuthenticatorSeen", first_factor AS "firstFactor", created_at AS "createdAt"
    FROM radius_clients ORDER BY address`);
  return rows.map(({ secretSealed, ...c }) => ({ ...c, messageAuthenticatorSeen: Boolean(c.messageAuthenticatorSeen), secret: sealer.open(secretSealed, PURPOSE) }));
}

export class DuplicateClientError extends Error {}

export async function insertClient(r: Runner, sealer: Sealer, c: { name: string; address: string; secret: string; requireMessageAuthenticator: RequireMa; firstFactor?: FirstFactor | null }): Promise<number> {
  // One statement: of two adds of the same address, one gets the row and the other none.
  const row = await r.get<{ id: number }>(sql`
    INSERT INTO radius_clients (name, address, secret_sealed, require_message_authenticator, first_factor, created_at)
    VALUES (${c.name}, ${c.address}, ${sealer.seal(Buffer.from(c.secret, 'utf8'), PURPOSE)}, ${c.requireMessageAuthenticator}, ${c.firstFactor ?? null}, ${Date.now()})
    ON CONFLICT (address) DO NOTHING RETURNING id`);
  if (row === undefined) throw new DuplicateClientError(`a client with address ${c.address} already exists`);
  return row.id;
}

export async function deleteClientByAddress(r: Runner, address: string): Promise<boolean> {
  return (await r.run(sql`DELETE FROM radius_clients WHERE address = ${address}`)) > 0;
}

/** `auto` clients: remember that one sent a Message-Authenticator, so it is required from now on. */
export async function markMessageAuthenticatorSeen(r: Runner, id: number): Promise<void> {
  await r.run(sql`UPDATE radius_clients SET message_authenticator_seen = ${bool(true)} WHERE id = ${id}`);
}

/** Addresses of flag/env clients that have sent a Message-Authenticator. */
export async function listFixedClientsSeen(r: Runner): Promise<Set<string>> {
  const rows = await r.all<{ address: string }>(sql`SELECT address FROM fixed_client_state WHERE message_authenticator_seen = ${bool(true)}`);
  return new Set(rows.map((row) => row.address));
}

/** A flag/env client sent a Message-Authenticator: remember it across restarts and reloads. */
export async function markFixedClientMessageAuthenticatorSeen(r: Runner, address: string): Promise<void> {
  await r.run(sql`INSERT INTO fixed_client_state (address, message_authenticator_seen, updated_at) VALUES (${address}, ${bool(true)}, ${Date.now()})
    ON CONFLICT (address) DO UPDATE SET message_authenticator_seen = excluded.message_authenticator_seen, updated_at = excluded.updated_at`);
}

export async function updateClient(r: Runner, sealer: Sealer, address: string, patch: { name?: string; secret?: string; requireMessageAuthenticator?: RequireMa; firstFactor?: FirstFactor | null }): Promise<boolean> {
  const set = [];
  if (patch.name !== undefined) set.push(sql`name = ${patch.name}`);
  if (patch.secret !== undefined) set.push(sql`secret_sealed = ${sealer.seal(Buffer.from(patch.secret, 'utf8'), PURPOSE)}`);
  if (patch.requireMessageAuthenticator !== undefined) set.push(sql`require_message_authenticator = ${patch.requireMessageAuthenticator}`, sql`message_authenticator_seen = ${bool(false)}`);
  if (patch.firstFactor !== undefined) set.push(sql`first_factor = ${patch.firstFactor}`);
  if (set.length === 0) return (await r.get(sql`SELECT id FROM radius_clients WHERE address = ${address}`)) !== undefined;
  return (await r.run(sql`UPDATE radius_clients SET ${sql.join(set, sql`, `)} WHERE address = ${address}`)) > 0;
}
