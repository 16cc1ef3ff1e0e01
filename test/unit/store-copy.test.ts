// What a copy between stores carries (app/db/copy.ts): every table of the schema but the ones
// that belong to one appliance or to logins in progress, parents before the rows that refer to
// them; and a copy between two real SQLite stores gives the same rows, the audit chain verifying.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openAuditLog } from '../../app/audit/log.js';
import { copiedTables, copyRows, tablesWithRows } from '../../app/db/copy.js';
import { openStore } from '../../app/db/open.js';

const C = suite('db/copy');

C('every table but nodes and the logins in progress is copied, parents first', () => {
  const store = openStore(':memory:');
  const all = (store.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%'").pluck().all() as string[]).sort();
  store.close();
  const copied = copiedTables().map((t) => t.name);
  assert.equal([...copied].sort(), all.filter((t) => !['nodes', 'radius_challenges', 'pending_pushes', 'push_admissions', 'push_requests', 'served_requests'].includes(t)));
  const at = (t: string) => copied.indexOf(t);
  for (const t of copiedTables()) for (const p of t.parents) assert.ok(at(p) < at(t.name), `${p} before ${t.name}`);
  assert.ok(at('users') < at('totp_accounts'));
});

C('a copy holds the same rows, sealed values and audit chain included', async () => {
  const key = randomBytes(32);
  const from = openStore(':memory:');
  const to = openStore(':memory:');
  try {
    from.sqlite.exec("INSERT INTO users (username, created_at, locked) VALUES ('alice', 1, 1), ('bob', 2, 0)");
    const log = await openAuditLog(from, key);
    for (let i = 0; i < 5; i++) await log.auditor.record({ event: 'test.event', outcome: 'ok', username: 'alice', details: { count: i } });
    assert.equal(await tablesWithRows(to), []);
    const counts = await copyRows(from, to, 2);
    assert.is(counts['users'], 2);
    assert.is(counts['audit_log'], 5);
    const dump = (s: typeof from, t: string) => s.sqlite.prepare(`SELECT * FROM ${t} ORDER BY 1`).all();
    for (const t of ['users', 'audit_log', 'settings']) assert.equal(dump(to, t), dump(from, t), t);
    assert.equal((await tablesWithRows(to)).map((r) => r.table).sort(), ['audit_log', 'users']);
    const verdict = await (await openAuditLog(to, key)).verify();
    assert.ok(verdict.ok);
    assert.is(verdict.count, 5);
  } finally {
    from.close();
    to.close();
  }
});

C.run();
