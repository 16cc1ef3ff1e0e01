/**
 * A private FreeRADIUS 3.2.x acting as a pure RADIUS proxy, for benchmarks (and tests) that need
 * the reference an admin would otherwise put in front of their RADIUS server.
 *
 * startFreeRadiusProxy() writes a self-contained radiusd.conf into a fresh directory under
 * os.tmpdir() and runs `freeradius -f -l stdout -d DIR` on 127.0.0.1. Every Access-Request from a
 * configured client is proxied, unchanged apart from what a proxy must change (User-Password
 * re-hidden, a new authenticator, Proxy-State, CHAP-Challenge added when absent), to one home
 * server: `proxy_requests = yes`, one `home_server`, a `home_server_pool`, a `realm` using it, and
 * `update control { &Proxy-To-Realm := "downstream" }` in authorize {}. Nothing is checked locally.
 *
 * Like test/helpers/freeradius.ts: reject_delay = 0, recv_buff = 4194304, Status-Server answered
 * locally, nothing from /etc/freeradius is used, and stop() removes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNoControlChars, findTool, freeUdpPort, radiusdPrelude, requireTool, sq, udpPortInUse, type FreeRadiusClient } from './freeradius.js';

export interface FreeRadiusProxyOptions {
  /** Clients allowed to send to the proxy. */
  clients: FreeRadiusClient[];
  /** The home server every request goes to. */
  home: { address: string; port: number; secret: string };
  /** UDP port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Seconds the proxy waits for the home server before giving up on a request (default 5). */
  responseWindow?: number;
  /** Worker threads (default as the test helper: start 4, max 16). */
  threads?: { start: number; max: number };
  /** Run `freeradius -X` (single-threaded debug trace) instead of `-f -l stdout`. */
  debug?: boolean;
}

export interface FreeRadiusProxy {
  port: number;
  dir: string;
  /** The server process id (for CPU and memory readings from /proc). */
  pid: number;
  logs(): string;
  /** SIGTERM, SIGKILL after 3 s, wait for exit, remove dir. Safe to call more than once. */
  stop(): Promise<void>;
}

const READY_LINE = 'Ready to process requests';
const READY_TIMEOUT_MS = 10_000;

export function proxyConf(dir: string, port: number, opts: FreeRadiusProxyOptions): string {
  for (const c of opts.clients) {
    if (isIP(c.address.split('/')[0] ?? '') === 0) throw new Error(`freeradius-proxy helper: bad client address ${c.address}`);
    assertNoControlChars('client secret', c.secret);
  }
  if (isIP(opts.home.address) === 0) throw new Error(`freeradius-proxy helper: home address must be an IP address: ${opts.home.address}`);
  assertNoControlChars('home secret', opts.home.secret);
  const threads = opts.threads ?? { start: 4, max: 16 };
  return `${radiusdPrelude(dir, opts.clients, { title: 'Self-contained FreeRADIUS 3.2 pure proxy, written by test/helpers/freeradius-proxy.ts', maxRequests: 262144, proxy: true, logAuth: false, threads: { ...threads, maxSpare: Math.max(threads.max, 2) } })}
proxy server {
	default_fallback = no
}

home_server downstream {
	type = auth
	ipaddr = ${opts.home.address}
	port = ${opts.home.port}
	secret = ${sq(opts.home.secret)}
	response_window = ${opts.responseWindow ?? 5}
	zombie_period = 40
	revive_interval = 10
	status_check = none
	max_outstanding = 65536
}

home_server_pool downstream_pool {
	type = fail-over
	home_server = downstream
}

realm downstream {
	auth_pool = downstream_pool
	nostrip
}

modules {
	always ok {
		rcode = ok
	}
}

server gatehouse_bench_proxy {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = ${port}
		recv_buff = 4194304
	}

	authorize {
		update control {
			&Proxy-To-Realm := "downstream"
		}
		ok
	}

	authenticate {
	}

	pre-proxy {
	}

	post-proxy {
	}

	post-auth {
	}
}
`;
}

export async function startFreeRadiusProxy(opts: FreeRadiusProxyOptions): Promise<FreeRadiusProxy> {
  requireTool('freeradius', 'freeradius');
  const binary = findTool('freeradius') as string;
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-frproxy-'));
  try {
    await mkdir(join(dir, 'run'), { mode: 0o700 });
    await mkdir(join(dir, 'log'), { mode: 0o700 });
    const attempts = opts.port === undefined ? 3 : 1;
    let lastLog = '';
    for (let i = 0; i < attempts; i++) {
      const port = opts.port ?? (await freeUdpPort());
      await writeFile(join(dir, 'radiusd.conf'), proxyConf(dir, port, opts), { mode: 0o600 });
      const child: ChildProcess = spawn(binary, opts.debug ? ['-X', '-d', dir] : ['-f', '-l', 'stdout', '-d', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: string[] = [];
      child.stdout?.setEncoding('utf8').on('data', (s: string) => chunks.push(s));
      child.stderr?.setEncoding('utf8').on('data', (s: string) => chunks.push(s));
      const logs = () => chunks.join('');
      let exited = false;
      const exitedP = new Promise<void>((r) => {
        child.once('error', (e) => {
          chunks.push(`\n[helper] spawn error: ${e.message}\n`);
          exited = true;
          r();
        });
        child.once('exit', (code, sig) => {
          chunks.push(`\n[helper] freeradius exited (code ${code}, signal ${sig})\n`);
          exited = true;
          r();
        });
      });
      const onExit = () => {
        if (!exited) child.kill('SIGKILL');
      };
      process.on('exit', onExit);
      const deadline = Date.now() + READY_TIMEOUT_MS;
      let ready = false;
      while (!exited && Date.now() < deadline) {
        if (logs().includes(READY_LINE) && (await udpPortInUse(port))) {
          ready = !exited;
          break;
        }
        await Promise.race([new Promise((r) => setTimeout(r, 20)), exitedP]);
      }
      if (ready) {
        let stopping: Promise<void> | undefined;
        return {
          port,
          dir,
          pid: child.pid as number,
          logs,
          stop: () =>
            (stopping ??= (async () => {
              if (!exited) {
                child.kill('SIGTERM');
                const t = setTimeout(() => {
                  if (!exited) child.kill('SIGKILL');
                }, 3000);
                await exitedP;
                clearTimeout(t);
              }
              process.removeListener('exit', onExit);
              await rm(dir, { recursive: true, force: true });
            })()),
        };
      }
      if (!exited) child.kill('SIGKILL');
      await exitedP;
      process.removeListener('exit', onExit);
      lastLog = logs();
      if (/Address already in use/.test(lastLog) && i + 1 < attempts) continue;
      throw new Error(`freeradius proxy did not start (port ${port}). Log:\n${lastLog}\nradiusd.conf:\n${proxyConf(dir, port, opts)}`);
    }
    throw new Error(`freeradius proxy could not bind a free port. Log:\n${lastLog}`);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
