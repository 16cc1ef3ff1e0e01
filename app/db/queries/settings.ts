import { eq, sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { settings } from '../schema.js';
import type { Sealer } from '../secrets.js';

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

/**
 * A secret kept beside the settings (the directory's bind password typed on the Directory page):
 * sealed with the master key under `key`, never shown or listed as a setting.
 */
export function readSealedSetting(store: Store, sealer: Sealer, key: string): string | undefined {
  const row = store.db.select({ value: settings.value }).from(settings).where(eq(settings.key, key)).get();
  return row === undefined ? undefined : sealer.open(Buffer.from(row.value, 'base64'), `settings.${key}`).toString('utf8');
}

export function writeSealedSetting(store: Store, sealer: Sealer, key: string, value: string): void {
  writeStoredSetting(store, key, sealer.seal(Buffer.from(value, 'utf8'), `settings.${key}`).toString('base64'));
}
