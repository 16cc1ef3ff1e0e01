// Realms: which pool a user name's requests go to, and what name the downstream server sees.
// `alice@corp.example` (the last @) and `CORP\alice` carry a realm; realm names match without
// regard to case. A name whose realm is not configured, or that has none, goes to the DEFAULT
// realm's pool when one is configured, else to the default pool. Stripping changes only what the
// downstream server is sent; who the second factor is for follows the engine's own rules
// (--strip-realm), so that one person is one user whichever way the NAS spells the name.
import { DEFAULT_POOL } from './pools.js';

export interface RealmSpec {
  /** The realm as written after @ or before \; `DEFAULT` for everything else. */
  name: string;
  pool: string;
  /** Send the name without its realm downstream. */
  strip: boolean;
}

export const DEFAULT_REALM = 'DEFAULT';

/** A realm name: letters, digits, dots and dashes (a DNS name or NetBIOS domain), or DEFAULT. */
export const REALM_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$/;

export function splitRealm(name: string): { user: string; realm: string | undefined } {
  const at = name.lastIndexOf('@');
  if (at > 0 && at < name.length - 1) return { user: name.slice(0, at), realm: name.slice(at + 1) };
  const bs = name.indexOf('\\');
  if (bs > 0 && bs < name.length - 1) return { user: name.slice(bs + 1), realm: name.slice(0, bs) };
  return { user: name, realm: undefined };
}

export interface Route {
  pool: string;
  /** The configured realm that matched (DEFAULT included), if any. */
  realm: string | undefined;
  /** The User-Name to send downstream (undefined: unchanged). */
  rewrite: string | undefined;
}

export interface RealmTable {
  route(userName: string): Route;
  all(): readonly RealmSpec[];
}

export function buildRealmTable(realms: readonly RealmSpec[]): RealmTable {
  const byName = new Map<string, RealmSpec>();
  for (const r of realms) byName.set(r.name.toLowerCase(), r);
  const fallback = byName.get(DEFAULT_REALM.toLowerCase());
  return {
    route(userName) {
      const { user, realm } = splitRealm(userName);
      const hit = realm !== undefined ? byName.get(realm.toLowerCase()) : undefined;
      if (hit !== undefined && hit !== fallback) return { pool: hit.pool, realm: hit.name, rewrite: hit.strip ? user : undefined };
      if (fallback !== undefined) return { pool: fallback.pool, realm: fallback.name, rewrite: fallback.strip && realm !== undefined ? user : undefined };
      return { pool: DEFAULT_POOL, realm: undefined, rewrite: undefined };
    },
    all: () => [...byName.values()],
  };
}
