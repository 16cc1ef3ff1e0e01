// Self-service at /my in real Chromium at a phone's width, against a real OpenLDAP (slapd): a new
// user signs in with their directory password, enrols TOTP (the code computed from the URI the
// page shows), confirms it, and signs in to the VPN with radclient; someone past the enrolment
// window is refused with a clear message until an admin's one-time code lets them in; someone
// with a factor must pass it before changing anything. No password or code reaches the log or
// the audit log.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditRecords, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { ARTIFACTS, launchChromium, overflowsViewport } from '../helpers/browser.js';
import { runRadclient } from '../helpers/radclient.js';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, startSlapd, type Slapd } from '../helpers/slapd.js';
import { totpCode } from '../helpers/totp.js';
import { base32Decode } from '../../app/mfa/otp.js';

const CS = 'self-service-nas-secret';

interface Ctx {
  slapd: Slapd;
  gh: Appliance;
  browser: Browser;
  base: string;
}

const M = suite<Ctx>('self-service at /my');

M.before(async (ctx) => {
  ctx.slapd = await startSlapd({ users: ['newbie', 'oldie', 'tessa'].map((uid) => ({ uid, password: `${uid}-dir-pw`, displayName: uid[0]!.toUpperCase() + uid.slice(1) })) });
  ctx.gh = await startAppliance({
    args: ['--ldap-url', ctx.slapd.url, '--ldap-preset', 'openldap', '--ldap-base-dn', BASE_DN, '--ldap-bind-dn', ADMIN_DN, '--first-factor', 'directory', '--address-secret-in', `127.0.0.1:${CS}`, '--enrol-window', '7', '--ldap-sync-interval', '0'],
    env: { LDAP_BIND_PASSWORD: ADMIN_PASSWORD },
  });
  // oldie was first seen 30 days ago: past the 7-day window.
  assert.is((await ctx.gh.cli(['user', 'add', 'oldie'])).code, 0);
  const db = new Database(join(ctx.gh.dataDir, 'gatehouse.sqlite'));
  db.prepare('UPDATE users SET created_at = ? WHERE username = ?').run(Date.now() - 30 * 86_400_000, 'oldie');
  db.close();
  ctx.base = `http://127.0.0.1:${ctx.gh.httpPort}`;
  ctx.browser = await launchChromium();
});
M.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.gh?.stop();
  await ctx.slapd?.stop();
});

async function phone(ctx: Ctx): Promise<Page> {
  const context = await ctx.browser.newContext({ viewport: { width: 390, height: 844 } });
  return context.newPage();
}
async function signIn(page: Page, base: string, name: string, password: string): Promise<void> {
  await page.goto(`${base}/my`);
  await page.fill('#f-username', name);
  await page.fill('#f-password', password);
  await page.click('button:has-text("Sign in")');
}
async function fitsPhone(page: Page, what: string): Promise<void> {
  const o = await overflowsViewport(page);
  assert.ok(o.scrollWidth <= o.viewport, `${what}: ${o.scrollWidth} px wide at ${o.viewport}`);
}
const vpn = (gh: Appliance, name: string, password: string) => runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: CS, attrs: `User-Name = "${name}"\nUser-Password = "${password}"\nMessage-Authenticator = 0x00`, timeoutSec: 4 });

M('a new user enrols TOTP on their phone, confirms it, and the VPN takes the code', async (ctx) => {
  const page = await phone(ctx);
  // A wrong password first: the page says so, and stays the sign-in page.
  await signIn(page, ctx.base, 'newbie', 'not-my-password');
  assert.match((await page.textContent('.flash.error')) ?? '', /user name or password is not correct/);
  await signIn(page, ctx.base, 'newbie', 'newbie-dir-pw');
  await page.waitForSelector('button:has-text("Set up an authenticator app")');
  assert.is(new URL(page.url()).pathname, '/my');
  await fitsPhone(page, '/my home');
  await page.click('button:has-text("Set up an authenticator app")');
  await page.waitForSelector('#totp-enrol svg');
  await page.click('summary:has-text("Enter the key by hand")');
  const uri = new URL((await page.textContent('#totp-uri'))!.trim());
  const seed = base32Decode(uri.searchParams.get('secret')!);
  await page.screenshot({ path: join(ARTIFACTS, 'my-enrol-totp-390.png'), fullPage: true });
  await fitsPhone(page, '/my enrolment');
  // A wrong code is refused next to the field; the enrolment waits.
  await page.fill('#f-code', totpCode(seed, 5));
  await page.click('button:has-text("Confirm")');
  assert.match((await page.textContent('#f-code-hint')) ?? '', /does not match the new authenticator/);
  await page.fill('#f-code', totpCode(seed));
  await page.click('button:has-text("Confirm")');
  await page.waitForSelector('text=Your authenticator app is set up');
  // Reload lands on the same page; Back too.
  assert.is((await page.reload())?.status(), 200);
  assert.match((await page.textContent('main')) ?? '', /set up/);
  // The VPN: the directory password with the next code appended.
  const r = await vpn(ctx.gh, 'newbie', `newbie-dir-pw,${totpCode(seed, 1)}`);
  assert.is(r.replyCode, 'Access-Accept', r.stdout);
  // The sign-in shows among the recent ones.
  await page.reload();
  assert.match((await page.textContent('#recent')) ?? '', /allowed/);
  await page.context().close();
});

M('past the enrolment window: refused with a clear message until an admin gives a one-time code', async (ctx) => {
  const page = await phone(ctx);
  await signIn(page, ctx.base, 'oldie', 'oldie-dir-pw');
  await page.waitForSelector('#window-ended');
  assert.match((await page.textContent('#window-ended')) ?? '', /time to set up your first sign-in method on your own has ended.*Ask your administrator for an enrolment code/);
  assert.is(await page.$('button:has-text("Set up an authenticator app")'), null);
  await page.screenshot({ path: join(ARTIFACTS, 'my-window-ended-390.png'), fullPage: true });
  await page.fill('#f-code', 'AAAAA-BBBBB');
  await page.click('button:has-text("Continue")');
  assert.match((await page.textContent('#f-code-hint')) ?? '', /not right, was used already, or has expired/);
  const made = await ctx.gh.cli(['user', 'enrol-code', 'oldie']);
  assert.is(made.code, 0, made.stderr);
  const code = made.stdout.split('\n')[0]!.trim();
  assert.match(code, /^[A-Z2-9]{5}-[A-Z2-9]{5}$/);
  await page.fill('#f-code', code.toLowerCase());
  await page.click('button:has-text("Continue")');
  await page.waitForSelector('text=Code accepted');
  assert.ok(await page.isVisible('button:has-text("Set up an authenticator app")'));
  // The code works once.
  const again = await phone(ctx);
  await signIn(again, ctx.base, 'oldie', 'oldie-dir-pw');
  await again.fill('#f-code', code);
  await again.click('button:has-text("Continue")');
  assert.match((await again.textContent('#f-code-hint')) ?? '', /not right, was used already/);
  await again.context().close();
  await page.context().close();
  // Neither the code nor a password is in the audit log or the log.
  const exported = JSON.stringify(await auditRecords(ctx.gh));
  for (const secret of [code, 'oldie-dir-pw', 'newbie-dir-pw', 'not-my-password', ADMIN_PASSWORD]) {
    assert.not.ok(exported.includes(secret), `the audit log holds ${secret}`);
    assert.not.ok(ctx.gh.output().includes(secret), `the log holds ${secret}`);
  }
  const events = (await auditRecords(ctx.gh)).filter((x) => String(x['event']).startsWith('portal.')).map((x) => `${x['event']}:${x['outcome']}:${x['username']}`);
  assert.ok(events.includes('portal.enrolment_code:reject:oldie') && events.includes('portal.enrolment_code:ok:oldie'), events.join(' '));
});

M('someone with a factor passes it before changing anything', async (ctx) => {
  const enrolled = await ctx.gh.cli(['totp', 'enroll', 'tessa']);
  const seed = base32Decode(new URL(enrolled.stdout.split('\n').find((l) => l.startsWith('otpauth://'))!).searchParams.get('secret')!);
  const page = await phone(ctx);
  await signIn(page, ctx.base, 'tessa', 'tessa-dir-pw');
  await page.waitForSelector('h1:has-text("Confirm it is you")');
  // Straight to an action without the code: back to the code page, nothing changed.
  const refused = await page.request.post(`${ctx.base}/my/totp/remove`, { form: { _csrf: (await page.getAttribute('input[name="_csrf"]', 'value'))! }, maxRedirects: 0 });
  assert.is(refused.status(), 303);
  assert.ok((await ctx.gh.cli(['user', 'list', '--json'])).stdout.includes('"name":"tessa","totp":true'));
  await page.fill('#f-code', totpCode(seed, 3));
  await page.click('button:has-text("Continue")');
  assert.match((await page.textContent('#f-code-hint')) ?? '', /code is not correct/);
  await page.fill('#f-code', totpCode(seed));
  await page.click('button:has-text("Continue")');
  await page.waitForSelector('h2:has-text("Authenticator app")');
  await fitsPhone(page, '/my with a factor');
  await page.click('form[action="/my/totp/remove"] button');
  await page.waitForSelector('text=Your authenticator app was removed');
  await waitFor('tessa without TOTP', async () => (await ctx.gh.cli(['user', 'list', '--json'])).stdout.includes('"name":"tessa","totp":false'));
  await page.click('button:has-text("Sign out")');
  await page.waitForSelector('text=Signed out');
  assert.ok(await page.isVisible('#f-password'));
  await page.context().close();
});

M.run();
