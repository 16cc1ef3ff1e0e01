// The admin UI the way admins meet it, in Chromium at a laptop's 1280x800 and a phone's 390x844:
// a refused form shows its error next to the field (and the last success message goes); reload
// and Back after an action land on pages that exist; no page is wider than a phone's screen, the
// navigation folds into a menu, and every page title reads (contrast at least 4.5:1).
// Screenshots of every page at both sizes go to test-artifacts/screenshots/ (look at them).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { ARTIFACTS, firstSignIn, launchChromium, overflowsViewport, textContrast } from '../helpers/browser.js';
import { runRadclient } from '../helpers/radclient.js';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, startSlapd, type Slapd } from '../helpers/slapd.js';

const ADMIN = 'meg';
const PASSWORD = 'a long admin passphrase';

interface Ctx {
  slapd: Slapd;
  gh: Appliance;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  base: string;
}

const U = suite<Ctx>('the admin UI as admins meet it');

U.before(async (ctx) => {
  ctx.slapd = await startSlapd({ users: [{ uid: 'alice', password: 'alice-dir-pw', displayName: 'Alice Liddell' }], groups: [{ cn: 'vpn-users', members: ['alice'] }] });
  ctx.gh = await startAppliance({ args: ['--address-secret-in', '10.99.0.1:flag-client-secret'], env: { LDAP_BIND_PASSWORD: ADMIN_PASSWORD } });
  assert.is((await runCli(['admin', 'add', ADMIN, '--data-dir', ctx.gh.dataDir], { stdin: `${PASSWORD}\n` })).code, 0);
  assert.is((await ctx.gh.cli(['user', 'add', 'carol'])).code, 0);
  assert.is((await ctx.gh.cli(['client', 'add', '10.50.0.1', 'edit-me-secret', '--name', 'edit-me'])).code, 0);
  ctx.base = `http://127.0.0.1:${ctx.gh.httpPort}`;
  ctx.browser = await launchChromium();
  ctx.context = await ctx.browser.newContext({ viewport: { width: 1280, height: 800 } });
  ctx.page = await ctx.context.newPage();
  await firstSignIn(ctx.page, ctx.base, ADMIN, PASSWORD);
});

U.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.gh?.stop();
  await ctx.slapd?.stop();
});

const errorNextTo = (page: Page, field: string) => page.textContent(`#f-${field}-hint.error`);

U('refused forms show why, next to the field, and the previous success message goes', async ({ page, base }) => {
  await page.goto(`${base}/clients`);
  // A success first: its notice is on the page.
  await page.fill('#f-address', '10.60.0.1');
  await page.click('button:has-text("Add client")');
  await page.waitForSelector('#new-secret');
  const cases: [field: string, value: string, expected: RegExp][] = [
    ['address', '999.1.1.1/40', /address must be an IP address or CIDR/],
    ['secret', 'short', /secret must have at least 8 characters/],
    ['name', 'x'.repeat(300), /name must be at most 64 printable characters/],
  ];
  for (const [field, value, expected] of cases) {
    await page.goto(`${base}/clients`);
    await page.fill('#f-address', field === 'address' ? value : '10.61.0.1');
    if (field !== 'address') await page.fill(`#f-${field}`, value);
    await page.click('button:has-text("Add client")');
    assert.match((await errorNextTo(page, field)) ?? '', expected, field);
    assert.is(await page.getAttribute(`#f-${field}`, 'aria-invalid'), 'true');
    assert.is(await page.$('#new-secret'), null, 'no stale success');
    assert.is(new URL(page.url()).pathname, '/clients', 'the address bar shows the page');
  }
  await page.screenshot({ path: join(ARTIFACTS, 'form-error-client-1280.png'), fullPage: true });

  // A user that exists in another spelling.
  await page.goto(`${base}/users`);
  await page.fill('#f-username', 'Carol');
  await page.click('button:has-text("Add user")');
  assert.match((await errorNextTo(page, 'username')) ?? '', /user carol already exists/);
  // A port out of range (checked before the password and code are asked).
  await page.goto(`${base}/downstream`);
  await page.fill('#f-host', '192.0.2.30');
  await page.fill('#f-port', '99999');
  await page.fill('#f-secret', 'downstream-secret');
  // The form also asks for the admin's password and a code; the values are checked first, so a
  // typo costs no code.
  await page.fill('#f-reauth_password', PASSWORD);
  await page.fill('#f-reauth_code', '123456');
  await page.click('button:has-text("Save")');
  assert.match((await errorNextTo(page, 'port')) ?? '', /port must be 1-65535/);
  // A setting with a bad value (enumerations are select boxes, numbers number fields: what cannot
  // be chosen there is refused by the server, as here for a free-text setting).
  await page.goto(`${base}/settings`);
  assert.equal(await page.$$eval('#s-failmode option', (os) => os.map((o) => o.getAttribute('value'))), ['', 'secure', 'safe']);
  assert.is(await page.getAttribute('#s-totp-max-failures', 'type'), 'number');
  await page.fill('#s-otp-delimiter', ',,');
  await page.click('form:has(#s-otp-delimiter) button');
  assert.match((await page.textContent('#err-otp-delimiter')) ?? '', /must be a single character/);
  assert.is(await page.getAttribute('#s-otp-delimiter', 'aria-invalid'), 'true');
  // A short admin password.
  await page.goto(`${base}/admins`);
  await page.fill('#f-name', 'ned');
  await page.fill('#f-password', 'short');
  await page.fill('#f-reauth_password', PASSWORD);
  await page.fill('#f-reauth_code', '123456');
  await page.click('button:has-text("Add admin")');
  assert.match((await errorNextTo(page, 'password')) ?? '', /at least 12 characters/);
});

U('the Downstream page on a phone: a refused server, pool or realm shows why next to its field; a pool and a realm saved are listed, and reload stays', async ({ page, base }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(`${base}/downstream`);
    await page.fill('#f-pool', 'wifi');
    await page.fill('#f-serverHost', '192.0.2.40');
    await page.fill('#f-serverPort', '70000');
    await page.fill('#f-serverSecret', 'wifi-server-secret');
    // Values are checked before the password and code: a typo costs no code.
    await page.fill('#f-server-reauth_password', PASSWORD);
    await page.fill('#f-server-reauth_code', '123456');
    await page.click('button:has-text("Add server")');
    assert.match((await errorNextTo(page, 'serverPort')) ?? '', /port must be 1-65535/);
    assert.is(await page.inputValue('#f-serverHost'), '192.0.2.40', 'what was typed is kept (never the secret)');
    assert.is(await page.inputValue('#f-serverSecret'), '');
    await page.fill('#f-poolName', 'wifi');
    await page.fill('#f-responseWindow', '0');
    await page.click('button:has-text("Save pool")');
    assert.match((await errorNextTo(page, 'responseWindow')) ?? '', /responseWindow must be seconds from 0.1 to 60/);
    await page.fill('#f-poolName', 'wifi');
    await page.selectOption('#f-mode', 'load-balance');
    await page.fill('#f-responseWindow', '1.5');
    await page.click('button:has-text("Save pool")');
    await page.waitForSelector('text=Pool wifi saved.');
    assert.match((await page.textContent('.pool h3')) ?? '', /wifi · load-balance · window 1.5 s/);
    await page.fill('#f-realmName', 'not a realm!');
    await page.fill('#f-realmPool', 'wifi');
    await page.click('button:has-text("Save realm")');
    assert.match((await errorNextTo(page, 'realmName')) ?? '', /realm must be a domain/);
    await page.fill('#f-realmName', 'wifi.example');
    await page.fill('#f-realmPool', 'wifi');
    await page.check('#f-strip');
    await page.click('button:has-text("Save realm")');
    await page.waitForSelector('text=Realm wifi.example routes to pool wifi.');
    assert.is(new URL(page.url()).pathname, '/downstream');
    assert.is((await page.reload())?.status(), 200);
    assert.ok(await page.isVisible('td:has-text("wifi.example")'));
    const o = await overflowsViewport(page);
    assert.ok(o.scrollWidth <= o.viewport, `downstream at 390: ${o.scrollWidth} px wide`);
    await page.screenshot({ path: join(ARTIFACTS, 'downstream-pools-390.png'), fullPage: true });
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

U('after an action, reload and Back land on pages that exist', async ({ page, base }) => {
  assert.is((await page.goto(`${base}/users`))?.status(), 200);
  await page.click('form[action="/users/lock"]:has(input[value="carol"]) button');
  await page.waitForSelector('text=carol locked.');
  assert.is(new URL(page.url()).pathname, '/users', 'the address bar shows the page, not the action');
  const reloaded = await page.reload();
  assert.is(reloaded?.status(), 200);
  assert.is(await page.textContent('h1'), 'Users');
  assert.is(await page.$('text=carol locked.'), null, 'the notice is shown once');
  await page.click('form[action="/users/unlock"]:has(input[value="carol"]) button');
  await page.waitForSelector('text=carol unlocked.');
  await page.goBack();
  assert.is(await page.textContent('h1'), 'Users');
  // A refused action: the address bar still shows a page.
  await page.goto(`${base}/clients/edit?address=10.50.0.1%2F32`);
  await page.fill('#f-name', '');
  await page.fill('#f-name', ' ');
  await page.click('button:has-text("Save")');
  assert.match((await page.textContent('.flash.error')) ?? '', /name is required/);
  assert.is((await page.reload())?.status(), 200);
  // An address that is no page: a styled page with the navigation.
  const missing = await page.goto(`${base}/no/such/page`);
  assert.is(missing?.status(), 404);
  assert.is(await page.textContent('h1'), 'Page not found');
  assert.ok(await page.isVisible('nav.sidebar'));
});

U('imports 10,000 users from a CSV file (checked first), then finds one of them, on a laptop and on a phone', async ({ page, base, gh }) => {
  const file = join(gh.dataDir, 'people.csv');
  const lines = ['username,display_name,email,groups'];
  for (let i = 0; i < 10_000; i++) lines.push(`p${String(i).padStart(5, '0')},Person ${i} Åkesson,p${i}@example.org,staff;${i % 10 === 0 ? 'vpn' : 'office'}`);
  lines.push('carol,Carol Diaz,carol@example.org,staff');
  await writeFile(file, lines.join('\r\n') + '\r\n');
  await page.goto(`${base}/users`);
  await page.click('a:has-text("Import CSV")');
  await page.waitForURL(`${base}/users/import`);
  // A file that is not what it should be first: refused, with the reason next to the field.
  const wrong = join(gh.dataDir, 'wrong.csv');
  await writeFile(wrong, 'email,phone\na@example.org,1\n');
  await page.setInputFiles('#f-file', wrong);
  await page.click('button:has-text("Check the file")');
  assert.match((await page.textContent('#f-file-hint.error')) ?? '', /no username column/);
  await page.setInputFiles('#f-file', file);
  await page.click('button:has-text("Check the file")');
  await page.waitForSelector('#import-preview');
  assert.match(page.url(), /\/users\/import\?preview=/);
  assert.is(await page.textContent('#n-creates'), '10,000');
  assert.is(await page.textContent('#n-updates'), '1', 'carol gets a profile');
  assert.match((await page.textContent('#import-updates')) ?? '', /carol.*display name, email, groups/);
  await page.screenshot({ path: join(ARTIFACTS, 'import-preview-1280.png'), fullPage: false });
  // The check changed nothing; reload shows the same preview.
  assert.is((await page.reload())?.status(), 200);
  assert.is(await page.textContent('#n-creates'), '10,000');
  await page.click('button:has-text("Import 10,001 users")');
  await page.waitForSelector('text=10000 users added, 1 changed');
  assert.is(new URL(page.url()).pathname, '/users');
  assert.match((await page.textContent('#user-count')) ?? '', /^10,001 users$/);
  for (const [width, height] of [
    [1280, 800],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width, height });
    try {
      await page.goto(`${base}/users`);
      await page.fill('#f-q', 'person 7342 åkesson');
      await page.waitForSelector('#user-table a:has-text("p07342")');
      assert.match((await page.textContent('#user-count')) ?? '', /^1 match for/);
      const o = await overflowsViewport(page);
      assert.ok(o.scrollWidth <= o.viewport, `users at ${width}: ${o.scrollWidth} px wide`);
      await page.screenshot({ path: join(ARTIFACTS, `users-search-${width}.png`), fullPage: true });
      await page.click('#user-table a:has-text("p07342")');
      await page.waitForURL(`${base}/users/u/p07342`);
      assert.is(await page.textContent('#h-who'), 'Person 7342 Åkesson');
      assert.match((await page.textContent('.kv')) ?? '', /p7342@example\.org/);
      const u = await overflowsViewport(page);
      assert.ok(u.scrollWidth <= u.viewport, `user page at ${width}: ${u.scrollWidth} px wide`);
      await page.screenshot({ path: join(ARTIFACTS, `user-page-${width}.png`), fullPage: true });
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  }
  // A group by its name, and pages through its members.
  await page.goto(`${base}/users?q=vpn`);
  assert.match((await page.textContent('#user-count')) ?? '', /^1,000 matches for/);
  await page.click('a[rel="next"]');
  await page.waitForURL(/after=p00490/);
  assert.match((await page.textContent('#user-table tbody tr:first-child')) ?? '', /p00500/);
});

U('the chart shows the login decisions the audit log holds, for the range picked', async ({ page, base, gh }) => {
  assert.is((await gh.cli(['client', 'add', '127.0.0.1', 'chart-client-secret', '--name', 'chart'])).code, 0);
  // No downstream server is set: each login is rejected for that reason, and recorded.
  const sent = 3;
  await waitFor('the new client in effect', async () => (await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: 'chart-client-secret', attrs: 'User-Name = "carol"\nUser-Password = "pw"\nMessage-Authenticator = 0x00' })).replyCode === 'Access-Reject');
  for (let i = 1; i < sent; i++) assert.is((await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: 'chart-client-secret', attrs: 'User-Name = "carol"\nUser-Password = "pw"\nMessage-Authenticator = 0x00' })).replyCode, 'Access-Reject');
  const audit = (await gh.cli(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; outcome: string; reason: string | null });
  const held = audit.filter((r) => r.event === 'radius.auth' && r.outcome === 'reject' && r.reason === 'no_downstream').length;
  assert.is(held, sent);
  await page.goto(`${base}/`);
  assert.match((await page.textContent('#chart .legend')) ?? '', new RegExp(`Rejected: no RADIUS server set ${held}`));
  assert.match((await page.textContent('#chart-desc')) ?? '', new RegExp(`0 accepted, 0 challenged, ${held} rejected \\(${held} no RADIUS server set\\)`));
  await page.click('#chart .ranges a:has-text("Last week")');
  await page.waitForURL(`${base}/?range=week`);
  assert.is(await page.getAttribute('#chart .ranges a[aria-current="true"]', 'href'), '/?range=week');
  assert.match((await page.textContent('#chart-title')) ?? '', /Logins per 6 hours/);
  assert.match((await page.textContent('#chart .legend')) ?? '', new RegExp(`Rejected: no RADIUS server set ${held}`));
  // The live counters refresh every 3 s and leave the chart as it is.
  await page.waitForTimeout(3500);
  assert.match((await page.textContent('#chart-title')) ?? '', /Logins per 6 hours/);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-chart-week-1280.png'), fullPage: true });
  // Reload and Back land on real pages.
  assert.is((await page.reload())?.status(), 200);
  await page.goBack();
  assert.is(await page.textContent('h1'), 'Dashboard');
});

U('a help-desk admin manages users but cannot change settings', async ({ browser, base, gh }) => {
  assert.is((await runCli(['admin', 'add', 'helen', '--role', 'helpdesk', '--data-dir', gh.dataDir], { stdin: `${PASSWORD}\n` })).code, 0);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  try {
    const page = await context.newPage();
    await firstSignIn(page, base, 'helen', PASSWORD);
    await page.click('label.nav-button');
    assert.equal(await page.$$eval('#nav-links a', (as) => as.map((a) => a.getAttribute('href'))), ['/', '/approvals', '/users', '/sessions', '/audit', '/api-docs']);
    const refused = await page.goto(`${base}/settings`);
    assert.is(refused?.status(), 403);
    assert.match((await page.textContent('main')) ?? '', /help desk/i);
    // Users she may change: lock carol from carol's page.
    await page.goto(`${base}/users/u/carol`);
    await page.click('form[action="/users/lock"] button');
    await page.waitForSelector('text=carol locked.');
    await page.click('form[action="/users/unlock"] button');
    await page.waitForSelector('text=carol unlocked.');
    const o = await overflowsViewport(page);
    assert.ok(o.scrollWidth <= o.viewport);
  } finally {
    await context.close();
  }
  const audit = (await gh.cli(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; actor: string | null });
  assert.ok(audit.some((r) => r.event === 'admin.forbidden' && r.actor === 'admin:helen'));
});

U('the Directory page on a phone: test the connection and a user, a refused value shown next to its field, reload stays on the page', async ({ page, base, gh, slapd }) => {
  for (const [k, v] of [
    ['ldap-url', slapd.url],
    ['ldap-preset', 'openldap'],
    ['ldap-base-dn', BASE_DN],
    ['ldap-bind-dn', ADMIN_DN],
  ] as const) {
    assert.is((await gh.cli(['settings', 'set', k, v])).code, 0);
  }
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await waitFor('the directory configured', async () => {
      await page.goto(`${base}/directory`);
      return (await page.textContent('#h-dir-status + p')) !== null && (await page.isEnabled('button:has-text("Test connection")'));
    });
    await page.click('button:has-text("Test connection")');
    await page.waitForSelector(`text=Connected to ${slapd.url}`);
    assert.is(new URL(page.url()).pathname, '/directory');
    await page.fill('#f-username', 'alice');
    await page.click('button:has-text("Test user")');
    await page.waitForSelector('text=Alice Liddell');
    assert.match((await page.textContent('dl.facts')) ?? '', /cn=vpn-users,ou=groups/);
    const o = await overflowsViewport(page);
    assert.ok(o.scrollWidth <= o.viewport, `directory at 390: ${o.scrollWidth} px wide`);
    await page.screenshot({ path: join(ARTIFACTS, 'directory-test-user-390.png'), fullPage: true });
    // A value the setting refuses: shown next to it, on this page.
    await page.fill('#s-ldap-user-filter', '(uid=alice)');
    await page.click('form:has(#s-ldap-user-filter) button');
    assert.match((await page.textContent('#err-ldap-user-filter')) ?? '', /must contain \{username\}/);
    assert.is(await page.getAttribute('#s-ldap-user-filter', 'aria-invalid'), 'true');
    assert.is(new URL(page.url()).pathname, '/directory');
    // Reload and Back land on real pages.
    assert.is((await page.reload())?.status(), 200);
    assert.is(await page.textContent('h1'), 'Directory');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

const PAGES = ['/', '/approvals', '/users', '/users/u/carol', '/users/import', '/api-docs', '/clients', '/clients/edit?address=10.50.0.1%2F32', '/downstream', '/sessions', '/directory', '/policy', '/settings', '/audit', '/admins', '/tokens', '/backup', '/no/such/page'];

for (const [width, height] of [
  [1280, 800],
  [390, 844],
] as const) {
  U(`at ${width}x${height}: no page is wider than the screen, and every title reads (contrast at least 4.5:1)`, async ({ page, base }) => {
    await page.setViewportSize({ width, height });
    try {
      for (const path of PAGES) {
        await page.goto(`${base}${path}`);
        const o = await overflowsViewport(page);
        assert.ok(o.scrollWidth <= o.viewport, `${path}: ${o.scrollWidth} px wide at ${o.viewport}`);
        const contrast = await textContrast(page, 'main h1');
        assert.ok(contrast >= 4.5, `${path}: title contrast ${contrast.toFixed(2)}`);
        await page.screenshot({ path: join(ARTIFACTS, `page-${width}${path.replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '') || '-dashboard'}.png`), fullPage: true });
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });
}

U('at a phone width the navigation folds into a menu; Sign out is reachable', async ({ page, base }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(`${base}/`);
    assert.not.ok(await page.isVisible('#nav-links'), 'folded');
    assert.ok(await page.isVisible('label.nav-button'));
    await page.click('label.nav-button');
    assert.ok(await page.isVisible('#nav-links'));
    assert.ok(await page.isVisible('button:has-text("Sign out")'));
    await page.screenshot({ path: join(ARTIFACTS, 'menu-open-390.png') });
    await page.click('#nav-links a:has-text("Audit log")');
    await page.waitForURL(`${base}/audit`);
    const o = await overflowsViewport(page);
    assert.ok(o.scrollWidth <= o.viewport, `audit: ${o.scrollWidth}`);
    // The skip link is the first thing a keyboard reaches.
    await page.keyboard.press('Tab');
    assert.is(await page.evaluate('document.activeElement && document.activeElement.textContent.trim()'), 'Skip to content');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

U('while a fail-open setting is on, every page says so; the settings are grouped with help text', async ({ page, base, gh }) => {
  await page.goto(`${base}/settings`);
  assert.equal(await page.$$eval('section.settings h2', (hs) => hs.map((h) => h.textContent)), ['Second factor', 'Push service', 'Security', 'RADIUS', 'Directory', 'Windows logon', 'Logging']);
  assert.is(await page.$('.banner'), null);
  assert.is((await gh.cli(['settings', 'set', 'failmode', 'safe'])).code, 0);
  // The appliance picks a change made at the console up within a second.
  const banner = async (want: boolean) =>
    waitFor(`the banner ${want ? 'shown' : 'gone'}`, async () => {
      await page.goto(`${base}/`);
      return ((await page.$('.banner')) !== null) === want;
    });
  try {
    await banner(true);
    for (const path of ['/', '/users', '/audit']) {
      await page.goto(`${base}${path}`);
      assert.match((await page.textContent('.banner')) ?? '', /Fail-open: failmode is safe/, path);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'fail-open-banner-1280.png') });
  } finally {
    assert.is((await gh.cli(['settings', 'unset', 'failmode'])).code, 0);
  }
  await banner(false);
});

U('dark mode follows the system setting, and stays readable', async ({ browser, context, base }) => {
  const dark = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark', storageState: await context.storageState() });
  try {
    const page = await dark.newPage();
    await page.goto(`${base}/users`);
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    assert.not.equal(bg, 'rgb(245, 246, 248)', 'the dark background');
    assert.ok((await textContrast(page, 'main h1')) >= 4.5);
    assert.ok((await textContrast(page, 'main td')) >= 4.5);
    await page.screenshot({ path: join(ARTIFACTS, 'dark-users-1280.png'), fullPage: true });
  } finally {
    await dark.close();
  }
});

U.run();
