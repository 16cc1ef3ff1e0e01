// The one canonical form of a user name, used wherever a name decides something: the second
// factor, locks, push limits, pending approvals, stored users. RADIUS clients and Windows pass
// names as people type them, and the server that checks the password (LDAP, Active Directory,
// NPS) often ignores case and surrounding spaces: every spelling it accepts must land on the same
// enrolled user, or a spelling would skip that user's factor and lock.
//
//   - Unicode NFKC (full-width and other compatibility forms fold to their plain letters), then
//     surrounding whitespace trimmed and lower case.
//   - Refused: an empty name, control and format characters (including zero-width and bidi
//     marks), whitespace inside the name, more than 253 bytes (the RADIUS User-Name limit).
//   - Optionally (`--strip-realm yes`) a realm or domain is removed: `alice@corp.example`,
//     `CORP\alice` and `CORP\alice@corp.example` all become `alice`.
// Pure; imports nothing from the app.

export type CanonicalName = { ok: true; name: string } | { ok: false; problem: string };

export interface NameRules {
  /** Remove `@realm` suffixes and `DOMAIN\` prefixes. */
  stripRealm: boolean;
}

const MAX_BYTES = 253;
/** Control (Cc), format (Cf: zero-width, bidi), separators (Z) and any other whitespace. */
const REFUSED = /[\p{Cc}\p{Cf}\p{Z}\s]/u;

export function canonicalUsername(raw: string, rules: NameRules = { stripRealm: false }): CanonicalName {
  let name = raw.normalize('NFKC').trim();
  if (name === '') return { ok: false, problem: 'the user name is empty' };
  if (REFUSED.test(name)) return { ok: false, problem: 'the user name contains whitespace or control characters' };
  if (rules.stripRealm) {
    const slash = name.indexOf('\\');
    if (slash >= 0) name = name.slice(slash + 1);
    const at = name.lastIndexOf('@');
    if (at >= 0) name = name.slice(0, at);
    if (name === '') return { ok: false, problem: 'the user name is empty without its realm' };
  }
  name = name.toLowerCase();
  if (Buffer.byteLength(name, 'utf8') > MAX_BYTES) return { ok: false, problem: `the user name is longer than ${MAX_BYTES} bytes` };
  return { ok: true, name };
}

/**
 * The canonical name, or the input lower-cased when it has none (for lookups of names that can
 * never be valid: they then match nothing that was stored through canonicalUsername).
 */
export function lookupName(raw: string, rules?: NameRules): string {
  const c = canonicalUsername(raw, rules);
  return c.ok ? c.name : `\u0000${raw}`;
}
