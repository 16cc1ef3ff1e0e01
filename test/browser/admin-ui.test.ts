// The admin UI in a real browser against a started appliance and a real FreeRADIUS: sign in with
// password and TOTP, add a RADIUS client and see radclient answered through it, enrol a user and
// log them in with a code from the shown URI, find it in the audit log, export CSV, CSRF refusal,
// security headers. Screenshots of every page go to test-artifacts/screenshots/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { base32Decode, hotp, totpStep } from '../../app/mfa/otp.js';
import { runCli, startAppliance, tempDir, type Appliance } from '../helpers/appliance.js';
import { ARTIFACTS, launchChromium } from '../helpers/browser.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { runRadclient } from '../helpers/radclient.js';

const ADMIN_PASSWORD = 'correct horse battery staple';
const NAS_SECRET = 'ui-made-nas-secret';
const DS = 'browser-down-secret';

interface Ctx {
  fr: FreeRadius;
  gh: Appliance;
  browser: Browser;
  page: Page;
  base: string;
  adminSeed: Buffer;
  /** The newest TOTP step the admin has used (sign-in and re-checks each use one). */
  lastStep: number;
}

const codeFor = (seed: Buffer, offset = 0) => hotp(seed, totpStep(Date.now(), 30) + offset, 6);

/**
 * A code the appliance has not seen yet: each code works once (its step and every earlier one are
 * used up), and a code is accepted one step either side of now. Waits for the next step when
 * every acceptable one is used. Returns the code and its step.
 */
async function freshCode(seed: Buffer, lastUsedStep: number): Promise<{ code: string; step: number }> {
  for (;;) {
    const now = totpStep(Date.now(), 30);
    const step = Math.max(now - 1, lastUsedStep + 1);
    if (step <= now + 1) return { code: hotp(seed, step, 6), step };
    await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 50));
  }
}
const seedOf = (uri: string) => base32Decode(new URL(uri.trim()).searchParams.get('secret')!);
const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

const UI = suite<Ctx>('admin UI in Chromium');

UI.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users: [{ name: 'vpnuser', password: 'vpn-pass', reply: ['Reply-Message := "hello from RADIUS"'] }], clients: [{ address: '127.0.0.1', secret: DS }] });
  ctx.gh = await startAppliance({ args: ['--downstream-address', '127.0.0.1', '--port-out', String(ctx.fr.port), '--secret-out', DS] });
  const add = await runCli(['admin', 'add', 'root', '--data-dir', ctx.gh.dataDir], { stdin: `${ADMIN_PASSWORD}\n` });
  assert.is(add.code, 0, add.stderr);
  ctx.base = `http://127.0.0.1:${ctx.gh.httpPort}`;
  ctx.browser = await launchChromium();
  ctx.page = await ctx.browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
});

UI.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.gh?.stop();
  await ctx.fr?.stop();
});

UI('security headers are on every page', async ({ page, base }) => {
  const res = await page.goto(`${base}/login`);
  const h = res!.headers();
  assert.match(h['content-security-policy'] ?? '', /script-src 'self'/);
  assert.match(h['content-security-policy'] ?? '', /frame-ancestors 'none'/);
  assert.is(h['x-content-type-options'], 'nosniff');
  assert.is(h['referrer-policy'], 'no-referrer');
  await shot(page, '01-sign-in');
});

UI('first sign-in: password, then TOTP enrolment from the QR page; later sign-ins ask for the code', async (ctx) => {
  const { page, base } = ctx;
  await page.fill('#f-name', 'root');
  await page.fill('#f-password', ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/login/enrol`);
  assert.ok(await page.isVisible('.qr svg'));
  await shot(page, '02-enrol-totp');
  ctx.adminSeed = seedOf((await page.textContent('#enrol-uri'))!);
  await page.fill('#f-code', '000000' === codeFor(ctx.adminSeed) ? '111111' : '000000');
  await page.click('button[type=submit]');
  assert.match((await page.textContent('.flash.error')) ?? '', /does not match/);
  await page.fill('#f-code', codeFor(ctx.adminSeed));
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
  assert.is(await page.textContent('h1'), 'Dashboard');
  await shot(page, '03-dashboard');
  // Sign out, and in again: now the code page (the enrolment code's step is used: take the next).
  await page.click('text=Sign out');
  await page.waitForURL(`${base}/login`);
  await page.fill('#f-name', 'root');
  await page.fill('#f-password', ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/login/code`);
  await shot(page, '04-sign-in-code');
  await page.fill('#f-code', codeFor(ctx.adminSeed, 1));
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
  ctx.lastStep = totpStep(Date.now(), 30) + 1;
});

UI('a wrong password is refused with a message and audited', async ({ browser, base, gh }) => {
  const p = await browser.newPage();
  await p.goto(`${base}/login`);
  await p.fill('#f-name', 'root');
  await p.fill('#f-password', 'not the password at all');
  await p.click('button[type=submit]');
  assert.match((await p.textContent('.flash.error')) ?? '', /not correct/);
  await p.close();
  const audit = await gh.cli(['audit', 'export']);
  assert.match(audit.stdout, /"event":"admin.signin","outcome":"reject".*"reason":"bad_password"/);
  assert.not.match(audit.stdout, /not the password at all/);
});

UI('add a RADIUS client in the UI: the secret is shown once and radclient is answered through it at once', async ({ page, base, gh }) => {
  await page.goto(`${base}/clients`);
  await page.fill('#f-name', 'Lab VPN');
  await page.fill('#f-address', '127.0.0.1');
  await page.fill('#f-secret', NAS_SECRET);
  await page.click('button:has-text("Add client")');
  await page.waitForSelector('#new-secret');
  assert.is((await page.textContent('#new-secret'))?.trim(), NAS_SECRET);
  assert.match((await page.textContent('table')) ?? '', /Lab VPN/);
  await shot(page, '05-clients');
  const r = await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: NAS_SECRET, attrs: 'User-Name = "vpnuser"\nUser-Password = "wrong-pass"\nMessage-Authenticator = 0x00' });
  assert.is(r.replyCode, 'Access-Reject', r.stdout + r.stderr);
  await page.goto(`${base}/clients`);
  assert.not.match((await page.content()) ?? '', new RegExp(NAS_SECRET));
  assert.match((await page.textContent('table')) ?? '', /sends it/);
});

UI("enrol a user's TOTP in the UI and log them in over RADIUS with a code from the shown URI; the login is in the audit log", async ({ page, base, gh }) => {
  await page.goto(`${base}/users`);
  await page.fill('#f-username', 'vpnuser');
  await page.click('button:has-text("Add user")');
  await page.waitForSelector('text=User vpnuser added.');
  await page.click('button:has-text("Enrol TOTP")');
  // The user's page, with the QR code shown once and the code that confirms it.
  await page.waitForSelector('#enrol-uri');
  assert.is(new URL(page.url()).pathname, '/users/u/vpnuser');
  await shot(page, '06-user-enrolled');
  const seed = seedOf((await page.textContent('#enrol-uri'))!);
  // Not confirmed yet: it does not count, so the appended code is not taken.
  const early = await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: NAS_SECRET, attrs: `User-Name = "vpnuser"\nUser-Password = "vpn-pass,${codeFor(seed)}"\nMessage-Authenticator = 0x00` });
  assert.is.not(early.replyCode, 'Access-Accept', early.stdout + early.stderr);
  await page.fill('#f-code', codeFor(seed));
  await page.click('button:has-text("Confirm")');
  await page.waitForSelector('text=confirmed: it counts for logins now');
  assert.match((await page.textContent('#h-factors + p')) ?? '', /TOTP/);
  // The confirming code is used up; the next one logs in.
  const r = await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: NAS_SECRET, attrs: `User-Name = "vpnuser"\nUser-Password = "vpn-pass,${codeFor(seed, 1)}"\nMessage-Authenticator = 0x00` });
  assert.is(r.replyCode, 'Access-Accept', r.stdout + r.stderr);
  // The search filters as one types: another user leaves the table, vpnuser stays.
  const bystander = await gh.cli(['user', 'add', 'bystander']);
  assert.is(bystander.code, 0, bystander.stderr);
  await page.goto(`${base}/users`);
  assert.match((await page.textContent('#user-table')) ?? '', /bystander/);
  await page.fill('#f-q', 'vpn');
  await page.locator('#user-table').getByText('bystander').waitFor({ state: 'detached' });
  assert.match((await page.textContent('#user-table')) ?? '', /vpnuser/);
  await page.fill('#f-q', 'nobody-here');
  await page.waitForSelector('text=No user matches');
  await shot(page, '07-users');
  await page.goto(`${base}/audit?username=vpnuser`);
  const table = (await page.textContent('table')) ?? '';
  assert.match(table, /radius\.auth/);
  assert.match(table, /totp_ok/);
  await page.click('button:has-text("Verify chain")');
  await page.waitForSelector('text=Chain intact');
  await shot(page, '08-audit');
});

UI('export the filtered audit log as CSV', async ({ page, base }) => {
  await page.goto(`${base}/audit?username=vpnuser&outcome=accept`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Export CSV')]);
  const file = await download.path();
  const csv = readFileSync(file, 'utf8');
  const lines = csv.trim().split('\n');
  assert.match(lines[0]!, /^id,time,event,outcome,username,reason,source/);
  assert.ok(lines.length >= 2);
  assert.ok(lines.slice(1).every((l) => l.includes(',accept,vpnuser,')), csv);
});

UI('a state-changing request without the CSRF token is refused', async ({ page, base }) => {
  const res = await page.request.post(`${base}/clients`, { form: { name: 'evil', address: '10.6.6.6', secret: 'evil-secret-1' } });
  assert.is(res.status(), 403);
  const withWrong = await page.request.post(`${base}/clients`, { form: { name: 'evil', address: '10.6.6.6', secret: 'evil-secret-1', _csrf: 'x'.repeat(43) } });
  assert.is(withWrong.status(), 403);
  await page.goto(`${base}/clients`);
  assert.not.match((await page.textContent('main')) ?? '', /10\.6\.6\.6/);
});

UI('download a backup from the UI and restore it onto a fresh data directory', async (ctx) => {
  const { page, base } = ctx;
  await page.goto(`${base}/backup`);
  await page.fill('#f-passphrase', 'backup passphrase 2026');
  await page.fill('#f-confirm', 'backup passphrase 2026');
  // The file holds the master key: without the password and a fresh code it is refused.
  await page.fill('#f-reauth_password', ADMIN_PASSWORD);
  await page.fill('#f-reauth_code', codeFor(ctx.adminSeed, -5));
  await page.click('button:has-text("Download backup")');
  assert.match((await page.textContent('.flash.error')) ?? '', /password or code is not correct/);
  const reauth = await freshCode(ctx.adminSeed, ctx.lastStep);
  ctx.lastStep = reauth.step;
  await page.fill('#f-passphrase', 'backup passphrase 2026');
  await page.fill('#f-confirm', 'backup passphrase 2026');
  await page.fill('#f-reauth_password', ADMIN_PASSWORD);
  await page.fill('#f-reauth_code', reauth.code);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download backup")')]);
  assert.match(download.suggestedFilename(), /^gatehouse-\d{4}-\d\d-\d\d\.ghb$/);
  const file = await download.path();
  const fresh = await tempDir();
  const restored = await runCli(['restore', file, '--data-dir', fresh], { stdin: 'backup passphrase 2026\n' });
  assert.is(restored.code, 0, restored.stderr);
  const users = await runCli(['user', 'list', '--data-dir', fresh]);
  assert.match(users.stdout, /vpnuser\ttotp/);
  assert.is((await runCli(['audit', 'verify', '--data-dir', fresh])).code, 0);
});

UI('every page renders for a signed-in admin (screenshots for review)', async ({ page, base }) => {
  for (const [i, path] of ['/approvals', '/downstream', '/settings', '/admins', '/tokens', '/backup'].entries()) {
    const res = await page.goto(`${base}${path}`);
    assert.is(res?.status(), 200, path);
    await shot(page, `${String(9 + i).padStart(2, '0')}-${path.slice(1)}`);
  }
});

UI.run();
