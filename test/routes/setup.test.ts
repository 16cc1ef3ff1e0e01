// app/routes/setup.tsx through the whole HTTP app (app.request(), no socket): the VM appliance's
// one-time setup page, over a real SQLite file in a fresh temporary data directory that holds
// (or not) DATA_DIR/setup-code as the VM's first boot writes it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countAdmins, findAdminByName, insertAdmin } from '../../app/db/queries/admins.js';
import { hashPassword } from '../../app/lib/password.js';
import { makeWebApp, type WebApp } from '../helpers/web.js';

const CODE = 'NL8L-USUC-58FG-TR8P';
const PASSPHRASE = 'a long enough first passphrase';

interface Ctx {
  w: WebApp;
  dir: string;
  file: string;
}

/** A fresh app over a real store in a temporary data directory, with the setup code file unless `file: false`. */
async function fresh(o: { file?: string | false } = {}): Promise<Ctx> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-setup-'));
  const file = join(dir, 'setup-code');
  if (o.file !== false) writeFileSync(file, `${o.file ?? CODE}\n`, { mode: 0o600 });
  return { w: await makeWebApp({ dataDir: dir }), dir, file };
}

function done(ctx: Ctx): void {
  ctx.w.close();
  rmSync(ctx.dir, { recursive: true, force: true });
}

async function run(o: { file?: string | false }, f: (ctx: Ctx) => Promise<void>): Promise<void> {
  const ctx = await fresh(o);
  try {
    await f(ctx);
  } finally {
    done(ctx);
  }
}

/** The pre-session CSRF cookie and token, as a browser gets them from a page before sign-in. */
async function browser(w: WebApp, from = '/login'): Promise<{ cookie: string; csrf: string }> {
  const res = await w.app.request(from);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1];
  assert.ok(cookie.startsWith('gh_pre='), 'a pre-session cookie');
  assert.ok(csrf, 'a CSRF token in the page');
  return { cookie, csrf: csrf! };
}

interface Sent {
  status: number;
  text: string;
  headers: Headers;
}

async function postSetup(w: WebApp, form: Record<string, string>, b?: { cookie: string; csrf: string } | 'no-csrf'): Promise<Sent> {
  const session = b === 'no-csrf' ? { cookie: (await browser(w)).cookie, csrf: undefined } : (b ?? (await browser(w)));
  const body = new URLSearchParams({ ...(session.csrf !== undefined ? { _csrf: session.csrf } : {}), ...form }).toString();
  const res = await w.app.request('/setup', { method: 'POST', headers: { Cookie: session.cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const good = (o: Partial<Record<'code' | 'name' | 'password' | 'confirm', string>> = {}) => ({ code: CODE, name: 'alice', password: PASSPHRASE, confirm: PASSPHRASE, ...o });

/** No audit record and no page may carry the code (in any spelling) or a passphrase. */
function assertNoSecrets(w: WebApp, texts: string[], secrets: string[]): void {
  const audit = JSON.stringify(w.auditRows());
  const spellings = secrets.flatMap((s) => [s, s.replace(/-/g, ''), s.toLowerCase(), s.toLowerCase().replace(/-/g, '')]);
  for (const s of spellings) {
    assert.not.ok(audit.includes(s), `the audit log must not contain ${s}`);
    for (const t of texts) assert.not.ok(t.includes(s), `a page must not contain ${s}`);
    for (const l of w.logs()) assert.not.ok(l.includes(s), `the log must not contain ${s}`);
  }
}

const Setup = suite('routes/setup');

Setup('no setup code file: GET and POST /setup are 404, and the sign-in page has no link', () =>
  run({ file: false }, async ({ w }) => {
    assert.is((await w.app.request('/setup')).status, 404);
    const post = await postSetup(w, good());
    assert.is(post.status, 404);
    assert.is(await countAdmins(w.store), 0);
    const login = await (await w.app.request('/login')).text();
    assert.not.ok(login.includes('href="/setup"'));
    assert.ok(login.includes('gatehouse admin add NAME'), 'the console way is shown instead');
  }),
);

Setup('an admin exists: /setup is 404 even with the file, the right code does nothing, no link', () =>
  run({}, async ({ w, file }) => {
    await insertAdmin(w.store, 'root', await hashPassword('the first admin passphrase'));
    assert.is((await w.app.request('/setup')).status, 404);
    const post = await postSetup(w, good({ name: 'mallory' }));
    assert.is(post.status, 404);
    assert.is(await findAdminByName(w.store, 'mallory'), undefined);
    assert.ok(existsSync(file), 'the file is left alone');
    const login = await (await w.app.request('/login')).text();
    assert.not.ok(login.includes('href="/setup"'));
    assert.not.ok(login.includes('First time here?'));
  }),
);

Setup('a file without a usable code (empty, or too short) is not an offer', async () => {
  for (const content of ['', '   ', 'AB-CD']) {
    await run({ file: content }, async ({ w }) => {
      assert.is((await w.app.request('/setup')).status, 404, `file ${JSON.stringify(content)}`);
      const post = await postSetup(w, good({ code: content }));
      assert.is(post.status, 404);
      assert.is(await countAdmins(w.store), 0);
    });
  }
});

Setup('file and no admin: the form, with labels, a CSRF token, no-store and the security headers; the sign-in page links to it', () =>
  run({}, async ({ w }) => {
    const res = await w.app.request('/setup');
    const text = await res.text();
    assert.is(res.status, 200);
    for (const s of ['Create the first admin', '<label for="f-code">Setup code</label>', '<label for="f-name">Admin name</label>', '<label for="f-password">Passphrase</label>', '<label for="f-confirm">Passphrase again</label>', 'name="_csrf"', 'action="/setup"', 'autocomplete="new-password"'])
      assert.ok(text.includes(s), `page has ${s}`);
    assert.not.ok(text.includes(CODE), 'the code is never in the page');
    assert.is(res.headers.get('cache-control'), 'no-store');
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(res.headers.get('set-cookie') ?? '', /^gh_pre=/);
    const login = await (await w.app.request('/login')).text();
    assert.ok(login.includes('First time here?'));
    assert.ok(login.includes('<a href="/setup">Create the first admin</a> with the setup code from the console'));
  }),
);

Setup('a wrong code: 422 with a clear message, audited without the code, no admin, the file stays, a delay', () =>
  run({}, async ({ w, file }) => {
    const wrong = 'AAAA-BBBB-CCCC-DDDD';
    const res = await postSetup(w, good({ code: wrong, name: 'alice' }));
    assert.is(res.status, 422);
    assert.ok(res.text.includes('That setup code is not correct'));
    assert.ok(res.text.includes('value="alice"'), 'the name is kept');
    assert.is(await countAdmins(w.store), 0);
    assert.ok(existsSync(file));
    const last = w.auditRows().at(-1)!;
    assert.is(last.event, 'admin.setup');
    assert.is(last.outcome, 'reject');
    assert.is(last.reason, 'wrong_code');
    assert.is(last.source, 'http:local');
    assert.is(last.details, JSON.stringify({ count: 1 }));
    assert.equal(w.delays(), [500]);
    assertNoSecrets(w, [res.text], [wrong, CODE, PASSPHRASE]);
  }),
);

Setup('ten wrong codes lock the source out for 15 minutes, even for the right code; then it works', () =>
  run({}, async ({ w, file }) => {
    const b = await browser(w, '/setup');
    for (let i = 1; i <= 10; i++) {
      const res = await postSetup(w, good({ code: `WRNG-CODE-${String(i).padStart(4, '2')}-XXXX` }), b);
      assert.is(res.status, 422, `attempt ${i}`);
      if (i === 10) assert.ok(res.text.includes('must wait 15 minutes'), 'the tenth says so');
    }
    assert.equal(w.delays(), [500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000]);
    const tenth = w.auditRows().at(-1)!;
    assert.is(tenth.details, JSON.stringify({ count: 10, message: 'source locked out for 15 minutes' }));

    w.clock.advance(14 * 60_000);
    const locked = await postSetup(w, good(), b);
    assert.is(locked.status, 429);
    assert.ok(locked.text.includes('Too many wrong setup codes from this address. Try again in 1 minute.'));
    assert.is(locked.headers.get('retry-after'), '60');
    assert.is(await countAdmins(w.store), 0, 'the right code is not even looked at while locked out');
    assert.ok(existsSync(file));
    assert.is(w.auditRows().at(-1)!.reason, 'locked');

    w.clock.advance(60_000);
    const ok = await postSetup(w, good(), b);
    assert.is(ok.status, 303);
    assert.is(await countAdmins(w.store), 1);
  }),
);

Setup('without the CSRF token: 403, nothing created, nothing counted', () =>
  run({}, async ({ w, file }) => {
    const before = w.auditRows().length;
    const res = await postSetup(w, good(), 'no-csrf');
    assert.is(res.status, 403);
    assert.ok(res.text.includes('CSRF'));
    assert.is(await countAdmins(w.store), 0);
    assert.ok(existsSync(file));
    assert.is(w.auditRows().length, before);
    const foreign = await w.app.request('/setup', {
      method: 'POST',
      headers: { Origin: 'https://evil.example', Host: 'localhost', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(good()).toString(),
    });
    assert.is(foreign.status, 403);
    assert.is(await countAdmins(w.store), 0);
  }),
);

Setup('the right code with a weak, mismatched passphrase or a bad name: 422, nothing echoed, not counted as a wrong code', () =>
  run({}, async ({ w, file }) => {
    const b = await browser(w, '/setup');
    const cases: { form: Record<string, string>; says: string; reason: string }[] = [
      { form: good({ password: 'short', confirm: 'short' }), says: 'at least 12 characters', reason: 'weak_password' },
      { form: good({ confirm: 'a different passphrase!' }), says: 'The two passphrases differ.', reason: 'password_mismatch' },
      { form: good({ name: 'bad name!' }), says: 'name must be 1-64 letters', reason: 'bad_name' },
      { form: good({ name: 'x'.repeat(65) }), says: 'name must be 1-64 letters', reason: 'bad_name' },
    ];
    const texts: string[] = [];
    for (const k of cases) {
      const res = await postSetup(w, k.form, b);
      assert.is(res.status, 422, k.reason);
      assert.ok(res.text.includes(k.says), `${k.reason}: says ${k.says}`);
      assert.is(w.auditRows().at(-1)!.reason, k.reason);
      texts.push(res.text);
    }
    assert.is(await countAdmins(w.store), 0);
    assert.ok(existsSync(file));
    assert.equal(w.delays(), [], 'the code was right: no failure delay');
    assertNoSecrets(w, texts, [CODE, PASSPHRASE, 'a different passphrase!']);
  }),
);

Setup('success: 303 to sign-in, the admin exists (TOTP still to enrol), the file is gone, admin.add by setup-code without secrets; then 404', () =>
  run({}, async ({ w, file }) => {
    const b = await browser(w, '/setup');
    const res = await postSetup(w, good(), b);
    assert.is(res.status, 303);
    assert.is(res.headers.get('location'), '/login?setup=done');
    const admin = await findAdminByName(w.store, 'alice');
    assert.ok(admin, 'the admin exists');
    assert.is(admin!.hasTotp, false, 'enrols TOTP at the first sign-in');
    assert.not.ok(existsSync(file), 'the setup code file is removed');
    const added = w.auditRows().filter((r) => r.event === 'admin.add');
    assert.is(added.length, 1);
    assert.is(added[0]!.actor, 'setup-code');
    assert.is(added[0]!.outcome, 'ok');
    assert.is(added[0]!.source, 'http:local');
    assert.is(added[0]!.details, JSON.stringify({ message: 'setup code removed', name: 'alice', role: 'admin' }), 'adding the admin retired the setup code');
    assertNoSecrets(w, [res.text], [CODE, PASSPHRASE]);

    assert.is((await postSetup(w, good({ name: 'bob' }), b)).status, 404);
    assert.is((await w.app.request('/setup')).status, 404);
    assert.is(await countAdmins(w.store), 1);

    // Even if a setup code file turns up again, an admin exists: 404 for good.
    writeFileSync(file, `${CODE}\n`, { mode: 0o600 });
    assert.is((await w.app.request('/setup')).status, 404);
    assert.is((await postSetup(w, good({ name: 'carol' }), b)).status, 404);
    assert.is(await countAdmins(w.store), 1);

    // The sign-in page says what happened and no longer offers setup; the new admin signs in
    // and is taken to TOTP enrolment like any new admin.
    const login = await (await w.app.request('/login?setup=done', { headers: { Cookie: b.cookie } })).text();
    assert.ok(login.includes('The admin was created.'));
    assert.not.ok(login.includes('href="/setup"'));
    const signIn = await w.app.request('/login', {
      method: 'POST',
      headers: { Cookie: b.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: b.csrf, name: 'alice', password: PASSPHRASE }).toString(),
    });
    assert.is(signIn.status, 303);
    assert.is(signIn.headers.get('location'), '/login/enrol');
  }),
);

Setup('the code is accepted in lower case, without dashes, or with spaces', async () => {
  for (const typed of ['nl8lusuc58fgtr8p', '  nl8l usuc 58fg tr8p  ', 'Nl8L-uSuC-58fG-tR8p']) {
    await run({}, async ({ w, file }) => {
      const res = await postSetup(w, good({ code: typed }));
      assert.is(res.status, 303, `typed ${JSON.stringify(typed)}`);
      assert.is(await countAdmins(w.store), 1);
      assert.not.ok(existsSync(file));
    });
  }
});

Setup('two right attempts at once make one admin: the second is 404', () =>
  run({}, async ({ w }) => {
    const b = await browser(w, '/setup');
    const [x, y] = await Promise.all([postSetup(w, good({ name: 'alice' }), b), postSetup(w, good({ name: 'bob' }), b)]);
    assert.equal([x.status, y.status].sort(), [303, 404]);
    assert.is(await countAdmins(w.store), 1);
  }),
);

Setup.run();
