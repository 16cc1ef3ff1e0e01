// RADIUS reply attributes by name, for policy rules (app/mfa/policy.ts) that add attributes to an
// Access-Accept: the VPN's group mapping (Class, Filter-Id, a vendor's group attribute), a VLAN, a
// session limit. A small dictionary of what VPNs and switches read (names and numbers as in
// FreeRADIUS's dictionaries), plus two raw forms for anything else:
//   `Attr-N = value`            a standard attribute by number, value as text or 0x hex
//   `Vendor-V-Attr-N = value`   a vendor-specific attribute (RFC 2865 section 5.26), text or hex
import { isIP } from 'node:net';
import { encodeVsa, type Attribute } from './codec.js';

type Kind = 'string' | 'octets' | 'integer' | 'ipaddr';
interface Def {
  type: number;
  vendor?: number;
  kind: Kind;
  /** RFC 2868 tunnel attributes carry a tag (always 0 here). */
  tagged?: boolean;
  /** Named integer values. */
  values?: Readonly<Record<string, number>>;
}

const SERVICE_TYPES = { 'Login-User': 1, 'Framed-User': 2, 'Callback-Login-User': 3, 'Callback-Framed-User': 4, 'Outbound-User': 5, 'Administrative-User': 6, 'NAS-Prompt-User': 7, 'Authenticate-Only': 8 };

export const DICTIONARY: Readonly<Record<string, Def>> = {
  'Service-Type': { type: 6, kind: 'integer', values: SERVICE_TYPES },
  'Framed-IP-Address': { type: 8, kind: 'ipaddr' },
  'Framed-IP-Netmask': { type: 9, kind: 'ipaddr' },
  'Filter-Id': { type: 11, kind: 'string' },
  'Reply-Message': { type: 18, kind: 'string' },
  Class: { type: 25, kind: 'octets' },
  'Session-Timeout': { type: 27, kind: 'integer' },
  'Idle-Timeout': { type: 28, kind: 'integer' },
  'Tunnel-Type': { type: 64, kind: 'integer', tagged: true, values: { PPTP: 1, L2TP: 3, GRE: 10, VLAN: 13 } },
  'Tunnel-Medium-Type': { type: 65, kind: 'integer', tagged: true, values: { IPv4: 1, IPv6: 2, 'IEEE-802': 6 } },
  'Tunnel-Private-Group-Id': { type: 81, kind: 'string', tagged: true },
  'Acct-Interim-Interval': { type: 85, kind: 'integer' },
  'Framed-Pool': { type: 88, kind: 'string' },
  'Cisco-AVPair': { type: 1, vendor: 9, kind: 'string' },
  'ASA-Group-Policy': { type: 25, vendor: 3076, kind: 'string' },
  'Juniper-Local-User-Name': { type: 1, vendor: 2636, kind: 'string' },
  'Aruba-User-Role': { type: 1, vendor: 14823, kind: 'string' },
  'Fortinet-Group-Name': { type: 1, vendor: 12356, kind: 'string' },
  'PaloAlto-User-Group': { type: 5, vendor: 25461, kind: 'string' },
};

/** Attributes a rule may not set: they belong to the protocol (and Gatehouse writes them itself). */
const PROTOCOL = new Set([1, 2, 3, 24, 26, 33, 79, 80]);

function valueBytes(def: Def, raw: string): Buffer | string {
  const unquoted = /^"(.*)"$/s.exec(raw)?.[1] ?? raw;
  switch (def.kind) {
    case 'ipaddr': {
      if (isIP(unquoted) !== 4) return `'${unquoted}' is not an IPv4 address`;
      return Buffer.from(unquoted.split('.').map(Number));
    }
    case 'integer': {
      const named = def.values?.[unquoted];
      const n = named ?? (/^\d{1,10}$/.test(unquoted) ? Number(unquoted) : NaN);
      if (!Number.isInteger(n) || n > (def.tagged ? 0xffffff : 0xffffffff)) return `'${unquoted}' is not a number${def.values ? ` or one of ${Object.keys(def.values).join(', ')}` : ''}`;
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    }
    case 'octets':
    case 'string': {
      const b = /^0x([0-9a-fA-F]{2})+$/.test(unquoted) ? Buffer.from(unquoted.slice(2), 'hex') : Buffer.from(unquoted, 'utf8');
      if (b.length === 0) return 'the value is empty';
      return b;
    }
  }
}

/**
 * One `Name = value` line as an attribute, or why not. Names are those above (any case), or the
 * raw forms `Attr-N` and `Vendor-V-Attr-N`.
 */
export function parseReplyAttribute(line: string): Attribute | string {
  const m = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.+?)\s*$/.exec(line);
  if (m === null) return `'${line.trim()}' is not Name = value`;
  const name = m[1]!;
  const known = Object.entries(DICTIONARY).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  const raw = /^Attr-(\d{1,3})$/i.exec(name);
  const vsa = /^Vendor-(\d{1,10})-Attr-(\d{1,3})$/i.exec(name);
  const def: Def | undefined = known ?? (raw ? { type: Number(raw[1]), kind: 'octets' } : vsa ? { type: Number(vsa[2]), vendor: Number(vsa[1]), kind: 'octets' } : undefined);
  if (def === undefined) return `unknown attribute ${name} (known: ${Object.keys(DICTIONARY).join(', ')}; or Attr-N, Vendor-V-Attr-N)`;
  if (def.type < 1 || def.type > 255) return `${name}: attribute numbers are 1-255`;
  if (def.vendor === undefined && PROTOCOL.has(def.type)) return `${name} cannot be set by a rule`;
  let value = valueBytes(def, m[2]!);
  if (typeof value === 'string') return `${name}: ${value}`;
  if (def.tagged) value = def.kind === 'integer' ? Buffer.concat([Buffer.from([0]), value.subarray(1)]) : value;
  if (value.length > 247) return `${name}: the value is longer than 247 bytes`;
  if (def.vendor !== undefined) return { type: 26, value: encodeVsa(def.vendor, [{ type: def.type, value }]) };
  return { type: def.type, value };
}

/** Every line of a rule's reply attributes (blank lines ignored): the attributes, or the first problem. */
export function parseReplyAttributes(text: string): { ok: true; attributes: Attribute[] } | { ok: false; problem: string } {
  const attributes: Attribute[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const a = parseReplyAttribute(line);
    if (typeof a === 'string') return { ok: false, problem: a };
    attributes.push(a);
  }
  return { ok: true, attributes };
}
