// A PostgreSQL primary lost and its streaming standby promoted under a running appliance (issue
// 15): the appliance reaches the database through an address that follows the primary (a TCP
// forwarder standing for a virtual IP); when the address moves to the promoted standby, the
// appliance reconnects by itself, what was written before the fail-over is there (a code used
// before is still refused), logins go on, and the audit chain verifies across the fail-over.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { startPostgres, type Postgres, type Standby } from '../helpers/postgres.js';
import { runRadclient } from '../helpers/radclient.js';
import { startTcpForward, type TcpForward } from '../helpers/tcp-forward.js';
import { seedFromEnrolment, totpCode } from '../helpers/totp.js';

const DOWN_SECRET = 'failover-downstream-secret';
const NAS_SECRET = 'failover-nas-secret';

interface Ctx {
  pg: Postgres;
  standby: Standby;
  fwd: TcpForward;
  fr: FreeRadius;
  env: NodeJS.ProcessEnv;
  gh: Appliance;
}

const F = suite<Ctx>('PostgreSQL fail-over under a running appliance', {} as Ctx);

F.before(async (ctx) => {
  ctx.pg = await startPostgres();
  const direct = new URL(await ctx.pg.createDatabase('failover'));
  ctx.standby = await ctx.pg.standby();
  ctx.fwd = await startTcpForward(ctx.pg.port);
  direct.port = String(ctx.fwd.port);
  ctx.fr = await startFreeRadius({ users: [{ name: 'alice', password: 'alice-pw' }], clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }] });
  ctx.env = { DATABASE_URL: direct.toString(), GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'), DOWNSTREAM_ADDRESS: '127.0.0.1', PORT_OUT: String(ctx.fr.port), SECRET_OUT: DOWN_SECRET, NODE_NAME: 'gh-1' };
  ctx.gh = await startAppliance({ env: ctx.env });
});

F.after(async (ctx) => {
  if (ctx.gh !== undefined) {
    await ctx.gh.stop();
    await rm(ctx.gh.dataDir, { recursive: true, force: true });
  }
  await ctx.fwd?.close();
  await ctx.fr?.stop();
  await ctx.pg?.stop();
});

F('the primary lost, the standby promoted and the address moved: the appliance goes on by itself, nothing written before is lost', async (ctx) => {
  const cli = (args: string[]) => runCli([...args, '--data-dir', ctx.gh.dataDir], { env: ctx.env });
  const login = (password: string, timeoutSec = 3) =>
    runRadclient({ server: `127.0.0.1:${ctx.gh.radiusPort}`, secret: NAS_SECRET, attrs: `User-Name = "alice"\nUser-Password = "${password}"\nMessage-Authenticator = 0x00`, timeoutSec, retries: 1 });
  assert.is((await cli(['client', 'add', '127.0.0.1', NAS_SECRET, '--name', 'vpn'])).code, 0);
  const enrol = await cli(['totp', 'enroll', 'alice']);
  assert.is(enrol.code, 0, enrol.stderr);
  const seed = seedFromEnrolment(enrol.stdout);
  const used = totpCode(seed);
  await waitFor('the client to be loaded', async () => (await login(`alice-pw,${used}`, 1)).replyCode === 'Access-Accept', 10_000);

  // The primary is lost; the standby becomes the primary and the address follows it.
  await ctx.pg.halt();
  await ctx.standby.promote();
  ctx.fwd.retarget(ctx.standby.port);

  await waitFor('/healthz ok on the promoted standby', async () => (await fetch(`http://127.0.0.1:${ctx.gh.httpPort}/healthz`)).status === 200, 20_000);
  // Written before the fail-over, there after it: the code used then is refused now.
  const replay = await waitFor('an answer', async () => {
    const r = await login(`alice-pw,${used}`, 2);
    return r.replyCode !== undefined ? r : undefined;
  }, 20_000);
  assert.is(replay.replyCode, 'Access-Reject', replay.stdout);
  const next = await login(`alice-pw,${totpCode(seed, 1)}`);
  assert.is(next.replyCode, 'Access-Accept', `${next.stdout}\n${ctx.gh.output()}`);
  const verify = await cli(['audit', 'verify']);
  assert.is(verify.code, 0, verify.stderr);
  const reasons = (await cli(['audit', 'export'])).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; reason: string | null })
    .filter((r) => r.event === 'radius.auth')
    .map((r) => r.reason);
  assert.equal(reasons.slice(-2), ['totp_replayed', 'totp_ok']);
  assert.ok(reasons.includes('totp_ok'));
});

F.run();
