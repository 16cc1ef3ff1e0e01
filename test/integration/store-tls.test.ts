// The store on PostgreSQL over TLS (issue 15): with --database-ca (DATABASE_CA) the appliance's
// connections are encrypted and the server's certificate is checked against that CA and the host
// name; a server whose certificate the CA did not sign is refused, saying so.
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startAppliance, tempDir, type Appliance } from '../helpers/appliance.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';

interface Ctx {
  pg: Postgres;
  url: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  gh: Appliance | undefined;
}

const T = suite<Ctx>('the store on PostgreSQL over TLS', {} as Ctx);

T.before(async (ctx) => {
  ctx.pg = await startPostgres({ tls: true });
  ctx.url = await ctx.pg.createDatabase('tls');
  ctx.dir = await tempDir();
  ctx.env = { DATABASE_URL: ctx.url, DATABASE_CA: ctx.pg.caFile!, GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
});

T.after(async (ctx) => {
  await ctx.gh?.stop();
  if (ctx.gh !== undefined) await rm(ctx.gh.dataDir, { recursive: true, force: true });
  await rm(ctx.dir, { recursive: true, force: true });
  await ctx.pg?.stop();
});

T('with the CA every connection of the appliance is TLS, the certificate checked', async (ctx) => {
  ctx.gh = await startAppliance({ env: { ...ctx.env, NODE_NAME: 'gh-tls' } });
  const rows = (await ctx.pg.query("SELECT a.application_name AS app, s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid WHERE a.application_name LIKE 'gh-tls%'", 'tls')).rows as { app: string; ssl: boolean; version: string | null }[];
  assert.ok(rows.length >= 1, 'the appliance is connected');
  for (const r of rows) assert.ok(r.ssl && /^TLSv1\.[23]$/.test(r.version ?? ''), `${r.app}: ${JSON.stringify(r)}`);
  const list = await runCli(['client', 'list', '--data-dir', ctx.gh.dataDir], { env: ctx.env });
  assert.is(list.code, 0, list.stderr);
});

T("another CA than the server's: refused at once, saying why; no CA file: a clear error", async (ctx) => {
  const other = join(ctx.dir, 'other-ca.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=other', '-keyout', join(ctx.dir, 'other.key'), '-out', other], { encoding: 'utf8' });
  assert.is(made.status, 0, made.stderr);
  const refused = await runCli(['client', 'list', '--data-dir', ctx.dir], { env: { ...ctx.env, DATABASE_CA: other } });
  assert.is(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /cannot open the store at .*(self-signed|unable to verify|certificate)/i);
  assert.not.match(refused.stderr, /pg-test-superuser-pw/, 'no password in the message');
  const missing = await runCli(['client', 'list', '--data-dir', ctx.dir], { env: { ...ctx.env, DATABASE_CA: join(ctx.dir, 'nope.pem') } });
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /--database-ca: cannot read .*nope\.pem: ENOENT/);
});

T.run();
