// The audit log of one store: its keyed chain (chain.ts), the writer (audit.ts), verification,
// and head records. Opening it keys a chain written before the chain was keyed (once: an
// `audit.keyed` record), so every process that writes the log (the appliance, CLI commands)
// links its records with the same key.
//
// Whether a store's chain may still be keyed that way cannot be told from the database alone:
// someone who can write it could re-hash every record with plain SHA-256 and let the next open
// key the forgery. So a file beside the store (KEYED_MARKER_FILE) records that this data
// directory's chain is keyed; once it exists, a chain of SHA-256 records is never keyed again
// (verify then reports it).
//
// Head records (`audit.head`) state how long the chain was and the hash of its last record; the
// appliance writes one every HEAD_EVERY_MS when records were added, and one at shutdown, and
// prints each head's id and hash to its operational log. Records removed from the end of the
// chain (a truncated tail) leave an intact chain, so truncation is found by comparing with a head
// kept elsewhere: `gatehouse audit verify --head ID:HASH` with the values from the log.
import { closeSync, existsSync, openSync } from 'node:fs';
import type { SharedStore } from '../db/store.js';
import { createAuditStore, type AuditStore } from '../db/queries/audit.js';
import { createAuditor, toRow, type AuditFollower, type Auditor } from './audit.js';
import { auditKey, GENESIS_HASH, HEAD_EVENT, keyedHash, KEYED_EVENT, legacyHash, verifyChain, type AuditRecord, type VerifyResult } from './chain.js';

/** How often the appliance writes a head record (when records were added since the last). */
export const HEAD_EVERY_MS = 10 * 60_000;
/** In the data directory: this store's chain is keyed (a SHA-256 chain is never keyed again). */
export const KEYED_MARKER_FILE = 'audit-chain-keyed';

export interface AuditLog {
  store: AuditStore;
  auditor: Auditor;
  verify(): Promise<VerifyResult>;
  /** Append a head record, unless the last record is one; returns the new head's id and hash. */
  writeHead(): Promise<{ id: number; hash: string } | undefined>;
  /** The newest head record, if any. */
  lastHead(): Promise<AuditRecord | undefined>;
  /** Hear of every record this process commits, right after its commit (undefined: stop). */
  follow(committed: ((records: readonly AuditRecord[]) => void) | undefined): void;
  /**
   * Whether this master key wrote the chain's last record (true for an empty chain, or one whose
   * end is from before the chain was keyed): an appliance with another key would break the chain.
   */
  keyFits(): Promise<boolean>;
}

/**
 * `marker`: the path of the KEYED_MARKER_FILE of a store in a data directory; undefined for a
 * store without one (in memory, a restore's staging copy, or PostgreSQL, whose chains were keyed
 * from their first record), which is keyed whenever it holds a SHA-256 chain.
 */
export async function openAuditLog(store: SharedStore, masterKey: Buffer, clock: () => number = Date.now, marker?: string): Promise<AuditLog> {
  const key = auditKey(masterKey);
  const auditStore = createAuditStore(store, { genesis: GENESIS_HASH, link: (prev, r) => keyedHash(key, prev, r) });
  const follower: AuditFollower = {};
  const auditor = createAuditor(auditStore, clock, follower);
  await keyOldChain(auditStore, key, clock, marker);
  return {
    store: auditStore,
    auditor,
    verify: () => verifyChain(auditStore.iterate(), key),
    writeHead: () =>
      // In one transaction with no other append in between (other appliances append too): the
      // head vouches for the record right before it.
      auditStore.exclusive(async (tx) => {
        const last = await tx.last();
        if (last === undefined || last.event === HEAD_EVENT) return undefined;
        await tx.append([toRow({ event: HEAD_EVENT, outcome: 'ok', details: { count: last.id, head: last.hash } }, clock())]);
        const head = (await tx.last())!;
        return { id: head.id, hash: head.hash };
      }),
    lastHead: () => auditStore.latest(HEAD_EVENT),
    async keyFits() {
      const last = await auditStore.last();
      return last === undefined || keyedHash(key, last.prevHash, last) === last.hash || legacyHash(last.prevHash, last) === last.hash;
    },
    follow(committed) {
      follower.committed = committed;
    },
  };
}

/**
 * A chain written before it was keyed (its first record hashed with plain SHA-256): append the
 * `audit.keyed` record that links the old records to the keyed ones. Once per store; the check is
 * cheap (the first record and an indexed lookup), so every open does it.
 */
async function keyOldChain(s: AuditStore, key: Buffer, clock: () => number, marker: string | undefined): Promise<void> {
  const markKeyed = () => {
    if (marker !== undefined && !existsSync(marker)) closeSync(openSync(marker, 'a', 0o600));
  };
  const first = await s.first();
  if (first === undefined || keyedHash(key, first.prevHash, first) === first.hash || (await s.hasEvent(KEYED_EVENT))) return markKeyed();
  // Neither keyed nor plain SHA-256: changed, or another master key. Left for verify to report.
  if (legacyHash(first.prevHash, first) !== first.hash) return;
  // This directory's chain was keyed before: a SHA-256 chain now is a forgery, not an old store.
  if (marker !== undefined && existsSync(marker)) return;
  await s.exclusive(async (tx) => {
    if (await tx.hasEvent(KEYED_EVENT)) return;
    let prev = GENESIS_HASH;
    let count = 0;
    let broken: number | undefined;
    for await (const r of tx.iterate()) {
      if (broken === undefined && (r.prevHash !== prev || legacyHash(prev, r) !== r.hash)) broken = r.id;
      prev = r.hash;
      count++;
    }
    const message = broken === undefined ? `the ${count} records before this one were chained without a key (SHA-256) and verified intact when the chain was keyed` : `the ${count} records before this one were chained without a key (SHA-256); record ${broken} did not verify when the chain was keyed`;
    await tx.append([{ time: clock(), event: KEYED_EVENT, outcome: 'ok', username: null, reason: null, source: null, client: null, actor: null, details: JSON.stringify({ count, message }) }]);
  });
  markKeyed();
}
