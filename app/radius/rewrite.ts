// Attribute rewriting between the two legs of the proxy. Values hidden with a shared secret
// (User-Password, Tunnel-Password, MS-MPPE-Send/Recv-Key, MS-CHAP-MPPE-Keys) are decrypted with
// one leg's secret and authenticator and re-encrypted for the other; everything else passes
// through byte for byte. Pure: salts come from the caller.
import { hideFixed, hidePassword, saltDecrypt, saltEncrypt, unhideFixed } from './crypto.js';
import { Attr, type Attribute, decodeVsa, encodeVsa, MsAttr, VENDOR_MICROSOFT } from './codec.js';

export interface Leg {
  secret: Buffer;
  /** Request Authenticator of the request on this leg. */
  authenticator: Buffer;
}

export type SaltSource = () => Buffer;

/** Salts for Tunnel-Password and MS-MPPE keys: random, with the high bit set (RFC 2868 3.5). */
export function saltSource(random: (size: number) => Buffer): SaltSource {
  return () => {
    const s = random(2);
    s[0] = s[0]! | 0x80;
    return s;
  };
}

function reencryptTunnelPassword(value: Buffer, from: Leg, to: Leg, salt: SaltSource): Buffer {
  // Tag(1) Salt(2) String (RFC 2868 3.5).
  const plain = saltDecrypt(value.subarray(1), from.secret, from.authenticator);
  return Buffer.concat([value.subarray(0, 1), saltEncrypt(plain, to.secret, to.authenticator, salt())]);
}

function reencryptVsa(value: Buffer, from: Leg, to: Leg, salt: SaltSource): Buffer {
  const vsa = decodeVsa(value);
  if (vsa === null || vsa.vendor !== VENDOR_MICROSOFT) return value;
  let changed = false;
  const subs = vsa.subs.map((s): Attribute => {
    if (s.type === MsAttr.MppeSendKey || s.type === MsAttr.MppeRecvKey) {
      changed = true;
      return { type: s.type, value: saltEncrypt(saltDecrypt(s.value, from.secret, from.authenticator), to.secret, to.authenticator, salt()) };
    }
    if (s.type === MsAttr.ChapMppeKeys) {
      changed = true;
      return { type: s.type, value: hideFixed(unhideFixed(s.value, from.secret, from.authenticator), to.secret, to.authenticator) };
    }
    return s;
  });
  return changed ? encodeVsa(vsa.vendor, subs) : value;
}

/** An attribute as the other leg must see it: salt-encrypted values re-encrypted, others as they are. */
function reencrypt(a: Attribute, from: Leg, to: Leg, salt: SaltSource): Attribute {
  if (a.type === Attr.TunnelPassword) return { type: a.type, value: reencryptTunnelPassword(a.value, from, to, salt) };
  if (a.type === Attr.VendorSpecific) return { type: a.type, value: reencryptVsa(a.value, from, to, salt) };
  return a;
}

/**
 * Attributes for the downstream Access-Request. `password` is the client's decrypted
 * User-Password (or the part of it left after an appended code was split off).
 * CHAP without CHAP-Challenge gets the client's Request Authenticator as CHAP-Challenge,
 * since the downstream request carries a new authenticator (RFC 2865 5.3).
 * The client's Proxy-State is not forwarded: it is the client's own state, given back to it
 * from memory with the answer (clientResponseAttributes), and none of the downstream server's
 * business (a client could otherwise steer what the server echoes back).
 */
export function downstreamRequestAttributes(attrs: readonly Attribute[], from: Leg, to: Leg, password: Buffer | undefined, salt: SaltSource): Attribute[] {
  const out: Attribute[] = [];
  let chap = false;
  let chapChallenge = false;
  for (const a of attrs) {
    switch (a.type) {
      case Attr.MessageAuthenticator:
      case Attr.ProxyState:
        break;
      case Attr.UserPassword:
        if (password !== undefined) out.push({ type: a.type, value: hidePassword(password, to.secret, to.authenticator) });
        break;
      default:
        if (a.type === Attr.ChapPassword) chap = true;
        if (a.type === Attr.ChapChallenge) chapChallenge = true;
        out.push(reencrypt(a, from, to, salt));
    }
  }
  if (chap && !chapChallenge) out.push({ type: Attr.ChapChallenge, value: from.authenticator });
  return out;
}

/**
 * Attributes of a downstream answer, re-encrypted for the client. The downstream server's
 * Proxy-State attributes are removed and the client's own (in order) appended, so a client that
 * is itself a proxy gets back exactly what it sent (RFC 2865 5.33).
 */
export function clientResponseAttributes(attrs: readonly Attribute[], from: Leg, to: Leg, clientProxyState: readonly Attribute[], salt: SaltSource): Attribute[] {
  const out: Attribute[] = [];
  for (const a of attrs) {
    switch (a.type) {
      case Attr.MessageAuthenticator:
      case Attr.ProxyState:
        break;
      default:
        out.push(reencrypt(a, from, to, salt));
    }
  }
  for (const p of clientProxyState) out.push(p);
  return out;
}

export function proxyStateOf(attrs: readonly Attribute[]): Attribute[] {
  return attrs.filter((a) => a.type === Attr.ProxyState);
}
