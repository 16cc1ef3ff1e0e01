// The audit hash chain, pure. Each record carries hash = HMAC-SHA256(K, prev_hash + "\n" +
// canonical JSON of the record), with K derived from the master key (HKDF, its own label), so
// that someone who can write the database but does not hold the master key cannot re-hash the
// chain after changing, inserting or removing records. The row id is part of the hashed record,
// so removing or reordering rows breaks the chain.
//
// Stores written before the chain was keyed hold records chained with plain SHA-256. They keep
// them: the first time such a store is opened, an `audit.keyed` record is appended (keyed, and
// linked to the last SHA-256 record), and from it on every record is keyed. Verification takes
// records before the first `audit.keyed` record as SHA-256 ones and every later one as keyed;
// without such a record every record must be keyed. Changing an old record breaks the link of the
// `audit.keyed` record, which cannot be re-made without the key.
import { createHmac, hash, hkdfSync } from 'node:crypto';
import type { AuditRow, UnchainedAuditRow } from '../db/queries/audit.js';

export const GENESIS_HASH = '0'.repeat(64);
/** The record that marks where a store's chain became keyed. */
export const KEYED_EVENT = 'audit.keyed';
/** A record that states the chain's length and head, written now and then and at shutdown. */
export const HEAD_EVENT = 'audit.head';

export const OUTCOMES = ['accept', 'reject', 'drop', 'challenge', 'error', 'ok'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * What a record may carry besides its fixed columns. A closed list of fields, so that no
 * password, code, shared secret or session token can be put into the audit by accident.
 */
export interface AuditDetails {
  packetId?: number;
  callingStationId?: string;
  nasIdentifier?: string;
  factor?: 'push' | 'totp' | 'none';
  pushId?: string;
  downstream?: string;
  downstreamCode?: string;
  /** The policy rule that applied to the decision (app/mfa/policy.ts). */
  policy?: string;
  /** Who checked the password, when it was not the downstream RADIUS server. */
  firstFactor?: 'directory';
  authMethod?: 'pap' | 'chap' | 'mschap' | 'mschapv2' | 'eap' | 'other';
  joined?: boolean;
  /** Number matching the Windows way: the number `picked` on the phone, or `compared` (a Notakey phone shows it). */
  numberMatching?: 'picked' | 'compared';
  appendedCode?: boolean;
  /** Which abuse limit refused a login: pushes waiting for one user, or new pushes per window. */
  limit?: 'pending' | 'rate';
  scenario?: string;
  workstation?: string;
  domain?: string;
  suppressed?: number;
  address?: string;
  name?: string;
  setting?: string;
  count?: number;
  /** How many distinct sources (a drop summary). */
  sources?: number;
  format?: string;
  message?: string;
  /** The user name as sent, when it differs from the canonical one in `username`. */
  sentUsername?: string;
  /** The realm that routed a RADIUS request (app/radius/realms.ts). */
  realm?: string;
  /** A downstream server's health state (app/radius/pools.ts). */
  state?: 'alive' | 'zombie' | 'dead';
  /** The workstation a Windows request claimed, when its agent token names another. */
  claimedWorkstation?: string;
  /** Whether the Windows credential provider hides every other sign-in option. */
  enforcement?: 'enforced' | 'not enforced';
  /** The hash a head record vouches for (its predecessor's). */
  head?: string;
  /** An admin's or API token's role (app/admin/roles.ts), and the one before a change. */
  role?: string;
  previous?: string;
  /** Who was refused what (an admin or a token outside its role): METHOD and path. */
  request?: string;
  /** A Windows sign-in the workstation decided offline (app/mfa/offline.ts), and when (ISO 8601). */
  offline?: boolean;
  at?: string;
}

/** A stored record (the row shape is the store's). */
export type AuditRecord = AuditRow;
export type UnchainedRecord = UnchainedAuditRow;

export function canonicalRecord(r: UnchainedRecord): string {
  return JSON.stringify([r.id, r.time, r.event, r.outcome, r.username, r.reason, r.source, r.client, r.actor, r.details]);
}

/** The chain key: derived from the master key, never the master key itself. */
export function auditKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'gatehouse audit chain v1', 32));
}

/** A keyed record's hash. */
export function keyedHash(key: Buffer, prevHash: string, r: UnchainedRecord): string {
  return createHmac('sha256', key).update(`${prevHash}\n${canonicalRecord(r)}`).digest('hex');
}

/** A record's hash as written before the chain was keyed (plain SHA-256). */
export function legacyHash(prevHash: string, r: UnchainedRecord): string {
  return hash('sha256', `${prevHash}\n${canonicalRecord(r)}`, 'hex');
}

export type VerifyResult = { ok: true; count: number; legacy: number } | { ok: false; count: number; badId: number; problem: string };

/**
 * Walk the records in id order and report the first one whose link or content does not match.
 * `legacy` counts the SHA-256 records before the chain became keyed.
 */
export async function verifyChain(records: Iterable<AuditRecord> | AsyncIterable<AuditRecord>, key: Buffer): Promise<VerifyResult> {
  let prev = GENESIS_HASH;
  let count = 0;
  let keyed: boolean | undefined;
  let legacy = 0;
  let firstId = 0;
  for await (const r of records) {
    if (count === 0) firstId = r.id;
    if (r.prevHash !== prev) return { ok: false, count, badId: r.id, problem: 'its link to the previous record is broken (a record before it was changed, removed or inserted)' };
    // The first record tells whether the chain started keyed; it stays keyed from the first
    // audit.keyed record on.
    if (keyed === undefined) keyed = keyedHash(key, prev, r) === r.hash;
    if (!keyed && r.event === KEYED_EVENT) keyed = true;
    const expected = keyed ? keyedHash(key, prev, r) : legacyHash(prev, r);
    if (expected !== r.hash) return { ok: false, count, badId: r.id, problem: 'its content does not match its hash (the record was changed, or written without the master key)' };
    if (!keyed) legacy++;
    prev = r.hash;
    count++;
  }
  // A store of this version is keyed as soon as it is opened: SHA-256 records with no audit.keyed
  // record after them are a chain re-hashed by someone without the key.
  if (count > 0 && !keyed) return { ok: false, count: 0, badId: firstId, problem: 'no record of the chain is keyed (the chain was re-hashed without the master key)' };
  return { ok: true, count, legacy };
}
