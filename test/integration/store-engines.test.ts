// The store's queries written once for both engines (app/db/store.ts) do the same on each: every
// test below runs on SQLite (a file in a temporary directory) and on a real PostgreSQL. Each has
// two connections to the one database, standing for two processes (SQLite) or two appliances
// (PostgreSQL): the claims and counters that must be atomic are raced across both.
import { sql } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import { insertSharedPush, liveSharedPush, moveSharedPush, readSharedPushes, setSharedPushRef, settleSharedPush } from '../../app/db/queries/pending-pushes.js';
import { admitPush, cancelPush, endPush, sweepPushAdmissions } from '../../app/db/queries/push-admissions.js';
import * as assert from 'uvu/assert';
import { openStore } from '../../app/db/open.js';
import { changeAdminCounted, changeAdminLockState, claimAdminTotpStep, DuplicateAdminError, DuplicateTokenError, findAdminByName, findApiTokenByHash, findSession, insertAdmin, insertAgent, insertApiToken, insertSession, listAdmins, setAdminSeed, openAdminSeed, deleteSessionsIdleSince } from '../../app/db/queries/admins.js';
import { deleteClientByAddress, DuplicateClientError, insertClient, listClients, listFixedClientsSeen, markFixedClientMessageAuthenticatorSeen, markMessageAuthenticatorSeen, updateClient } from '../../app/db/queries/clients.js';
import { deleteDownstreams, listDownstreams, replaceDownstream } from '../../app/db/queries/downstream.js';
import { claimEnrolmentCode, findEnrolmentCode, putEnrolmentCode } from '../../app/db/queries/enrolment-codes.js';
import { createGroupReader, deleteRule, insertRule, listRules, moveRule } from '../../app/db/queries/policy.js';
import { DuplicateApplicationError, findPushAppToken, findPushApplication, insertPushAppToken, insertPushApplication, replacePushApplicationSecret } from '../../app/db/queries/push-apps.js';
import { enrolPushDevice, insertPushEnrolment, listPushDevices, recordPushSignature, vapidKeys } from '../../app/db/queries/push.js';
import { deleteStoredSetting, readSealedSetting, readStoredSettings, writeSealedSetting, writeStoredSetting } from '../../app/db/queries/settings.js';
import { createSealer } from '../../app/db/secrets.js';
import { deleteNode, listNodes, recordNode } from '../../app/db/queries/nodes.js';
import { createDirectoryUserStore } from '../../app/db/queries/directory-users.js';
import { confirmPendingTotp, countUsers, createUserFactorQueries, deleteTotpAccount, findPendingTotp, findUserDetail, insertUser, listUsers, pageUsers, replaceTotpAccount, setPendingTotp, setUserLocked, writeProfiles } from '../../app/db/queries/users.js';
import { openPostgres, type SharedStore } from '../../app/db/store.js';
import { openAuditLog } from '../../app/audit/log.js';
import { DECISION_SLOT_MS } from '../../app/db/queries/audit.js';
import { collect } from '../helpers/collect.js';
import { codeEquals, DEFAULT_TOTP, totp } from '../../app/mfa/otp.js';
import { createTotpFactor } from '../../app/mfa/totp.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';

const T = 1_800_000_000_000;
const sealer = createSealer(randomBytes(32));

interface Engine {
  /** Two connections to one fresh database. */
  a: SharedStore;
  b: SharedStore;
  close(): Promise<void>;
}

let pg: Postgres | undefined;
let databases = 0;

const engines: Record<string, () => Promise<Engine>> = {
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-engines-'));
    const a = openStore(dir);
    const b = openStore(dir);
    return {
      a,
      b,
      close: async () => {
        a.close();
        b.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  postgres: async () => {
    pg ??= await startPostgres();
    const url = await pg.createDatabase(`engines_${++databases}`);
    const a = await openPostgres({ url, applicationName: 'node-a' });
    const b = await openPostgres({ url, applicationName: 'node-b' });
    return {
      a,
      b,
      close: async () => {
        await a.close();
        await b.close();
      },
    };
  },
};

const addUser = async (s: SharedStore, name: string): Promise<number> => (await s.get<{ id: number }>(sql`INSERT INTO users (username, search_text) VALUES (${name}, ${name}) RETURNING id`))!.id;

/** Run `n` calls spread over both connections at once. */
const race = <T>(e: Engine, n: number, fn: (s: SharedStore, i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => fn(i % 2 === 0 ? e.a : e.b, i)));

for (const [name, open] of Object.entries(engines)) {
  const S = suite<{ e: Engine }>(`store on ${name}`, { e: undefined as unknown as Engine });
  S.before.each(async (ctx) => {
    ctx.e = await open();
  });
  S.after.each(async (ctx) => {
    await ctx.e.close();
  });

  S('settings: written, replaced, read from the other connection, removed; sealed ones open', async ({ e }) => {
    await writeStoredSetting(e.a, 'failmode', 'safe');
    await writeStoredSetting(e.a, 'failmode', 'secure');
    await writeStoredSetting(e.b, 'message-title', 'VPN');
    assert.equal([...(await readStoredSettings(e.b))].sort(), [['failmode', 'secure'], ['message-title', 'VPN']]);
    assert.ok(await deleteStoredSetting(e.b, 'failmode'));
    assert.not.ok(await deleteStoredSetting(e.a, 'failmode'));
    await writeSealedSetting(e.a, sealer, 'ldap-bind-password', 'pw-ünï');
    assert.is(await readSealedSetting(e.b, sealer, 'ldap-bind-password'), 'pw-ünï');
    // The whole secret, not a piece of it: two letters like `pw` turn up in the base64 of random ciphertext (about 1 run in 80).
    assert.not.ok((await readStoredSettings(e.a)).get('ldap-bind-password')!.includes('pw-ünï'), 'stored sealed');
  });

  S('clients: one of two adds of an address wins; changes, flags and removal', async ({ e }) => {
    const results = await race(e, 6, (s, i) => insertClient(s, sealer, { name: `vpn${i}`, address: '10.0.0.0/24', secret: `secret-${i}`, requireMessageAuthenticator: 'auto' }).then(() => 'ok', (x: unknown) => (x instanceof DuplicateClientError ? 'dup' : String(x))));
    assert.equal(results.filter((r) => r === 'ok').length, 1, results.join(','));
    assert.equal(results.filter((r) => r === 'dup').length, 5);
    const [c] = await listClients(e.b, sealer);
    assert.equal([c!.address, c!.requireMessageAuthenticator, c!.messageAuthenticatorSeen, c!.firstFactor], ['10.0.0.0/24', 'auto', false, null]);
    assert.match(c!.secret.toString(), /^secret-\d$/);
    await markMessageAuthenticatorSeen(e.a, c!.id);
    assert.is((await listClients(e.b, sealer))[0]!.messageAuthenticatorSeen, true);
    assert.ok(await updateClient(e.b, sealer, '10.0.0.0/24', { name: 'Edge', firstFactor: 'directory', requireMessageAuthenticator: 'yes' }));
    const changed = (await listClients(e.a, sealer))[0]!;
    assert.equal([changed.name, changed.firstFactor, changed.requireMessageAuthenticator, changed.messageAuthenticatorSeen], ['Edge', 'directory', 'yes', false]);
    assert.ok(await updateClient(e.a, sealer, '10.0.0.0/24', {}), 'an empty change of an existing client');
    assert.not.ok(await updateClient(e.a, sealer, '10.9.9.9/32', { name: 'x' }));
    await race(e, 4, (s) => markFixedClientMessageAuthenticatorSeen(s, '192.0.2.1/32'));
    assert.equal([...(await listFixedClientsSeen(e.b))], ['192.0.2.1/32']);
    assert.ok(await deleteClientByAddress(e.b, '10.0.0.0/24'));
    assert.equal(await listClients(e.a, sealer), []);
  });

  S('downstream: setting replaces, in one transaction', async ({ e }) => {
    await race(e, 4, (s, i) => replaceDownstream(s, sealer, { name: `r${i}`, host: '192.0.2.10', port: 1812 + i, acctPort: 1813, transport: 'udp', pool: 'default', secret: `down-${i}`, requireMessageAuthenticator: i % 2 === 0 }));
    const all = await listDownstreams(e.a, sealer);
    assert.is(all.length, 1);
    assert.is(all[0]!.secret.toString(), `down-${all[0]!.port - 1812}`);
    assert.is(all[0]!.requireMessageAuthenticator, (all[0]!.port - 1812) % 2 === 0);
    assert.is(await deleteDownstreams(e.b), 1);
  });

  S('policy: rules added at once get distinct places; moved and removed', async ({ e }) => {
    const rule = (n: string) => ({ name: n, groups: ['vpn users', 'ops'], client: undefined, action: 'require' as const, factors: 'totp' as const, replyAttributes: 'Class = x' });
    await race(e, 6, (s, i) => insertRule(s, rule(`r${i}`), 'admin:root'));
    const before = await listRules(e.b);
    assert.is(before.length, 6);
    assert.equal(before[0]!.groups, ['vpn users', 'ops']);
    const positions = await e.a.all<{ p: number }>(sql`SELECT position AS p FROM policy_rules ORDER BY position`);
    assert.equal(positions.map((r) => Number(r.p)), [1, 2, 3, 4, 5, 6]);
    const [first, second] = before;
    assert.ok(await moveRule(e.b, second!.id, -1));
    assert.equal((await listRules(e.a)).slice(0, 2).map((r) => r.name), [second!.name, first!.name]);
    assert.not.ok(await moveRule(e.a, second!.id, -1), 'already first');
    assert.ok(await deleteRule(e.a, first!.id));
    assert.is((await listRules(e.b)).length, 5);
  });

  S('enrolment codes: a code is claimed once, whatever races', async ({ e }) => {
    await addUser(e.a, 'pat');
    assert.not.ok(await putEnrolmentCode(e.a, 'nobody', 'h', T + 1000, 'admin:root'));
    await race(e, 4, (s, i) => putEnrolmentCode(s, 'pat', `racing-${i}`, T + 60_000, 'admin:root'));
    assert.is(Number((await e.b.get<{ n: number }>(sql`SELECT count(*) AS n FROM enrolment_codes`))!.n), 1, 'one code per user');
    assert.ok(await putEnrolmentCode(e.a, 'pat', 'hash-1', T + 60_000, 'admin:root'));
    assert.is(await findEnrolmentCode(e.b, 'pat', T), 'hash-1');
    assert.is(await findEnrolmentCode(e.b, 'pat', T + 60_000), undefined, 'expired');
    const claims = await race(e, 8, (s) => claimEnrolmentCode(s, 'pat', 'hash-1', T));
    assert.is(claims.filter(Boolean).length, 1);
  });

  S('push applications: unique names, lookups, a new secret revokes tokens', async ({ e }) => {
    const app = (n: string) => ({ name: n, accessId: `acc-${n}`, clientId: `cli-${n}`, clientSecretHash: 'ab'.repeat(32), allowedSources: ['10.0.0.0/8'], rateLimit: 5, createdBy: 'admin:root' });
    await insertPushApplication(e.a, app('mikrotik'));
    try {
      await insertPushApplication(e.b, app('mikrotik'));
      assert.unreachable('a second application of one name');
    } catch (x) {
      assert.instance(x, DuplicateApplicationError);
    }
    const found = await findPushApplication(e.b, { clientId: 'cli-mikrotik' });
    assert.equal([found!.name, found!.allowedSources, found!.rateLimit, found!.lastUsedAt], ['mikrotik', ['10.0.0.0/8'], 5, null]);
    assert.is((await findPushApplication(e.a, { accessId: 'acc-mikrotik' }))?.id, found!.id);
    await insertPushAppToken(e.a, { tokenHash: 't1', applicationId: found!.id, scope: 'urn:x', expiresAt: T + 3600_000 }, T);
    assert.equal(await findPushAppToken(e.b, 't1', T), { applicationId: found!.id, scope: 'urn:x', expiresAt: T + 3600_000 });
    assert.ok(await replacePushApplicationSecret(e.b, 'mikrotik', 'cd'.repeat(32)));
    assert.is(await findPushAppToken(e.a, 't1', T), undefined, 'revoked with the old secret');
    assert.not.ok(await replacePushApplicationSecret(e.b, 'nothing', 'cd'));
  });

  S('phones: one link enrols one phone across connections; counters only move forward; one VAPID pair', async ({ e }) => {
    await addUser(e.a, 'alice');
    assert.ok(await insertPushEnrolment(e.a, 'alice', 'link', 'admin:root', T + 900_000));
    const device = (n: number) => ({ name: `phone ${n}`, credentialId: `cred-${n}`, publicKey: randomBytes(65), signCount: 0, transports: ['internal'], tokenHash: `tok-${n}` });
    const results = await race(e, 6, (s, i) => enrolPushDevice(s, 'link', T, device(i)));
    assert.is(results.filter((r) => r !== undefined).length, 1);
    const [d] = await listPushDevices(e.b, 'alice');
    assert.is(d!.publicKey.length, 65, 'the public key comes back as bytes');
    assert.ok(await recordPushSignature(e.a, d!.id, 0, T + 1));
    const counts = await race(e, 6, (s) => recordPushSignature(s, d!.id, 7, T + 2));
    assert.is(counts.filter(Boolean).length, 1, 'one signature with counter 7 counts');
    assert.not.ok(await recordPushSignature(e.b, d!.id, 3, T + 3));
    assert.ok(await recordPushSignature(e.b, d!.id, 4_000_000_000, T + 3), 'a 32-bit counter beyond 2^31');
    let made = 0;
    const keys = await race(e, 4, (s) => vapidKeys(s, sealer, () => ({ publicKey: `pub-${++made}`, privateKey: `priv-${made}` })));
    assert.is(new Set(keys.map((k) => k.publicKey)).size, 1, 'every node uses the first pair stored');
  });

  S('admins: unique names; parallel failures all count; a code step is claimed once; the last full admin stays', async ({ e }) => {
    const id = await insertAdmin(e.a, 'root', 'scrypt$x');
    try {
      await insertAdmin(e.b, 'root', 'scrypt$y');
      assert.unreachable('a second admin of one name');
    } catch (x) {
      assert.instance(x, DuplicateAdminError);
    }
    await race(e, 10, (s) => changeAdminLockState(s, id, (cur) => ({ failedAttempts: cur.failedAttempts + 1, lockedUntil: cur.lockedUntil })));
    assert.is((await findAdminByName(e.b, 'root'))!.failedAttempts, 10, 'no failure lost');
    await changeAdminLockState(e.a, id, () => ({ failedAttempts: 0, lockedUntil: T + 60_000 }));
    assert.not.ok(await claimAdminTotpStep(e.a, id, 100, T), 'not while locked out');
    const claims = await race(e, 8, (s) => claimAdminTotpStep(s, id, 100, T + 60_000));
    assert.is(claims.filter(Boolean).length, 1, 'one code signs in once');
    assert.is((await findAdminByName(e.a, 'root'))!.lockedUntil, null);
    await setAdminSeed(e.a, sealer, id, Buffer.from('seed-bytes'));
    assert.is((await openAdminSeed(e.b, sealer, id))?.toString(), 'seed-bytes');
    assert.is((await listAdmins(e.b))[0]!.hasTotp, true);
    await insertAdmin(e.a, 'helen', 'scrypt$z');
    const demote = (s: SharedStore, who: string) => changeAdminCounted(s, who, (role, counts) => ({ change: role === 'admin' && counts.admin <= 1 ? null : ('readonly' as const) }));
    await Promise.all([demote(e.a, 'root'), demote(e.b, 'helen')]);
    assert.is((await listAdmins(e.a)).filter((a) => a.role === 'admin').length, 1, 'exactly one full admin left');
  });

  S('sessions and tokens: read on the other connection; idle ones go; names unique', async ({ e }) => {
    const id = await insertAdmin(e.a, 'root', 'scrypt$x');
    await insertSession(e.a, { id: 's1', adminId: id, stage: 'full', csrfToken: 'c', createdAt: T, lastSeenAt: T });
    await insertSession(e.a, { id: 's2', adminId: id, stage: 'password', csrfToken: 'c', createdAt: T, lastSeenAt: T + 5000 });
    assert.equal(await findSession(e.b, 's1'), { id: 's1', adminId: id, adminName: 'root', adminRole: 'admin', stage: 'full', csrfToken: 'c', createdAt: T, lastSeenAt: T });
    await deleteSessionsIdleSince(e.b, T + 1, T - 1);
    assert.is(await findSession(e.a, 's1'), undefined);
    assert.ok(await findSession(e.a, 's2'));
    await insertApiToken(e.a, 'ci', 'hash-ci', 'admin:root', 'readonly');
    assert.is((await findApiTokenByHash(e.b, 'hash-ci'))?.role, 'readonly');
    const dups = await race(e, 4, (s, i) => insertAgent(s, 'branch', `agent-${i}`, 'admin:root').then(() => 'ok', (x: unknown) => (x instanceof DuplicateTokenError ? 'dup' : String(x))));
    assert.equal(dups.sort(), ['dup', 'dup', 'dup', 'ok']);
  });

  S('users: pages and searches (any script, groups), profiles written at once, locks', async ({ e }) => {
    await insertUser(e.a, 'bob');
    const created = await writeProfiles(e.b, [
      { username: 'åsa', create: true, displayName: 'Åsa Öberg', email: 'asa@example.org', groups: ['vpn users', 'ops'] },
      { username: 'bob', create: false, displayName: 'Bob', groups: ['ops'] },
      { username: 'carl', create: true },
    ]);
    assert.equal(created, ['åsa', 'carl']);
    assert.equal((await pageUsers(e.a, { q: '', limit: 2 })).map((u) => u.username), ['bob', 'carl']);
    assert.equal((await pageUsers(e.a, { q: '', after: 'carl', limit: 2 })).map((u) => u.username), ['åsa']);
    assert.equal((await pageUsers(e.b, { q: 'öberg', limit: 10 })).map((u) => u.username), ['åsa'], 'a search folds any script');
    assert.equal((await pageUsers(e.b, { q: 'ops', limit: 10 })).map((u) => u.username), ['bob', 'åsa'], 'or is a group');
    assert.is(await countUsers(e.a, 'ops'), 2);
    const asa = (await listUsers(e.a)).find((u) => u.username === 'åsa')!;
    assert.equal([asa.displayName, asa.groups, asa.locked, asa.hasTotp, asa.source], ['Åsa Öberg', ['ops', 'vpn users'], false, false, 'local']);
    assert.ok(await setUserLocked(e.b, 'bob', true));
    assert.is((await findUserDetail(e.a, 'bob'))!.locked, true);
    assert.ok(await setUserLocked(e.b, 'bob', false));
    assert.is((await findUserDetail(e.a, 'bob'))!.locked, false);
  });

  S('TOTP accounts: enrolling a new user from two places makes one user; a pending enrolment is confirmed once', async ({ e }) => {
    const params = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
    const made = await race(e, 4, (s, i) => replaceTotpAccount(s, sealer, 'dana', Buffer.from(`seed-${i}`), params));
    assert.is(made.filter((m) => m.userCreated).length, 1);
    assert.is((await findUserDetail(e.b, 'dana'))!.hasTotp, true);
    await setPendingTotp(e.a, sealer, 'dana', Buffer.from('new-seed'), { ...params, digits: 8 }, T);
    const pending = (await findPendingTotp(e.b, sealer, 'dana'))!;
    assert.equal([pending.seed.toString(), pending.params.digits, pending.createdAt], ['new-seed', 8, T]);
    const confirmations = await race(e, 4, (s) => confirmPendingTotp(s, pending.userId, T, 1234));
    assert.is(confirmations.filter(Boolean).length, 1);
    const detail = (await findUserDetail(e.a, 'dana'))!;
    assert.equal([detail.hasTotp, detail.pendingTotp], [true, false]);
    const step = await e.a.get<{ step: number; digits: number }>(sql`SELECT last_used_step AS step, digits FROM totp_accounts`);
    assert.equal([Number(step!.step), Number(step!.digits)], [1234, 8], 'the confirming code does not log in again');
    assert.ok(await deleteTotpAccount(e.b, 'dana'));
    assert.not.ok(await deleteTotpAccount(e.b, 'dana'));
  });

  S('the login path: a code gets in once across both; parallel wrong codes lock after exactly the limit, and the right code is then refused; groups read', async ({ e }) => {
    const seed = randomBytes(20);
    await replaceTotpAccount(e.a, sealer, 'lena', seed, DEFAULT_TOTP);
    let t = T;
    const policy = { maxFailures: 4, lockoutMs: 60_000 };
    // Two appliances: each its own connection and its own memory.
    const fa = createTotpFactor(createUserFactorQueries(e.a, sealer), () => policy, () => t);
    const fb = createTotpFactor(createUserFactorQueries(e.b, sealer), () => policy, () => t);
    assert.equal(await fb.status('lena'), { known: true, lock: { locked: false }, totp: DEFAULT_TOTP });
    assert.equal(await fa.status('nobody'), { known: false });
    const code = totp(seed, t);
    // Replays count as wrong codes: fewer than the limit here.
    const once = await Promise.all(Array.from({ length: 4 }, (_, i) => (i % 2 === 0 ? fa : fb).verify('lena', codeEquals(code))));
    assert.is(once.filter((r) => r.ok).length, 1, JSON.stringify(once));
    assert.ok(once.every((r) => r.ok || r.reason === 'totp_replayed'));
    // A later step on the other appliance: accepted, and the failure count is cleared.
    t += 30_000;
    assert.equal(await fb.verify('lena', codeEquals(totp(seed, t))), { ok: true });
    assert.is((await findUserDetail(e.a, 'lena'))!.failedAttempts, 0);

    t += 30_000;
    const wrong = totp(seed, t + 10 * 30_000);
    const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? fa : fb).verify('lena', codeEquals(wrong))));
    const counted = guesses.filter((r) => !r.ok && r.reason === 'totp_wrong');
    assert.is(counted.length, policy.maxFailures, JSON.stringify(guesses));
    assert.is(counted.filter((r) => !r.ok && r.reason === 'totp_wrong' && r.lockedNow).length, 1, 'one lockout');
    assert.is(guesses.filter((r) => !r.ok && r.reason === 'locked').length, 20 - policy.maxFailures);
    const right = await fa.verify('lena', codeEquals(totp(seed, t)));
    assert.equal(right, { ok: false, reason: 'locked', lock: { locked: true, reason: 'locked_out', until: t + policy.lockoutMs } });
    assert.equal(await fb.verify('nobody', codeEquals('123456')), { ok: false, reason: 'no_totp' });

    await e.b.run(sql`INSERT INTO user_groups (user_id, name) SELECT id, 'vpn' FROM users WHERE username = 'lena'`);
    assert.equal([...(await createGroupReader(e.a)('lena'))], ['vpn']);
    assert.equal([...(await createGroupReader(e.a)('nobody'))], []);
  });

  S('the audit log: two appliances appending at once make one chain that verifies; heads, pages, filters, counts', async ({ e }) => {
    const master = randomBytes(32);
    let t = T;
    const la = await openAuditLog(e.a, master, () => (t += 1000));
    const lb = await openAuditLog(e.b, master, () => (t += 1000));
    // In parallel from both, some batched (commit), some written at once (record), one with an
    // effect that must land in the same transaction.
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const log = i % 2 === 0 ? la : lb;
        const ev = { event: i % 5 === 0 ? 'windows.auth' : 'radius.auth', outcome: i % 3 === 0 ? ('reject' as const) : ('accept' as const), username: `u${i % 7}`, source: `192.0.2.${i}:1812`, reason: i % 3 === 0 ? 'totp_wrong' : 'totp_ok' };
        if (i === 7) return log.auditor.commit(ev, async (tx) => {
          await tx.run(sql`INSERT INTO settings (key, value) VALUES ('audit-effect', 'written') ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
        });
        return i % 4 === 0 ? log.auditor.record(ev) : log.auditor.commit(ev);
      }),
    );
    assert.is((await readStoredSettings(e.b)).get('audit-effect'), 'written');
    const head = await lb.writeHead();
    assert.ok(head !== undefined);
    assert.is(await la.writeHead(), undefined, 'the last record is a head already');
    for (const log of [la, lb]) assert.equal(await log.verify(), { ok: true, count: 61, legacy: 0 });
    assert.is(await la.store.count(), 61);
    assert.is((await la.store.last())!.id, head.id);
    assert.is((await lb.lastHead())!.hash, head.hash);
    assert.is((await la.store.first())!.id, 1);
    assert.ok(await lb.store.hasEvent('windows.auth'));
    assert.not.ok(await lb.store.hasEvent('nothing.such'));
    assert.is((await la.store.latest('radius.auth'))!.event, 'radius.auth');
    // Pages newest first below an id; filters by user, event, outcome, source prefix, time.
    const page = await lb.store.page({ username: 'u3' }, undefined, 4);
    assert.equal(page.map((r) => r.username), ['u3', 'u3', 'u3', 'u3']);
    assert.ok(page[0]!.id > page[3]!.id);
    const older = await lb.store.page({ username: 'u3' }, page[3]!.id, 100);
    assert.ok(older.every((r) => r.id < page[3]!.id && r.username === 'u3'));
    assert.is((await la.store.page({ events: ['windows.auth'], outcome: 'reject' }, undefined, 100)).length, 4);
    assert.is((await la.store.page({ source: '192.0.2.1' }, undefined, 100)).length, 11, '192.0.2.1, .10-.19');
    const all = await collect(la.store.iterate({ since: T + 10_000, until: T + 20_000 }));
    // Oldest first by id; records written at once overtake batched ones, so times are sorted here.
    assert.ok(all.every((r, i) => i === 0 || r.id > all[i - 1]!.id));
    assert.equal(all.map((r) => r.time).sort((x, y) => x - y), Array.from({ length: 11 }, (_, i) => T + 10_000 + i * 1000));
    assert.equal((await la.store.after(58, 10)).map((r) => r.id), [59, 60, 61]);
    const counts = await lb.store.countLoginDecisions(Math.floor(T / DECISION_SLOT_MS) * DECISION_SLOT_MS, Math.floor(T / DECISION_SLOT_MS) * DECISION_SLOT_MS + 2 * 3_600_000, 2 * 3_600_000);
    assert.is(counts.reduce((n, c) => n + c.count, 0), 60);
    assert.is(counts.find((c) => c.outcome === 'reject')!.count, 20);
  });

  S('nodes: each writes its own row; every node reads them all', async ({ e }) => {
    await race(e, 6, (s, i) => recordNode(s, { name: i % 2 === 0 ? 'gh-a' : 'gh-b', version: '1', startedAt: T, heartbeatAt: T + i, health: '{}' }));
    const rows = await listNodes(e.a);
    assert.equal(rows.map((r) => r.name), ['gh-a', 'gh-b']);
    assert.ok(rows.every((r) => r.startedAt === T && r.heartbeatAt >= T));
    assert.ok(await deleteNode(e.b, 'gh-b'));
    assert.equal((await listNodes(e.b)).map((r) => r.name), ['gh-a']);
  });

  S('directory users: a page in one transaction; disabled, missing and purged as the sync says', async ({ e }) => {
    const a = createDirectoryUserStore(e.a);
    const b = createDirectoryUserStore(e.b);
    const entry = (u: string, disabled = false) => ({ username: u, displayName: `P ${u}`, email: `${u}@example.org`, upn: `${u}@corp`, dn: `uid=${u},dc=x`, groups: ['vpn users'], disabled });
    assert.equal(await a.writePage([entry('ann'), entry('ben'), entry('cat')], T, T), { added: 3, updated: 0, disabled: [], restored: [] });
    assert.equal(await b.writePage([entry('ann', true), entry('ben')], T + 10, T + 10), { added: 0, updated: 2, disabled: ['ann'], restored: [] });
    assert.equal(await a.markMissing(T + 10, T + 20), ['cat']);
    assert.equal(await b.stateOf('cat'), { source: 'directory', state: 'removed' });
    assert.is(await a.count(), 3);
    assert.equal((await b.purge(T + 15)).sort(), ['ann'], 'gone before the cut-off: ann (disabled at T+10), not cat (removed at T+20)');
    assert.ok(await a.setState('ben', 'disabled', T + 30));
    assert.equal(await b.writePage([entry('ben')], T + 40, T + 40), { added: 0, updated: 1, disabled: [], restored: ['ben'] });
    await a.saveReport({ ok: true, seen: 2 });
    assert.equal(await b.loadReport(), { ok: true, seen: 2 });
  });

  S('pending pushes: of logins asked at once for one join key, one push is live; settled once; taken over once', async ({ e }) => {
    const results = await race(e, 8, (s, i) => insertSharedPush(s, { id: `p${i}`, joinKey: 'k1', username: 'alice', node: i % 2 === 0 ? 'a' : 'b', startedAt: T, expiresAt: T + 60_000 }));
    assert.is(results.filter(Boolean).length, 1, 'one live push');
    const live = (await liveSharedPush(e.b, 'k1'))!;
    await setSharedPushRef(e.a, live.id, 'uuid-1');
    const [before] = await readSharedPushes(e.a, [live.id]);
    const moves = await race(e, 6, (s) => moveSharedPush(s, live.id, before!.node, 'c'));
    assert.is(moves.filter(Boolean).length, 1, 'taken over by one');
    const settles = await race(e, 4, (s, i) => settleSharedPush(s, live.id, JSON.stringify({ kind: i === 0 ? 'approved' : 'denied' })));
    assert.is(settles.filter(Boolean).length, 1, 'decided once');
    const [row] = await readSharedPushes(e.a, [live.id]);
    assert.equal([row!.node, row!.ref], ['c', 'uuid-1']);
    assert.is(await liveSharedPush(e.a, 'k1'), undefined, 'a decided push is joined by nobody');
    assert.ok(await insertSharedPush(e.b, { id: 'next', joinKey: 'k1', username: 'alice', node: 'b', startedAt: T + 1, expiresAt: T + 60_001 }), 'the next login with that key starts a new one');
    // A live row whose time is up blocks nobody.
    assert.ok(await insertSharedPush(e.a, { id: 'later', joinKey: 'k1', username: 'alice', node: 'a', startedAt: T + 70_000, expiresAt: T + 130_000 }));
  });

  S('push limits across connections: of 10 pushes asked at once, 3 are admitted (pending); ended ones free a place; the window counts', async ({ e }) => {
    const ask = (s: SharedStore, i: number, now = T) => admitPush(s, { id: `a${i}-${now}`, username: 'bob', node: 'n', now, maxPending: 3, maxInWindow: 5, windowMs: 60_000, openSince: now - 900_000 });
    const first = await race(e, 10, (s, i) => ask(s, i));
    assert.is(first.filter((r) => r === undefined).length, 3, first.join(','));
    assert.is(first.filter((r) => r === 'pending').length, 7);
    const admitted = await e.a.all<{ id: string }>(sql`SELECT id FROM push_admissions WHERE username = 'bob'`);
    for (const a of admitted) await endPush(e.b, a.id, T + 1);
    const second = await race(e, 4, (s, i) => ask(s, 100 + i, T + 2));
    assert.equal(second.filter((r) => r === undefined).length, 2, `5 in the window at most: ${second.join(',')}`);
    assert.ok(second.includes('rate'));
    await cancelPush(e.a, `a100-${T + 2}`);
    await cancelPush(e.a, `a101-${T + 2}`);
    await cancelPush(e.a, `a102-${T + 2}`);
    await cancelPush(e.a, `a103-${T + 2}`);
    assert.is(await ask(e.b, 200, T + 3), undefined, 'a cancelled admission counts for nothing');
    assert.is(await ask(e.a, 300, T + 61_000), undefined, 'the window moved on');
    assert.is(await sweepPushAdmissions(e.a, T + 2), 3);
  });

  S('a change made through one connection is seen by the other within a second (watch)', async ({ e }) => {
    let heard = 0;
    const stop = e.b.watch(() => heard++);
    try {
      await new Promise((r) => setTimeout(r, 300));
      await writeStoredSetting(e.a, 'failmode', 'safe');
      for (let i = 0; i < 30 && heard === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(heard > 0, 'the other connection heard of the change');
    } finally {
      stop();
    }
  });

  S.run();
}

const Watch = suite('PostgreSQL: the configuration listener survives a restart of the database');
Watch('after a restart it says so, and hears later changes again', async () => {
  const e = await engines['postgres']!();
  let heard = 0;
  const stop = e.b.watch(() => heard++);
  try {
    await new Promise((r) => setTimeout(r, 300));
    await pg!.halt();
    await pg!.start();
    // Back: told once that something may have changed while it was away.
    for (let i = 0; i < 60 && heard === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(heard > 0, 'told after reconnecting');
    const before = heard;
    // The pool's connections were cut by the restart: the first query may fail, the next works.
    await writeStoredSetting(e.a, 'failmode', 'safe').catch(() => writeStoredSetting(e.a, 'failmode', 'safe'));
    for (let i = 0; i < 30 && heard === before; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(heard > before, 'and hears changes again');
  } finally {
    stop();
    await e.close();
  }
});
Watch.run();

const End = suite('store engines: clean up');
End('the PostgreSQL cluster stops', async () => {
  await pg?.stop();
  pg = undefined;
});
End.run();
