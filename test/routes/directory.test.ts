// The Directory page against a real OpenLDAP (slapd on loopback): its settings edited in place, the
// service account's password stored sealed and never shown, "Test connection" and "Test user"
// answering with what the directory says, and refused input shown on the page.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeWebApp, type WebApp } from '../helpers/web.js';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, startSlapd, type Slapd } from '../helpers/slapd.js';

const D = suite<{ slapd: Slapd; w?: WebApp }>('routes/directory');

D.before(async (ctx) => {
  ctx.slapd = await startSlapd({
    users: [
      { uid: 'alice', password: 'alice-dir-pw', displayName: 'Alice Liddell', mail: 'alice@example.org' },
      { uid: 'dave', password: 'dave-dir-pw', disabled: true },
    ],
    groups: [{ cn: 'vpn-users', members: ['alice'] }],
  });
});
D.after(async (ctx) => {
  await ctx.slapd?.stop();
});
D.after.each((ctx) => {
  ctx.w?.close();
  ctx.w = undefined;
});

async function post(w: WebApp, url: string, form: Record<string, string>, reauth = false): Promise<{ status: number; text: string; location: string | null }> {
  const admin = await w.adminSession('root');
  const creds = reauth ? await w.adminCredentials('root') : undefined;
  const body = new URLSearchParams({ _csrf: admin.csrf, ...(creds ? { reauth_password: creds.password, reauth_code: creds.code() } : {}), ...form }).toString();
  const res = await w.app.request(url, { method: 'POST', headers: { Cookie: admin.cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body });
  return { status: res.status, text: await res.text(), location: res.headers.get('location') };
}
async function get(w: WebApp, url: string): Promise<string> {
  const admin = await w.adminSession('root');
  return (await w.app.request(url, { headers: { Cookie: admin.cookie } })).text();
}
const fromFlags = (s: Slapd) => ({ argv: ['--ldap-url', s.url, '--ldap-preset', 'openldap', '--ldap-base-dn', BASE_DN, '--ldap-bind-dn', ADMIN_DN], env: { LDAP_BIND_PASSWORD: ADMIN_PASSWORD } });

D('unconfigured: the page says so and the test buttons are off', async (ctx) => {
  const w = (ctx.w = await makeWebApp());
  const html = await get(w, '/directory');
  assert.match(html, /No directory is configured/);
  assert.match(html, /<button type="submit" class="secondary" disabled="">Test connection/);
  assert.match(html, /not set \(anonymous searches\)/);
});

D('configured by flags: read-only settings, the password source named, Test connection and Test user answer from the directory', async (ctx) => {
  const w = (ctx.w = await makeWebApp(fromFlags(ctx.slapd)));
  const html = await get(w, '/directory');
  assert.match(html, /set by --ldap-url/);
  assert.match(html, /set by LDAP_BIND_PASSWORD/);
  assert.not.match(html, /Save the password/, 'a password given by the environment cannot be changed here');
  assert.not.ok(html.includes(ADMIN_PASSWORD));

  const conn = await post(w, '/directory/test', {});
  assert.is(conn.status, 200);
  assert.ok(conn.text.includes(`Connected to ${ctx.slapd.url}`), conn.text.slice(0, 400));

  const user = await post(w, '/directory/test-user', { username: 'alice' });
  assert.ok(user.text.includes(`uid=alice,ou=people,${BASE_DN}`));
  assert.ok(user.text.includes('Alice Liddell'));
  assert.ok(user.text.includes(`cn=vpn-users,ou=groups,${BASE_DN}`));
  const right = await post(w, '/directory/test-user', { username: 'alice', password: 'alice-dir-pw' });
  assert.match(right.text, /accepted by the directory/);
  const wrong = await post(w, '/directory/test-user', { username: 'alice', password: 'guess-pw' });
  assert.match(wrong.text, /refused \(wrong_password\)/);
  const disabled = await post(w, '/directory/test-user', { username: 'dave' });
  assert.match(disabled.text, /<span class="badge warn">disabled<\/span>/);
  const unknown = await post(w, '/directory/test-user', { username: 'nobody' });
  assert.match(unknown.text, /nobody: not usable \(not_found\)/);
  const empty = await post(w, '/directory/test-user', { username: '  ' });
  assert.is(empty.status, 400);
  assert.match(empty.text, /Give a user name/);

  const audit = JSON.stringify(w.auditRows());
  assert.match(audit, /"event":"directory.test"/);
  assert.match(audit, /"reason":"password_wrong_password"/);
  for (const secret of ['alice-dir-pw', 'guess-pw', ADMIN_PASSWORD]) assert.not.ok(audit.includes(secret), `the audit holds ${secret}`);
});

D('Sync now: the users arrive, and the page shows the report', async (ctx) => {
  const w = (ctx.w = await makeWebApp(fromFlags(ctx.slapd)));
  assert.match(await get(w, '/directory'), /No sync yet/);
  const r = await post(w, '/directory/sync', {});
  assert.equal([r.status, r.location], [303, '/directory']);
  // The run goes on after the answer; the page refreshes itself while it does.
  for (let i = 0; i < 100 && (await w.deps.directorySync.status()).running; i++) await new Promise((res) => setTimeout(res, 20));
  const html = await get(w, '/directory');
  assert.match(html, /2 in scope: 2 added, 0 updated, 0 disabled, 0 removed/);
  assert.match(html, /by root/);
  // Their pages say where they come from, and that dave cannot get in.
  assert.match(await get(w, '/users/u/alice'), /Active \(directory\)/);
  assert.match(await get(w, '/users/u/dave'), /Disabled in the directory/);
  assert.ok(w.auditRows().some((x) => x.event === 'directory.sync' && x.actor === 'admin:root' && x.outcome === 'ok'));
});

D('configured on the page: settings saved in place (confirmed), the password stored sealed and never shown; a wrong one fails the test with its reason', async (ctx) => {
  const w = (ctx.w = await makeWebApp());
  // A setting that decides who gets in: the confirmation page first, then saved, back on /directory.
  const ask = await post(w, '/settings', { key: 'ldap-url', value: ctx.slapd.url, back: '/directory' });
  assert.match(ask.text, /Confirm the change/);
  assert.match(ask.text, /name="back" value="\/directory"/);
  for (const [key, value] of [
    ['ldap-url', ctx.slapd.url],
    ['ldap-preset', 'openldap'],
    ['ldap-base-dn', BASE_DN],
    ['ldap-bind-dn', ADMIN_DN],
  ]) {
    const r = await post(w, '/settings', { key: key!, value: value!, back: '/directory' }, true);
    assert.equal([r.status, r.location], [303, '/directory'], `${key}: ${r.text.slice(0, 300)}`);
  }
  // Without the password the service account cannot be used.
  assert.match(await get(w, '/directory'), /The directory cannot be used: the bind DN/);

  const wrong = await post(w, '/directory/password', { password: 'not-the-admin-pw' }, true);
  assert.equal([wrong.status, wrong.location], [303, '/directory']);
  assert.match((await post(w, '/directory/test', {})).text, /The connection failed \(bind_failed\)/);

  const saved = await post(w, '/directory/password', { password: ADMIN_PASSWORD }, true);
  assert.is(saved.status, 303);
  const html = await get(w, '/directory');
  assert.match(html, /stored \(sealed\)/);
  assert.not.ok(html.includes(ADMIN_PASSWORD));
  assert.ok((await post(w, '/directory/test', {})).text.includes(`Connected to ${ctx.slapd.url}`));
  // Sealed at rest: the settings table does not hold it in clear.
  assert.not.ok(JSON.stringify(w.store.sqlite.prepare('SELECT * FROM settings').all()).includes(ADMIN_PASSWORD));

  // A session alone cannot change it.
  const noReauth = await post(w, '/directory/password', { password: 'x' });
  assert.is(noReauth.status, 403);
  assert.match(noReauth.text, /password or code is not correct/);

  // A refused value is shown on the Directory page, next to its field, and nothing changes.
  const bad = await post(w, '/settings', { key: 'ldap-url', value: 'http://dc.example', back: '/directory' });
  assert.is(bad.status, 400);
  assert.match(bad.text, /<title>Directory/);
  assert.match(bad.text, /id="err-ldap-url">ldap-url: &#39;http:\/\/dc.example&#39; must start with ldap:\/\/ or ldaps:\/\//);

  const audit = JSON.stringify(w.auditRows());
  assert.ok(w.auditRows().some((r) => r.event === 'settings.set' && (r.details ?? '').includes('"setting":"ldap-bind-password"')), 'the password change is audited, by name');
  for (const secret of [ADMIN_PASSWORD, 'not-the-admin-pw']) assert.not.ok(audit.includes(secret));
});

D.run();
