// The store as a file, for backups and restores: where it is, a consistent copy of it while it
// is in use, which migration it is at, and SQLite's own integrity check.
import type { Store } from './open.js';

/** The database file, or undefined for an in-memory store. */
export function storeFile(store: Pick<Store, 'sqlite'>): string | undefined {
  const name = store.sqlite.name;
  return store.sqlite.memory || name === '' || name === ':memory:' ? undefined : name;
}

/**
 * Copy the store to `destination` in one step of SQLite's backup API (every page at once): the
 * source is read under one read transaction, so the copy is one consistent state even while other
 * processes write (WAL readers do not block writers).
 */
export async function copyStoreFile(store: Pick<Store, 'sqlite'>, destination: string): Promise<void> {
  await store.sqlite.backup(destination, { progress: () => 0x7fffffff });
}

/** When the newest applied migration was made (drizzle's `created_at`, its journal's `when`), or null. */
export function lastAppliedMigration(store: Pick<Store, 'sqlite'>): number | null {
  try {
    return (store.sqlite.prepare('SELECT max(created_at) FROM __drizzle_migrations').pluck().get() as number | null) ?? null;
  } catch {
    return null;
  }
}

/** SQLite's integrity check: 'ok', or what is wrong. */
export function integrityCheck(store: Pick<Store, 'sqlite'>): string {
  return String(store.sqlite.pragma('integrity_check', { simple: true }));
}
