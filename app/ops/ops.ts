// Admin operations shared by the web pages, the JSON API and (where they overlap) the CLI:
// validate, change the store, write one audit record naming the actor, apply at once.
import { randomBytes } from 'node:crypto';
import type { Auditor } from '../audit/audit.js';
import { OPTIONS, validateStoredSetting, type SettingKey } from '../config.js';
import { deleteAdmin, deleteApiToken, deleteSessionsOfAdmin, findAdminByName, insertAdmin, insertApiToken, listAdmins, setAdminSeed } from '../db/queries/admins.js';
import { deleteClientByAddress, insertClient, listClients, updateClient, type RequireMa } from '../db/queries/clients.js';
import { deleteDownstreams, replaceDownstream } from '../db/queries/downstream.js';
import { deleteStoredSetting, writeStoredSetting } from '../db/queries/settings.js';
import { deleteTotpAccount, deleteUser, insertUser, listUsers, normalizeUsername, replaceTotpAccount, setUserLocked } from '../db/queries/users.js';
import type { Store } from '../db/open.js';
import type { Sealer } from '../db/secrets.js';
import { parseCidr } from '../lib/cidr.js';
import { hashPassword, passwordProblem } from '../lib/password.js';
import { newToken, tokenHash } from '../lib/tokens.js';
import { DEFAULT_TOTP, otpauthUri } from '../mfa/otp.js';

export interface OpsDeps {
  store: Store;
  sealer: Sealer;
  audit: Auditor;
  /** Apply a change to the running proxy now (the store's data_version only sees other processes). */
  afterChange(): void;
  /** Clients given by flags or the environment (read-only everywhere but there). */
  fixedClients(): readonly { address: string; source: 'flag' | 'env' }[];
  /** Which settings a flag or environment variable fixes (read-only in the UI). */
  fixedSources(): Partial<Record<SettingKey, 'flag' | 'env'>>;
  totpIssuer(): string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; status: 400 | 404 | 409; field?: string; error: string };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const bad = (error: string, field?: string): Result<never> => ({ ok: false, status: 400, error, ...(field ? { field } : {}) });
const missing = (error: string): Result<never> => ({ ok: false, status: 404, error });
const conflict = (error: string, field?: string): Result<never> => ({ ok: false, status: 409, error, ...(field ? { field } : {}) });

const REQUIRE_MA = ['yes', 'no', 'auto'] as const;
const SECRET_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A shared secret strong enough for RADIUS (MD5-based hiding wants long, random secrets). */
export function generateSecret(length = 32): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => SECRET_CHARS[b % SECRET_CHARS.length]).join('');
}

function cleanName(raw: string | undefined, field: string, max = 64): Result<string> {
  const v = (raw ?? '').trim();
  if (v === '') return bad(`${field} is required`, field);
  if (v.length > max || /[\u0000-\u001f\u007f]/.test(v)) return bad(`${field} must be at most ${max} printable characters`, field);
  return ok(v);
}

function cleanSecret(raw: string, field: string): Result<string> {
  if (raw.length < 8) return bad(`${field} must have at least 8 characters`, field);
  if (raw.length > 128 || /[\u0000-\u001f\u007f]/.test(raw)) return bad(`${field} must be at most 128 printable characters`, field);
  return ok(raw);
}

// --- RADIUS clients

/** A flag/env client with this address: it cannot be added, changed or removed here. */
function fixedClient(d: OpsDeps, address: string): Result<never> | undefined {
  const f = d.fixedClients().find((c) => c.address === address);
  if (f === undefined) return undefined;
  return conflict(`client ${address} is set by ${f.source === 'flag' ? '--address-secret-in' : 'ADDRESS_SECRET_IN'} and cannot be changed here`, 'address');
}

export interface ClientInput {
  name?: string;
  address?: string;
  /** Empty: generate one. */
  secret?: string;
  requireMessageAuthenticator?: string;
}

export function addClient(d: OpsDeps, actor: string, input: ClientInput): Result<{ address: string; name: string; secret: string }> {
  const cidr = parseCidr(input.address ?? '');
  if (cidr === null) return bad('address must be an IP address or CIDR, e.g. 10.0.0.1 or 10.0.0.0/24', 'address');
  const name = input.name?.trim() ? cleanName(input.name, 'name') : ok(cidr.text);
  if (!name.ok) return name;
  const secret = input.secret ? cleanSecret(input.secret, 'secret') : ok(generateSecret());
  if (!secret.ok) return secret;
  const req = input.requireMessageAuthenticator ?? 'auto';
  if (!(REQUIRE_MA as readonly string[]).includes(req)) return bad('Message-Authenticator must be yes, no or auto', 'requireMessageAuthenticator');
  const fixed = fixedClient(d, cidr.text);
  if (fixed) return fixed;
  if (listClients(d.store, d.sealer).some((c) => c.address === cidr.text)) return conflict(`a client with address ${cidr.text} already exists`, 'address');
  insertClient(d.store, d.sealer, { name: name.value, address: cidr.text, secret: secret.value, requireMessageAuthenticator: req as RequireMa });
  d.audit.record({ event: 'client.add', outcome: 'ok', actor, client: name.value, details: { address: cidr.text } });
  d.afterChange();
  return ok({ address: cidr.text, name: name.value, secret: secret.value });
}

export function editClient(d: OpsDeps, actor: string, address: string, input: ClientInput): Result<{ address: string }> {
  const cidr = parseCidr(address);
  if (cidr === null) return missing(`no client ${address}`);
  const fixed = fixedClient(d, cidr.text);
  if (fixed) return fixed;
  const patch: { name?: string; secret?: string; requireMessageAuthenticator?: RequireMa } = {};
  if (input.name !== undefined) {
    const n = cleanName(input.name, 'name');
    if (!n.ok) return n;
    patch.name = n.value;
  }
  if (input.secret) {
    const s = cleanSecret(input.secret, 'secret');
    if (!s.ok) return s;
    patch.secret = s.value;
  }
  if (input.requireMessageAuthenticator !== undefined) {
    if (!(REQUIRE_MA as readonly string[]).includes(input.requireMessageAuthenticator)) return bad('Message-Authenticator must be yes, no or auto', 'requireMessageAuthenticator');
    patch.requireMessageAuthenticator = input.requireMessageAuthenticator as RequireMa;
  }
  if (!updateClient(d.store, d.sealer, cidr.text, patch)) return missing(`no stored client ${cidr.text}`);
  d.audit.record({ event: 'client.edit', outcome: 'ok', actor, details: { address: cidr.text, ...(patch.secret ? { setting: 'secret changed' } : {}) } });
  d.afterChange();
  return ok({ address: cidr.text });
}

export function removeClient(d: OpsDeps, actor: string, address: string): Result<null> {
  const cidr = parseCidr(address);
  const fixed = cidr ? fixedClient(d, cidr.text) : undefined;
  if (fixed) return fixed;
  if (cidr === null || !deleteClientByAddress(d.store, cidr.text)) return missing(`no stored client ${address}`);
  d.audit.record({ event: 'client.remove', outcome: 'ok', actor, details: { address: cidr.text } });
  d.afterChange();
  return ok(null);
}

// --- downstream server

export function setDownstream(d: OpsDeps, actor: string, input: { host?: string; port?: string; secret?: string; requireMessageAuthenticator?: boolean; name?: string }): Result<null> {
  const host = (input.host ?? '').trim();
  if (!/^[A-Za-z0-9.:_-]{1,253}$/.test(host)) return bad('host must be an IP address or host name', 'host');
  const port = Number(input.port ?? '1812');
  if (!Number.isInteger(port) || port < 1 || port > 65535) return bad('port must be 1-65535', 'port');
  const secret = cleanSecret(input.secret ?? '', 'secret');
  if (!secret.ok) return secret;
  const name = input.name?.trim() ? input.name.trim() : `${host}:${port}`;
  replaceDownstream(d.store, d.sealer, { name, host, port, secret: secret.value, requireMessageAuthenticator: input.requireMessageAuthenticator === true });
  d.audit.record({ event: 'downstream.set', outcome: 'ok', actor, details: { name, address: `${host}:${port}` } });
  d.afterChange();
  return ok(null);
}

export function removeDownstream(d: OpsDeps, actor: string): Result<null> {
  if (deleteDownstreams(d.store) === 0) return missing('no stored downstream server');
  d.audit.record({ event: 'downstream.remove', outcome: 'ok', actor });
  d.afterChange();
  return ok(null);
}

// --- settings

export function setSetting(d: OpsDeps, actor: string, flag: string, value: string): Result<null> {
  const o = OPTIONS.find((x) => x.flag === flag);
  if (o === undefined || !o.storable) return missing(`${flag} is not a stored setting`);
  const fixed = d.fixedSources()[o.key];
  if (fixed !== undefined) return conflict(`${flag} is set by ${fixed === 'flag' ? `--${o.flag}` : o.env} and cannot be changed here`, flag);
  if (value === '') {
    if (deleteStoredSetting(d.store, flag)) d.audit.record({ event: 'settings.unset', outcome: 'ok', actor, details: { setting: flag } });
    d.afterChange();
    return ok(null);
  }
  const problem = validateStoredSetting(flag, value);
  if (problem !== null) return bad(problem, flag);
  writeStoredSetting(d.store, flag, value);
  d.audit.record({ event: 'settings.set', outcome: 'ok', actor, details: { setting: flag } });
  d.afterChange();
  return ok(null);
}

// --- users

function cleanUserName(raw: string | undefined): Result<string> {
  const v = (raw ?? '').trim();
  if (v === '' || Buffer.byteLength(v) > 253 || /[\u0000-\u001f\u007f]/.test(v)) return bad('user name must be 1-253 bytes without control characters', 'username');
  return ok(normalizeUsername(v));
}

export function searchUsers(d: OpsDeps, query: string, limit = 200) {
  const q = normalizeUsername(query.trim());
  return listUsers(d.store)
    .filter((u) => q === '' || u.username.includes(q))
    .slice(0, limit);
}

export function addUser(d: OpsDeps, actor: string, raw: string | undefined): Result<string> {
  const name = cleanUserName(raw);
  if (!name.ok) return name;
  if (listUsers(d.store).some((u) => u.username === name.value)) return conflict(`user ${name.value} already exists`, 'username');
  insertUser(d.store, name.value);
  d.audit.record({ event: 'user.add', outcome: 'ok', actor, username: name.value });
  return ok(name.value);
}

export function changeUser(d: OpsDeps, actor: string, raw: string, action: 'remove' | 'lock' | 'unlock' | 'reset-totp'): Result<string> {
  const name = cleanUserName(raw);
  if (!name.ok) return name;
  const done = action === 'remove' ? deleteUser(d.store, name.value) : action === 'reset-totp' ? deleteTotpAccount(d.store, name.value) : setUserLocked(d.store, name.value, action === 'lock');
  if (!done) return missing(action === 'reset-totp' ? `${name.value} has no TOTP account` : `no user ${name.value}`);
  d.audit.record({ event: action === 'reset-totp' ? 'totp.remove' : `user.${action}`, outcome: 'ok', actor, username: name.value });
  return ok(name.value);
}

export function enrolUserTotp(d: OpsDeps, actor: string, raw: string): Result<{ username: string; uri: string }> {
  const name = cleanUserName(raw);
  if (!name.ok) return name;
  const seed = randomBytes(20);
  const { userCreated } = replaceTotpAccount(d.store, d.sealer, name.value, seed, DEFAULT_TOTP);
  d.audit.record({ event: 'totp.enroll', outcome: 'ok', actor, username: name.value, details: { name: userCreated ? 'user created' : 'account replaced' } });
  const uri = otpauthUri(d.totpIssuer(), name.value, seed, DEFAULT_TOTP);
  seed.fill(0);
  return ok({ username: name.value, uri });
}

// --- admins and API tokens

/** `source` (where the request came from, e.g. `http:ADDRESS`) goes into the audit record when given. */
export async function addAdmin(d: OpsDeps, actor: string, rawName: string | undefined, password: string | undefined, source?: string): Promise<Result<string>> {
  const name = (rawName ?? '').trim();
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) return bad('name must be 1-64 letters, digits, . _ @ -', 'name');
  const problem = passwordProblem(password ?? '');
  if (problem !== null) return bad(problem, 'password');
  if (findAdminByName(d.store, name)) return conflict(`admin ${name} already exists`, 'name');
  insertAdmin(d.store, name, await hashPassword(password!));
  d.audit.record({ event: 'admin.add', outcome: 'ok', actor, ...(source !== undefined ? { source } : {}), details: { name } });
  return ok(name);
}

export function changeAdmin(d: OpsDeps, actor: string, self: string, name: string, action: 'remove' | 'reset-totp'): Result<string> {
  const admin = findAdminByName(d.store, name);
  if (admin === undefined) return missing(`no admin ${name}`);
  if (action === 'remove') {
    if (name === self) return conflict('you cannot remove yourself');
    if (listAdmins(d.store).length <= 1) return conflict('the last admin cannot be removed');
    deleteAdmin(d.store, name);
  } else {
    setAdminSeed(d.store, d.sealer, admin.id, null);
    deleteSessionsOfAdmin(d.store, admin.id);
  }
  d.audit.record({ event: `admin.${action}`, outcome: 'ok', actor, details: { name } });
  return ok(name);
}

export function createApiToken(d: OpsDeps, actor: string, rawName: string | undefined): Result<{ name: string; token: string }> {
  const name = (rawName ?? '').trim();
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) return bad('name must be 1-64 letters, digits, . _ @ -', 'name');
  const token = newToken('gh_');
  try {
    insertApiToken(d.store, name, tokenHash(token), actor);
  } catch {
    return conflict(`a token named ${name} already exists`, 'name');
  }
  d.audit.record({ event: 'token.create', outcome: 'ok', actor, details: { name } });
  return ok({ name, token });
}

export function revokeApiToken(d: OpsDeps, actor: string, name: string): Result<string> {
  if (!deleteApiToken(d.store, name)) return missing(`no token ${name}`);
  d.audit.record({ event: 'token.revoke', outcome: 'ok', actor, details: { name } });
  return ok(name);
}
