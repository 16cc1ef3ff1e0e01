// The container image: built with scripts/build-container.sh (debootstrap + podman; reused when
// podman already holds an image of the same sources), run with the environment variables of the
// authentication proxy it replaces against a FreeRADIUS on the host's loopback, answering
// radclient with a push approval; healthy; stopped with SIGTERM it exits 0 and says so.
// Needs root and Debian's podman, runc and debootstrap: the test fails (never skips) without them.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freeTcpPort, ROOT } from '../../test/helpers/appliance.js';
import { findTool, freeUdpPort, requireTool, startFreeRadius, type FreeRadius } from '../../test/helpers/freeradius.js';
import { startPushServer, type PushServer } from '../../test/helpers/push-server.js';
import { runRadclient } from '../../test/helpers/radclient.js';
import { prepareImage } from './build.js';

const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = `localhost/gatehouse:${VERSION}`;
const NAS_SECRET = 'nas-secret-Container1';
const DOWN_SECRET = 'downstream-secret-Container2';

function runc(): string {
  return findTool('runc') ?? '/usr/sbin/runc';
}
/** podman with the runtime and limits that work on these machines (DESIGN.md). */
function podman(args: string[], timeout = 60_000) {
  return run('podman', ['--runtime', runc(), ...args], { timeout, maxBuffer: 16 * 1024 * 1024 });
}
const LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

function requireTools(): void {
  if (process.getuid?.() !== 0) throw new Error('the container test runs podman and debootstrap as root: run it as root');
  requireTool('podman', 'podman');
  requireTool('runc', 'runc');
  requireTool('debootstrap', 'debootstrap');
  requireTool('radclient', 'freeradius-utils');
  requireTool('freeradius', 'freeradius');
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Ctx {
  fr: FreeRadius;
  push: PushServer;
  name: string;
  volume: string;
}

const C = suite<Ctx>('container image');

C.before(async (ctx) => {
  await prepareImage(requireTools, 'build-container.sh', { GATEHOUSE_CONTAINER_SAVE: '0' });
  ctx.fr = await startFreeRadius({ users: [{ name: 'alice', password: 'alice-pw', reply: ['Reply-Message := "welcome"'] }], clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }] });
  ctx.push = await startPushServer({ kind: 'approve', afterMs: 200 });
  const suffix = `${process.pid}-${Date.now()}`;
  ctx.name = `gatehouse-test-${suffix}`;
  ctx.volume = `gatehouse-test-${suffix}`;
});

C.after(async (ctx) => {
  if (ctx.name) await podman(['rm', '-f', '-t', '0', ctx.name]).catch(() => undefined);
  if (ctx.volume) await podman(['volume', 'rm', '-f', ctx.volume]).catch(() => undefined);
  await ctx.push?.close();
  await ctx.fr?.stop();
});

C('the image: non-root user, one volume, 0.0.0.0 defaults, a health check, Node 24, production dependencies only', async () => {
  const { stdout } = await podman(['image', 'inspect', IMAGE]);
  const [img] = JSON.parse(stdout) as { Config: { User: string; Env: string[]; Volumes: Record<string, unknown>; Entrypoint: string[]; ExposedPorts: Record<string, unknown> }; Healthcheck?: { Test: string[] } }[];
  assert.is(img!.Config.User, '10001:10001');
  assert.equal(Object.keys(img!.Config.Volumes), ['/var/lib/gatehouse']);
  assert.equal(img!.Config.Entrypoint, ['/usr/local/bin/gatehouse']);
  for (const e of ['LISTEN_ADDRESS=0.0.0.0', 'HTTP_ADDRESS=0.0.0.0', 'GATEHOUSE_DATA_DIR=/var/lib/gatehouse']) assert.ok(img!.Config.Env.includes(e), e);
  for (const port of ['1812/udp', '1813/udp', '2083/tcp']) assert.ok(port in img!.Config.ExposedPorts, port);
  assert.equal(img!.Healthcheck?.Test, ['CMD', '/usr/local/bin/gatehouse-healthcheck']);
  const probe = await podman(['run', '--rm', ...LIMITS, '--network', 'none', '--entrypoint', '/bin/sh', IMAGE, '-c', 'id -u; node --version; test -e /usr/local/lib/gatehouse/node_modules/typescript && echo dev-deps-present; gatehouse --help | head -n 1']);
  const [uid, node, ...rest] = probe.stdout.trim().split('\n');
  assert.is(uid, '10001');
  assert.match(node!, /^v24\./);
  assert.not.ok(rest.includes('dev-deps-present'));
  assert.match(rest.join('\n'), /gatehouse/);
});

C('run with the old proxy environment variables: radclient answered through FreeRADIUS and a push, healthy, clean stop', async (ctx) => {
  const portIn = await freeUdpPort();
  const httpPort = await freeTcpPort();
  // The same -e variables as the authentication proxy's `docker run` line, plus free ports.
  const env = {
    NOTAKEY_HOST: ctx.push.url,
    NOTAKEY_ACCESS_ID: 'container-app',
    ADDRESS_SECRET_IN: `127.0.0.1:${NAS_SECRET}`,
    DOWNSTREAM_ADDRESS: '127.0.0.1',
    SECRET_OUT: DOWN_SECRET,
    PORT_OUT: String(ctx.fr.port),
    PORT_IN: String(portIn),
    HTTP_PORT: String(httpPort),
    MESSAGE_TITLE: 'VPN (container)',
  };
  const args = ['run', '-d', '--name', ctx.name, ...LIMITS, '--network', 'host', '-v', `${ctx.volume}:/var/lib/gatehouse`, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), IMAGE];
  await podman(args);
  const logs = async () => {
    const r = await podman(['logs', ctx.name]).catch((e: { stdout?: string; stderr?: string }) => e);
    return `${r.stdout ?? ''}${r.stderr ?? ''}`;
  };
  try {
    await waitFor('GET /healthz from the container', async () => ((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200 ? true : undefined), 30_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await logs()}`);
  }
  // The image's own health check, as podman runs it (exit 0 when healthy).
  await podman(['healthcheck', 'run', ctx.name]);
  const status = await podman(['inspect', '--format', '{{.State.Health.Status}}', ctx.name]);
  assert.is(status.stdout.trim(), 'healthy');

  const res = await runRadclient({ server: `127.0.0.1:${portIn}`, secret: NAS_SECRET, attrs: 'User-Name = "alice"\nUser-Password = "alice-pw"\nMessage-Authenticator = 0x00', timeoutSec: 5, retries: 1 });
  assert.is(res.replyCode, 'Access-Accept', `${res.stdout}${res.stderr}\n${await logs()}`);
  assert.match(res.stdout, /Reply-Message = "welcome"/);
  assert.is(ctx.push.creates.length, 1);
  assert.is(ctx.push.creates[0]!.accessId, 'container-app');
  assert.is(ctx.push.creates[0]!.body.action, 'VPN (container)');
  const wrong = await runRadclient({ server: `127.0.0.1:${portIn}`, secret: NAS_SECRET, attrs: 'User-Name = "alice"\nUser-Password = "wrong"\nMessage-Authenticator = 0x00\nResponse-Packet-Type = Access-Reject', timeoutSec: 5, retries: 1 });
  assert.is(wrong.replyCode, 'Access-Reject');
  assert.is(ctx.push.creates.length, 1, 'no push for a wrong password');

  // The data directory is the volume, written by the non-root user; CLI commands work beside it.
  const ps = await podman(['exec', ctx.name, 'sh', '-c', 'id -u; ls -n /var/lib/gatehouse; gatehouse audit verify']);
  assert.match(ps.stdout, /^10001\n/);
  assert.match(ps.stdout, /10001 +10001 .* gatehouse\.sqlite/);
  assert.match(ps.stdout, /-rw------- .* master\.key/);
  assert.match(ps.stdout, /audit log intact/);

  // podman stop sends SIGTERM (the image's STOPSIGNAL) and waits.
  const t0 = Date.now();
  await podman(['stop', '-t', '15', ctx.name]);
  const stopMs = Date.now() - t0;
  const { stdout: code } = await podman(['inspect', '--format', '{{.State.ExitCode}}', ctx.name]);
  const out = await logs();
  assert.is(code.trim(), '0', out);
  assert.match(out, /SIGTERM received, stopping/);
  assert.match(out, /gatehouse stopped/);
  assert.ok(stopMs < 10_000, `stopped in ${stopMs} ms`);

  // The volume keeps the store: a new container on it finds the audit records of the first.
  const again = await podman(['run', '--rm', ...LIMITS, '--network', 'none', '-v', `${ctx.volume}:/var/lib/gatehouse`, IMAGE, 'audit', 'export']);
  assert.match(again.stdout, /"event":"service\.stop"/);
  assert.match(again.stdout, /"username":"alice"/);
});

C.run();
