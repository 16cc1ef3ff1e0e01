// app/audit/chain.ts, app/audit/log.ts, app/audit/audit.ts and app/db/queries/audit.ts over a real
// SQLite store: records chain with a key derived from the master key, tampering (in a copy: the
// table refuses UPDATE and DELETE) is detected and named, a chain re-hashed without the key is
// refused, an old (SHA-256) chain is keyed once, head records state the chain's end.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type AuditEvent, createAuditor, toRow } from '../../app/audit/audit.js';
import { type AuditRecord, auditKey, GENESIS_HASH, keyedHash, legacyHash, verifyChain } from '../../app/audit/chain.js';
import { KEYED_MARKER_FILE, openAuditLog } from '../../app/audit/log.js';
import { openStore, type Store } from '../../app/db/open.js';
import { type AuditStore, createAuditStore } from '../../app/db/queries/audit.js';
import { collect } from '../helpers/collect.js';

interface Ctx {
  store: Store;
  audit: AuditStore;
  records: AuditRecord[];
  master: Buffer;
  key: Buffer;
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
async function seed(ctx: Ctx): Promise<void> {
  ctx.store = openStore(':memory:');
  ctx.master = randomBytes(32);
  ctx.key = auditKey(ctx.master);
  let t = 1_700_000_000_000;
  const log = await openAuditLog(ctx.store, ctx.master, () => (t += 1000));
  ctx.audit = log.store;
  const auditor = log.auditor;
  for (const e of EVENTS) await auditor.record(e);
  ctx.records = (await collect(ctx.audit.iterate()));
}

const Chain = suite<Ctx>('audit/chain', {} as Ctx);
Chain.before.each(seed);
Chain.after.each((ctx) => ctx.store.close());

Chain('appended records are numbered from 1 and each links to the previous hash with the chain key', async ({ records, audit, key, master }) => {
  assert.is(records.length, EVENTS.length);
  assert.is(await audit.count(), EVENTS.length);
  let prev = GENESIS_HASH;
  records.forEach((r, i) => {
    assert.is(r.id, i + 1);
    assert.is(r.prevHash, prev);
    assert.match(r.hash, /^[0-9a-f]{64}$/);
    assert.is(r.hash, keyedHash(key, prev, r));
    assert.is.not(r.hash, legacyHash(prev, r));
    prev = r.hash;
  });
  assert.is.not(key.toString('hex'), master.toString('hex'), 'the chain key is derived, not the master key');
});

Chain('a chain re-hashed without the key is refused, from the first record: plain SHA-256, or another key', async ({ records, key }) => {
  for (const wrong of ['sha256', 'other key'] as const) {
    const other = randomBytes(32);
    let prev = GENESIS_HASH;
    const forged = records.map((r) => {
      const c = { ...r, prevHash: prev };
      if (c.id === 3) c.outcome = 'accept';
      c.hash = wrong === 'sha256' ? legacyHash(prev, c) : keyedHash(other, prev, c);
      prev = c.hash;
      return c;
    });
    const v = await verifyChain(forged, key);
    assert.is(v.ok, false, wrong);
    if (!v.ok) assert.is(v.badId, 1, wrong);
  }
});

Chain('verifyChain accepts the intact chain and an empty one', async ({ records, key }) => {
  assert.equal(await verifyChain(records, key), { ok: true, count: EVENTS.length, legacy: 0 });
  assert.equal(await verifyChain([], key), { ok: true, count: 0, legacy: 0 });
});

Chain('changing any single field of any record fails verify, naming that record', async ({ records, key }) => {
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
      const v = await verifyChain(copy, key);
      assert.is(v.ok, false, `record ${i + 1} field ${f}`);
      if (!v.ok) {
        assert.is(v.badId, copy[i]!.id, `record ${i + 1} field ${f}`);
        assert.is(v.count, i);
      }
    }
  }
});

Chain('a field set to null, or null set to empty string, is detected', async ({ records, key }) => {
  const copy = records.map((r) => ({ ...r }));
  copy[0]!.username = null;
  assert.is((await verifyChain(copy, key)).ok, false);
  const copy2 = records.map((r) => ({ ...r }));
  copy2[2]!.username = '';
  const v = await verifyChain(copy2, key);
  assert.ok(!v.ok && v.badId === 3);
});

Chain('removing a middle record is detected at the record after it', async ({ records, key }) => {
  for (const gone of [1, 2, 3]) {
    const copy = records.filter((_, i) => i !== gone);
    const v = await verifyChain(copy, key);
    assert.is(v.ok, false);
    if (!v.ok) assert.is(v.badId, records[gone + 1]!.id);
  }
});

Chain('removing the first record or swapping two records is detected', async ({ records, key }) => {
  const v1 = await verifyChain(records.slice(1), key);
  assert.ok(!v1.ok && v1.badId === 2);
  const swapped = [records[0]!, records[2]!, records[1]!, ...records.slice(3)];
  const v2 = await verifyChain(swapped, key);
  assert.ok(!v2.ok && v2.badId === 3);
});

Chain('a record re-hashed after a change is still caught by the next link', async ({ records, key }) => {
  const copy = records.map((r) => ({ ...r }));
  const r = copy[1]!;
  r.outcome = 'accept';
  r.hash = keyedHash(key, r.prevHash, r);
  const v = await verifyChain(copy, key);
  assert.ok(!v.ok && v.badId === 3);
});

Chain('an old store chained with plain SHA-256 is keyed once when opened: old records verify as they are, new ones are keyed', async () => {
  const store = openStore(':memory:');
  try {
    const master = randomBytes(32);
    const old = createAuditStore(store, { genesis: GENESIS_HASH, link: legacyHash });
    const oldAuditor = createAuditor(old);
    for (const e of EVENTS.slice(0, 3)) await oldAuditor.record(e);
    const log = await openAuditLog(store, master);
    await log.auditor.record(EVENTS[3]!);
    assert.equal(await log.verify(), { ok: true, count: 5, legacy: 3 });
    const recs = (await collect(log.store.iterate()));
    assert.equal(recs.map((r) => r.event), ['radius.auth', 'radius.auth', 'radius.drop', 'audit.keyed', 'client.add']);
    assert.equal(JSON.parse(recs[3]!.details!), { count: 3, message: 'the 3 records before this one were chained without a key (SHA-256) and verified intact when the chain was keyed' });
    await openAuditLog(store, master);
    assert.is(await log.store.count(), 5, 'keyed once');
    // An old record changed and re-hashed with SHA-256 breaks the keyed record's link.
    const copy = recs.map((r) => ({ ...r }));
    copy[1]!.outcome = 'accept';
    copy[1]!.hash = legacyHash(copy[1]!.prevHash, copy[1]!);
    copy[2]!.prevHash = copy[1]!.hash;
    copy[2]!.hash = legacyHash(copy[2]!.prevHash, copy[2]!);
    const v = await verifyChain(copy, auditKey(master));
    assert.ok(!v.ok && v.badId === 4, JSON.stringify(v));
  } finally {
    store.close();
  }
});

Chain('a keyed store whose chain was re-hashed with plain SHA-256 is not keyed again on open (the marker beside the store says it was keyed)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-marker-'));
  const marker = join(dir, KEYED_MARKER_FILE);
  try {
    const master = randomBytes(32);
    const store = openStore(dir);
    const log = await openAuditLog(store, master, Date.now, marker);
    for (const e of EVENTS.slice(0, 4)) await log.auditor.record(e);
    assert.ok(existsSync(marker), 'a new store is marked keyed');
    // Someone with write access to the database but not the key rewrites every record as the
    // chain was before it was keyed, changing one on the way.
    store.sqlite.exec('DROP TRIGGER audit_log_no_update');
    let prev = GENESIS_HASH;
    for (const r of (await collect(log.store.iterate()))) {
      const c = { ...r, prevHash: prev, outcome: r.id === 2 ? ('accept' as const) : r.outcome };
      c.hash = legacyHash(prev, c);
      store.sqlite.prepare('UPDATE audit_log SET outcome = ?, prev_hash = ?, hash = ? WHERE id = ?').run(c.outcome, c.prevHash, c.hash, c.id);
      prev = c.hash;
    }
    const reopened = await openAuditLog(store, master, Date.now, marker);
    assert.not.ok(await reopened.store.hasEvent('audit.keyed'), 'the forgery was not blessed with an audit.keyed record');
    const v = await reopened.verify();
    assert.ok(!v.ok && v.badId === 1, JSON.stringify(v));
    // Without the marker (an old data directory) the same chain would be keyed: that is the upgrade path.
    rmSync(marker);
    assert.ok(await (await openAuditLog(store, master, Date.now, marker)).store.hasEvent('audit.keyed'));
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Chain('head records state the chain end; none is written twice in a row', async ({ store, master }) => {
  const log = await openAuditLog(store, master);
  const before = (await log.store.last())!;
  const head = (await log.writeHead())!;
  assert.is(head.id, before.id + 1);
  const rec = (await log.store.last())!;
  assert.is(rec.event, 'audit.head');
  assert.equal(JSON.parse(rec.details!), { count: before.id, head: before.hash });
  assert.is(rec.hash, head.hash);
  assert.is(await log.writeHead(), undefined, 'nothing new since the last head');
  assert.is((await log.lastHead())!.id, head.id);
  assert.ok((await log.verify()).ok);
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

Queries('the table refuses UPDATE and DELETE', async ({ store, records }) => {
  assert.throws(() => store.sqlite.prepare("UPDATE audit_log SET outcome = 'accept' WHERE id = 2").run(), /append-only/);
  assert.throws(() => store.sqlite.prepare('DELETE FROM audit_log WHERE id = 3').run(), /append-only/);
  assert.throws(() => store.sqlite.prepare('DELETE FROM audit_log').run(), /append-only/);
  assert.equal((await collect(createAuditStore(store, { genesis: GENESIS_HASH, link: () => 'unused' }).iterate())), records);
});

Queries('iterate filters by time', async ({ audit }) => {
  assert.equal(
    (await collect(audit.iterate({ since: 1_700_000_002_000, until: 1_700_000_003_000 }))).map((r) => r.id),
    [2, 3],
  );
});

Queries('two auditors on one file-backed store interleave appends into one valid chain', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-'));
  try {
    const a = openStore(dir);
    const b = openStore(dir);
    const master = randomBytes(32);
    try {
      const auditA = (await openAuditLog(a, master)).auditor;
      const auditB = (await openAuditLog(b, master)).auditor;
      for (let i = 0; i < 20; i++) {
        await (i % 3 === 0 ? auditB : auditA).record({ event: 'radius.auth', outcome: 'accept', username: `u${i}`, source: i % 3 === 0 ? 'B' : 'A' });
      }
      for (const s of [a, b]) {
        const recs = await collect((await openAuditLog(s, master)).store.iterate());
        assert.equal(
          recs.map((r) => r.id),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        assert.equal(
          recs.map((r) => r.username),
          Array.from({ length: 20 }, (_, i) => `u${i}`),
        );
        assert.equal(await verifyChain(recs, auditKey(master)), { ok: true, count: 20, legacy: 0 });
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
