// RADIUS clients stored in the database (flag/env clients are merged in by app/radius/clients.ts).
import { asc, eq, sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { fixedClientState, radiusClients } from '../schema.js';
import type { Sealer } from '../secrets.js';

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

export function listClients(store: Store, sealer: Sealer): StoredClient[] {
  return store.db
    .select()
    .from(radiusClients)
    .orderBy(asc(radiusClients.address))
    .all()
    .map((r) => ({ ...omitSealed(r), secret: sealer.open(r.secretSealed, PURPOSE) }));
}

function omitSealed<T extends { secretSealed: Buffer }>(r: T): Omit<T, 'secretSealed'> {
  const { secretSealed: _, ...rest } = r;
  return rest;
}

export class DuplicateClientError extends Error {}

export function insertClient(store: Store, sealer: Sealer, c: { name: string; address: string; secret: string; requireMessageAuthenticator: RequireMa; firstFactor?: FirstFactor | null }): number {
  try {
    const row = store.db
      .insert(radiusClients)
      .values({ name: c.name, address: c.address, secretSealed: sealer.seal(Buffer.from(c.secret, 'utf8'), PURPOSE), requireMessageAuthenticator: c.requireMessageAuthenticator, firstFactor: c.firstFactor ?? null })
      .returning({ id: radiusClients.id })
      .get();
    return row.id;
  } catch (e) {
    if (String((e as Error).message).includes('UNIQUE')) throw new DuplicateClientError(`a client with address ${c.address} already exists`);
    throw e;
  }
}

export function deleteClientByAddress(store: Store, address: string): boolean {
  return store.db.delete(radiusClients).where(eq(radiusClients.address, address)).run().changes > 0;
}

/** `auto` clients: remember that one sent a Message-Authenticator, so it is required from now on. */
export function markMessageAuthenticatorSeen(store: Store, id: number): void {
  store.db
    .update(radiusClients)
    .set({ messageAuthenticatorSeen: sql`1` })
    .where(eq(radiusClients.id, id))
    .run();
}

/** Addresses of flag/env clients that have sent a Message-Authenticator. */
export function listFixedClientsSeen(store: Store): Set<string> {
  return new Set(store.db.select({ address: fixedClientState.address }).from(fixedClientState).where(eq(fixedClientState.messageAuthenticatorSeen, true)).all().map((r) => r.address));
}

/** A flag/env client sent a Message-Authenticator: remember it across restarts and reloads. */
export function markFixedClientMessageAuthenticatorSeen(store: Store, address: string): void {
  store.db
    .insert(fixedClientState)
    .values({ address, messageAuthenticatorSeen: true })
    .onConflictDoUpdate({ target: fixedClientState.address, set: { messageAuthenticatorSeen: true, updatedAt: sql`(unixepoch('subsec') * 1000)` } })
    .run();
}

export function updateClient(store: Store, sealer: Sealer, address: string, patch: { name?: string; secret?: string; requireMessageAuthenticator?: RequireMa; firstFactor?: FirstFactor | null }): boolean {
  const set: Partial<typeof radiusClients.$inferInsert> = {};
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.secret !== undefined) set.secretSealed = sealer.seal(Buffer.from(patch.secret, 'utf8'), PURPOSE);
  if (patch.requireMessageAuthenticator !== undefined) {
    set.requireMessageAuthenticator = patch.requireMessageAuthenticator;
    set.messageAuthenticatorSeen = false;
  }
  if (patch.firstFactor !== undefined) set.firstFactor = patch.firstFactor;
  if (Object.keys(set).length === 0) return store.db.select({ id: radiusClients.id }).from(radiusClients).where(eq(radiusClients.address, address)).get() !== undefined;
  return store.db.update(radiusClients).set(set).where(eq(radiusClients.address, address)).run().changes > 0;
}
