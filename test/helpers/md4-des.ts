/**
 * Pure-TypeScript MD4 (RFC 1320) and single-block DES encryption (FIPS 46-3).
 *
 * Node 20 ships OpenSSL 3, which only exposes MD4 and DES through the
 * "legacy" provider. MS-CHAP needs both, and the test helpers must not depend
 * on `--openssl-legacy-provider`, so both are implemented here directly from
 * the specifications. These are for test fixtures only: slow, not
 * constant-time, and DES/MD4 are broken anyway.
 */

// ---------------------------------------------------------------------------
// MD4 (RFC 1320)
// ---------------------------------------------------------------------------

function rotl32(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

/** Word order for rounds 2 and 3 (RFC 1320 section 3.4). */
const MD4_R2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15] as const;
const MD4_R3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15] as const;
const MD4_R1_SHIFTS = [3, 7, 11, 19] as const;
const MD4_R2_SHIFTS = [3, 5, 9, 13] as const;
const MD4_R3_SHIFTS = [3, 9, 11, 15] as const;

/** MD4 message digest (RFC 1320); returns 16 bytes. */
export function md4(message: Uint8Array): Buffer {
  const bitLength = BigInt(message.length) * 8n;
  // Step 1/2: pad with 0x80 then zeros to 56 mod 64, then 64-bit LE length.
  const padLen = (message.length % 64 < 56 ? 56 : 120) - (message.length % 64);
  const buf = Buffer.alloc(message.length + padLen + 8);
  buf.set(message, 0);
  buf[message.length] = 0x80;
  buf.writeBigUInt64LE(bitLength & 0xffffffffffffffffn, message.length + padLen);

  // Step 3: initialise the MD buffer.
  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;

  const x = new Array<number>(16).fill(0);
  const F = (p: number, q: number, r: number): number => ((p & q) | (~p & r)) >>> 0;
  const G = (p: number, q: number, r: number): number => ((p & q) | (p & r) | (q & r)) >>> 0;
  const H = (p: number, q: number, r: number): number => (p ^ q ^ r) >>> 0;

  // Step 4: process each 16-word block.
  for (let off = 0; off < buf.length; off += 64) {
    for (let j = 0; j < 16; j++) x[j] = buf.readUInt32LE(off + 4 * j);
    const aa = a;
    const bb = b;
    const cc = c;
    const dd = d;

    // Each round applies its operation to (a,b,c,d), (d,a,b,c), (c,d,a,b),
    // (b,c,d,a) in turn; `step` rotates the roles after every operation.
    const round = (
      fn: (p: number, q: number, r: number) => number,
      order: readonly number[],
      shifts: readonly number[],
      constant: number,
    ): void => {
      for (let i = 0; i < 16; i++) {
        const k = order[i]!;
        const s = shifts[i % 4]!;
        const t = rotl32((a + fn(b, c, d) + x[k]! + constant) >>> 0, s);
        // rotate roles: new (a,b,c,d) = (d, t, b, c)
        a = d;
        d = c;
        c = b;
        b = t;
      }
    };
    round(F, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], MD4_R1_SHIFTS, 0);
    round(G, MD4_R2_ORDER, MD4_R2_SHIFTS, 0x5a827999);
    round(H, MD4_R3_ORDER, MD4_R3_SHIFTS, 0x6ed9eba1);

    a = (a + aa) >>> 0;
    b = (b + bb) >>> 0;
    c = (c + cc) >>> 0;
    d = (d + dd) >>> 0;
  }

  // Step 5: output A, B, C, D little-endian.
  const out = Buffer.alloc(16);
  out.writeUInt32LE(a, 0);
  out.writeUInt32LE(b, 4);
  out.writeUInt32LE(c, 8);
  out.writeUInt32LE(d, 12);
  return out;
}

// ---------------------------------------------------------------------------
// DES (FIPS 46-3), encryption of one 64-bit block, ECB.
// All tables use the standard's 1-based bit numbering, bit 1 = MSB of byte 0.
// ---------------------------------------------------------------------------

const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32,
  24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47,
  39, 31, 23, 15, 7,
] as const;

/** IP^-1, derived from IP so it cannot disagree with it. */
const FP: readonly number[] = (() => {
  const inv = new Array<number>(64).fill(0);
  IP.forEach((src, i) => {
    inv[src - 1] = i + 1;
  });
  return inv;
})();

const E = [
  32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18, 19, 20, 21, 20, 21,
  22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
] as const;

const P = [
  16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4,
  25,
] as const;

const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, 63, 55,
  47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
] as const;

const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52, 31, 37, 47, 55, 30,
  40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
] as const;

const KEY_SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1] as const;

/** S-boxes S1..S8, each 4 rows x 16 columns, flattened row-major. */
const SBOX: readonly (readonly number[])[] = [
  [
    14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8, 4, 1,
    14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
  ],
  [
    15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5, 0, 14,
    7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
  ],
  [
    10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1, 13, 6,
    4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
  ],
  [
    7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9, 10, 6,
    9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
  ],
  [
    2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6, 4, 2,
    1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
  ],
  [
    12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8, 9, 14,
    15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
  ],
  [
    4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6, 1, 4,
    11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
  ],
  [
    13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2, 7, 11,
    4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
  ],
];

type Bits = number[];

function bytesToBits(bytes: Uint8Array): Bits {
  const bits: Bits = [];
  for (const byte of bytes) {
    for (let i = 7; i >= 0; i--) bits.push((byte >> i) & 1);
  }
  return bits;
}

function bitsToBytes(bits: Bits): Buffer {
  const out = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < bits.length; i++) {
    if (bits[i]) out[i >> 3] = out[i >> 3]! | (0x80 >> (i & 7));
  }
  return out;
}

/** Apply a 1-based permutation/selection table to a bit array. */
function permute(bits: Bits, table: readonly number[]): Bits {
  return table.map((pos) => bits[pos - 1]!);
}

function rotateLeft(bits: Bits, n: number): Bits {
  return bits.slice(n).concat(bits.slice(0, n));
}

/** The 16 48-bit round keys of the DES key schedule. */
function desKeySchedule(key8: Uint8Array): Bits[] {
  const k = permute(bytesToBits(key8), PC1);
  let c = k.slice(0, 28);
  let d = k.slice(28, 56);
  const subkeys: Bits[] = [];
  for (const shift of KEY_SHIFTS) {
    c = rotateLeft(c, shift);
    d = rotateLeft(d, shift);
    subkeys.push(permute(c.concat(d), PC2));
  }
  return subkeys;
}

/** The cipher function f(R, K). */
function desF(r: Bits, subkey: Bits): Bits {
  const x = permute(r, E).map((bit, i) => bit ^ subkey[i]!);
  const out: Bits = [];
  for (let s = 0; s < 8; s++) {
    const b = x.slice(6 * s, 6 * s + 6);
    const row = (b[0]! << 1) | b[5]!;
    const col = (b[1]! << 3) | (b[2]! << 2) | (b[3]! << 1) | b[4]!;
    const v = SBOX[s]![row * 16 + col]!;
    out.push((v >> 3) & 1, (v >> 2) & 1, (v >> 1) & 1, v & 1);
  }
  return permute(out, P);
}

/**
 * DES-encrypt one 8-byte block with an 8-byte key (parity bits ignored).
 */
export function desEncryptBlock(key8: Uint8Array, block8: Uint8Array): Buffer {
  if (key8.length !== 8) throw new RangeError(`DES key must be 8 bytes, got ${key8.length}`);
  if (block8.length !== 8) throw new RangeError(`DES block must be 8 bytes, got ${block8.length}`);
  const subkeys = desKeySchedule(key8);
  const ip = permute(bytesToBits(block8), IP);
  let l = ip.slice(0, 32);
  let r = ip.slice(32, 64);
  for (const k of subkeys) {
    const f = desF(r, k);
    const newR = l.map((bit, i) => bit ^ f[i]!);
    l = r;
    r = newR;
  }
  // Pre-output block is R16 L16 (no swap after the last round).
  return bitsToBytes(permute(r.concat(l), FP));
}

/**
 * Expand a 7-byte (56-bit) key to the 8-byte DES form: each output byte
 * carries 7 key bits in its high bits and an (odd) parity bit as its LSB.
 */
export function desExpandKey56(key7: Uint8Array): Buffer {
  if (key7.length !== 7) throw new RangeError(`56-bit DES key must be 7 bytes, got ${key7.length}`);
  const bits = bytesToBits(key7);
  const out = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) {
    let byte = 0;
    let ones = 0;
    for (let j = 0; j < 7; j++) {
      const bit = bits[7 * i + j]!;
      byte = (byte << 1) | bit;
      ones += bit;
    }
    out[i] = (byte << 1) | (ones % 2 === 0 ? 1 : 0);
  }
  return out;
}
