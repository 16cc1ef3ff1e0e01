// Two appliances on one PostgreSQL in front of a real FreeRADIUS (issue 15): a RADIUS client
// added through node A's API is answered by node B within a second; a TOTP code used on one is
// refused by the other; both write one audit chain, which `gatehouse audit verify` checks whole;
// each lists the other; an appliance with another master key is refused at start.
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startAppliance, startApplianceRefused, tempDir, waitFor, type Appliance } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { replyAttributes, runRadclient } from '../helpers/radclient.js';
import { seedFromEnrolment, totpCode } from '../helpers/totp.js';

const DOWN_SECRET = 'cluster-downstream-secret';
const NAS_SECRET = 'cluster-nas-secret';

interface Ctx {
  pg: Postgres;
  fr: FreeRadius;
  url: string;
  env: NodeJS.ProcessEnv;
  a: Appliance;
  b: Appliance;
  seed: Buffer;
}

const C = suite<Ctx>('two appliances on one PostgreSQL', {} as Ctx);

/** A command against the shared store, as an admin on either machine would run it. */
const cli = (ctx: Ctx, args: string[]) => runCli([...args, '--data-dir', ctx.a.dataDir], { env: ctx.env });

const login = (gh: Appliance, password: string, secret = NAS_SECRET, timeoutSec = 3, user = 'alice') =>
  runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret, attrs: `User-Name = "${user}"\nUser-Password = "${password}"\nMessage-Authenticator = 0x00`, timeoutSec, retries: 1 });

C.before(async (ctx) => {
  ctx.pg = await startPostgres();
  ctx.url = await ctx.pg.createDatabase('cluster');
  ctx.fr = await startFreeRadius({ users: [{ name: 'alice', password: 'alice-pw' }, { name: 'bob', password: 'bob-pw' }], clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }] });
  // One master key for the cluster (the first appliance's, handed to the others).
  // Users without a second factor get in on the password (alice, until she enrols).
  ctx.env = { DATABASE_URL: ctx.url, GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'), DOWNSTREAM_ADDRESS: '127.0.0.1', PORT_OUT: String(ctx.fr.port), SECRET_OUT: DOWN_SECRET, UNENROLLED_USERS: 'allow' };
  // Started together on the new database (a cluster's first start): they take turns migrating it.
  [ctx.a, ctx.b] = await Promise.all([startAppliance({ env: { ...ctx.env, NODE_NAME: 'gh-a' } }), startAppliance({ env: { ...ctx.env, NODE_NAME: 'gh-b' } })]);
});

C.after(async (ctx) => {
  for (const gh of [ctx.a, ctx.b]) {
    if (gh === undefined) continue;
    await gh.stop();
    await rm(gh.dataDir, { recursive: true, force: true });
  }
  await ctx.fr?.stop();
  await ctx.pg?.stop();
});

C('a RADIUS client added through node A is answered by node B within a second', async (ctx) => {
  const token = await cli(ctx, ['token', 'create', 'cluster-test']);
  assert.is(token.code, 0, token.stderr);
  // Before: B does not know the client (no answer at all).
  const before = await login(ctx.b, 'alice-pw', NAS_SECRET, 0.5);
  assert.is(before.replyCode, undefined, before.stdout);
  const added = Date.now();
  const res = await fetch(`http://127.0.0.1:${ctx.a.httpPort}/api/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.stdout.trim()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'vpn', address: '127.0.0.1', secret: NAS_SECRET }),
  });
  assert.is(res.status, 201, await res.text());
  // B: the client is there within a second of A's change (LISTEN/NOTIFY), without a restart.
  const listed = async (gh: Appliance) => {
    const r = await fetch(`http://127.0.0.1:${gh.httpPort}/api/v1/clients`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
    return ((await r.json()) as { clients: { name: string }[] }).clients.some((c) => c.name === 'vpn');
  };
  await waitFor('node B to know the client', () => listed(ctx.b), 5_000);
  const took = Date.now() - added;
  assert.ok(took < 1_500, `node B applied the change after ${took} ms`);
  const r = await login(ctx.b, 'alice-pw');
  assert.is(r.replyCode, 'Access-Accept', `${r.stdout}${r.stderr}\n${ctx.b.output()}`);
});

C('a pool and a realm saved through node A are applied by node B without a restart (their tables notify too)', async (ctx) => {
  const token = (await cli(ctx, ['token', 'create', 'cluster-pools'])).stdout.trim();
  const call = (gh: Appliance, method: string, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${gh.httpPort}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  assert.is((await call(ctx.a, 'PUT', '/pools/branch', { mode: 'load-balance' })).status, 200);
  assert.is((await call(ctx.a, 'PUT', '/realms/branch.example', { pool: 'branch' })).status, 200);
  await waitFor('node B to apply the pool and the realm', async () => {
    const pools = ((await (await call(ctx.b, 'GET', '/pools')).json()) as { pools: { name: string; mode: string }[] }).pools;
    const realms = ((await (await call(ctx.b, 'GET', '/realms')).json()) as { realms: { name: string }[] }).realms;
    return pools.some((p) => p.name === 'branch' && p.mode === 'load-balance') && realms.some((r) => r.name === 'branch.example');
  }, 5_000);
  assert.is((await call(ctx.a, 'DELETE', '/realms/branch.example')).status, 204);
  assert.is((await call(ctx.a, 'DELETE', '/pools/branch')).status, 204);
});

C('a TOTP code used on node A is refused on node B', async (ctx) => {
  const enrol = await cli(ctx, ['totp', 'enroll', 'alice']);
  assert.is(enrol.code, 0, enrol.stderr);
  ctx.seed = seedFromEnrolment(enrol.stdout);
  // The enrolment reaches B too (it is read per login: no cache to wait for).
  const code = totpCode(ctx.seed);
  const onA = await login(ctx.a, `alice-pw,${code}`);
  assert.is(onA.replyCode, 'Access-Accept', `${onA.stdout}${ctx.a.output()}`);
  const onB = await login(ctx.b, `alice-pw,${code}`);
  assert.is(onB.replyCode, 'Access-Reject', 'the same code again, on the other appliance');
  const audit = await cli(ctx, ['audit', 'export']);
  const decisions = audit.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; reason: string | null; username: string | null })
    .filter((r) => r.event === 'radius.auth' && r.username === 'alice');
  assert.equal(decisions.slice(-2).map((r) => r.reason), ['totp_ok', 'totp_replayed']);
});

C('a code challenge started on node A is answered on node B (the client failed over between the rounds)', async (ctx) => {
  const first = await login(ctx.a, 'alice-pw');
  assert.is(first.replyCode, 'Access-Challenge', first.stdout);
  const state = replyAttributes(first.stdout).find((l) => l.startsWith('State = '))!.slice('State = '.length);
  const answer = (gh: Appliance, code: string) =>
    runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: NAS_SECRET, attrs: `User-Name = "alice"\nUser-Password = "${code}"\nState = ${state}\nMessage-Authenticator = 0x00`, timeoutSec: 3, retries: 1 });
  const onB = await answer(ctx.b, totpCode(ctx.seed, 1));
  assert.is(onB.replyCode, 'Access-Accept', `${onB.stdout}\n${ctx.b.output()}`);
  // Taken once: the same State again (on A) is refused.
  const again = await answer(ctx.a, totpCode(ctx.seed, 1));
  assert.is(again.replyCode, 'Access-Reject', again.stdout);
});

C('both appliances write one audit chain that verifies; each lists the other', async (ctx) => {
  const verify = await cli(ctx, ['audit', 'verify']);
  assert.is(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /audit log intact: \d+ records verified/);
  const starts = (await cli(ctx, ['audit', 'export'])).stdout.split('\n').filter((l) => l.includes('"event":"service.start"'));
  assert.is(starts.length, 2, 'one start record per appliance, in one chain');
  const nodes = async (gh: Appliance) => {
    const token = (await cli(ctx, ['token', 'create', `nodes-${gh.httpPort}`])).stdout.trim();
    const r = await fetch(`http://127.0.0.1:${gh.httpPort}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } });
    return ((await r.json()) as { nodes: { name: string }[] }).nodes.map((n) => n.name).sort();
  };
  assert.equal(await nodes(ctx.a), ['gh-a', 'gh-b']);
  assert.equal(await nodes(ctx.b), ['gh-a', 'gh-b']);
});

C('the database down: /healthz says so, nobody gets in (no answer), and it all comes back by itself, the outage audited', async (ctx) => {
  const healthz = async (gh: Appliance) => {
    const r = await fetch(`http://127.0.0.1:${gh.httpPort}/healthz`);
    return { status: r.status, body: (await r.json()) as { status: string; store?: string } };
  };
  assert.equal((await healthz(ctx.a)).status, 200);
  await ctx.pg.halt();
  try {
    for (const gh of [ctx.a, ctx.b]) {
      const h = await waitFor('/healthz to report the store', async () => {
        const x = await healthz(gh);
        return x.status === 503 ? x : undefined;
      }, 10_000);
      assert.equal([h.body.status, h.body.store], ['unavailable', 'unreachable']);
    }
    // Fail closed: the login needs writes that cannot be made (its audit record at least), so it
    // is not answered at all (the client would try the next server), even one that needs only the
    // password (bob has no second factor: --unenrolled-users allow).
    const r = await login(ctx.a, 'bob-pw', NAS_SECRET, 1, 'bob');
    assert.is(r.replyCode, undefined, r.stdout);
  } finally {
    await ctx.pg.start();
  }
  for (const gh of [ctx.a, ctx.b]) await waitFor('/healthz ok again', async () => (await healthz(gh)).status === 200, 15_000);
  // The pool reconnects: a login goes through again.
  const again = await waitFor('a login answered again', async () => {
    const x = await login(ctx.b, 'bob-pw', NAS_SECRET, 2, 'bob');
    return x.replyCode !== undefined ? x : undefined;
  }, 15_000);
  assert.is(again.replyCode, 'Access-Accept', again.stdout);
  const outages = (await cli(ctx, ['audit', 'export'])).stdout.split('\n').filter((l) => l.includes('"event":"service.store_unreachable"'));
  assert.is(outages.length, 2, 'each appliance audits its outage once the store is back');
  const verify = await cli(ctx, ['audit', 'verify']);
  assert.is(verify.code, 0, verify.stderr);
});

C('an appliance with another master key is refused at start, saying why', async (ctx) => {
  const dataDir = await tempDir();
  try {
    const err = await startApplianceRefused({ dataDir, env: { ...ctx.env, NODE_NAME: 'gh-c', GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') } });
    assert.match(err.message, /same master key/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

C('the database password never reaches the log; a URL without one names the database, not a secret', async (ctx) => {
  for (const gh of [ctx.a, ctx.b]) assert.not.ok(gh.output().includes(new URL(ctx.url).password), 'the password in the log');
});

C('the password apart from the URL: DATABASE_PASSWORD or a PGPASSFILE; a wrong one is named as such', async (ctx) => {
  const u = new URL(ctx.url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  const bare = u.toString();
  const list = (env: NodeJS.ProcessEnv) => runCli(['client', 'list', '--data-dir', ctx.a.dataDir], { env: { ...ctx.env, DATABASE_URL: bare, ...env } });
  const viaEnv = await list({ DATABASE_PASSWORD: password });
  assert.is(viaEnv.code, 0, viaEnv.stderr);
  assert.match(viaEnv.stdout, /vpn/);
  const dir = await tempDir();
  try {
    const file = `${dir}/pgpass`;
    await writeFile(file, `*:*:*:*:${password.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}\n`, { mode: 0o600 });
    const viaFile = await list({ PGPASSFILE: file });
    assert.is(viaFile.code, 0, viaFile.stderr);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const wrong = await list({ DATABASE_PASSWORD: 'not-the-password' });
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /password authentication failed/);
  assert.not.ok(wrong.stderr.includes('not-the-password'));
});

C.run();
