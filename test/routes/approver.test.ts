// The phone approver's HTTP side with bad input, through the whole app (app.request(), no socket):
// no device cookie, a cookie of a removed phone, a foreign Origin, a body that is not JSON, a bad
// decision, an enrolment link that does not exist, a subscription that is not one; the page, its
// manifest and service worker (scope header) are served with the strict CSP. A passkey itself is
// tested in Chromium (test/browser/phone-approver.test.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addUser } from '../../app/admin/users.js';
import { enrolPushDevice, insertPushEnrolment } from '../../app/db/queries/push.js';
import { tokenHash } from '../../app/lib/tokens.js';
import { makeWebApp, type WebApp } from '../helpers/web.js';

const ORIGIN = 'http://localhost:8080';
const A = suite<{ w: WebApp }>('routes/approver', { w: undefined as unknown as WebApp });
A.before.each(async (ctx) => {
  ctx.w = await makeWebApp();
  assert.ok((await addUser(ctx.w.deps.admin, 'test', 'alice')).ok);
  assert.ok(await insertPushEnrolment(ctx.w.store, 'alice', 'link-hash', 'test', ctx.w.clock.now() + 60_000));
  await enrolPushDevice(ctx.w.store, 'link-hash', ctx.w.clock.now(), { name: 'Phone', credentialId: 'cred', publicKey: Buffer.alloc(77, 1), signCount: 0, transports: [], tokenHash: tokenHash('ghd_good') });
});
A.after.each((ctx) => ctx.w.close());

const req = (w: WebApp, method: string, path: string, o: { cookie?: string; body?: string; type?: string; origin?: string } = {}) =>
  w.app.request(path, {
    method,
    headers: { ...(o.cookie ? { Cookie: `gh_device=${o.cookie}` } : {}), ...(o.type ? { 'Content-Type': o.type } : {}), ...(o.origin ? { Origin: o.origin } : {}) },
    ...(o.body !== undefined ? { body: o.body } : {}),
  });

A('the page, its manifest and its service worker (allowed the /approve scope), with the strict CSP', async ({ w }) => {
  const page = await req(w, 'GET', '/approve');
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await page.text();
  assert.match(html, /rel="manifest" href="\/approve\/manifest.webmanifest"/);
  assert.not.match(html, /<script>/);
  const manifest = (await (await req(w, 'GET', '/approve/manifest.webmanifest')).json()) as { start_url: string; display: string };
  assert.equal([manifest.start_url, manifest.display], ['/approve', 'standalone']);
  const sw = await req(w, 'GET', '/approve/sw.js');
  assert.is(sw.headers.get('service-worker-allowed'), '/approve');
});

A('without a device cookie, or with one of no phone, nothing is shown', async ({ w }) => {
  assert.is((await req(w, 'GET', '/approve/api/requests')).status, 401);
  const gone = await req(w, 'GET', '/approve/api/requests', { cookie: 'ghd_removed' });
  assert.is(gone.status, 401);
  assert.match(gone.headers.get('set-cookie') ?? '', /gh_device=;/, 'the stale cookie is cleared');
  assert.is((await req(w, 'GET', '/approve/api/events', { cookie: 'ghd_removed' })).status, 401);
  const ok = await req(w, 'GET', '/approve/api/requests', { cookie: 'ghd_good' });
  assert.equal(await ok.json(), { username: 'alice', device: 'Phone', requests: [] });
});

A('changes need JSON from this origin; a bad decision or request is refused with a reason', async ({ w }) => {
  const json = 'application/json';
  assert.is((await req(w, 'POST', '/approve/api/requests/x/options', { cookie: 'ghd_good', type: json, body: '{"decision":"approve"}', origin: 'https://evil.example' })).status, 403);
  assert.is((await req(w, 'POST', '/approve/api/requests/x/options', { cookie: 'ghd_good', type: 'application/x-www-form-urlencoded', body: 'decision=approve' })).status, 415);
  assert.is((await req(w, 'POST', '/approve/api/requests/x/options', { cookie: 'ghd_good', type: json, body: '[1]' })).status, 400);
  assert.is((await req(w, 'POST', '/approve/api/requests/x/options', { cookie: 'ghd_good', type: json, body: '{"decision":"maybe"}', origin: ORIGIN })).status, 400);
  assert.is((await req(w, 'POST', '/approve/api/requests/x/decision', { type: json, body: '{"decision":"approve"}' })).status, 401);
  const gone = await req(w, 'POST', '/approve/api/requests/no-such-request/decision', { cookie: 'ghd_good', type: json, body: '{"decision":"approve","response":{}}' });
  assert.is(gone.status, 404);
  assert.match(((await gone.json()) as { error: string }).error, /answered or has expired/);
});

A('a request of another user is not this phone’s to see or decide', async ({ w }) => {
  const other = w.deps.pushRequests.open('bob', { username: 'bob', title: 'VPN', description: 'x', fingerprint: 'y' }, 60_000, AbortSignal.timeout(1000));
  assert.equal(((await (await req(w, 'GET', '/approve/api/requests', { cookie: 'ghd_good' })).json()) as { requests: unknown[] }).requests, []);
  assert.is((await req(w, 'POST', `/approve/api/requests/${other.request.id}/options`, { cookie: 'ghd_good', type: 'application/json', body: '{"decision":"approve"}' })).status, 404);
  assert.ok(w.deps.pushRequests.decide(other.request.id, 'deny'), 'still open for its own user');
});

A('number matching the Windows way: the phone sees three numbers and not which is right; an approval must pick one of them, a denial picks none', async ({ w }) => {
  const open = w.deps.pushRequests.open('alice', { username: 'alice', title: 'Windows sign-in', description: 'x', fingerprint: 'PC-7', number: 42, numberMode: 'pick' }, 60_000, AbortSignal.timeout(5000));
  const listed = ((await (await req(w, 'GET', '/approve/api/requests', { cookie: 'ghd_good' })).json()) as { requests: { number: unknown; choices: number[] }[] }).requests;
  assert.is(listed.length, 1);
  assert.is(listed[0]!.number, null, 'the right number is not sent to the phone');
  assert.is(listed[0]!.choices.length, 3);
  assert.ok(listed[0]!.choices.includes(42));
  const options = (body: object) => req(w, 'POST', `/approve/api/requests/${open.request.id}/options`, { cookie: 'ghd_good', type: 'application/json', body: JSON.stringify(body) });
  const other = [10, 11, 12].find((n) => !listed[0]!.choices.includes(n))!;
  for (const [body, why] of [
    [{ decision: 'approve' }, /Pick the number/],
    [{ decision: 'approve', number: other }, /not one of the numbers offered/],
    [{ decision: 'approve', number: '42' }, /not one of the numbers offered/],
    [{ decision: 'deny', number: 42 }, /not one of the numbers offered/],
  ] as const) {
    const r = await options(body);
    assert.is(r.status, 400, JSON.stringify(body));
    assert.match(((await r.json()) as { error: string }).error, why);
  }
  // A pick that was offered (the wrong one too: whether it is right is the engine's to decide) and a denial: options given.
  for (const n of listed[0]!.choices) assert.is((await options({ decision: 'approve', number: n })).status, 200);
  assert.is((await options({ decision: 'deny' })).status, 200);
  // A request with a number to type (RADIUS) shows it and takes no pick.
  const typed = w.deps.pushRequests.open('alice', { username: 'alice', title: 'VPN', description: 'x', fingerprint: 'y', number: 37 }, 60_000, AbortSignal.timeout(5000));
  const both = ((await (await req(w, 'GET', '/approve/api/requests', { cookie: 'ghd_good' })).json()) as { requests: { id: string; number: unknown; choices: unknown }[] }).requests;
  assert.equal(both.find((r) => r.id === typed.request.id), { ...both.find((r) => r.id === typed.request.id)!, number: 37, choices: null });
  assert.is((await req(w, 'POST', `/approve/api/requests/${typed.request.id}/options`, { cookie: 'ghd_good', type: 'application/json', body: '{"decision":"approve","number":37}' })).status, 400);
  assert.is((await req(w, 'POST', `/approve/api/requests/${typed.request.id}/options`, { cookie: 'ghd_good', type: 'application/json', body: '{"decision":"approve"}' })).status, 200);
});

A('an enrolment link that does not exist; a subscription that is not one', async ({ w }) => {
  const r = await req(w, 'POST', '/approve/api/enrol/options', { type: 'application/json', body: '{"token":"ghe_nothing"}' });
  assert.is(r.status, 404);
  assert.match(((await r.json()) as { error: string }).error, /used already or has expired/);
  const late = await req(w, 'POST', '/approve/api/enrol', { type: 'application/json', body: '{"token":"ghe_nothing","name":"x","response":{}}' });
  assert.is(late.status, 409);
  const bad = await req(w, 'POST', '/approve/api/subscription', { cookie: 'ghd_good', type: 'application/json', body: '{"subscription":{"endpoint":"http://internal.example/","keys":{"p256dh":"x","auth":"y"}}}' });
  assert.is(bad.status, 400);
  assert.is(((await (await req(w, 'GET', '/approve/api/push-key')).json()) as { publicKey: string }).publicKey, w.deps.pushPublicKey);
});

A.run();
