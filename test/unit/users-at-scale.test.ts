// Users at scale, over the real admin layer and a real store: CSV as spreadsheets write it, the
// import's plan (every problem named by its line, all or nothing, users not in the file left
// alone), the import planned again when it runs, export and import again changing nothing, and a
// TOTP enrolment that counts only once confirmed, exactly once under parallel requests, its code
// not usable again for a login.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { exportUsersCsv, importUsers, planImport } from '../../app/admin/user-import.js';
import { addUser, confirmUserTotp, enrolUserTotp, pageOfUsers, setUserProfile, userDetail } from '../../app/admin/users.js';
import { createUserFactorQueries } from '../../app/db/queries/users.js';
import { csvCell, csvValue, CsvError, parseCsv } from '../../app/lib/csv.js';
import { base32Decode, codeEquals, hotp, totpStep } from '../../app/mfa/otp.js';
import { createTotpFactor } from '../../app/mfa/totp.js';
import { makeWebApp, type WebApp } from '../helpers/web.js';

const Csv = suite('lib/csv');

Csv('quoted fields, doubled quotes, line breaks inside quotes, CRLF and LF, a BOM, line numbers', () => {
  const recs = parseCsv('\ufeffusername,display_name\r\nann,"Ann ""The Boss"" Lee"\nbob,"two\nlines"\r\n\r\ncid,\n');
  assert.equal(
    recs.map((r) => [r.line, r.fields]),
    [
      [1, ['username', 'display_name']],
      [2, ['ann', 'Ann "The Boss" Lee']],
      [3, ['bob', 'two\nlines']],
      [6, ['cid', '']],
    ],
  );
});

Csv('an unterminated quote is an error naming the line it starts on', () => {
  try {
    parseCsv('username\nann\n"bob\ncid\n');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, CsvError);
    assert.is((e as CsvError).line, 3);
  }
});

Csv('a cell written for a spreadsheet reads back as it was, formulas neutralised on the way', () => {
  for (const v of ['plain', 'a,b', 'say "hi"', '=SUM(A1)', '-5', '@cmd', "it's", 'multi\nline']) {
    const cell = csvCell(v);
    if (/^[=@-]/.test(v)) assert.ok(cell.startsWith(`'`) || cell.startsWith(`"'`), `${v} neutralised`);
    assert.is(csvValue(parseCsv(`${cell}\n`)[0]!.fields[0]!), v);
  }
});
Csv.run();

interface Ctx {
  w: WebApp;
}
const Import = suite<Ctx>('admin/user-import', {} as Ctx);
Import.before.each(async (ctx) => {
  ctx.w = await makeWebApp();
});
Import.after.each((ctx) => ctx.w.close());

const names = async (w: WebApp) => (await pageOfUsers(w.deps.admin, '', undefined, 1000)).users.map((u) => u.username);

Import('a plan says what would change and changes nothing; the import then does it and audits each user', async ({ w }) => {
  const d = w.deps.admin;
  assert.ok((await addUser(d, 'test', 'ann')).ok);
  assert.ok((await setUserProfile(d, 'test', 'ann', { displayName: 'Ann', email: 'ann@example.org', groups: 'staff' })).ok);
  assert.ok((await addUser(d, 'test', 'keep')).ok);
  assert.ok((await addUser(d, 'test', 'same')).ok);
  const file = 'sAMAccountName,Display Name,mail,memberOf,Department\nANN,Ann Lee,,Staff;VPN,IT\nbob,Bob,bob@example.org,vpn,HR\nsame,,,,x\n';
  const plan = await planImport(d, file);
  assert.ok(plan.ok);
  if (!plan.ok) return;
  assert.equal(plan.value.columns, ['username', 'displayName', 'email', 'groups']);
  assert.equal(plan.value.ignored, ['Department']);
  assert.equal([plan.value.rows, plan.value.creates, plan.value.updates, plan.value.unchanged, plan.value.errors.length], [3, 1, 1, 1, 0]);
  assert.equal(plan.value.sample.updates, [{ line: 2, username: 'ann', fields: ['display name', 'email', 'groups'] }]);
  assert.equal(await names(w), ['ann', 'keep', 'same'], 'a plan changes nothing');

  const before = w.auditRows().length;
  const done = await importUsers(d, 'admin:root', file);
  assert.ok(done.ok);
  assert.equal(await names(w), ['ann', 'bob', 'keep', 'same'], 'created; nobody removed');
  const ann = await userDetail(d, 'ann');
  assert.ok(ann.ok && ann.value.displayName === 'Ann Lee' && ann.value.email === null && ann.value.groups.join() === 'staff,vpn', 'an empty cell clears');
  assert.equal(
    w.auditRows().slice(before).map((r) => [r.event, r.username, r.actor]),
    [
      ['user.update', 'ann', 'admin:root'],
      ['user.add', 'bob', 'admin:root'],
      ['user.import', null, 'admin:root'],
    ],
  );
});

Import('every bad line is named, and any of them stops the whole import', async ({ w }) => {
  const d = w.deps.admin;
  const file = ['username,email,groups', 'ok1,,', `${'x'.repeat(300)},,`, 'ok2,not-an-address,', 'ok1,,', `ok3,,${'g'.repeat(65)}`, 'ok4,,,extra', ',,'].join('\n');
  const plan = await planImport(d, file);
  assert.ok(plan.ok);
  if (!plan.ok) return;
  assert.equal(
    plan.value.errors.map((e) => e.line),
    [3, 4, 5, 6, 7, 8],
  );
  assert.match(plan.value.errors[2]!.message, /ok1 is on line 2 already/);
  assert.match(plan.value.errors[4]!.message, /4 fields where the first line names 3/);
  assert.equal(plan.value.writes, []);
  const r = await importUsers(d, 'test', file);
  assert.not.ok(r.ok);
  assert.equal(await names(w), [], 'all or nothing');
});

Import('a file refused as a whole: empty, no username column, not CSV, too many columns named twice', async ({ w }) => {
  const d = w.deps.admin;
  for (const [file, why] of [
    ['', /empty/],
    ['email,groups\na@example.org,x\n', /no username column/],
    ['username\n"ann\n', /not a CSV file: line 2/],
    ['username,login\nann,ann\n', /two columns are the username/],
  ] as const) {
    const p = await planImport(d, file);
    assert.not.ok(p.ok, file);
    if (!p.ok) assert.match(p.error, why);
  }
});

Import('the import is planned again when it runs: a user added meanwhile is changed, not created twice', async ({ w }) => {
  const d = w.deps.admin;
  const file = 'username,display_name\nann,Ann\n';
  const plan = await planImport(d, file);
  assert.ok(plan.ok && plan.value.creates === 1);
  assert.ok((await addUser(d, 'test', 'ann')).ok);
  const done = await importUsers(d, 'test', file);
  assert.ok(done.ok && done.value.creates === 0 && done.value.updates === 1);
});

Import('an export imported again changes nothing, formulas and all', async ({ w }) => {
  const d = w.deps.admin;
  for (const n of ['ann', 'bob', '-dash']) assert.ok((await addUser(d, 'test', n)).ok);
  assert.ok((await setUserProfile(d, 'test', 'ann', { displayName: '=HYPERLINK("http://x")', email: 'ann@example.org', groups: 'a;b c' })).ok);
  assert.ok((await enrolUserTotp(d, 'test', 'bob', { activate: 'now' })).ok);
  const chunks: string[] = [];
  for await (const chunk of exportUsersCsv(d, 2)) chunks.push(chunk);
  const csv = chunks.join('');
  assert.match(csv, /^username,display_name,email,groups,totp,locked,created_at\r\n/);
  assert.match(csv, /\r\nbob,,,,enrolled,no,/);
  const again = await planImport(d, csv);
  assert.ok(again.ok);
  if (!again.ok) return;
  assert.equal([again.value.rows, again.value.creates, again.value.updates, again.value.unchanged, again.value.errors], [3, 0, 0, 3, []]);
  assert.equal(again.value.ignored, ['totp', 'locked', 'created_at']);
});
Import.run();

const Confirm = suite<Ctx>('admin/users: enrolment confirmed with a code', {} as Ctx);
Confirm.before.each(async (ctx) => {
  ctx.w = await makeWebApp();
});
Confirm.after.each((ctx) => ctx.w.close());

const seedOf = (uri: string) => base32Decode(new URL(uri).searchParams.get('secret')!);

Confirm('a new authenticator does not count until confirmed; the old one works meanwhile', async ({ w }) => {
  const d = w.deps.admin;
  const first = await enrolUserTotp(d, 'test', 'ann', { activate: 'now' });
  const second = await enrolUserTotp(d, 'test', 'ann', { activate: 'after-code' });
  assert.ok(first.ok && second.ok);
  if (!first.ok || !second.ok) return;
  const factor = createTotpFactor(createUserFactorQueries(w.store, w.sealer), () => ({ maxFailures: 5, lockoutMs: 60_000 }), w.clock.now);
  const step = totpStep(w.clock.now(), 30);
  const oldCode = hotp(seedOf(first.value.uri), step, 6);
  assert.is((await factor.verify('ann', codeEquals(oldCode))).ok, true, 'the current authenticator keeps working');
  w.clock.advance(30_000);
  const next = totpStep(w.clock.now(), 30);
  assert.is((await factor.verify('ann', codeEquals(hotp(seedOf(second.value.uri), next, 6)))).ok, false, 'the new one does not count yet');
  const ok = await confirmUserTotp(d, 'admin:root', 'ANN', hotp(seedOf(second.value.uri), next, 6));
  assert.ok(ok.ok, ok.ok ? '' : ok.error);
  w.clock.advance(30_000);
  const later = totpStep(w.clock.now(), 30);
  assert.is((await factor.verify('ann', codeEquals(hotp(seedOf(first.value.uri), later, 6)))).ok, false, 'the old one stopped');
  assert.is((await factor.verify('ann', codeEquals(hotp(seedOf(second.value.uri), later, 6)))).ok, true, 'the new one counts');
});

Confirm('the code that confirmed cannot log in again (replay)', async ({ w }) => {
  const d = w.deps.admin;
  const e = await enrolUserTotp(d, 'test', 'ann', { activate: 'after-code' });
  assert.ok(e.ok);
  if (!e.ok) return;
  const code = hotp(seedOf(e.value.uri), totpStep(w.clock.now(), 30), 6);
  assert.ok((await confirmUserTotp(d, 'test', 'ann', code)).ok);
  const factor = createTotpFactor(createUserFactorQueries(w.store, w.sealer), () => ({ maxFailures: 5, lockoutMs: 60_000 }), w.clock.now);
  const again = await factor.verify('ann', codeEquals(code));
  assert.is(again.ok, false);
  assert.equal(again.ok ? '' : again.reason, 'totp_replayed');
});

Confirm('twenty parallel confirmations over the API: one is confirmed, the others told it is gone', async ({ w }) => {
  const token = await w.apiToken('ci');
  const e = await enrolUserTotp(w.deps.admin, 'test', 'ann', { activate: 'after-code' });
  assert.ok(e.ok);
  if (!e.ok) return;
  const code = hotp(seedOf(e.value.uri), totpStep(w.clock.now(), 30), 6);
  const answers = await Promise.all(
    Array.from({ length: 20 }, async () =>
      (await w.app.request('/api/v1/users/ann/totp/confirm', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ code }) })).status,
    ),
  );
  assert.is(answers.filter((s) => s === 200).length, 1, answers.join());
  assert.ok(answers.every((s) => s === 200 || s === 404 || s === 409), answers.join());
  assert.is(w.auditRows().filter((r) => r.event === 'totp.confirm' && r.outcome === 'ok').length, 1);
});
Confirm.run();
