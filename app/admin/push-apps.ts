// Applications of the push API Gatehouse serves (app/push/served.ts): created, changed and removed
// from the UI and the JSON API. The client secret is shown once; only its SHA-256 is stored.
import { randomUUID } from 'node:crypto';
import { deletePushApplication, DuplicateApplicationError, insertPushApplication, replacePushApplicationSecret, updatePushApplication } from '../db/queries/push-apps.js';
import { parseCidr } from '../lib/cidr.js';
import { newToken, tokenHash } from '../lib/tokens.js';
import { bad, cleanTokenName, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

/** The calls per second an application gets unless the admin says otherwise. */
export const DEFAULT_APP_RATE = 10_000;
const MAX_APP_RATE = 1_000_000;
const MAX_SOURCES = 64;

export interface NewApplication {
  name: string;
  accessId: string;
  clientId: string;
  clientSecret: string;
  /** The base URL callers configure (Notakey's "host"): this appliance's public origin + `/api/`. */
  apiUrl: string;
}

/** `10.0.0.0/8, 192.0.2.7` (commas, spaces or new lines) as canonical CIDRs. */
export function parseSources(raw: string | undefined): Result<string[]> {
  const parts = (raw ?? '').split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length > MAX_SOURCES) return bad(`at most ${MAX_SOURCES} source addresses`, 'sources');
  const out: string[] = [];
  for (const p of parts) {
    const c = parseCidr(p);
    if (c === null) return bad(`${p.slice(0, 60)} is not an IP address or CIDR prefix (e.g. 192.0.2.10 or 10.0.0.0/8)`, 'sources');
    if (!out.includes(c.text)) out.push(c.text);
  }
  return ok(out);
}

export function parseRate(raw: string | number | undefined): Result<number> {
  if (raw === undefined || raw === '') return ok(DEFAULT_APP_RATE);
  const n = typeof raw === 'number' ? raw : /^\d{1,7}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > MAX_APP_RATE) return bad(`rate limit must be a whole number of calls per second from 0 (no limit) to ${MAX_APP_RATE}`, 'rate');
  return ok(n);
}

export async function createPushApplication(d: AdminDeps, actor: string, input: { name?: string | undefined; sources?: string | undefined; rate?: string | number | undefined }): Promise<Result<NewApplication>> {
  const name = cleanTokenName(input.name, 'name');
  if (!name.ok) return name;
  const sources = parseSources(input.sources);
  if (!sources.ok) return sources;
  const rate = parseRate(input.rate);
  if (!rate.ok) return rate;
  const accessId = randomUUID();
  const clientId = newToken('ghc_').slice(0, 36);
  const clientSecret = newToken('ghs_');
  try {
    await insertPushApplication(d.store, { name: name.value, accessId, clientId, clientSecretHash: tokenHash(clientSecret), allowedSources: sources.value, rateLimit: rate.value, createdBy: actor });
  } catch (e) {
    if (!(e instanceof DuplicateApplicationError)) throw e;
    return conflict(`an application named ${name.value} already exists`, 'name');
  }
  await d.audit.record({ event: 'pushapp.create', outcome: 'ok', actor, details: { name: name.value, sources: sources.value.length } });
  await d.afterChange();
  return ok({ name: name.value, accessId, clientId, clientSecret, apiUrl: `${d.publicOrigin()}/api/` });
}

export async function changePushApplication(d: AdminDeps, actor: string, rawName: string, input: { sources?: string | undefined; rate?: string | number | undefined }): Promise<Result<string>> {
  const sources = parseSources(input.sources);
  if (!sources.ok) return sources;
  const rate = parseRate(input.rate);
  if (!rate.ok) return rate;
  if (!await updatePushApplication(d.store, rawName, { allowedSources: sources.value, rateLimit: rate.value })) return missing(`no application ${rawName}`);
  await d.audit.record({ event: 'pushapp.change', outcome: 'ok', actor, details: { name: rawName, sources: sources.value.length, count: rate.value } });
  await d.afterChange();
  return ok(rawName);
}

/** A new client secret, shown once; tokens issued with the old one stop working at once. */
export async function renewPushApplicationSecret(d: AdminDeps, actor: string, rawName: string): Promise<Result<{ name: string; clientSecret: string }>> {
  const clientSecret = newToken('ghs_');
  if (!await replacePushApplicationSecret(d.store, rawName, tokenHash(clientSecret))) return missing(`no application ${rawName}`);
  await d.audit.record({ event: 'pushapp.secret', outcome: 'ok', actor, details: { name: rawName } });
  await d.afterChange();
  return ok({ name: rawName, clientSecret });
}

export async function removePushApplication(d: AdminDeps, actor: string, rawName: string): Promise<Result<string>> {
  if (!await deletePushApplication(d.store, rawName)) return missing(`no application ${rawName}`);
  await d.audit.record({ event: 'pushapp.remove', outcome: 'ok', actor, details: { name: rawName } });
  await d.afterChange();
  return ok(rawName);
}
