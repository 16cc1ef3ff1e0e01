// RADIUS wire format (RFC 2865 3, 5; RFC 2548 VSAs): Buffer <-> packet, signing and checks.
// Pure and allocation-light: decoded attribute values are views into the received buffer.
//
// The `radius` npm package is not used on this path: it mutates its input, corrupts tagged
// attributes, sends salt-encrypted attributes in clear and compares authenticators in variable
// time (see DESIGN.md). The test suite uses it as an independent oracle for this codec.
import { messageAuthenticator, responseAuthenticator, safeEqual } from './crypto.js';

export const Code = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
} as const;

export const CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'Access-Request',
  2: 'Access-Accept',
  3: 'Access-Reject',
  4: 'Accounting-Request',
  5: 'Accounting-Response',
  11: 'Access-Challenge',
  12: 'Status-Server',
};

/** Attribute types this proxy reads or rewrites; everything else passes through untouched. */
export const Attr = {
  UserName: 1,
  UserPassword: 2,
  ChapPassword: 3,
  NasIpAddress: 4,
  NasPort: 5,
  FramedIpAddress: 8,
  ReplyMessage: 18,
  State: 24,
  VendorSpecific: 26,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionId: 44,
  AcctSessionTime: 46,
  AcctInputGigawords: 52,
  AcctOutputGigawords: 53,
  ChapChallenge: 60,
  TunnelPassword: 69,
  EapMessage: 79,
  MessageAuthenticator: 80,
  NasPortId: 87,
  NasIpv6Address: 95,
} as const;

export const VENDOR_MICROSOFT = 311;
export const MsAttr = {
  ChapResponse: 1,
  ChapChallenge: 11,
  ChapMppeKeys: 12,
  MppeSendKey: 16,
  MppeRecvKey: 17,
  Chap2Response: 25,
  Chap2Success: 26,
} as const;

export const HEADER_LEN = 20;
export const MAX_PACKET = 4096;
const MA_ATTR_LEN = 18;

export interface Attribute {
  type: number;
  value: Buffer;
}

export interface RadiusPacket {
  code: number;
  identifier: number;
  authenticator: Buffer;
  attributes: Attribute[];
  /** Offset of the Message-Authenticator value in the wire buffer, or -1 when absent. */
  maOffset: number;
}

export type DecodeErrorReason =
  | 'too_short'
  | 'length_mismatch'
  | 'bad_attribute_length'
  | 'bad_message_authenticator'
  | 'duplicate_message_authenticator';

export class RadiusDecodeError extends Error {
  constructor(
    readonly reason: DecodeErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'RadiusDecodeError';
  }
}

/** Decode and validate the framing of one datagram. Bytes after the Length field are ignored (RFC 2865 3). */
export function decodePacket(buf: Buffer): RadiusPacket {
  if (buf.length < HEADER_LEN) throw new RadiusDecodeError('too_short', `packet of ${buf.length} bytes is shorter than the 20-byte header`);
  const length = buf.readUInt16BE(2);
  if (length < HEADER_LEN || length > MAX_PACKET) throw new RadiusDecodeError('length_mismatch', `Length field ${length} is outside 20..4096`);
  if (length > buf.length) throw new RadiusDecodeError('length_mismatch', `Length field ${length} exceeds the ${buf.length} bytes received`);
  const attributes: Attribute[] = [];
  let maOffset = -1;
  let off = HEADER_LEN;
  while (off < length) {
    if (off + 2 > length) throw new RadiusDecodeError('bad_attribute_length', `attribute header truncated at offset ${off}`);
    const type = buf[off]!;
    const alen = buf[off + 1]!;
    if (alen < 2 || off + alen > length) throw new RadiusDecodeError('bad_attribute_length', `attribute ${type} at offset ${off} has length ${alen}`);
    if (type === Attr.MessageAuthenticator) {
      if (alen !== MA_ATTR_LEN) throw new RadiusDecodeError('bad_message_authenticator', `Message-Authenticator has length ${alen}, not 18`);
      if (maOffset !== -1) throw new RadiusDecodeError('duplicate_message_authenticator', 'more than one Message-Authenticator');
      maOffset = off + 2;
    }
    attributes.push({ type, value: buf.subarray(off + 2, off + alen) });
    off += alen;
  }
  return { code: buf[0]!, identifier: buf[1]!, authenticator: buf.subarray(4, 20), attributes, maOffset };
}

export function getAttr(attrs: readonly Attribute[], type: number): Buffer | undefined {
  for (const a of attrs) if (a.type === type) return a.value;
  return undefined;
}

export function getString(attrs: readonly Attribute[], type: number): string | undefined {
  const v = getAttr(attrs, type);
  return v === undefined ? undefined : v.toString('utf8');
}

/** Vendor-Specific (26) value: Vendor-Id(4) followed by vendor TLVs (RFC 2865 5.26 recommended format). */
export function decodeVsa(value: Buffer): { vendor: number; subs: Attribute[] } | null {
  if (value.length < 6) return null;
  const vendor = value.readUInt32BE(0);
  const subs: Attribute[] = [];
  let off = 4;
  while (off < value.length) {
    if (off + 2 > value.length) return null;
    const t = value[off]!;
    const l = value[off + 1]!;
    if (l < 2 || off + l > value.length) return null;
    subs.push({ type: t, value: value.subarray(off + 2, off + l) });
    off += l;
  }
  return { vendor, subs };
}

export function encodeVsa(vendor: number, subs: readonly Attribute[]): Buffer {
  let len = 4;
  for (const s of subs) len += 2 + s.value.length;
  const out = Buffer.allocUnsafe(len);
  out.writeUInt32BE(vendor, 0);
  let off = 4;
  for (const s of subs) {
    if (s.value.length > 247) throw new RangeError(`vendor attribute ${vendor}/${s.type} longer than 247 bytes`);
    out[off] = s.type;
    out[off + 1] = s.value.length + 2;
    s.value.copy(out, off + 2);
    off += 2 + s.value.length;
  }
  return out;
}

/** Find a vendor attribute among the VSAs of a packet. */
export function getVendorAttr(attrs: readonly Attribute[], vendor: number, type: number): Buffer | undefined {
  for (const a of attrs) {
    if (a.type !== Attr.VendorSpecific) continue;
    const vsa = decodeVsa(a.value);
    if (vsa === null || vsa.vendor !== vendor) continue;
    for (const s of vsa.subs) if (s.type === type) return s.value;
  }
  return undefined;
}

/** Split a long text into Reply-Message-sized pieces of at most 253 bytes, each valid UTF-8. */
export function textAttributes(type: number, text: string): Attribute[] {
  const buf = Buffer.from(text, 'utf8');
  const out: Attribute[] = [];
  let i = 0;
  while (i < buf.length) {
    let end = Math.min(i + 253, buf.length);
    // Never cut inside a character: back off over continuation bytes (10xxxxxx).
    if (end < buf.length) while (end > i && (buf[end]! & 0xc0) === 0x80) end--;
    out.push({ type, value: buf.subarray(i, end) });
    i = end;
  }
  return out;
}

interface Layout {
  buf: Buffer;
  maOffset: number;
}

/** Lay out a packet; with `withMa` a zeroed Message-Authenticator goes first (BlastRADIUS advice). */
function layout(code: number, identifier: number, authenticator: Buffer, attributes: readonly Attribute[], withMa: boolean): Layout {
  let len = HEADER_LEN + (withMa ? MA_ATTR_LEN : 0);
  for (const a of attributes) {
    if (a.type === Attr.MessageAuthenticator) continue;
    if (a.value.length > 253) throw new RangeError(`attribute ${a.type} value of ${a.value.length} bytes exceeds 253`);
    len += 2 + a.value.length;
  }
  if (len > MAX_PACKET) throw new RangeError(`packet of ${len} bytes exceeds 4096`);
  const buf = Buffer.allocUnsafe(len);
  buf[0] = code;
  buf[1] = identifier;
  buf.writeUInt16BE(len, 2);
  authenticator.copy(buf, 4, 0, 16);
  let off = HEADER_LEN;
  let maOffset = -1;
  if (withMa) {
    buf[off] = Attr.MessageAuthenticator;
    buf[off + 1] = MA_ATTR_LEN;
    buf.fill(0, off + 2, off + MA_ATTR_LEN);
    maOffset = off + 2;
    off += MA_ATTR_LEN;
  }
  for (const a of attributes) {
    if (a.type === Attr.MessageAuthenticator) continue;
    buf[off] = a.type;
    buf[off + 1] = a.value.length + 2;
    a.value.copy(buf, off + 2);
    off += 2 + a.value.length;
  }
  return { buf, maOffset };
}

/**
 * Encode a request (Access-Request, Status-Server) with the given Request Authenticator.
 * Any Message-Authenticator in `attributes` is replaced by a freshly computed one when `withMa`.
 */
export function encodeRequest(code: number, identifier: number, authenticator: Buffer, attributes: readonly Attribute[], secret: Buffer, withMa = true): Buffer {
  const { buf, maOffset } = layout(code, identifier, authenticator, attributes, withMa);
  if (maOffset >= 0) messageAuthenticator(buf, maOffset, authenticator, secret).copy(buf, maOffset);
  return buf;
}

/**
 * Encode an Accounting-Request (RFC 2866 3): its Request Authenticator is MD5 over the packet with
 * sixteen zero octets in its place, then the secret. No Message-Authenticator: the authenticator
 * already covers every byte.
 */
export function encodeAccountingRequest(identifier: number, attributes: readonly Attribute[], secret: Buffer): Buffer {
  const { buf } = layout(Code.AccountingRequest, identifier, ZERO_AUTHENTICATOR, attributes, false);
  responseAuthenticator(buf, ZERO_AUTHENTICATOR, secret).copy(buf, 4);
  return buf;
}

/** Whether an Accounting-Request's Request Authenticator was made with this secret (RFC 2866 3). */
export function checkAccountingRequest(buf: Buffer, p: RadiusPacket, secret: Buffer): boolean {
  return safeEqual(responseAuthenticator(wireBytes(buf), ZERO_AUTHENTICATOR, secret), p.authenticator);
}

const ZERO_AUTHENTICATOR = Buffer.alloc(16);

/** Encode a response signed for the request it answers: Message-Authenticator, then Response Authenticator. */
export function encodeResponse(code: number, identifier: number, requestAuthenticator: Buffer, attributes: readonly Attribute[], secret: Buffer, withMa = true): Buffer {
  const { buf, maOffset } = layout(code, identifier, requestAuthenticator, attributes, withMa);
  if (maOffset >= 0) messageAuthenticator(buf, maOffset, requestAuthenticator, secret).copy(buf, maOffset);
  responseAuthenticator(buf, requestAuthenticator, secret).copy(buf, 4);
  return buf;
}

/** The packet without the padding a sender may add after Length (RFC 2865 3). */
function wireBytes(buf: Buffer): Buffer {
  const len = buf.readUInt16BE(2);
  return len === buf.length ? buf : buf.subarray(0, len);
}

export type MaCheck = 'absent' | 'valid' | 'invalid';

/** Message-Authenticator of a request, keyed with its own Request Authenticator. */
export function checkRequestMa(buf: Buffer, p: RadiusPacket, secret: Buffer): MaCheck {
  if (p.maOffset < 0) return 'absent';
  const wire = wireBytes(buf);
  const expected = messageAuthenticator(wire, p.maOffset, p.authenticator, secret);
  return safeEqual(expected, wire.subarray(p.maOffset, p.maOffset + 16)) ? 'valid' : 'invalid';
}

/** A response is genuine when its Response Authenticator (and Message-Authenticator, if any) match. */
export function checkResponse(buf: Buffer, p: RadiusPacket, requestAuthenticator: Buffer, secret: Buffer): { authentic: boolean; ma: MaCheck } {
  const wire = wireBytes(buf);
  const authentic = safeEqual(responseAuthenticator(wire, requestAuthenticator, secret), p.authenticator);
  if (p.maOffset < 0) return { authentic, ma: 'absent' };
  const expected = messageAuthenticator(wire, p.maOffset, requestAuthenticator, secret);
  return { authentic, ma: safeEqual(expected, wire.subarray(p.maOffset, p.maOffset + 16)) ? 'valid' : 'invalid' };
}
