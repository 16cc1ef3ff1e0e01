// Gatehouse's own approver across two appliances on one PostgreSQL, in front of a real FreeRADIUS
// (issue 15): a login waits on node A; the phone reaches node B (a load balancer, another address),
// lists the request A opened, signs its approval there, and A's login is answered within a second;
// the same signed decision again is refused; a denial through B is A's answer too.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import { openPostgres } from '../../app/db/store.js';
import { tokenHash } from '../../app/lib/tokens.js';
import { freeTcpPort, runCli, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { createPhoneFleet, enrolSoftPhone, type PhoneFleet } from '../helpers/phones.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { runRadclient, type RadclientResult } from '../helpers/radclient.js';

const DOWN_SECRET = 'cluster-approver-downstream';
const NAS_SECRET = 'cluster-approver-nas';

interface Ctx {
  env: NodeJS.ProcessEnv;
  pg: Postgres;
  fr: FreeRadius;
  phones: PhoneFleet;
  origin: string;
  a: Appliance;
  b: Appliance;
}

const C = suite<Ctx>("the own approver's phone reaches another appliance than the login's", {} as Ctx);

const login = (gh: Appliance, station: string): Promise<RadclientResult> =>
  runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: NAS_SECRET, attrs: `User-Name = "u0"\nUser-Password = "u0-pw"\nCalling-Station-Id = "${station}"\nMessage-Authenticator = 0x00`, timeoutSec: 30, retries: 1 });

C.before(async (ctx) => {
  ctx.pg = await startPostgres();
  const url = await ctx.pg.createDatabase('cluster_approver');
  ctx.fr = await startFreeRadius({ users: [{ name: 'u0', password: 'u0-pw' }], clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }] });
  // Both appliances answer to one public name, as behind a load balancer: the passkey's origin.
  ctx.origin = `http://localhost:${await freeTcpPort()}`;
  const env = {
    DATABASE_URL: url,
    GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
    DOWNSTREAM_ADDRESS: '127.0.0.1',
    PORT_OUT: String(ctx.fr.port),
    SECRET_OUT: DOWN_SECRET,
    ADDRESS_SECRET_IN: `127.0.0.1:${NAS_SECRET}`,
    PUSH_PROVIDER: 'gatehouse',
    PUBLIC_URL: ctx.origin,
  };
  ctx.env = env;
  ctx.a = await startAppliance({ env: { ...env, NODE_NAME: 'gh-a' } });
  ctx.b = await startAppliance({ env: { ...env, NODE_NAME: 'gh-b' } });
  // One phone for u0, enrolled in the cluster's store (as an enrolment on either would leave it).
  ctx.phones = createPhoneFleet(1);
  const store = await openPostgres({ url, applicationName: 'test-seed' });
  try {
    await ctx.phones.seedInto(store);
  } finally {
    await store.close();
  }
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

C('approved on B, answered on A within a second; the same signed decision again is refused', async (ctx) => {
  let answeredAt: number | undefined;
  const onA = login(ctx.a, 'st-1').then((r) => ((answeredAt = Date.now()), r));
  const base = `http://127.0.0.1:${ctx.b.httpPort}`;
  await waitFor('the phone to see, on B, the request A opened', async () => (await ctx.phones.prepare(base, ctx.origin, 1)) === 1, 10_000);
  assert.is(answeredAt, undefined, 'nobody answered before the decision');
  const { decidedAt, refused } = await ctx.phones.decideAll(base, ctx.origin, 1);
  assert.is(refused, 0, 'the signed approval is accepted on B');
  const r = await onA;
  assert.is(r.replyCode, 'Access-Accept', `${r.stdout}\n${ctx.a.output()}`);
  assert.ok(answeredAt! - decidedAt[0]! < 1_000, `A answered ${answeredAt! - decidedAt[0]!} ms after the decision on B`);
  assert.is((await ctx.phones.decideAll(base, ctx.origin, 1)).refused, 1, 'the same decision again');
});

C('the phone lists the request on A too, and a login waiting on B is decided through A', async (ctx) => {
  const onB = login(ctx.b, 'st-2');
  const base = `http://127.0.0.1:${ctx.a.httpPort}`;
  await waitFor('the phone to see, on A, the request B opened', async () => (await ctx.phones.prepare(base, ctx.origin, 1)) === 1, 10_000);
  assert.is((await ctx.phones.decideAll(base, ctx.origin, 1)).refused, 0);
  assert.is((await onB).replyCode, 'Access-Accept');
});

C("the push API served: a request created on A is read by its caller's polls on B, and answered there once decided", async (ctx) => {
  const token = await runCli(['token', 'create', 'cluster-api', '--data-dir', ctx.a.dataDir], { env: ctx.env });
  assert.is(token.code, 0, token.stderr);
  const created = await fetch(`http://127.0.0.1:${ctx.a.httpPort}/api/v1/applications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.stdout.trim()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'mikrotik', allowedSources: ['127.0.0.1'] }),
  });
  const createdText = await created.text();
  assert.is(created.status, 201, createdText);
  const { accessId } = JSON.parse(createdText) as { accessId: string };
  const ask = await fetch(`http://127.0.0.1:${ctx.a.httpPort}/api/v2/application/${accessId}/application_user/u0/auth_request`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'Router login', description: 'Allow {0}?', ttl_seconds: 60 }) });
  const askText = await ask.text();
  assert.is(ask.status, 200, askText);
  const { uuid } = JSON.parse(askText) as { uuid: string };
  const poll = async (gh: Appliance) => {
    const r = await fetch(`http://127.0.0.1:${gh.httpPort}/api/v2/application/${accessId}/auth_request/${uuid}`);
    return { status: r.status, body: (await r.json()) as { response_type: string | null; expired: boolean } };
  };
  const pendingOnB = await poll(ctx.b);
  assert.equal([pendingOnB.status, pendingOnB.body.response_type, pendingOnB.body.expired], [200, null, false], 'pending, read on B');
  const base = `http://127.0.0.1:${ctx.b.httpPort}`;
  await waitFor('the phone to see the request', async () => (await ctx.phones.prepare(base, ctx.origin, 1)) === 1, 10_000);
  assert.is((await ctx.phones.decideAll(base, ctx.origin, 1)).refused, 0);
  const answered = await waitFor('B to read the approval', async () => {
    const p = await poll(ctx.b);
    return p.body.response_type !== null ? p : undefined;
  }, 5_000);
  assert.equal([answered.status, answered.body.response_type], [200, 'ApproveRequest']);
  assert.is((await poll(ctx.a)).body.response_type, 'ApproveRequest');
});

C('a phone enrols with a link: passkey options from A, the new passkey sent to B', async (ctx) => {
  const link = 'ghe_cluster_enrolment_link';
  const store = await openPostgres({ url: ctx.env['DATABASE_URL']!, applicationName: 'test-link' });
  try {
    // The link as the admin UI on either appliance makes it (user u0, 15 minutes).
    await store.run(sql`INSERT INTO push_enrolments (token_hash, user_id, created_by, expires_at) SELECT ${tokenHash(link)}, id, 'admin:test', ${Date.now() + 15 * 60_000} FROM users WHERE username = 'u0'`);
    const r = await enrolSoftPhone(`http://127.0.0.1:${ctx.a.httpPort}`, `http://127.0.0.1:${ctx.b.httpPort}`, ctx.origin, link, 'second phone');
    assert.equal([r.status, r.body['username'], r.body['name']], [200, 'u0', 'second phone'], JSON.stringify(r.body));
    const phones = await store.all<{ name: string }>(sql`SELECT d.name FROM push_devices d JOIN users u ON u.id = d.user_id WHERE u.username = 'u0' ORDER BY d.id`);
    assert.equal(phones.map((p) => p.name), ['phone 0', 'second phone']);
    const again = await enrolSoftPhone(`http://127.0.0.1:${ctx.b.httpPort}`, `http://127.0.0.1:${ctx.a.httpPort}`, ctx.origin, link, 'third phone');
    assert.is(again.status, 404, 'the link enrols one phone');
  } finally {
    await store.close();
  }
});

C.run();
