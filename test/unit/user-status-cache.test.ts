// The factor status kept in memory on SQLite (app/db/queries/users.ts, StatusCache): a lookup
// never answers with what the store no longer says - after this process's writes at once (the
// TEMP triggers), after another connection's writes from the next event-loop turn
// (PRAGMA data_version), and never with a row read inside a transaction that rolled back.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore, type Store } from '../../app/db/open.js';
import { createUserFactorQueries, deleteTotpAccount, deleteUser, insertUser, replaceTotpAccount, setUserLocked, type UserFactorQueries } from '../../app/db/queries/users.js';
import { createSealer, type Sealer } from '../../app/db/secrets.js';
import { DEFAULT_TOTP } from '../../app/mfa/otp.js';

interface Ctx {
  dir: string;
  store: Store;
  other: Store;
  sealer: Sealer;
  q: UserFactorQueries;
}

const C = suite<Ctx>('users: factor status kept in memory', {} as Ctx);

C.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'gatehouse-status-cache-'));
  ctx.store = openStore(ctx.dir);
  // A second connection to the same file: what the CLI or a restore is to the server.
  ctx.other = openStore(ctx.dir);
  ctx.sealer = createSealer(randomBytes(32));
  ctx.q = createUserFactorQueries(ctx.store, ctx.sealer);
});
C.after.each((ctx) => {
  ctx.store.close();
  ctx.other.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const nextTurn = () => new Promise((r) => setImmediate(r));
const seed = Buffer.alloc(20, 7);

C("this process's writes are seen at once: enrolment, lock, unlock, removal of the factor and of the user", async ({ store, sealer, q }) => {
  assert.is(await q.findStatus('ann'), undefined);
  await replaceTotpAccount(store, sealer, 'ann', seed, DEFAULT_TOTP);
  assert.equal((await q.findStatus('ann'))?.totp, DEFAULT_TOTP, 'enrolled: TOTP');
  await setUserLocked(store, 'ann', true);
  assert.is((await q.findStatus('ann'))?.locked, true, 'locked');
  await setUserLocked(store, 'ann', false);
  assert.is((await q.findStatus('ann'))?.locked, false, 'unlocked');
  await deleteTotpAccount(store, 'ann');
  assert.is((await q.findStatus('ann'))?.totp, null, 'factor removed');
  await deleteUser(store, 'ann');
  assert.is(await q.findStatus('ann'), undefined, 'user removed');
  await insertUser(store, 'ann');
  assert.ok(await q.findStatus('ann'), 'user added again');
});

C('a wrong code counted by a verification is in the next status (lockout)', async ({ store, sealer, q }) => {
  await replaceTotpAccount(store, sealer, 'bob', seed, DEFAULT_TOTP);
  assert.is((await q.findStatus('bob'))?.failedAttempts, 0);
  await q.verifyWith('bob', (u) => ({ write: { kind: 'failure', lockedUntil: 123, failedAttempts: 3 }, result: u?.id }));
  const s = await q.findStatus('bob');
  assert.is(s?.failedAttempts, 3);
  assert.is(s?.lockedUntil, 123);
});

C("another connection's writes (the CLI) are seen from the next event-loop turn", async ({ other, sealer, q }) => {
  assert.is(await q.findStatus('cli-user'), undefined);
  await replaceTotpAccount(other, sealer, 'cli-user', seed, DEFAULT_TOTP);
  await nextTurn();
  assert.equal((await q.findStatus('cli-user'))?.totp, DEFAULT_TOTP);
  await setUserLocked(other, 'cli-user', true);
  await nextTurn();
  assert.is((await q.findStatus('cli-user'))?.locked, true);
});

C('a row read inside a transaction that rolls back is not kept', async ({ store, q }) => {
  await insertUser(store, 'dora');
  assert.is((await q.findStatus('dora'))?.locked, false);
  const db = store.sqlite;
  db.exec('BEGIN');
  db.prepare("UPDATE users SET locked = 1 WHERE username = 'dora'").run();
  assert.is((await q.findStatus('dora'))?.locked, true, 'inside the transaction: its own write');
  db.exec('ROLLBACK');
  assert.is((await q.findStatus('dora'))?.locked, false, 'after the rollback: the committed row');
});

C.run();
