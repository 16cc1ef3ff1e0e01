// What the admin operations need, and how they answer. One layer for every way an admin changes
// Gatehouse: the web UI, the JSON API and the command line call the same functions, which
// validate, change the store, write one audit record naming the actor, and apply at once.
import type { Auditor } from '../audit/audit.js';
import type { SettingKey } from '../config.js';
import type { SharedStore } from '../db/store.js';
import type { Sealer } from '../db/secrets.js';
import type { NameRules } from '../lib/username.js';

export interface AdminDeps {
  store: SharedStore;
  sealer: Sealer;
  audit: Auditor;
  /** The data directory (the VM's one-time setup code lives there). */
  dataDir: string;
  /** Apply a change to the running appliance now (its data_version only sees other processes). */
  afterChange(): Promise<void>;
  /** Clients given by flags or the environment (read-only everywhere but there). */
  fixedClients(): readonly { address: string; source: 'flag' | 'env' }[];
  /** Which settings a flag or environment variable fixes (read-only in the UI). */
  fixedSources(): Partial<Record<SettingKey, 'flag' | 'env'>>;
  totpIssuer(): string;
  /** The address phones reach Gatehouse at (`--public-url`): phone enrolment links point there. */
  publicOrigin(): string;
  /** How user names are made canonical (--strip-realm). */
  nameRules(): NameRules;
  /** The clock (ms): TOTP codes confirming an enrolment are checked against it. */
  now(): number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; status: 400 | 404 | 409; field?: string; error: string };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const bad = (error: string, field?: string): Result<never> => ({ ok: false, status: 400, error, ...(field ? { field } : {}) });
export const missing = (error: string): Result<never> => ({ ok: false, status: 404, error });
export const conflict = (error: string, field?: string): Result<never> => ({ ok: false, status: 409, error, ...(field ? { field } : {}) });

export function cleanName(raw: string | undefined, field: string, max = 64): Result<string> {
  const v = (raw ?? '').trim();
  if (v === '') return bad(`${field} is required`, field);
  if (v.length > max || /[\u0000-\u001f\u007f]/.test(v)) return bad(`${field} must be at most ${max} printable characters`, field);
  return ok(v);
}

export function cleanSecret(raw: string, field: string): Result<string> {
  if (raw.length < 8) return bad(`${field} must have at least 8 characters`, field);
  if (raw.length > 128 || /[\u0000-\u001f\u007f]/.test(raw)) return bad(`${field} must be at most 128 printable characters`, field);
  return ok(raw);
}

/** Names of admins, API tokens and agent tokens. */
export function cleanTokenName(raw: string | undefined, what: string): Result<string> {
  const name = (raw ?? '').trim();
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) return bad(`${what} must be 1-64 letters, digits, . _ @ -`, 'name');
  return ok(name);
}
