// RADIUS clients: add, edit, remove. Clients given by a flag or the environment cannot be
// changed here.
import { randomBytes } from 'node:crypto';
import { deleteClientByAddress, DuplicateClientError, insertClient, updateClient, type FirstFactor, type RequireMa } from '../db/queries/clients.js';
import { parseCidr } from '../lib/cidr.js';
import { bad, cleanName, cleanSecret, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

const REQUIRE_MA = ['yes', 'no', 'auto'] as const;

/** `downstream`, `directory`, or `default` (or empty): follow the --first-factor setting. */
function firstFactorOf(raw: string | undefined): Result<FirstFactor | null | undefined> {
  if (raw === undefined) return ok(undefined);
  if (raw === '' || raw === 'default') return ok(null);
  if (raw === 'downstream' || raw === 'directory') return ok(raw);
  return bad('first factor must be downstream, directory or default', 'firstFactor');
}
const SECRET_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A shared secret strong enough for RADIUS (MD5-based hiding wants long, random secrets). */
export function generateSecret(length = 32): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => SECRET_CHARS[b % SECRET_CHARS.length]).join('');
}

/** A flag/env client with this address: it cannot be added, changed or removed here. */
function fixedClient(d: AdminDeps, address: string): Result<never> | undefined {
  const f = d.fixedClients().find((c) => c.address === address);
  if (f === undefined) return undefined;
  return conflict(`client ${address} is set by ${f.source === 'flag' ? '--address-secret-in' : 'ADDRESS_SECRET_IN'} and cannot be changed here`, 'address');
}

export interface ClientInput {
  name?: string | undefined;
  address?: string | undefined;
  /** Empty: generate one. */
  secret?: string | undefined;
  requireMessageAuthenticator?: string | undefined;
  /** Who checks the password: downstream, directory, or default (the --first-factor setting). */
  firstFactor?: string | undefined;
}

export async function addClient(d: AdminDeps, actor: string, input: ClientInput): Promise<Result<{ address: string; name: string; secret: string }>> {
  const cidr = parseCidr(input.address ?? '');
  if (cidr === null) return bad('address must be an IP address or CIDR, e.g. 10.0.0.1 or 10.0.0.0/24', 'address');
  const name = input.name?.trim() ? cleanName(input.name, 'name') : ok(cidr.text);
  if (!name.ok) return name;
  const secret = input.secret ? cleanSecret(input.secret, 'secret') : ok(generateSecret());
  if (!secret.ok) return secret;
  const req = input.requireMessageAuthenticator ?? 'auto';
  if (!(REQUIRE_MA as readonly string[]).includes(req)) return bad('Message-Authenticator must be yes, no or auto', 'requireMessageAuthenticator');
  const firstFactor = firstFactorOf(input.firstFactor);
  if (!firstFactor.ok) return firstFactor;
  const fixed = fixedClient(d, cidr.text);
  if (fixed) return fixed;
  try {
    await insertClient(d.store, d.sealer, { name: name.value, address: cidr.text, secret: secret.value, requireMessageAuthenticator: req as RequireMa, firstFactor: firstFactor.value ?? null });
  } catch (e) {
    if (e instanceof DuplicateClientError) return conflict(`a client with address ${cidr.text} already exists`, 'address');
    throw e;
  }
  await d.audit.record({ event: 'client.add', outcome: 'ok', actor, client: name.value, details: { address: cidr.text, ...(firstFactor.value ? { setting: `first factor ${firstFactor.value}` } : {}) } });
  await d.afterChange();
  return ok({ address: cidr.text, name: name.value, secret: secret.value });
}

export async function editClient(d: AdminDeps, actor: string, address: string, input: ClientInput): Promise<Result<{ address: string }>> {
  const cidr = parseCidr(address);
  if (cidr === null) return missing(`no client ${address}`);
  const fixed = fixedClient(d, cidr.text);
  if (fixed) return fixed;
  const patch: { name?: string; secret?: string; requireMessageAuthenticator?: RequireMa; firstFactor?: FirstFactor | null } = {};
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
  const firstFactor = firstFactorOf(input.firstFactor);
  if (!firstFactor.ok) return firstFactor;
  if (firstFactor.value !== undefined) patch.firstFactor = firstFactor.value;
  if (!(await updateClient(d.store, d.sealer, cidr.text, patch))) return missing(`no stored client ${cidr.text}`);
  const changed = [...(patch.secret ? ['secret changed'] : []), ...(patch.firstFactor !== undefined ? [`first factor ${patch.firstFactor ?? 'default'}`] : [])];
  await d.audit.record({ event: 'client.edit', outcome: 'ok', actor, details: { address: cidr.text, ...(changed.length > 0 ? { setting: changed.join(', ') } : {}) } });
  await d.afterChange();
  return ok({ address: cidr.text });
}

export async function removeClient(d: AdminDeps, actor: string, address: string): Promise<Result<{ address: string }>> {
  const cidr = parseCidr(address);
  if (cidr === null) return bad(`'${address}' is not an IP address or CIDR`, 'address');
  const fixed = fixedClient(d, cidr.text);
  if (fixed) return fixed;
  if (!(await deleteClientByAddress(d.store, cidr.text))) return missing(`no stored client ${cidr.text}`);
  await d.audit.record({ event: 'client.remove', outcome: 'ok', actor, details: { address: cidr.text } });
  await d.afterChange();
  return ok({ address: cidr.text });
}
