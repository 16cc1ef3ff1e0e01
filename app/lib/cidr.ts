// IPv4/IPv6 addresses and CIDR prefixes, for matching RADIUS clients by source address.
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  prefix: number;
  /** Network bits: a number for IPv4, a bigint for IPv6. */
  net: number | bigint;
  /** Canonical text, e.g. `10.0.0.0/8`. */
  text: string;
}

function v4ToNumber(s: string): number {
  const p = s.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

function numberToV4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function v6ToBigInt(s: string): bigint {
  let head = s;
  let tail = '';
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
  }
  const expand = (part: string): number[] => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const n = v4ToNumber(g);
        groups.push(n >>> 16, n & 0xffff);
      } else groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const h = expand(head);
  const t = expand(tail);
  const groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

function bigIntToV6(v: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}

function maskV4(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
function maskV6(prefix: number): bigint {
  return prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
}

/**
 * Parse `ADDR` or `ADDR/PREFIX`. A bare address is a single host, except `0.0.0.0` which, as in
 * the proxy Gatehouse replaces, means any IPv4 client (and `::` any IPv6 client).
 */
export function parseCidr(input: string): Cidr | null {
  const s = input.trim();
  const slash = s.indexOf('/');
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const prefixText = slash >= 0 ? s.slice(slash + 1) : undefined;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  if (isIPv4(addr)) {
    const prefix = prefixText === undefined ? (addr === '0.0.0.0' ? 0 : 32) : Number(prefixText);
    if (prefix > 32) return null;
    const net = (v4ToNumber(addr) & maskV4(prefix)) >>> 0;
    return { family: 4, prefix, net, text: `${numberToV4(net)}/${prefix}` };
  }
  if (isIPv6(addr) && !addr.includes('%')) {
    const prefix = prefixText === undefined ? (addr === '::' ? 0 : 128) : Number(prefixText);
    if (prefix > 128) return null;
    const net = v6ToBigInt(addr) & maskV6(prefix);
    return { family: 6, prefix, net, text: `${bigIntToV6(net)}/${prefix}` };
  }
  return null;
}

/** A source address as reported by a socket, with IPv4-mapped IPv6 turned into IPv4. */
export function normalizeAddress(addr: string): string {
  return addr.startsWith('::ffff:') && isIPv4(addr.slice(7)) ? addr.slice(7) : addr;
}

export function cidrContains(c: Cidr, addr: string): boolean {
  if (c.family === 4) {
    if (!isIPv4(addr)) return false;
    return ((v4ToNumber(addr) & maskV4(c.prefix)) >>> 0) === c.net;
  }
  if (!isIPv6(addr)) return false;
  return (v6ToBigInt(addr) & maskV6(c.prefix)) === c.net;
}
