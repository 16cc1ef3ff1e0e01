// Gatehouse's own push, as people meet it: with no push service configured, an admin enrols a
// phone for a user from the user's page (a one-time link as a QR code); the phone (Chromium at a
// phone's size, with a virtual platform authenticator through the DevTools protocol) opens it,
// makes a passkey and names itself; the user's VPN login (radclient through a real FreeRADIUS)
// shows on the phone live and reaches it by Web Push (a local push-service stand-in checks VAPID
// and decrypts; the message, handed to the approver's service worker, shows a notification),
// Approve lets it in and Deny refuses it with a clear Reply-Message; a tampered signature is
// refused and audited; a link works once; a gone subscription is forgotten; a Windows logon
// (the pipe protocol) is approved on the same phone; with number matching the VPN login asks for
// the number the phone shows and is let in only with it and the approval; another Gatehouse pointed at this one's
// push API (`--push-provider notakey --notakey-host .../api/`) gets the phone's approval; a
// removed phone stops at once.
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { firstSignIn, launchChromium, overflowsViewport } from '../helpers/browser.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { replyAttributes, runRadclient } from '../helpers/radclient.js';
import { ARTIFACTS } from '../helpers/browser.js';
import { join } from 'node:path';
import { startPushService, type PushService } from '../helpers/web-push-service.js';
import { tempDir } from '../helpers/appliance.js';
import { connectPipe } from '../helpers/pipe-client.js';

const ADMIN = 'root';
const PASSWORD = 'a long admin passphrase';
const DS = 'phone-down-secret';
const NAS = 'phone-nas-secret';

interface Ctx {
  fr: FreeRadius;
  gh: Appliance;
  browser: Browser;
  admin: Page;
  phoneContext: BrowserContext;
  phone: Page;
  cdp: CDPSession;
  /** A Web Push service stand-in: Chromium's own (Google's) cannot be reached from here. */
  push: PushService;
  /** The approver's service worker, as DevTools names it. */
  workers: Map<string, string>;
  /** Passkeys need a host name: the appliance is reached as localhost (its default --public-url). */
  base: string;
  /** The Windows logon endpoint (a Unix socket here, a named pipe on Windows). */
  pipePath: string;
}

const A = suite<Ctx>('phone approver');

A.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users: [{ name: 'alice', password: 'alice-pw', reply: ['Reply-Message := "welcome alice"'] }], clients: [{ address: '127.0.0.1', secret: DS }] });
  ctx.pipePath = join(await tempDir('gatehouse-pipe-'), 'logon.sock');
  // alice gets more pushes here than the default limit lets one user have in a window (10).
  ctx.gh = await startAppliance({ args: ['--downstream-address', '127.0.0.1', '--port-out', String(ctx.fr.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${NAS}`, '--message-ttl-seconds', '30', '--pipe-path', ctx.pipePath, '--push-rate-per-user', '100'] });
  assert.is((await runCli(['admin', 'add', ADMIN, '--data-dir', ctx.gh.dataDir], { stdin: `${PASSWORD}\n` })).code, 0);
  assert.is((await ctx.gh.cli(['user', 'add', 'alice'])).code, 0);
  ctx.base = `http://localhost:${ctx.gh.httpPort}`;
  ctx.browser = await launchChromium();
  ctx.admin = await ctx.browser.newPage({ viewport: { width: 1280, height: 800 } });
  await firstSignIn(ctx.admin, ctx.base, ADMIN, PASSWORD);
  ctx.push = await startPushService();
  ctx.phoneContext = await ctx.browser.newContext({ viewport: { width: 390, height: 844 } });
  await ctx.phoneContext.grantPermissions(['notifications'], { origin: ctx.base });
  ctx.phone = await ctx.phoneContext.newPage();
  // Chromium subscribes at Google's push service, unreachable here: the page's PushManager hands
  // out a subscription at the stand-in instead (the page's own code sends it to Gatehouse).
  // (A string: the test runner's compiler would add helpers a page does not have to a function.)
  await ctx.phone.addInitScript({
    content: `(() => {
      const sub = ${JSON.stringify(ctx.push.subscribe())};
      let current = null;
      PushManager.prototype.getSubscription = async () => current;
      PushManager.prototype.subscribe = async () => (current = { endpoint: sub.endpoint, toJSON: () => sub });
    })();`,
  });
  ctx.cdp = await ctx.phoneContext.newCDPSession(ctx.phone);
  ctx.workers = new Map();
  ctx.cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
    for (const r of e.registrations) if (!r.isDeleted) ctx.workers.set(r.scopeURL, r.registrationId);
  });
  await ctx.cdp.send('ServiceWorker.enable');
  await ctx.cdp.send('WebAuthn.enable');
  await ctx.cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
});

A.after(async (ctx) => {
  await ctx.browser?.close();
  await ctx.gh?.stop();
  await ctx.fr?.stop();
  await ctx.push?.stop();
});

const login = (gh: Appliance) => runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: NAS, attrs: 'User-Name = "alice"\nUser-Password = "alice-pw"\nCalling-Station-Id = "02-00-00-00-00-01"\nMessage-Authenticator = 0x00', timeoutSec: 20, retries: 1 });
const audit = async (gh: Appliance) => (await gh.cli(['audit', 'export'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; outcome: string; reason: string | null; username: string | null; details: Record<string, unknown> | null });

/** The admin makes a one-time link on alice's page and reads it (what the QR code holds). */
async function enrolmentLink(admin: Page, base: string): Promise<string> {
  await admin.goto(`${base}/users/u/alice`);
  await admin.click('form[action="/users/phone-link"] button');
  await admin.waitForSelector('#phone-link svg');
  return (await admin.textContent('#phone-url'))!.trim();
}

A('without a phone, alice has no second factor: her login is refused as unenrolled', async ({ gh }) => {
  const r = await login(gh);
  assert.is(r.replyCode, 'Access-Reject', r.stdout);
  assert.equal((await audit(gh)).filter((x) => x.event === 'radius.auth').map((x) => x.reason), ['unenrolled']);
});

A('the admin enrols a phone by a one-time link; the phone makes a passkey and names itself; the link works once', async ({ admin, phone, base, gh, phoneContext }) => {
  const url = await enrolmentLink(admin, base);
  assert.match(url, new RegExp(`^${base}/approve#t=ghe_`));
  await admin.screenshot({ path: join(ARTIFACTS, 'phone-link-1280.png') });
  await phone.goto(url);
  await phone.waitForSelector('text=For alice.');
  await phone.fill('#device-name', 'Work phone');
  await phone.click('button:has-text("Create a passkey")');
  await phone.waitForSelector('text=now approves logins for alice');
  assert.is(new URL(phone.url()).hash, '', 'the token leaves the address bar');
  assert.match((await phone.textContent('#who')) ?? '', /Work phone · alice/);
  const o = await overflowsViewport(phone);
  assert.ok(o.scrollWidth <= o.viewport);
  await phone.screenshot({ path: join(ARTIFACTS, 'approver-enrolled-390.png') });
  // The link again, in another browser: used.
  const other = await phoneContext.browser()!.newContext();
  try {
    const p2 = await other.newPage();
    await p2.goto(url);
    await p2.waitForSelector('text=used already or has expired');
  } finally {
    await other.close();
  }
  // With notifications allowed, the approver subscribes to Web Push by itself.
  await waitFor('the phone subscribed to Web Push', async () => {
    await admin.goto(`${base}/users/u/alice`);
    return /Work phone.*Web Push/s.test((await admin.textContent('#phone-table')) ?? '');
  });
  const events = await audit(gh);
  assert.ok(events.some((e) => e.event === 'push.device.link' && e.username === 'alice'));
  assert.ok(events.some((e) => e.event === 'push.device.enrol' && e.outcome === 'ok' && e.username === 'alice'));
});

A("alice's VPN login reaches her phone by Web Push (VAPID, encrypted, only the request id) and shows on the approver at once; Approve lets it in", async ({ phone, gh, push, cdp, base, workers }) => {
  const pending = login(gh);
  const card = phone.locator('li.request');
  await card.waitFor();
  const message = await push.next();
  assert.equal(JSON.parse(message.payload), { id: await card.getAttribute('data-id') });
  assert.is(message.vapid.key, ((await (await phone.request.get(`${base}/approve/api/push-key`)).json()) as { publicKey: string }).publicKey);
  assert.is(message.vapid.sub, 'mailto:gatehouse@localhost');
  assert.ok(message.ttl > 0 && message.ttl <= 30, `TTL ${message.ttl}: the approval's time left`);
  assert.is(message.urgency, 'high');
  // The message, handed to the approver's service worker as the browser would: a notification.
  const registrationId = workers.get(`${base}/approve`) ?? workers.get(`${base}/approve/`);
  assert.ok(registrationId, `the approver's service worker (${[...workers.keys()].join(', ')})`);
  // DevTools hands the message to the worker only if it is running or starts in time: once in
  // about twenty loaded CI runs it did not (no push event at all). A push service redelivers
  // what is not acknowledged, and so does this: every 2 s until the notification shows.
  let delivered = 0;
  await waitFor('the notification', async () => {
    if (delivered <= Date.now() - 2000) {
      delivered = Date.now();
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: base, registrationId, data: message.payload });
    }
    return (await phone.evaluate('navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((n) => n.map((x) => x.title).join())')) === 'Login request';
  });
  assert.match((await card.textContent()) ?? '', /Do you want to allow VPN access for user alice\?/);
  assert.match((await card.textContent()) ?? '', /02-00-00-00-00-01/);
  await phone.screenshot({ path: join(ARTIFACTS, 'approver-request-390.png') });
  await card.locator('button.approve').click();
  const r = await pending;
  assert.is(r.replyCode, 'Access-Accept', r.stdout);
  assert.match(r.stdout, /welcome alice/);
  await phone.waitForSelector('text=Approved');
  const events = await audit(gh);
  assert.ok(events.some((e) => e.event === 'push.decision' && e.outcome === 'ok' && e.reason === 'approved'));
  assert.equal(events.filter((e) => e.event === 'radius.auth').map((e) => e.reason).slice(-1), ['push_approved']);
});

A('Deny refuses the login with a clear Reply-Message', async ({ phone, gh }) => {
  const pending = login(gh);
  const card = phone.locator('li.request');
  await card.waitFor();
  await card.locator('button.deny').click();
  const r = await pending;
  assert.is(r.replyCode, 'Access-Reject', r.stdout);
  assert.match(r.stdout, /denied on the phone/i);
});

A('a tampered signature is refused and audited; the request stays open and is then approved properly', async ({ phone, gh }) => {
  const pending = login(gh);
  const card = phone.locator('li.request');
  await card.waitFor();
  // The decision leaves the page with its signature altered on the way.
  await phone.route('**/approve/api/requests/*/decision', async (route) => {
    const body = JSON.parse(route.request().postData() ?? '{}') as { response: { response: { signature: string } } };
    const sig = Buffer.from(body.response.response.signature, 'base64url');
    sig[sig.length - 1] = sig[sig.length - 1]! ^ 0x01;
    body.response.response.signature = sig.toString('base64url');
    await route.continue({ postData: JSON.stringify(body) });
  });
  await card.locator('button.approve').click();
  await phone.waitForSelector('text=The passkey signature was refused.');
  await phone.unroute('**/approve/api/requests/*/decision');
  const refused = (await audit(gh)).filter((e) => e.event === 'push.decision' && e.outcome === 'reject');
  assert.is(refused.length, 1);
  assert.is(refused[0]!.reason, 'signature_refused');
  await card.locator('button.approve').click();
  const r = await pending;
  assert.is(r.replyCode, 'Access-Accept', r.stdout);
});

A('a subscription the push service says is gone (410) is forgotten; the open approver still shows the request', async ({ admin, phone, gh, push, base }) => {
  push.gone(push.messages[0]!.subscription === undefined ? '' : `${push.origin}/push/${push.messages[0]!.subscription}`);
  const pending = login(gh);
  const card = phone.locator('li.request');
  await card.waitFor();
  await waitFor('the gone subscription forgotten', async () => {
    await admin.goto(`${base}/users/u/alice`);
    return /while the approver is open/.test((await admin.textContent('#phone-table')) ?? '');
  });
  assert.ok(push.refused.some((r) => r.status === 410));
  await card.locator('button.deny').click();
  assert.is((await pending).replyCode, 'Access-Reject');
});

A('a Windows logon (pipe protocol v1) shows on the phone with its workstation and is approved there', async ({ phone, gh, pipePath }) => {
  const pipe = await connectPipe(pipePath);
  try {
    const pending = pipe.request({ op: 'authenticate', username: 'alice', domain: 'CORP', workstation: 'PC-7', scenario: 'logon' }, 25_000);
    const card = phone.locator('li.request');
    await card.waitFor();
    assert.match((await card.textContent()) ?? '', /PC-7/);
    assert.match((await card.textContent()) ?? '', /Windows sign-in/);
    await card.locator('button.approve').click();
    const reply = await pending;
    assert.is(reply['result'], 'approved', JSON.stringify(reply));
  } finally {
    pipe.end();
  }
  const last = (await audit(gh)).filter((e) => e.event === 'windows.auth').slice(-1)[0];
  assert.equal([last?.outcome, last?.reason], ['accept', 'push_approved']);
});

A('number matching: the login is challenged for the number the phone shows; in with the approval and that number, out with another', async ({ phone, gh }) => {
  assert.is((await gh.cli(['settings', 'set', 'push-number-matching', 'yes'])).code, 0);
  try {
    const round = (password: string, state?: string) =>
      runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: NAS, attrs: `User-Name = "alice"\nUser-Password = "${password}"\nCalling-Station-Id = "02-00-00-00-00-01"\n${state ? `${state}\n` : ''}Message-Authenticator = 0x00`, timeoutSec: 20, retries: 1 });
    // The setting applies within a second of being stored.
    await new Promise((r) => setTimeout(r, 1500));
    const first = await round('alice-pw');
    assert.is(first.replyCode, 'Access-Challenge', first.stdout);
    assert.ok(replyAttributes(first.stdout).includes('Reply-Message = "Approve the sign-in on your phone, then enter the number it shows"'), first.stdout);
    const state = replyAttributes(first.stdout).find((l) => l.startsWith('State = 0x'))!;
    const card = phone.locator('li.request');
    await card.waitFor();
    const shown = await card.locator('.match-number').getAttribute('data-number');
    assert.match(shown ?? '', /^[1-9][0-9]$/);
    await phone.screenshot({ path: join(ARTIFACTS, 'approver-number-390.png') });
    await card.locator('button.approve').click();
    const ok = await round(shown!, state);
    assert.is(ok.replyCode, 'Access-Accept', ok.stdout);
    assert.match(ok.stdout, /welcome alice/);
    // Another login; the phone approves, but the number typed is not the one it showed.
    const again = await round('alice-pw');
    const state2 = replyAttributes(again.stdout).find((l) => l.startsWith('State = 0x'))!;
    await phone.locator('li.request').waitFor();
    const n2 = Number(await phone.locator('li.request .match-number').getAttribute('data-number'));
    await phone.locator('li.request button.approve').click();
    const wrong = await round(String(n2 === 99 ? 10 : n2 + 1), state2);
    assert.is(wrong.replyCode, 'Access-Reject', wrong.stdout);
    assert.match(wrong.stdout, /does not match the one on your phone/);
    const reasons = (await audit(gh)).filter((e) => e.event === 'radius.auth').map((e) => e.reason).slice(-4);
    assert.equal(reasons, ['push_number_challenge', 'push_approved', 'push_number_challenge', 'push_number_wrong']);
  } finally {
    assert.is((await gh.cli(['settings', 'unset', 'push-number-matching'])).code, 0);
    await new Promise((r) => setTimeout(r, 1500));
  }
});

A('Windows number matching: the logon screen gets the number at once and the phone offers three to pick; the right pick lets the logon in, a wrong one refuses it, and a provider that cannot show a number is refused', async ({ phone, gh, pipePath }) => {
  assert.is((await gh.cli(['settings', 'set', 'windows-number-matching', 'yes'])).code, 0);
  await new Promise((r) => setTimeout(r, 1500));
  const pipe = await connectPipe(pipePath);
  try {
    const logon = () => pipe.send({ op: 'authenticate', username: 'alice', domain: 'CORP', workstation: 'PC-7', scenario: 'logon', number_matching: true });
    const id = logon();
    const shown = await pipe.interim(id);
    const n = shown['number'] as number;
    assert.ok(Number.isInteger(n) && n >= 10 && n <= 99, JSON.stringify(shown));
    assert.is(shown['message'], `On your phone, pick ${n} to approve this sign-in.`);
    const card = phone.locator('li.request');
    await card.waitFor();
    const offered = (await card.locator('button.pick').allTextContents()).map(Number);
    assert.is(offered.length, 3);
    assert.is(new Set(offered).size, 3);
    assert.ok(offered.includes(n), `${n} among ${offered.join(', ')}`);
    assert.is(await card.locator('button.approve').count(), 0, 'approving is picking');
    assert.is(await card.locator('.match-number').count(), 0, 'the phone is not told which one is right');
    const o = await overflowsViewport(phone);
    assert.ok(o.scrollWidth <= o.viewport, `${o.scrollWidth} > ${o.viewport}`);
    await phone.screenshot({ path: join(ARTIFACTS, 'approver-pick-390.png') });
    await card.locator(`button.pick[data-number="${n}"]`).click();
    const reply = await pipe.reply(id, 25_000);
    assert.is(reply['result'], 'approved', JSON.stringify(reply));

    // Another logon: the phone picks a number the screen does not show.
    const id2 = logon();
    const n2 = (await pipe.interim(id2))['number'] as number;
    await phone.locator('li.request').waitFor();
    const other = (await phone.locator('li.request button.pick').allTextContents()).map(Number).find((x) => x !== n2)!;
    await phone.locator(`li.request button.pick[data-number="${other}"]`).click();
    const refused = await pipe.reply(id2, 25_000);
    assert.is(refused['result'], 'denied', JSON.stringify(refused));
    assert.match(String(refused['message']), /picked on the phone is not the one shown here/);

    // A credential provider that does not say it can show a number: refused at once, no push.
    const old = await pipe.request({ op: 'authenticate', username: 'alice', domain: 'CORP', workstation: 'PC-7', scenario: 'logon' });
    assert.is(old['result'], 'denied');
    assert.match(String(old['message']), /cannot show; ask your administrator to update it/);
    assert.is(pipe.received.filter((m) => m['result'] === 'number').length, 2, 'interim replies only to the requests that asked');
    const windows = (await audit(gh)).filter((e) => e.event === 'windows.auth').slice(-3);
    assert.equal(
      windows.map((e) => [e.reason, e.details?.['numberMatching']]),
      [
        ['push_approved', 'picked'],
        ['push_number_wrong', 'picked'],
        ['push_number_unsupported', undefined],
      ],
    );
  } finally {
    pipe.end();
    assert.is((await gh.cli(['settings', 'unset', 'windows-number-matching'])).code, 0);
    await new Promise((r) => setTimeout(r, 1500));
  }
});

A("another Gatehouse pointed at this one's push API gets the phone's approval (and its denial)", async ({ admin, phone, base, fr, gh }) => {
  // The admin adds an application that the other appliance may call from loopback without a token.
  await admin.goto(`${base}/applications`);
  await admin.fill('#f-name', 'branch-office');
  await admin.fill('#f-sources', '127.0.0.1');
  await admin.click('button:has-text("Add application")');
  await admin.waitForSelector('text=Application branch-office created');
  const accessId = (await admin.locator('dl.facts dd code').nth(1).textContent())!.trim();
  const apiUrl = (await admin.locator('dl.facts dd code').first().textContent())!.trim();
  assert.is(apiUrl, `${base}/api/`);
  const other = await startAppliance({
    args: ['--downstream-address', '127.0.0.1', '--port-out', String(fr.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${NAS}`, '--message-ttl-seconds', '30', '--push-provider', 'notakey', '--notakey-host', `http://127.0.0.1:${new URL(base).port}/api/`, '--notakey-access-id', accessId],
  });
  try {
    assert.is((await other.cli(['user', 'add', 'alice'])).code, 0);
    const approved = login(other);
    const card = phone.locator('li.request');
    await card.waitFor();
    assert.match((await card.textContent()) ?? '', /02-00-00-00-00-01/);
    await card.locator('button.approve').click();
    const r = await approved;
    assert.is(r.replyCode, 'Access-Accept', r.stdout);
    assert.match(r.stdout, /welcome alice/);
    const denied = login(other);
    await phone.locator('li.request').waitFor();
    await phone.locator('li.request button.deny').click();
    const d = await denied;
    assert.is(d.replyCode, 'Access-Reject', d.stdout);
    assert.match(d.stdout, /denied/i);
    // This appliance recorded both, as the application's requests.
    const served = (await audit(gh)).filter((e) => e.event === 'pushapi.auth').map((e) => `${e.outcome}:${e.reason}`);
    assert.equal(served, ['accept:push_approved', 'reject:push_denied']);
  } finally {
    await other.stop();
  }
});

A('a removed phone stops at once: it no longer sees requests, and alice is unenrolled again', async ({ admin, phone, base, gh }) => {
  await admin.goto(`${base}/users/u/alice`);
  admin.once('dialog', (d) => void d.accept());
  await admin.click('#phone-table form[action="/users/phone-remove"] button');
  await admin.waitForSelector('text=removed: it approves nothing from now on');
  await phone.reload();
  await phone.waitForSelector('text=This phone is not set up');
  const r = await login(gh);
  assert.is(r.replyCode, 'Access-Reject', r.stdout);
  assert.equal((await audit(gh)).filter((x) => x.event === 'radius.auth').map((x) => x.reason).slice(-1), ['unenrolled']);
  assert.ok((await audit(gh)).some((e) => e.event === 'push.device.remove' && e.username === 'alice'));
});

A.run();
