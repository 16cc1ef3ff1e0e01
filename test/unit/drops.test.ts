// app/radius/drops.ts: drops are audited once per source and reason per minute, at most
// MAX_RECORDS_PER_MINUTE records a minute in all, the rest summed up in one summary record; the
// per-source memory is bounded, least recently seen first out.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditEvent } from '../../app/audit/audit.js';
import { createDropAuditor, DROP_AUDIT_WINDOW_MS, MAX_RECORDS_PER_MINUTE, MAX_SOURCES } from '../../app/radius/drops.js';

const D = suite('radius/drops');
const T0 = 1_000_000;

D('one record per source and reason per minute; the next one carries how many were left out', () => {
  const d = createDropAuditor();
  const first = d.drop('192.0.2.1', 4000, 'unknown_client', null, null, T0);
  assert.equal(first.map((e) => [e.reason, e.source, e.details]), [['unknown_client', '192.0.2.1:4000', {}]]);
  for (let i = 1; i <= 5; i++) assert.equal(d.drop('192.0.2.1', 4000 + i, 'unknown_client', null, null, T0 + i), []);
  assert.is(d.drop('192.0.2.1', 4000, 'malformed', 'vpn', null, T0 + 10).length, 1, 'another reason is another window');
  const later = d.drop('192.0.2.1', 4000, 'unknown_client', null, null, T0 + DROP_AUDIT_WINDOW_MS);
  assert.equal(later.map((e) => e.details), [{ suppressed: 5 }]);
});

D(`at most ${MAX_RECORDS_PER_MINUTE} records a minute from many sources; one summary names how many, from how many sources and why`, () => {
  const d = createDropAuditor();
  const written: AuditEvent[] = [];
  for (let i = 0; i < 5000; i++) written.push(...d.drop(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1812, i % 10 === 0 ? 'malformed' : 'unknown_client', null, null, T0 + i));
  assert.is(written.length, MAX_RECORDS_PER_MINUTE);
  assert.is(d.tick(T0 + 30_000), undefined, 'nothing before the minute is over');
  const summary = d.tick(T0 + DROP_AUDIT_WINDOW_MS)!;
  assert.is(summary.reason, 'drop_summary');
  assert.equal(summary.details?.count, 5000 - MAX_RECORDS_PER_MINUTE);
  assert.equal(summary.details?.sources, 5000 - MAX_RECORDS_PER_MINUTE);
  assert.match(summary.details?.message ?? '', /^4900 drops from 4900 sources not recorded one by one; reasons: unknown_client 4410, malformed 490$/);
  assert.is(d.tick(T0 + 2 * DROP_AUDIT_WINDOW_MS), undefined, 'an empty minute writes nothing');
  // A new minute writes records again.
  assert.is(d.drop('10.9.9.9', 1, 'unknown_client', null, null, T0 + 2 * DROP_AUDIT_WINDOW_MS + 1).length, 1);
});

D('the per-source windows are bounded; the least recently seen source is forgotten first', () => {
  const d = createDropAuditor();
  // Spread over minutes so that the global cap does not stop the windows from being made.
  let t = T0;
  for (let i = 0; i < MAX_SOURCES + 500; i++) {
    if (i % MAX_RECORDS_PER_MINUTE === 0) {
      t += DROP_AUDIT_WINDOW_MS;
      d.tick(t);
    }
    d.drop(`172.16.${i >> 8}.${i & 255}`, 1, 'unknown_client', null, null, t);
    // Source 0 keeps dropping: it stays among the recent ones.
    d.drop('172.16.0.0', 1, 'unknown_client', null, null, t);
  }
  assert.is(d.size(), MAX_SOURCES);
  assert.equal(d.drop('172.16.0.0', 1, 'unknown_client', null, null, t), [], 'the busy source is still remembered (its drop counted, not written)');
});

D.run();
