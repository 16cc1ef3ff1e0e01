// Stored settings (key, value): written once for both engines (app/db/store.ts).
import { sql } from 'drizzle-orm';
import type { Sealer } from '../secrets.js';
import type { Runner } from '../store.js';

export async function readStoredSettings(r: Runner): Promise<Map<string, string>> {
  const rows = await r.all<{ key: string; value: string }>(sql`SELECT key, value FROM settings`);
  return new Map(rows.map((row) => [row.key, row.value] as const));
}

export async function writeStoredSetting(r: Runner, key: string, value: string): Promise<void> {
  await r.run(sql`INSERT INTO settings (key, value, updated_at) VALUES (${key}, ${value}, ${Date.now()})
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
}

export async function deleteStoredSetting(r: Runner, key: string): Promise<boolean> {
  return (await r.run(sql`DELETE FROM settings WHERE key = ${key}`)) > 0;
}

/**
 * A secret kept beside the settings (the directory's bind password typed on the Directory page):
 * sealed with the master key under `key`, never shown or listed as a setting.
 */
export async function readSealedSetting(r: Runner, sealer: Sealer, key: string): Promise<string | undefined> {
  const row = await r.get<{ value: string }>(sql`SELECT value FROM settings WHERE key = ${key}`);
  return row === undefined ? undefined : sealer.open(Buffer.from(row.value, 'base64'), `settings.${key}`).toString('utf8');
}

export async function writeSealedSetting(r: Runner, sealer: Sealer, key: string, value: string): Promise<void> {
  await writeStoredSetting(r, key, sealer.seal(Buffer.from(value, 'utf8'), `settings.${key}`).toString('base64'));
}
