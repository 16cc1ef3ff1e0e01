// Admin sessions as the README promises them, through the whole HTTP app (app.request()) with the
// app's injected clock: a session ends after 30 minutes without a request and 12 hours after
// sign-in however active; each sign-in step replaces the session (the cookie from before a step
// stops working after it); over HTTPS the cookie is `__Host-` prefixed and Secure.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { insertAdmin } from '../../app/db/queries/admins.js';
import { hashPassword } from '../../app/lib/password.js';
import { base32Decode, hotp, totpStep } from '../../app/mfa/otp.js';
import { formCsrf, makeWebApp, passwordStep, peer, postForm, preSession, sessionCookieOf, sessionSetCookie, type WebApp } from '../helpers/web.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface Ctx {
  w: WebApp;
}

const S = suite<Ctx>('admin sessions');
S.before.each(async (ctx) => {
  ctx.w = await makeWebApp();
});
S.after.each((ctx) => ctx.w.close());

/** The dashboard with this cookie: 200 when the session is good, else 303 to /login. */
async function dashboard(w: WebApp, cookie: string): Promise<number | string> {
  const res = await w.app.request('/', { headers: { Cookie: cookie } });
  return res.status === 303 ? `303 ${res.headers.get('location')}` : res.status;
}

S('a session ends after 30 minutes without a request, and stays ended', async ({ w }) => {
  const { cookie } = await w.adminSession();
  for (let i = 1; i <= 3; i++) {
    w.clock.advance(29 * MINUTE);
    assert.is(await dashboard(w, cookie), 200, `a request ${i * 29} minutes in, 29 after the last`);
  }
  w.clock.advance(30 * MINUTE + 1000);
  assert.is(await dashboard(w, cookie), '303 /login', '30 minutes without a request');
  // Not merely judged idle: it is gone, so going back in time does not revive it.
  w.clock.advance(-5 * MINUTE);
  assert.is(await dashboard(w, cookie), '303 /login');
});

S('a page refreshing itself (the dashboard, approvals) does not keep the session from going idle', async ({ w }) => {
  const { cookie } = await w.adminSession();
  const poll = async () => (await w.app.request('/', { headers: { Cookie: cookie, 'HX-Request': 'true', 'X-Gatehouse-Poll': '1' } })).status;
  w.clock.advance(20 * MINUTE);
  assert.is(await poll(), 200, 'the live part still refreshes while the session is good');
  w.clock.advance(11 * MINUTE);
  // 31 minutes since the admin last did anything, 11 since the last refresh.
  assert.is(await dashboard(w, cookie), '303 /login');
  // The dashboard's live part asks with the header.
  const page = await (await w.app.request('/', { headers: { Cookie: (await w.adminSession()).cookie } })).text();
  assert.match(page, /hx-headers="\{&quot;X-Gatehouse-Poll&quot;:&quot;1&quot;\}"/);
});

S('a session ends 12 hours after sign-in, however active', async ({ w }) => {
  const { cookie } = await w.adminSession();
  for (let t = 20 * MINUTE; t < 12 * HOUR; t += 20 * MINUTE) {
    w.clock.advance(20 * MINUTE);
    assert.is(await dashboard(w, cookie), 200, `active at ${t / MINUTE} minutes`);
  }
  w.clock.advance(19 * MINUTE);
  assert.is(await dashboard(w, cookie), 200, 'one minute before 12 hours');
  w.clock.advance(2 * MINUTE);
  assert.is(await dashboard(w, cookie), '303 /login', 'one minute after 12 hours, 2 minutes after the last request');
});

S('sign-in with a code: the session from before, and the half-signed-in one, stop working at the next step', async ({ w }) => {
  const creds = await w.adminCredentials('root');
  // This browser was signed in before; its admin signs in again.
  const earlier = await w.adminSession('root');
  const pre = await preSession(w);
  const password = await postForm(w, '/login', { cookie: `${earlier.cookie}; ${pre.cookie}`, from: pre.from }, { _csrf: earlier.csrf, name: 'root', password: creds.password });
  assert.is(password.status, 303);
  assert.is(password.headers.get('location'), '/login/code');
  const half = sessionCookieOf(password);
  assert.ok(half && half !== earlier.cookie, 'a new session cookie at the password step');
  assert.is(await dashboard(w, earlier.cookie), '303 /login', 'the session from before the password step still works');

  const codePage = await w.app.request('/login/code', { headers: { Cookie: half! } });
  const csrf = formCsrf(await codePage.text())!;
  const code = await postForm(w, '/login/code', { cookie: half!, from: pre.from }, { _csrf: csrf, code: creds.code() });
  assert.is(code.status, 303);
  assert.is(code.headers.get('location'), '/');
  const full = sessionCookieOf(code);
  assert.ok(full && full !== half, 'a new session cookie at the code step');
  assert.is(await dashboard(w, full!), 200);
  // The half-signed-in cookie is gone: no code page, and no second try with it.
  const again = await w.app.request('/login/code', { headers: { Cookie: half! } });
  assert.is(again.status, 303);
  assert.is(again.headers.get('location'), '/login');
  const retry = await postForm(w, '/login/code', { cookie: half!, from: pre.from }, { _csrf: csrf, code: creds.code(1) });
  assert.is(retry.status, 403, 'its CSRF token died with it');
  assert.is(await dashboard(w, full!), 200);
});

S('sign-in from a fresh browser: the pre-session form token stops working once the password is checked', async ({ w }) => {
  const creds = await w.adminCredentials('root');
  const half = await passwordStep(w, 'root', creds.password);
  const pre = await preSession(w, half.from);
  assert.is.not(half.csrf, pre.csrf);
  const withPreToken = await postForm(w, '/login/code', { cookie: `${half.cookie}; ${pre.cookie}`, from: half.from }, { _csrf: pre.csrf, code: creds.code() });
  assert.is(withPreToken.status, 403);
});

S('first sign-in with TOTP enrolment: the half-signed-in session stops working once the code is confirmed', async ({ w }) => {
  await insertAdmin(w.store, 'newbie', await hashPassword('newbie-password-long'));
  const half = await passwordStep(w, 'newbie', 'newbie-password-long');
  assert.is(half.page, '/login/enrol');
  const uri = /otpauth:\/\/totp\/[^"<\s]+/.exec(half.html)?.[0];
  assert.ok(uri, 'the enrolment page shows the otpauth URI');
  const seed = base32Decode(new URL(uri!.replace(/&amp;/g, '&')).searchParams.get('secret')!);
  const res = await postForm(w, '/login/enrol', half, { _csrf: half.csrf, code: hotp(seed, totpStep(w.clock.now(), 30), 6) });
  assert.is(res.status, 303);
  assert.is(res.headers.get('location'), '/');
  const full = sessionCookieOf(res);
  assert.ok(full && full !== half.cookie);
  assert.is(await dashboard(w, full!), 200);
  const enrolAgain = await w.app.request('/login/enrol', { headers: { Cookie: half.cookie } });
  assert.is(enrolAgain.status, 303, 'the enrolment page (and its seed) with the old cookie');
  assert.is(enrolAgain.headers.get('location'), '/login');
});

S('over HTTPS the session cookie is __Host- prefixed, Secure, HttpOnly, SameSite=Strict, for / and no domain', async () => {
  const w = await makeWebApp({ secure: true });
  try {
    const creds = await w.adminCredentials('root');
    const pre = await preSession(w);
    const res = await postForm(w, '/login', pre, { _csrf: pre.csrf, name: 'root', password: creds.password });
    assert.is(res.status, 303);
    const set = sessionSetCookie(res);
    assert.ok(set, 'a session cookie is set');
    const [pair, ...attrs] = set!.split(/;\s*/);
    assert.match(pair!, /^__Host-gh_session=[\w-]{20,}$/);
    const names = attrs.map((a) => a.split('=')[0]!.toLowerCase());
    for (const a of ['secure', 'httponly', 'path']) assert.ok(names.includes(a), `${a} in ${set}`);
    assert.ok(attrs.includes('Path=/'), set);
    assert.ok(attrs.includes('SameSite=Strict'), set);
    assert.not.ok(names.includes('domain'), `a __Host- cookie has no Domain: ${set}`);
    // Only the prefixed name counts: the same token under the plain name is no session.
    const half = pair!;
    const page = await w.app.request('/login/code', { headers: { Cookie: half } }, peer(pre.from));
    assert.is(page.status, 200);
    const plain = await w.app.request('/login/code', { headers: { Cookie: half.replace(/^__Host-/, '') } }, peer(pre.from));
    assert.is(plain.status, 303);
    assert.is(plain.headers.get('location'), '/login');
  } finally {
    w.close();
  }
});

S('over plain HTTP the cookie has no prefix and no Secure (a browser would drop it)', async ({ w }) => {
  const creds = await w.adminCredentials('root');
  const pre = await preSession(w);
  const res = await postForm(w, '/login', pre, { _csrf: pre.csrf, name: 'root', password: creds.password });
  const set = sessionSetCookie(res) ?? '';
  assert.match(set, /^gh_session=/);
  assert.not.match(set, /;\s*Secure/i);
});

S.run();
