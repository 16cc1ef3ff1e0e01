// The table of RADIUS clients: flag/env clients and stored ones, matched by most specific prefix.
import type { ClientSpec } from '../config.js';
import type { FirstFactor, RequireMa, StoredClient } from '../db/queries/clients.js';
import { cidrContains, parseCidr, type Cidr } from '../lib/cidr.js';
import type { MaCheck } from './codec.js';

export interface RadiusClient {
  name: string;
  cidr: Cidr;
  secret: Buffer;
  requireMessageAuthenticator: RequireMa;
  /** Mutable: set once an `auto` client sends a Message-Authenticator. */
  messageAuthenticatorSeen: boolean;
  /** Who checks its passwords; undefined: the --first-factor setting. */
  firstFactor: FirstFactor | undefined;
  source: 'flag' | 'env' | 'db';
  /** Row id when stored in the database. */
  id: number | undefined;
}

const CACHE_LIMIT = 65536;

export interface ClientTable {
  lookup(address: string): RadiusClient | undefined;
  all(): readonly RadiusClient[];
}

/**
 * Flag/env clients win over a stored client with the same address. `fixedSeen`: the flag/env
 * clients (by address) that have sent a Message-Authenticator, as remembered in the store.
 */
export function buildClientTable(fixed: readonly ClientSpec[], fixedSource: 'flag' | 'env', stored: readonly StoredClient[], fixedSeen: ReadonlySet<string> = new Set()): ClientTable {
  const byKey = new Map<string, RadiusClient>();
  for (const s of stored) {
    const cidr = parseCidr(s.address);
    if (cidr === null) continue;
    byKey.set(cidr.text, { name: s.name, cidr, secret: s.secret, requireMessageAuthenticator: s.requireMessageAuthenticator, messageAuthenticatorSeen: s.messageAuthenticatorSeen, firstFactor: s.firstFactor ?? undefined, source: 'db', id: s.id });
  }
  for (const f of fixed) {
    const cidr = parseCidr(f.address);
    if (cidr === null) continue;
    byKey.set(cidr.text, { name: cidr.text, cidr, secret: Buffer.from(f.secret, 'utf8'), requireMessageAuthenticator: 'auto', messageAuthenticatorSeen: fixedSeen.has(cidr.text), firstFactor: undefined, source: fixedSource, id: undefined });
  }
  const ordered = [...byKey.values()].sort((a, b) => b.cidr.prefix - a.cidr.prefix);
  // Most packets come from a handful of NAS addresses: remember each answer, bounded so that a
  // flood from random sources cannot grow it without limit.
  const cache = new Map<string, RadiusClient | null>();
  return {
    lookup(address) {
      const hit = cache.get(address);
      if (hit !== undefined) return hit ?? undefined;
      const found = ordered.find((c) => cidrContains(c.cidr, address)) ?? null;
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(address, found);
      return found ?? undefined;
    },
    all: () => ordered,
  };
}

export type MaVerdict = { accept: true; firstSeen: boolean } | { accept: false; reason: 'bad_message_authenticator' | 'missing_message_authenticator' };

/** Whether a request's Message-Authenticator state is acceptable for this client. Pure. */
export function messageAuthenticatorVerdict(client: Pick<RadiusClient, 'requireMessageAuthenticator' | 'messageAuthenticatorSeen'>, ma: MaCheck): MaVerdict {
  if (ma === 'invalid') return { accept: false, reason: 'bad_message_authenticator' };
  if (ma === 'valid') return { accept: true, firstSeen: client.requireMessageAuthenticator === 'auto' && !client.messageAuthenticatorSeen };
  const required = client.requireMessageAuthenticator === 'yes' || (client.requireMessageAuthenticator === 'auto' && client.messageAuthenticatorSeen);
  return required ? { accept: false, reason: 'missing_message_authenticator' } : { accept: true, firstSeen: false };
}
