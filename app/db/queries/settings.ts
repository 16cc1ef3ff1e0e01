import { eq, sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { settings } from '../schema.js';

export function readStoredSettings(store: Store): Map<string, string> {
  return new Map(store.db.select({ key: settings.key, value: settings.value }).from(settings).all().map((r) => [r.key, r.value] as const));
}

export function writeStoredSetting(store: Store, key: string, value: string): void {
  store.db
    .insert(settings)
    .values({ key, value })
    .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: sql`(unixepoch('subsec') * 1000)` } })
    .run();
}

export function deleteStoredSetting(store: Store, key: string): boolean {
  return store.db.delete(settings).where(eq(settings.key, key)).run().changes > 0;
}
