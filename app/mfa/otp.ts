// The one-time-password math, pure: HOTP (RFC 4226), TOTP (RFC 6238), Base32 (RFC 4648) and
// otpauth:// URIs. No clock, store or rng here: callers pass time and seeds in.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type OtpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface TotpParams {
  algorithm: OtpAlgorithm;
  digits: 6 | 8;
  /** Seconds per step. */
  period: number;
}

export const DEFAULT_TOTP: TotpParams = { algorithm: 'SHA1', digits: 6, period: 30 };

const HMAC_NAME: Record<OtpAlgorithm, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

/** RFC 4226 5.3: dynamic truncation of HMAC(secret, counter) to `digits` decimal digits. */
export function hotp(secret: Buffer, counter: number, digits: number, algorithm: OtpAlgorithm = 'SHA1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(HMAC_NAME[algorithm], secret).update(msg).digest();
  const off = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[off]! & 0x7f) << 24) | (mac[off + 1]! << 16) | (mac[off + 2]! << 8) | mac[off + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

export function totpStep(nowMs: number, period: number): number {
  return Math.floor(nowMs / 1000 / period);
}

export function totp(secret: Buffer, nowMs: number, p: TotpParams = DEFAULT_TOTP): string {
  return hotp(secret, totpStep(nowMs, p.period), p.digits, p.algorithm);
}

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'wrong' | 'replayed' };

/**
 * Find the step whose code `matches` within `window` steps either side of now (clock drift).
 * Every candidate is tried (no early exit), so the time taken does not depend on which matched.
 * A match at or before `lastUsedStep` is a replay: each code is accepted once, and so is no
 * older one.
 */
export function checkTotp(secret: Buffer, matches: (code: string) => boolean, nowMs: number, p: TotpParams, lastUsedStep: number, window = 1): TotpCheck {
  const now = totpStep(nowMs, p.period);
  let fresh = -1;
  let used = false;
  for (let step = now - window; step <= now + window; step++) {
    if (step < 0) continue;
    if (!matches(hotp(secret, step, p.digits, p.algorithm))) continue;
    // The newest unused step wins, should a code (rarely) match more than one step.
    if (step > lastUsedStep) fresh = step;
    else used = true;
  }
  if (fresh >= 0) return { ok: true, step: fresh };
  return { ok: false, reason: used ? 'replayed' : 'wrong' };
}

/** Constant-time comparison of a typed code with a candidate. */
export function codeEquals(typed: string): (candidate: string) => boolean {
  const t = Buffer.from(typed, 'utf8');
  return (candidate) => {
    const c = Buffer.from(candidate, 'utf8');
    return c.length === t.length && timingSafeEqual(c, t);
  };
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=-]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error(`invalid base32 character '${ch}'`);
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The Key URI Format understood by Google Authenticator, Microsoft Authenticator, FreeOTP... */
export function otpauthUri(issuer: string, account: string, secret: Buffer, p: TotpParams): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const q = new URLSearchParams({ secret: base32Encode(secret), issuer, algorithm: p.algorithm, digits: String(p.digits), period: String(p.period) });
  return `otpauth://totp/${label}?${q.toString().replace(/\+/g, '%20')}`;
}
