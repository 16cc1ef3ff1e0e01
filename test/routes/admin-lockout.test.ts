// Guessing an admin's password or code, through the whole HTTP app (app.request()) over a real
// store: ten failures lock the account for 15 minutes, each failure slows the next answer, the
// lockout is one admin.lockout record; failures sent in parallel all count (they used to be
// written from a row read before an await, so 40 at once counted as one); a code signs in once;
// one source address cannot lock out every admin in turn.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findAdminByName } from '../../app/db/queries/admins.js';
import { makeWebApp, passwordStep, postForm, preSession, type Visitor, type WebApp } from '../helpers/web.js';

interface Ctx {
  w: WebApp;
}

const L = suite<Ctx>('admin sign-in: lockout and throttling');

L.before.each(async (ctx) => {
  ctx.w = await makeWebApp();
});
L.after.each((ctx) => ctx.w.close());

const signIn = (w: WebApp, pre: Visitor, name: string, password: string) => postForm(w, '/login', pre, { _csrf: pre.csrf, name, password });

const row = async (w: WebApp, name = 'root') => (await findAdminByName(w.store, name))!;
const events = (w: WebApp, event: string) => w.auditRows().filter((r) => r.event === event);

L('ten wrong passwords lock the account for 15 minutes: slower answers, one admin.lockout record, the right password refused meanwhile', async ({ w }) => {
  const { password } = await w.adminCredentials('root');
  const pre = await preSession(w);
  for (let i = 1; i <= 10; i++) assert.is((await signIn(w, pre, 'root', 'not the password')).status, 401);
  assert.equal(w.delays(), [500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000], 'each failure slows the next answer');
  assert.ok((await row(w)).lockedUntil !== null && (await row(w)).lockedUntil! === w.clock.now() + 15 * 60_000, 'locked for 15 minutes');
  assert.is(events(w, 'admin.lockout').length, 1);
  assert.is(events(w, 'admin.lockout')[0]!.actor, 'admin:root');
  // From another address (the first one is throttled by now): the right password is refused too.
  const other = await preSession(w, '203.0.113.9');
  const locked = await signIn(w, other, 'root', password);
  assert.is(locked.status, 401);
  assert.is(events(w, 'admin.signin').at(-1)!.reason, 'locked');
  w.clock.advance(15 * 60_000 + 1);
  assert.is((await signIn(w, other, 'root', password)).status, 303, 'after 15 minutes the password works again');
});

L('40 wrong passwords sent at once all count: the account is locked', async ({ w }) => {
  await w.adminCredentials('root');
  const pres = await Promise.all(Array.from({ length: 40 }, (_, i) => preSession(w, `198.51.100.${i + 20}`)));
  const answers = await Promise.all(pres.map((pre) => signIn(w, pre, 'root', 'not the password')));
  assert.ok(answers.every((r) => r.status === 401));
  assert.ok(((await row(w)).lockedUntil ?? 0) > w.clock.now(), 'locked');
  // 40 failures: a lockout at the 10th, 20th, 30th and 40th.
  assert.is(events(w, 'admin.lockout').length, 4);
  assert.is(events(w, 'admin.signin').filter((r) => r.outcome === 'reject').length, 40);
});

L('200 wrong codes sent at once lock the account; the right code sent after them is refused; a code signs in once', async ({ w }) => {
  const creds = await w.adminCredentials('root');
  const half = await passwordStep(w, 'root', creds.password);
  const wrong = creds.code() === '000000' ? '111111' : '000000';
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => postForm(w, '/login/code', { cookie: half.cookie, from: `192.0.2.${(i % 200) + 1}` }, { _csrf: half.csrf, code: wrong })));
  assert.ok(answers.every((r) => r.status === 401));
  assert.ok(((await row(w)).lockedUntil ?? 0) > w.clock.now());
  const right = await postForm(w, '/login/code', half, { _csrf: half.csrf, code: creds.code() });
  assert.is(right.status, 401, 'the right code is refused while locked');

  // After the lockout: the right code signs in once; the same code in a second session is refused.
  w.clock.advance(15 * 60_000 + 1);
  const a = await passwordStep(w, 'root', creds.password, '192.0.2.240');
  const b = await passwordStep(w, 'root', creds.password, '192.0.2.241');
  const code = creds.code();
  const [ra, rb] = await Promise.all([postForm(w, '/login/code', a, { _csrf: a.csrf, code }), postForm(w, '/login/code', b, { _csrf: b.csrf, code })]);
  assert.equal([ra.status, rb.status].sort(), [303, 401], 'exactly one of two parallel sign-ins with the same code succeeds');
  assert.is(events(w, 'admin.signin').filter((r) => r.reason === 'totp_replayed').length, 1);
});

L('one source address is throttled after ten failures, before any account is touched: it cannot lock out every admin in turn', async ({ w }) => {
  await w.adminCredentials('root');
  const others = ['ann', 'ben', 'cy'];
  for (const n of others) await w.adminCredentials(n);
  const pre = await preSession(w, '203.0.113.50');
  // Spread over the accounts, as an attacker locking out every admin would.
  for (let i = 0; i < 10; i++) assert.is((await signIn(w, pre, ['root', ...others][i % 4]!, 'wrong guess')).status, 401);
  const refused = await signIn(w, pre, 'root', 'wrong guess');
  assert.is(refused.status, 429);
  assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
  assert.match(await refused.text(), /Too many failed sign-ins from this address/);
  for (const n of ['root', ...others]) {
    assert.is((await row(w, n)).lockedUntil, null, `${n} is not locked`);
    assert.ok((await row(w, n)).failedAttempts <= 3, `${n}: the throttled attempt did not count`);
  }
  assert.is(events(w, 'admin.throttle').length, 1);
  // Another address is not affected; the same /64 of an IPv6 address is one source.
  const elsewhere = await preSession(w, '198.51.100.77');
  assert.is((await signIn(w, elsewhere, 'ben', 'ben-password-long')).status, 303);
  const v6 = await preSession(w, '2001:db8:1:2::10');
  for (let i = 0; i < 10; i++) await signIn(w, v6, 'root', 'wrong guess');
  const sameNet = await preSession(w, '2001:db8:1:2:ffff::99');
  assert.is((await signIn(w, sameNet, 'root', 'wrong guess')).status, 429, 'the /64 is throttled');
  w.clock.advance(15 * 60_000 + 1);
  assert.is((await signIn(w, await preSession(w, '203.0.113.50'), 'root', 'root-password-long')).status, 303, 'the throttle ends after 15 minutes');
});

L('parallel wrong passwords from one source cannot get past its throttle: at most ten are checked, the rest refused at once', async ({ w }) => {
  const names = ['root', 'ann', 'ben', 'cy'];
  for (const n of names) await w.adminCredentials(n);
  const pre = await preSession(w, '203.0.113.60');
  // Ten per admin, all at once: before, the throttle was read before the password hashing and
  // every one of them got through, locking every admin.
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => signIn(w, pre, names[i % 4]!, 'wrong guess')));
  const statuses = answers.map((r) => r.status);
  assert.ok(statuses.filter((x) => x === 401).length <= 10, statuses.join(','));
  assert.ok(statuses.filter((x) => x === 429).length >= 30, statuses.join(','));
  const rows = await Promise.all(names.map(async (name) => await row(w, name)));
  const counted = rows.reduce((n, r) => n + r.failedAttempts + (r.lockedUntil !== null ? 10 : 0), 0);
  assert.ok(counted <= 10, `${counted} failures reached the accounts`);
  assert.ok(rows.filter((r) => r.lockedUntil !== null).length <= 1, 'at most one admin locked');
  // The refusals are audited once a minute for the source, not once each.
  const refusals = events(w, 'admin.signin').filter((r) => r.reason === 'source_throttled');
  assert.is(refusals.length, 1);
});

L('an IPv4 client of a dual-stack listener (::ffff:a.b.c.d) is throttled as its own address, not with every other IPv4 client', async ({ w }) => {
  await w.adminCredentials('root');
  await w.adminCredentials('ann');
  const a = await preSession(w, '::ffff:192.0.2.7');
  for (let i = 0; i < 10; i++) await signIn(w, a, 'root', 'wrong guess');
  assert.is((await signIn(w, a, 'root', 'wrong guess')).status, 429);
  assert.is((await signIn(w, await preSession(w, '192.0.2.7'), 'ann', 'ann-password-long')).status, 429, 'the same address, unmapped');
  assert.is((await signIn(w, await preSession(w, '::ffff:192.0.2.8'), 'ann', 'ann-password-long')).status, 303, 'another IPv4 client signs in');
});

L.run();
