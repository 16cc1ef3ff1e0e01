// The audit hash chain, pure: hash = SHA-256(prev_hash + "\n" + canonical JSON of the record).
// The row id is part of the hashed record, so removing or reordering rows breaks the chain.
import { hash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

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
  authMethod?: 'pap' | 'chap' | 'mschap' | 'mschapv2' | 'eap' | 'other';
  joined?: boolean;
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
  /** The workstation a Windows request claimed, when its agent token names another. */
  claimedWorkstation?: string;
  /** Whether the Windows credential provider hides every other sign-in option. */
  enforcement?: 'enforced' | 'not enforced';
}

export interface AuditRecord {
  id: number;
  time: number;
  event: string;
  outcome: Outcome;
  username: string | null;
  reason: string | null;
  source: string | null;
  client: string | null;
  actor: string | null;
  details: string | null;
  prevHash: string;
  hash: string;
}

export type UnchainedRecord = Omit<AuditRecord, 'prevHash' | 'hash'>;

export function canonicalRecord(r: UnchainedRecord): string {
  return JSON.stringify([r.id, r.time, r.event, r.outcome, r.username, r.reason, r.source, r.client, r.actor, r.details]);
}

export function chainHash(prevHash: string, r: UnchainedRecord): string {
  // One-shot: this runs for every record written (once per RADIUS answer).
  return hash('sha256', `${prevHash}\n${canonicalRecord(r)}`, 'hex');
}

export type VerifyResult = { ok: true; count: number } | { ok: false; count: number; badId: number; problem: string };

/** Walk the records in id order and report the first one whose link or content does not match. */
export function verifyChain(records: Iterable<AuditRecord>): VerifyResult {
  let prev = GENESIS_HASH;
  let count = 0;
  for (const r of records) {
    if (r.prevHash !== prev) return { ok: false, count, badId: r.id, problem: 'its link to the previous record is broken (a record before it was changed, removed or inserted)' };
    if (chainHash(prev, r) !== r.hash) return { ok: false, count, badId: r.id, problem: 'its content does not match its hash (the record was changed)' };
    prev = r.hash;
    count++;
  }
  return { ok: true, count };
}
