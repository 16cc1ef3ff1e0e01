// app/audit/chain.ts, app/audit/audit.ts and app/db/queries/audit.ts over a real SQLite store:
// records chain, tampering (in a copy: the table refuses UPDATE and DELETE) is detected and named.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type AuditEvent, createAuditor, toRow } from '../../app/audit/audit.js';
import { type AuditRecord, chainHash, GENESIS_HASH, verifyChain } from '../../app/audit/chain.js';
import { openStore, type Store } from '../../app/db/open.js';
import { type AuditStore, createAuditStore } from '../../app/db/queries/audit.js';

interface Ctx {
  store: Store;
  audit: AuditStore;
  records: AuditRecord[];
}

const EVENTS: AuditEvent[] = [
  { event: 'radius.auth', outcome: 'accept', username: 'alice', reason: 'push_approved', source: '192.0.2.1:40000', client: 'vpn-1', details: { factor: 'push', pushId: 'req-1', packetId: 7 } },
  { event: 'radius.auth', outcome: 'reject', username: 'bob', reason: 'downstream_reject', source: '192.0.2.1:40001', client: 'vpn-1' },
  { event: 'radius.drop', outcome: 'drop', reason: 'unknown_client', source: '203.0.113.9:1812' },
  { event: 'client.add', outcome: 'ok', actor: 'cli', details: { address: '10.0.0.0/8', name: 'lab' } },
  { event: 'radius.auth', outcome: 'challenge', username: 'carol', reason: 'totp_code_required', client: 'wifi', details: { factor: 'totp', authMethod: 'pap' } },
  { event: 'radius.auth', outcome: 'error', username: 'dave', reason: 'downstream_timeout', client: 'vpn-1', details: { downstream: 'rad-1' } },
];

/** A fresh in-memory store holding EVENTS, written through the auditor with a stepping clock. */
function seed(ctx: Ctx): void {
  ctx.store = openStore(':memory:');
  ctx.audit = createAuditStore(ctx.store);
  let t = 1_700_000_000_000;
  const auditor = createAuditor(ctx.audit, () => (t += 1000));
  for (const e of EVENTS) auditor.record(e);
  ctx.records = [...ctx.audit.iterate()];
}

const Chain = suite<Ctx>('audit/chain', {} as Ctx);
Chain.before.each(seed);
Chain.after.each((ctx) => ctx.store.close());

Chain('appended records are numbered from 1 and each links to the previous hash', ({ records, audit }) => {
  assert.is(records.length, EVENTS.length);
  assert.is(audit.count(), EVENTS.length);
  let prev = GENESIS_HASH;
  records.forEach((r, i) => {
    assert.is(r.id, i + 1);
    assert.is(r.prevHash, prev);
    assert.match(r.hash, /^[0-9a-f]{64}$/);
    assert.is(r.hash, chainHash(prev, r));
    prev = r.hash;
  });
});

Chain('verifyChain accepts the intact chain and an empty one', ({ records }) => {
  assert.equal(verifyChain(records), { ok: true, count: EVENTS.length });
  assert.equal(verifyChain([]), { ok: true, count: 0 });
});

Chain('changing any single field of any record fails verify, naming that record', ({ records }) => {
  const fields = ['id', 'time', 'event', 'outcome', 'username', 'reason', 'source', 'client', 'actor', 'details', 'prevHash', 'hash'] as const;
  for (let i = 0; i < records.length; i++) {
    for (const f of fields) {
      const copy = records.map((r) => ({ ...r }));
      const rec = copy[i]! as unknown as Record<string, unknown>;
      const old = rec[f];
      if (f === 'outcome') rec[f] = old === 'accept' ? 'reject' : 'accept';
      else if (f === 'prevHash' || f === 'hash') rec[f] = `${(old as string).slice(0, 63)}${(old as string).endsWith('0') ? '1' : '0'}`;
      else if (typeof old === 'number') rec[f] = old + 1000;
      else if (old === null) rec[f] = 'x';
      else rec[f] = `${old as string} `;
      const v = verifyChain(copy);
      assert.is(v.ok, false, `record ${i + 1} field ${f}`);
      if (!v.ok) {
        assert.is(v.badId, copy[i]!.id, `record ${i + 1} field ${f}`);
        assert.is(v.count, i);
      }
    }
  }
});

Chain('a field set to null, or null set to empty string, is detected', ({ records }) => {
  const copy = records.map((r) => ({ ...r }));
  copy[0]!.username = null;
  assert.is(verifyChain(copy).ok, false);
  const copy2 = records.map((r) => ({ ...r }));
  copy2[2]!.username = '';
  const v = verifyChain(copy2);
  assert.ok(!v.ok && v.badId === 3);
});

Chain('removing a middle record is detected at the record after it', ({ records }) => {
  for (const gone of [1, 2, 3]) {
    const copy = records.filter((_, i) => i !== gone);
    const v = verifyChain(copy);
    assert.is(v.ok, false);
    if (!v.ok) assert.is(v.badId, records[gone + 1]!.id);
  }
});

Chain('removing the first record or swapping two records is detected', ({ records }) => {
  const v1 = verifyChain(records.slice(1));
  assert.ok(!v1.ok && v1.badId === 2);
  const swapped = [records[0]!, records[2]!, records[1]!, ...records.slice(3)];
  const v2 = verifyChain(swapped);
  assert.ok(!v2.ok && v2.badId === 3);
});

Chain('a record re-hashed after a change is still caught by the next link', ({ records }) => {
  const copy = records.map((r) => ({ ...r }));
  const r = copy[1]!;
  r.outcome = 'accept';
  r.hash = chainHash(r.prevHash, r);
  const v = verifyChain(copy);
  assert.ok(!v.ok && v.badId === 3);
});

Chain.run();

// ---------------------------------------------------------------------------
const Auditor = suite<Ctx>('audit/audit', {} as Ctx);
Auditor.before.each(seed);
Auditor.after.each((ctx) => ctx.store.close());

Auditor('records carry the event fields, the clock time and details as sorted JSON', ({ records }) => {
  const r = records[0]!;
  assert.is(r.time, 1_700_000_001_000);
  assert.is(r.event, 'radius.auth');
  assert.is(r.outcome, 'accept');
  assert.is(r.username, 'alice');
  assert.is(r.reason, 'push_approved');
  assert.is(r.source, '192.0.2.1:40000');
  assert.is(r.client, 'vpn-1');
  assert.is(r.actor, null);
  assert.is(r.details, '{"factor":"push","packetId":7,"pushId":"req-1"}');
  assert.is(records[1]!.details, null);
  assert.is(records[1]!.time, 1_700_000_002_000);
  assert.is(toRow({ event: 'x', outcome: 'ok', details: {} }, 5).details, null);
});

Auditor('details JSON is exactly JSON.stringify of the sorted fields (the chain hash covers it), whatever fields are set', () => {
  const reference = (d: Record<string, unknown>): string | null => {
    const keys = Object.keys(d).sort();
    if (keys.length === 0) return null;
    const o: Record<string, unknown> = {};
    for (const k of keys) if (d[k] !== undefined) o[k] = d[k];
    return JSON.stringify(o);
  };
  const cases: Record<string, unknown>[] = [
    { packetId: 7, authMethod: 'pap', downstream: 'radius-1', factor: 'none' },
    { message: 'say "hi"\n\u2028 \\ é', callingStationId: '00-11-22', joined: true, appendedCode: false, count: 0 },
    { factor: 'push', limit: 'pending', suppressed: 12.5, name: undefined },
    { name: undefined },
    { zExtra: 'not in the type', address: '192.0.2.1', aExtra: 1 },
    {
      packetId: 1, callingStationId: 'c', nasIdentifier: 'n', factor: 'totp', pushId: 'p', downstream: 'd', downstreamCode: 'Access-Accept', authMethod: 'mschapv2', joined: false,
      appendedCode: true, limit: 'rate', scenario: 'rdp', workstation: 'PC', domain: 'CORP', suppressed: 3, address: 'a', name: 'nm', setting: 's', count: 9, format: 'csv', message: 'm',
    },
  ];
  for (const d of cases) assert.is(toRow({ event: 'x', outcome: 'ok', details: d as AuditEvent['details'] }, 1).details, reference(d), JSON.stringify(d));
});

Auditor.run();

// ---------------------------------------------------------------------------
const Queries = suite<Ctx>('db/queries/audit', {} as Ctx);
Queries.before.each(seed);
Queries.after.each((ctx) => ctx.store.close());

Queries('the table refuses UPDATE and DELETE', ({ store, records }) => {
  assert.throws(() => store.sqlite.prepare("UPDATE audit_log SET outcome = 'accept' WHERE id = 2").run(), /append-only/);
  assert.throws(() => store.sqlite.prepare('DELETE FROM audit_log WHERE id = 3').run(), /append-only/);
  assert.throws(() => store.sqlite.prepare('DELETE FROM audit_log').run(), /append-only/);
  assert.equal([...createAuditStore(store).iterate()], records);
});

Queries('iterate filters by time', ({ audit }) => {
  assert.equal(
    [...audit.iterate({ since: 1_700_000_002_000, until: 1_700_000_003_000 })].map((r) => r.id),
    [2, 3],
  );
});

Queries('two auditors on one file-backed store interleave appends into one valid chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-'));
  try {
    const a = openStore(dir);
    const b = openStore(dir);
    try {
      const auditA = createAuditor(createAuditStore(a));
      const auditB = createAuditor(createAuditStore(b));
      for (let i = 0; i < 20; i++) {
        (i % 3 === 0 ? auditB : auditA).record({ event: 'radius.auth', outcome: 'accept', username: `u${i}`, source: i % 3 === 0 ? 'B' : 'A' });
      }
      for (const s of [a, b]) {
        const recs = [...createAuditStore(s).iterate()];
        assert.equal(
          recs.map((r) => r.id),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        assert.equal(
          recs.map((r) => r.username),
          Array.from({ length: 20 }, (_, i) => `u${i}`),
        );
        assert.equal(verifyChain(recs), { ok: true, count: 20 });
      }
    } finally {
      a.close();
      b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Queries.run();
