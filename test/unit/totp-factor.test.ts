// app/mfa/totp.ts over the real store (in-memory SQLite, sealed seeds): status, verification,
// replay protection, lockout and its expiry, admin lock, re-enrolment and case-insensitive names.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore, type Store } from '../../app/db/open.js';
import { createUserFactorQueries, insertUser, listUsers, replaceTotpAccount, setUserLocked, type UserRow } from '../../app/db/queries/users.js';
import { createSealer, type Sealer } from '../../app/db/secrets.js';
import type { LockoutPolicy } from '../../app/mfa/lockout.js';
import { codeEquals, DEFAULT_TOTP, totp, type TotpParams } from '../../app/mfa/otp.js';
import { createTotpFactor, type TotpFactor } from '../../app/mfa/totp.js';

const POLICY: LockoutPolicy = { maxFailures: 3, lockoutMs: 5 * 60_000 };
const START = 1_700_000_000_000;

interface Ctx {
  store: Store;
  sealer: Sealer;
  factor: TotpFactor;
  seed: Buffer;
  /** The injected clock. */
  t: number;
}

const Totp = suite<Ctx>('mfa/totp', {} as Ctx);

Totp.before.each(async (ctx) => {
  ctx.store = openStore(':memory:');
  ctx.sealer = createSealer(randomBytes(32));
  ctx.t = START;
  ctx.factor = createTotpFactor(
    createUserFactorQueries(ctx.store, ctx.sealer),
    () => POLICY,
    () => ctx.t,
  );
  ctx.seed = Buffer.from('3132333435363738393031323334353637383930', 'hex');
  await replaceTotpAccount(ctx.store, ctx.sealer, 'alice', ctx.seed, DEFAULT_TOTP);
});
Totp.after.each((ctx) => ctx.store.close());

const codeNow = (ctx: Ctx, seed = ctx.seed, p: TotpParams = DEFAULT_TOTP) => totp(seed, ctx.t, p);
/** A 6-digit code that matches no step in the ±1 window at the current time. */
function wrongCode(ctx: Ctx, seed = ctx.seed): string {
  const valid = [-30_000, 0, 30_000].map((d) => totp(seed, ctx.t + d));
  for (let i = 0; ; i++) {
    const c = String(i * 111_111 % 1_000_000).padStart(6, '0');
    if (!valid.includes(c)) return c;
  }
}
const row = async (store: Store, name: string): Promise<UserRow> => {
  const r = (await listUsers(store)).find((u) => u.username === name);
  if (r === undefined) throw new Error(`no user ${name}`);
  return r;
};
const verify = (ctx: Ctx, code: string, name = 'alice') => ctx.factor.verify(name, codeEquals(code));

// --- status -------------------------------------------------------------------

Totp('status: unknown user', async ({ factor }) => {
  assert.equal(await factor.status('nobody'), { known: false });
});

Totp('status: user with TOTP is known, unlocked, with its parameters', async ({ factor }) => {
  assert.equal(await factor.status('alice'), { known: true, lock: { locked: false }, totp: { algorithm: 'SHA1', digits: 6, period: 30 } });
});

Totp('status and verify: a user without TOTP is known but has no_totp', async (ctx) => {
  await insertUser(ctx.store, 'bob');
  assert.equal(await ctx.factor.status('bob'), { known: true, lock: { locked: false }, totp: null });
  assert.equal(await verify(ctx, '123456', 'bob'), { ok: false, reason: 'no_totp' });
  assert.equal(await verify(ctx, '123456', 'nobody'), { ok: false, reason: 'no_totp' });
});

// --- verification and replay --------------------------------------------------

Totp('a good code is accepted once; the same code again is totp_replayed', async (ctx) => {
  const code = codeNow(ctx);
  assert.equal(await verify(ctx, code), { ok: true });
  assert.equal(await verify(ctx, code), { ok: false, reason: 'totp_replayed', lockedNow: false });
  // Still refused later within the drift window.
  ctx.t += 20_000;
  assert.equal(await verify(ctx, code), { ok: false, reason: 'totp_replayed', lockedNow: false });
});

Totp('the same code sent twice at once: one is accepted, the other totp_replayed', async (ctx) => {
  const code = codeNow(ctx);
  const both = await Promise.all([verify(ctx, code), verify(ctx, code)]);
  assert.equal(both.filter((r) => r.ok).length, 1);
  assert.equal(both.find((r) => !r.ok), { ok: false, reason: 'totp_replayed', lockedNow: false });
});

Totp('two appliances on one store (two factors, each with its own memory): the store decides the claim, one code gets in once', async (ctx) => {
  const other = createTotpFactor(createUserFactorQueries(ctx.store, ctx.sealer), () => POLICY, () => ctx.t);
  const code = codeNow(ctx);
  const both = await Promise.all([verify(ctx, code), other.verify('alice', codeEquals(code))]);
  assert.equal(both.filter((r) => r.ok).length, 1, JSON.stringify(both));
  assert.equal(both.find((r) => !r.ok), { ok: false, reason: 'totp_replayed', lockedNow: false });
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 1, 'the replay counts as a failure, as it does on one appliance');
});

Totp('after a code is used, an older (still in-window) code is refused and the next step is accepted', async (ctx) => {
  const older = totp(ctx.seed, ctx.t - 30_000);
  const next = totp(ctx.seed, ctx.t + 30_000);
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: true });
  assert.equal(await verify(ctx, older), { ok: false, reason: 'totp_replayed', lockedNow: false });
  ctx.t += 30_000;
  assert.equal(await verify(ctx, next), { ok: true });
});

Totp('a wrong code is totp_wrong and counted', async (ctx) => {
  assert.equal(await verify(ctx, wrongCode(ctx)), { ok: false, reason: 'totp_wrong', lockedNow: false });
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 1);
  assert.equal(await verify(ctx, wrongCode(ctx)), { ok: false, reason: 'totp_wrong', lockedNow: false });
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 2);
  assert.is((await row(ctx.store, 'alice')).lockedUntil, null);
  // A wrong code does not use up the right one.
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: true });
});

// --- lockout ------------------------------------------------------------------

Totp('after maxFailures wrong codes the user is locked out (reported once); even the right code is refused', async (ctx) => {
  // In parallel: each failure is counted in its own transaction, none is lost.
  const results = await Promise.all([1, 2, 3].map(() => verify(ctx, wrongCode(ctx))));
  assert.equal(
    results.map((r) => (r.ok || r.reason !== 'totp_wrong' ? 'other' : r.lockedNow)),
    [false, false, true],
  );
  assert.is((await row(ctx.store, 'alice')).lockedUntil, START + POLICY.lockoutMs);
  const lock = { locked: true, reason: 'locked_out', until: START + POLICY.lockoutMs };
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: false, reason: 'locked', lock });
  assert.equal(await verify(ctx, wrongCode(ctx)), { ok: false, reason: 'locked', lock });
  assert.equal(await ctx.factor.status('alice'), { known: true, lock, totp: DEFAULT_TOTP });
  ctx.t = START + POLICY.lockoutMs - 1;
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: false, reason: 'locked', lock });
});

Totp('when the lockout expires the right code is accepted and the count is reset', async (ctx) => {
  for (let i = 0; i < POLICY.maxFailures; i++) await verify(ctx, wrongCode(ctx));
  ctx.t = START + POLICY.lockoutMs + 1;
  assert.equal(await ctx.factor.status('alice'), { known: true, lock: { locked: false }, totp: DEFAULT_TOTP });
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: true });
  const r = await row(ctx.store, 'alice');
  assert.is(r.failedAttempts, 0);
  assert.is(r.lockedUntil, null);
  // A fresh full count is needed to lock out again.
  ctx.t += 30_000;
  const again = await Promise.all([1, 2, 3].map(() => verify(ctx, wrongCode(ctx))));
  assert.equal(
    again.map((x) => !x.ok && x.reason === 'totp_wrong' && x.lockedNow),
    [false, false, true],
  );
});

Totp('a wrong code after an expired lockout starts the count afresh', async (ctx) => {
  for (let i = 0; i < POLICY.maxFailures; i++) await verify(ctx, wrongCode(ctx));
  ctx.t = START + POLICY.lockoutMs;
  assert.equal(await verify(ctx, wrongCode(ctx)), { ok: false, reason: 'totp_wrong', lockedNow: false });
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 1);
  assert.is((await row(ctx.store, 'alice')).lockedUntil, null);
});

Totp('a good code resets the failure count', async (ctx) => {
  await verify(ctx, wrongCode(ctx));
  await verify(ctx, wrongCode(ctx));
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 2);
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: true });
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 0);
  ctx.t += 30_000;
  assert.equal(await verify(ctx, wrongCode(ctx)), { ok: false, reason: 'totp_wrong', lockedNow: false });
  assert.equal(await verify(ctx, wrongCode(ctx)), { ok: false, reason: 'totp_wrong', lockedNow: false });
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: true });
});

// --- admin lock ---------------------------------------------------------------

Totp('an admin lock refuses the right code without counting; unlock lets it in', async (ctx) => {
  assert.is(await setUserLocked(ctx.store, 'alice', true), true);
  const lock = { locked: true, reason: 'locked_by_admin', until: null };
  assert.equal(await ctx.factor.status('alice'), { known: true, lock, totp: DEFAULT_TOTP });
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: false, reason: 'locked', lock });
  assert.equal(await verify(ctx, wrongCode(ctx)), { ok: false, reason: 'locked', lock });
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 0);
  // Time does not end an admin lock.
  ctx.t += 24 * 3600_000;
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: false, reason: 'locked', lock });

  assert.is(await setUserLocked(ctx.store, 'alice', false), true);
  assert.equal(await ctx.factor.status('alice'), { known: true, lock: { locked: false }, totp: DEFAULT_TOTP });
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: true });
});

Totp('unlocking also clears an automatic lockout and the failure count', async (ctx) => {
  for (let i = 0; i < POLICY.maxFailures; i++) await verify(ctx, wrongCode(ctx));
  assert.is((await verify(ctx, codeNow(ctx))).ok, false);
  await setUserLocked(ctx.store, 'alice', false);
  const r = await row(ctx.store, 'alice');
  assert.is(r.lockedUntil, null);
  assert.is(r.failedAttempts, 0);
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: true });
});

// --- enrolment ----------------------------------------------------------------

Totp("re-enrolling with a new seed makes the old seed's codes fail at once", async (ctx) => {
  const oldCode = codeNow(ctx);
  const fresh = Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f9001122334', 'hex');
  const window = [-30_000, 0, 30_000].map((d) => totp(fresh, ctx.t + d));
  assert.not.ok(window.includes(oldCode), 'test seeds chosen so that codes differ');
  assert.equal(await replaceTotpAccount(ctx.store, ctx.sealer, 'alice', fresh, DEFAULT_TOTP), { userCreated: false });
  assert.equal(await verify(ctx, oldCode), { ok: false, reason: 'totp_wrong', lockedNow: false });
  assert.equal(await verify(ctx, codeNow(ctx, fresh)), { ok: true });
});

Totp('re-enrolling starts a fresh replay record: the new seed works in the same step the old one was used', async (ctx) => {
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: true });
  const fresh = randomBytes(20);
  await replaceTotpAccount(ctx.store, ctx.sealer, 'alice', fresh, DEFAULT_TOTP);
  assert.equal(await verify(ctx, codeNow(ctx, fresh)), { ok: true });
});

Totp('the seed is stored sealed, not in the clear', async (ctx) => {
  const rows = ctx.store.sqlite.prepare('SELECT seed_sealed FROM totp_accounts').all() as { seed_sealed: Buffer }[];
  assert.is(rows.length, 1);
  const sealed = rows[0]!.seed_sealed;
  assert.ok(Buffer.isBuffer(sealed));
  assert.not.ok(sealed.includes(ctx.seed), 'raw seed bytes in the row');
  assert.not.ok(sealed.includes(ctx.seed.subarray(0, 8)), 'a prefix of the seed in the row');
  assert.not.ok(sealed.toString('latin1').includes(ctx.seed.toString('hex')));
  // Sealed with the master key: another key cannot open it.
  const other = createUserFactorQueries(ctx.store, createSealer(randomBytes(32)));
  await other.find('alice').then(
    () => assert.unreachable('opened with another key'),
    (e: Error) => assert.match(e.message, /cannot be opened/),
  );
  // Two enrolments of the same seed are sealed differently (fresh IV).
  await replaceTotpAccount(ctx.store, ctx.sealer, 'alice', ctx.seed, DEFAULT_TOTP);
  const again = (ctx.store.sqlite.prepare('SELECT seed_sealed FROM totp_accounts').get() as { seed_sealed: Buffer }).seed_sealed;
  assert.not.ok(again.equals(sealed));
});

Totp('SHA256 and 8-digit accounts verify with their own parameters', async (ctx) => {
  const p256: TotpParams = { algorithm: 'SHA256', digits: 8, period: 30 };
  const seed256 = Buffer.from('12345678901234567890123456789012', 'ascii');
  await replaceTotpAccount(ctx.store, ctx.sealer, 'dave', seed256, p256);
  assert.equal(await ctx.factor.status('dave'), { known: true, lock: { locked: false }, totp: p256 });
  // The 6-digit SHA1 code of the same seed is not it.
  assert.equal(await verify(ctx, totp(seed256, ctx.t), 'dave'), { ok: false, reason: 'totp_wrong', lockedNow: false });
  const code = codeNow(ctx, seed256, p256);
  assert.is(code.length, 8);
  assert.equal(await verify(ctx, code, 'dave'), { ok: true });

  const p512: TotpParams = { algorithm: 'SHA512', digits: 8, period: 60 };
  const seed512 = randomBytes(64);
  await replaceTotpAccount(ctx.store, ctx.sealer, 'erin', seed512, p512);
  assert.equal(await ctx.factor.status('erin'), { known: true, lock: { locked: false }, totp: p512 });
  assert.equal(await verify(ctx, codeNow(ctx, seed512, p512), 'erin'), { ok: true });

  const p6: TotpParams = { algorithm: 'SHA256', digits: 6, period: 30 };
  await replaceTotpAccount(ctx.store, ctx.sealer, 'fred', seed256, p6);
  assert.equal(await verify(ctx, code, 'fred'), { ok: false, reason: 'totp_wrong', lockedNow: false });
  assert.equal(await verify(ctx, codeNow(ctx, seed256, p6), 'fred'), { ok: true });
});

// --- deferred writes (the RADIUS proxy commits a good code's step with its audit record) --------

const lastStep = (store: Store): number =>
  (store.sqlite.prepare("SELECT t.last_used_step AS s FROM totp_accounts t JOIN users u ON u.id = t.user_id WHERE u.username = 'alice'").get() as { s: number }).s;

Totp('deferred: the code is refused as a replay before its write is committed, and the write records the step', async (ctx) => {
  const writes: (() => void)[] = [];
  const code = codeNow(ctx);
  assert.equal(await ctx.factor.verify('alice', codeEquals(code), (w) => writes.push(w)), { ok: true });
  assert.is(writes.length, 1, 'the step is handed over, not written');
  assert.is(lastStep(ctx.store), -1, 'nothing written yet');
  assert.equal(await ctx.factor.verify('alice', codeEquals(code), (w) => writes.push(w)), { ok: false, reason: 'totp_replayed', lockedNow: false }, 'same code again while the first is uncommitted');
  ctx.store.sqlite.transaction(() => writes[0]!())();
  assert.is(lastStep(ctx.store), Math.floor(ctx.t / 30_000));
  assert.equal(await verify(ctx, code), { ok: false, reason: 'totp_replayed', lockedNow: false }, 'and refused from the store afterwards');
});

Totp('deferred: a write never lowers the step, and clears earlier failures', async (ctx) => {
  assert.equal((await verify(ctx, wrongCode(ctx))).ok, false);
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 1);
  const writes: (() => void)[] = [];
  const early = totp(ctx.seed, ctx.t - 30_000);
  assert.equal(await ctx.factor.verify('alice', codeEquals(early), (w) => writes.push(w)), { ok: true });
  ctx.t += 60_000;
  assert.equal(await verify(ctx, codeNow(ctx)), { ok: true }, 'a later code, written at once');
  const later = lastStep(ctx.store);
  writes[0]!();
  assert.is(lastStep(ctx.store), later, 'the late write of the earlier step does not roll the step back');
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 0);
});

Totp('deferred: a wrong code recorded before the write keeps counting', async (ctx) => {
  assert.equal((await verify(ctx, wrongCode(ctx))).ok, false);
  const writes: (() => void)[] = [];
  assert.equal(await ctx.factor.verify('alice', codeEquals(codeNow(ctx)), (w) => writes.push(w)), { ok: true });
  assert.equal((await verify(ctx, wrongCode(ctx))).ok, false);
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 2);
  writes[0]!();
  assert.is((await row(ctx.store, 'alice')).failedAttempts, 2, 'the success seen before the second failure does not erase it');
});

Totp.run();
