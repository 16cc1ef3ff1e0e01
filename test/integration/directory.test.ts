// app/directory/ldap.ts against a real OpenLDAP (slapd, started on loopback in a temporary
// directory): user lookup with groups from the memberof overlay, names that try to widen the
// filter, passwords checked by binding as the user, failover between servers, StartTLS with the
// right and a wrong CA, a server that never answers, and options that must be refused.
import { createServer, type Server, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDirectory, directoryProblem, escapeFilterValue, userFilter, type DirectoryOptions } from '../../app/directory/ldap.js';
import { expandGroups, groupName } from '../../app/directory/sync.js';
import { freeTcpPort } from '../helpers/appliance.js';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, startSlapd, type Slapd } from '../helpers/slapd.js';

const D = suite<{ slapd: Slapd; options: DirectoryOptions }>('directory: OpenLDAP');

D.before(async (ctx) => {
  ctx.slapd = await startSlapd({
    users: [
      { uid: 'alice', password: 'alice-dir-pw', displayName: 'Alice Liddell', mail: 'alice@example.org' },
      { uid: 'bob', password: 'bob-dir-pw' },
      { uid: 'al*', password: 'star-pw' },
    ],
    groups: [
      { cn: 'vpn-users', members: ['alice', 'bob'] },
      { cn: 'admins', members: ['alice'] },
    ],
  });
  ctx.options = { urls: [ctx.slapd.url], bindDn: ADMIN_DN, bindPassword: ADMIN_PASSWORD, baseDn: BASE_DN, preset: 'openldap', startTls: false, allowPlain: false, timeoutMs: 2000 };
});
D.after(async (ctx) => {
  await ctx.slapd?.stop();
});

D('a user is found with name, display name, mail and groups (memberOf)', async ({ options }) => {
  const r = await createDirectory(options).findUser('alice');
  if (!r.ok) throw new Error(r.detail);
  assert.is(r.user.dn, `uid=alice,ou=people,${BASE_DN}`);
  assert.is(r.user.username, 'alice');
  assert.is(r.user.displayName, 'Alice Liddell');
  assert.is(r.user.email, 'alice@example.org');
  assert.equal([...r.user.groups].sort(), [`cn=admins,ou=groups,${BASE_DN}`, `cn=vpn-users,ou=groups,${BASE_DN}`]);
  assert.is(r.user.disabled, false);
  const none = await createDirectory(options).findUser('nobody');
  assert.equal([none.ok, !none.ok && none.reason], [false, 'not_found']);
});

D('names with filter characters match themselves (RFC 4515): they cannot widen the search', async ({ options }) => {
  const dir = createDirectory(options);
  for (const name of ['*', 'a*', 'alice)(uid=*', '*)(|(uid=*', 'alice\\']) {
    const r = await dir.findUser(name);
    assert.equal([r.ok, !r.ok && r.reason], [false, 'not_found'], name);
  }
  // The entry whose uid really is "al*" is found by exactly that name, and only it.
  const star = await dir.findUser('al*');
  assert.ok(star.ok && star.user.username === 'al*', JSON.stringify(star));
  assert.is(escapeFilterValue('a*(b)\\c\u0000'), 'a\\2a\\28b\\29\\5cc\\00');
  assert.is(userFilter('(|(uid={username})(mail={username}))', 'x*'), '(|(uid=x\\2a)(mail=x\\2a))');
});

D('passwords are checked by binding as the user: right, wrong, empty, unknown user', async ({ options }) => {
  const dir = createDirectory(options);
  const ok = await dir.checkPassword('alice', 'alice-dir-pw');
  assert.ok(ok.ok, JSON.stringify(ok));
  const wrong = await dir.checkPassword('alice', 'not-it');
  assert.equal([wrong.ok, !wrong.ok && wrong.reason], [false, 'wrong_password']);
  assert.not.match(JSON.stringify(wrong), /not-it/, 'the password is in no result');
  const empty = await dir.checkPassword('alice', '');
  assert.equal([empty.ok, !empty.ok && empty.reason], [false, 'wrong_password'], 'an empty password is never an unauthenticated yes');
  const unknown = await dir.checkPassword('nobody', 'x');
  assert.equal([unknown.ok, !unknown.ok && unknown.reason], [false, 'not_found']);
  // Parallel checks do not share a connection's bind state.
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? dir.checkPassword('bob', 'bob-dir-pw') : dir.checkPassword('bob', 'wrong'))));
  assert.equal(
    many.map((m) => m.ok),
    Array.from({ length: 20 }, (_, i) => i % 2 === 0),
  );
});

D('failover: a server that is down passes to the next; with none up, unreachable', async ({ options, slapd }) => {
  const dead = `ldap://127.0.0.1:${await freeTcpPort()}`;
  const dir = createDirectory({ ...options, urls: [dead, slapd.url] });
  assert.equal(await dir.test(), { ok: true, url: slapd.url });
  assert.ok((await dir.checkPassword('alice', 'alice-dir-pw')).ok);
  const down = await createDirectory({ ...options, urls: [dead] }).findUser('alice');
  assert.equal([down.ok, !down.ok && down.reason], [false, 'unreachable']);
});

D('a server that accepts the connection and never answers: timeout, within the limit', async ({ options }) => {
  const sockets: Socket[] = [];
  const silent: Server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    const r = await createDirectory({ ...options, urls: [`ldap://127.0.0.1:${port}`], timeoutMs: 400 }).findUser('alice');
    assert.equal([r.ok, !r.ok && r.reason], [false, 'timeout'], JSON.stringify(r));
    assert.ok(Date.now() - started < 5000);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

D('StartTLS: with the server\'s CA it works; with another CA it is refused as tls', async ({ options, slapd }) => {
  const tls = createDirectory({ ...options, urls: [slapd.url.replace('127.0.0.1', 'localhost')], startTls: true, ca: slapd.cert });
  const r = await tls.checkPassword('alice', 'alice-dir-pw');
  assert.ok(r.ok, JSON.stringify(r));
  const other = await startSlapd({ users: [] });
  try {
    const bad = await createDirectory({ ...options, urls: [slapd.url.replace('127.0.0.1', 'localhost')], startTls: true, ca: other.cert }).test();
    assert.equal([bad.ok, !bad.ok && bad.reason], [false, 'tls'], JSON.stringify(bad));
  } finally {
    await other.stop();
  }
});

D('a wrong service-account password is named as such', async ({ options }) => {
  const r = await createDirectory({ ...options, bindPassword: 'wrong' }).test();
  assert.equal([r.ok, !r.ok && r.reason], [false, 'bind_failed']);
  assert.not.match(JSON.stringify(r), /wrong"/);
});

D('options that must be refused, each naming its flag', ({ options }) => {
  const p = (o: Partial<DirectoryOptions>) => directoryProblem({ ...options, ...o });
  assert.is(p({}), undefined);
  assert.match(p({ urls: [] }) ?? '', /--ldap-url/);
  assert.match(p({ urls: ['http://dc.example.org'] }) ?? '', /--ldap-url: .*ldap:\/\/ or ldaps:\/\//);
  assert.match(p({ urls: ['ldap://dc.example.org'] }) ?? '', /clear text/);
  assert.is(p({ urls: ['ldap://dc.example.org'], startTls: true }), undefined);
  assert.is(p({ urls: ['ldap://dc.example.org'], allowPlain: true }), undefined);
  assert.is(p({ urls: ['ldaps://dc.example.org'] }), undefined);
  assert.is(p({ urls: ['ldap://[::1]:389'] }), undefined);
  assert.match(p({ urls: ['ldap://dc.example.org/dc=example'], startTls: true }) ?? '', /only the server/);
  assert.match(p({ baseDn: ' ' }) ?? '', /--ldap-base-dn/);
  assert.match(p({ bindPassword: undefined }) ?? '', /go together/);
  assert.match(p({ userFilter: '(uid=alice)' }) ?? '', /\{username\}/);
  assert.throws(() => createDirectory({ ...options, urls: ['ldap://10.1.2.3'] }), /clear text/);
});

D('OpenLDAP without the memberof overlay: groups come from the groupOfNames that list the user, nested ones too (lookup and sync)', async () => {
  const plain = await startSlapd({
    users: [{ uid: 'nina', password: 'nina-pw' }, { uid: 'omar', password: 'omar-pw' }],
    groups: [
      { cn: 'staff', members: ['omar'], groups: ['devs'] },
      { cn: 'devs', members: ['nina'] },
    ],
    memberOfOverlay: false,
  });
  try {
    const dir = createDirectory({ urls: [plain.url], bindDn: ADMIN_DN, bindPassword: ADMIN_PASSWORD, baseDn: BASE_DN, preset: 'openldap', startTls: false, allowPlain: false, timeoutMs: 2000 });
    const nina = await dir.findUser('nina');
    if (!nina.ok) throw new Error(nina.detail);
    assert.equal([...nina.user.groups].sort(), [`cn=devs,ou=groups,${BASE_DN}`, `cn=staff,ou=groups,${BASE_DN}`]);
    const tree = await dir.groupParents();
    if (!tree.ok) throw new Error(tree.detail);
    const expanded = (uid: string) => expandGroups(tree.parents.get(`uid=${uid},ou=people,${BASE_DN}`) ?? [], tree.parents).map(groupName).sort();
    assert.equal(expanded('nina'), ['devs', 'staff']);
    assert.equal(expanded('omar'), ['staff']);
  } finally {
    await plain.stop();
  }
});

D.run();
