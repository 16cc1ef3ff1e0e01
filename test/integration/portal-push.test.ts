// Self-service for someone whose factor is push: after the directory password, /my sends a push
// (here through the Notakey-compatible stand-in, the one service the tests cannot reach) and lets
// them in only when it is approved. With Notakey as the push service Gatehouse cannot tell who
// is enrolled there, so everyone must pass push before changing anything.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditRecords, startAppliance, type Appliance } from '../helpers/appliance.js';
import { startPushServer, type PushServer } from '../helpers/push-server.js';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, startSlapd, type Slapd } from '../helpers/slapd.js';

const P = suite<{ slapd: Slapd; push: PushServer; gh: Appliance }>('self-service with push');

P.before(async (ctx) => {
  ctx.slapd = await startSlapd({ users: [{ uid: 'nora', password: 'nora-dir-pw' }, { uid: 'dina', password: 'dina-dir-pw' }] });
  ctx.push = await startPushServer({ kind: 'approve' });
  ctx.push.behave('dina', { kind: 'deny' });
  ctx.gh = await startAppliance({
    args: ['--ldap-url', ctx.slapd.url, '--ldap-preset', 'openldap', '--ldap-base-dn', BASE_DN, '--ldap-bind-dn', ADMIN_DN, '--notakey-host', ctx.push.url, '--notakey-access-id', 'self-app', '--ldap-sync-interval', '0'],
    env: { LDAP_BIND_PASSWORD: ADMIN_PASSWORD },
  });
});
P.after(async (ctx) => {
  await ctx.gh?.stop();
  await ctx.push?.close();
  await ctx.slapd?.stop();
});

/** A browser without a browser: cookies kept, the CSRF token read from the page. */
async function visitor(base: string) {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [k, v] = c.split(';')[0]!.split('=') as [string, string];
      jar.set(k, v);
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { Cookie: cookie() }, redirect: 'manual' });
    keep(res);
    return res.text();
  };
  const first = await get('/my');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(first)![1]!;
  return {
    get,
    async post(path: string, form: Record<string, string>) {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { Cookie: cookie(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf, ...form }), redirect: 'manual' });
      keep(res);
      return { status: res.status, text: await res.text() };
    },
  };
}

P('the password, then an approved push: in; nothing could be changed before', async ({ gh, push }) => {
  const v = await visitor(`http://127.0.0.1:${gh.httpPort}`);
  assert.is((await v.post('/my/signin', { username: 'nora', password: 'nora-dir-pw' })).status, 303);
  const step = await v.get('/my');
  assert.match(step, /Confirm it is you/);
  assert.match(step, /Send to my phone/);
  // Not yet: setting up TOTP is refused, and the push step stays.
  const early = await v.post('/my/totp/start', {});
  assert.is(early.status, 403);
  assert.match(early.text, /Pass your current sign-in method/);
  assert.match(await v.get('/my'), /Confirm it is you/);
  const r = await v.post('/my/push', {});
  assert.is(r.status, 303, r.text);
  assert.ok(push.creates.some((c) => c.username === 'nora' && String(c.body.description).includes('manage your sign-in methods as nora')));
  const home = await v.get('/my');
  assert.match(home, /Set up an authenticator app/);
  const recs = (await auditRecords(gh)).filter((x) => x['event'] === 'portal.second_factor');
  assert.equal(recs.map((x) => [x['username'], x['outcome'], x['reason']]), [['nora', 'ok', 'push_approved']]);
});

P('a push denied on the phone keeps them out, with the reason', async ({ gh }) => {
  const v = await visitor(`http://127.0.0.1:${gh.httpPort}`);
  assert.is((await v.post('/my/signin', { username: 'dina', password: 'dina-dir-pw' })).status, 303);
  const r = await v.post('/my/push', {});
  assert.is(r.status, 403);
  assert.match(r.text, /denied on your phone/);
  assert.match(await v.get('/my'), /Confirm it is you/);
});

P.run();
