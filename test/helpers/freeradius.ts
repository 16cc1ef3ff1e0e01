/**
 * A private FreeRADIUS 3.2.x instance for integration tests.
 *
 * startFreeRadius() writes a minimal, self-contained radiusd.conf (plus a `users` file) into a fresh
 * directory under os.tmpdir(), runs `freeradius -f -l stdout -d DIR` as a child process listening on
 * 127.0.0.1 only, and resolves once the server logged "Ready to process requests" and its UDP port
 * is really bound. Nothing from /etc/freeradius is used; dictionaries come from /usr/share/freeradius.
 *
 * What the instance does:
 * - PAP, CHAP, MS-CHAPv1 and MS-CHAPv2 against Cleartext-Password from the users file (mschap uses
 *   the cleartext password itself, no ntlm_auth; MS-CHAP accepts carry MPPE keys).
 * - Optional challenge user (see FreeRadiusOptions.challengeUser), written in unlang in authorize {}.
 * - reject_delay = 0, recv_buff = 4194304, Status-Server answered, every reply attribute removed
 *   from Access-Rejects (as the stock attr_filter.access_reject would).
 *
 * No module-level mutable state: every call owns its process, directory and log buffer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RadiusUser {
  name: string;
  password: string;
  /** Extra FreeRADIUS reply lines, written verbatim into the users file, e.g. 'Reply-Message := "hi"',
   * 'Class := 0x01020304', 'Tunnel-Password:1 := "tunnelsecret"', 'Framed-IP-Address := 10.1.2.3'. */
  reply?: string[];
}

export interface FreeRadiusClient {
  /** IP address or CIDR (IPv4 or IPv6) the requests come from. */
  address: string;
  secret: string;
  /** Drop Access-Requests without a Message-Authenticator (FreeRADIUS sends no answer at all). */
  requireMessageAuthenticator?: boolean;
}

export interface FreeRadiusChallengeUser {
  name: string;
  password: string;
  /** State value as hex, without 0x. */
  state: string;
  answer: string;
}

export interface FreeRadiusOptions {
  users: RadiusUser[];
  clients: FreeRadiusClient[];
  /**
   * First Access-Request with User-Password = password: Access-Challenge with State = 0x<state> and
   * Reply-Message = "Enter the magic word". An Access-Request carrying that State and
   * User-Password = answer: Access-Accept with Reply-Message = "challenge passed". Anything else for
   * this user name: Access-Reject. (The server keeps no session: any request with that State and
   * the answer is accepted.)
   */
  challengeUser?: FreeRadiusChallengeUser;
  /** UDP port on 127.0.0.1. Default: a free port picked by the helper (retried if it gets taken). */
  port?: number;
  /** Run `freeradius -X` (single-threaded full debug trace in logs()) instead of `-f -l stdout`. */
  debug?: boolean;
}

export interface FreeRadius {
  port: number;
  /** The instance's config directory (removed by stop()). */
  dir: string;
  /** Everything the server wrote to stdout and stderr so far. */
  logs(): string;
  /** SIGTERM, SIGKILL after 3 s, wait for exit, remove dir. Safe to call more than once. */
  stop(): Promise<void>;
}

const READY_LINE = 'Ready to process requests';
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const EXTRA_TOOL_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of an executable `cmd` found on PATH or in the sbin directories, else undefined. */
export function findTool(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_TOOL_DIRS].filter((d) => d !== '');
  for (const dir of dirs) {
    const candidate = join(dir, cmd);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Throws a clear error when `cmd` is not installed; never skips. */
export function requireTool(cmd: string, debianPackage: string): void {
  if (findTool(cmd) === undefined) {
    throw new Error(`${cmd} not found: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`);
  }
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** True when something holds 127.0.0.1:port (UDP), i.e. binding it fails with EADDRINUSE. */
export function udpPortInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.close();
      resolve(err.code === 'EADDRINUSE');
    });
    socket.bind(port, '127.0.0.1', () => {
      socket.close(() => resolve(false));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Config generation

export function assertNoControlChars(what: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new Error(`freeradius helper: ${what} must not contain control characters (newline, tab, NUL): ${JSON.stringify(value)}`);
  }
}

/** A literal single-quoted FreeRADIUS string (no xlat expansion of %, unlike double quotes). */
export function sq(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A double-quoted FreeRADIUS string; only for values that contain no '%' or '$' expansions. */
export function dq(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function validateOptions(opts: FreeRadiusOptions): void {
  if (opts.clients.length === 0) throw new Error('freeradius helper: at least one client is required');
  for (const c of opts.clients) {
    const [addr, prefix, ...rest] = c.address.split('/');
    const family = isIP(addr ?? '');
    const prefixOk =
      prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (family === 0 || rest.length > 0 || !prefixOk) {
      throw new Error(`freeradius helper: client address must be an IP address or CIDR: ${JSON.stringify(c.address)}`);
    }
    if (c.secret === '') throw new Error('freeradius helper: client secret must not be empty');
    assertNoControlChars('client secret', c.secret);
  }
  const names = new Set<string>();
  for (const u of opts.users) {
    if (u.name === '') throw new Error('freeradius helper: user name must not be empty');
    assertNoControlChars('user name', u.name);
    assertNoControlChars('user password', u.password);
    if (names.has(u.name)) throw new Error(`freeradius helper: duplicate user ${JSON.stringify(u.name)}`);
    names.add(u.name);
    for (const line of u.reply ?? []) {
      assertNoControlChars('reply line', line);
      if (line.trim() === '') throw new Error('freeradius helper: empty reply line');
    }
  }
  const ch = opts.challengeUser;
  if (ch) {
    if (ch.name === '') throw new Error('freeradius helper: challenge user name must not be empty');
    assertNoControlChars('challenge user name', ch.name);
    assertNoControlChars('challenge user password', ch.password);
    assertNoControlChars('challenge answer', ch.answer);
    if (!/^(?:[0-9a-fA-F]{2}){1,253}$/.test(ch.state)) {
      throw new Error(`freeradius helper: challengeUser.state must be 1-253 bytes of hex without 0x: ${JSON.stringify(ch.state)}`);
    }
  }
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port > 0 && opts.port < 65536)) {
    throw new Error(`freeradius helper: bad port ${opts.port}`);
  }
}

function usersFile(users: RadiusUser[]): string {
  const out = ['# written by test/helpers/freeradius.ts', ''];
  for (const u of users) {
    const reply = u.reply ?? [];
    out.push(`${dq(u.name)}\tCleartext-Password := ${sq(u.password)}`);
    if (reply.length > 0) out.push(reply.map((line) => `\t${line.trim()}`).join(',\n'));
    out.push('');
  }
  return out.join('\n');
}

function challengeUnlang(ch: FreeRadiusChallengeUser | undefined): string {
  if (!ch) return '';
  const state = `0x${ch.state.toLowerCase()}`;
  return `
		# challengeUser: password -> Access-Challenge(State), State + answer -> Access-Accept
		if (&User-Name == ${sq(ch.name)}) {
			if (&State) {
				if ((&State == ${state}) && (&User-Password == ${sq(ch.answer)})) {
					update reply {
						&Reply-Message := "challenge passed"
					}
					update control {
						&Auth-Type := Accept
					}
					ok
					return
				}
				reject
			}
			elsif (&User-Password == ${sq(ch.password)}) {
				update reply {
					&State := ${state}
					&Reply-Message := "Enter the magic word"
				}
				update control {
					&Response-Packet-Type := Access-Challenge
				}
				handled
			}
			else {
				reject
			}
		}
`;
}

/**
 * The part of radiusd.conf every private instance shares: paths inside `dir` (nothing from
 * /etc/freeradius), logging to stdout, no reject delay, Status-Server on, the thread pool, and
 * the clients. The caller appends its modules, proxy sections and server.
 */
export function radiusdPrelude(dir: string, clients: readonly FreeRadiusClient[], o: { title: string; maxRequests: number; proxy: boolean; logAuth: boolean; threads: { start: number; max: number; maxSpare: number } }): string {
  const d = (sub?: string) => dq(sub ? join(dir, sub) : dir);
  const clientBlocks = clients
    .map(
      (c, i) => `client c${i} {
	ipaddr = ${c.address}
	secret = ${sq(c.secret)}
	shortname = c${i}
	nas_type = other
	require_message_authenticator = ${c.requireMessageAuthenticator ? 'yes' : 'no'}
}
`,
    )
    .join('\n');
  return `# ${o.title}
prefix = /usr
exec_prefix = /usr
sbindir = /usr/sbin
libdir = /usr/lib/freeradius
sysconfdir = ${d()}
localstatedir = ${d()}
raddbdir = ${d()}
confdir = ${d()}
modconfdir = ${d()}
certdir = ${d()}
cadir = ${d()}
db_dir = ${d()}
logdir = ${d('log')}
radacctdir = ${d('log')}
run_dir = ${d('run')}
pidfile = ${d('run/freeradius.pid')}
name = freeradius

max_request_time = 30
cleanup_delay = 5
max_requests = ${o.maxRequests}
hostname_lookups = no
proxy_requests = ${o.proxy ? 'yes' : 'no'}

log {
	destination = stdout
	colourise = no
	stripped_names = no
	auth = ${o.logAuth ? 'yes' : 'no'}
	auth_badpass = no
	auth_goodpass = no
}

# No user/group: runs as whoever starts it (root included).
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}

thread pool {
	start_servers = ${o.threads.start}
	max_servers = ${o.threads.max}
	min_spare_servers = 2
	max_spare_servers = ${o.threads.maxSpare}
	max_requests_per_server = 0
	auto_limit_acct = no
}

${clientBlocks}`;
}

function radiusdConf(dir: string, port: number, opts: FreeRadiusOptions): string {
  const d = (sub?: string) => dq(sub ? join(dir, sub) : dir);
  return `${radiusdPrelude(dir, opts.clients, { title: 'Minimal self-contained FreeRADIUS 3.2 config, written by test/helpers/freeradius.ts', maxRequests: 65536, proxy: false, logAuth: true, threads: { start: 4, max: 16, maxSpare: 8 } })}
modules {
	# In v3 unlang, ok / reject / handled are module instances.
	always ok {
		rcode = ok
	}
	always reject {
		rcode = reject
	}
	always handled {
		rcode = handled
	}
	pap {
		normalise = yes
	}
	chap {
	}
	mschap {
		use_mppe = yes
		require_encryption = no
		require_strong = no
		with_ntdomain_hack = yes
	}
	files {
		filename = ${d('users')}
	}
}

server gatehouse_test {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = ${port}
		recv_buff = 4194304
	}

	authorize {${challengeUnlang(opts.challengeUser)}
		chap
		mschap
		files
		pap
	}

	authenticate {
		Auth-Type PAP {
			pap
		}
		Auth-Type CHAP {
			chap
		}
		Auth-Type MS-CHAP {
			mschap
		}
	}

	post-auth {
		Post-Auth-Type REJECT {
			# Like attr_filter.access_reject: no reply items from the users file in a reject.
			update {
				&reply: !* ANY
			}
		}
	}
}
`;
}

// ---------------------------------------------------------------------------------------------
// Process handling

interface Attempt {
  child: ChildProcess;
  logs: () => string;
  exited: Promise<void>;
  hasExited: () => boolean;
}

function launch(binary: string, dir: string, debug: boolean): Attempt {
  const args = debug ? ['-X', '-d', dir] : ['-f', '-l', 'stdout', '-d', dir];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (s: string) => chunks.push(s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => chunks.push(s));
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      chunks.push(`\n[helper] spawn error: ${err.message}\n`);
      exited = true;
      resolve();
    });
    child.once('exit', (code, signal) => {
      chunks.push(`\n[helper] freeradius exited (code ${code}, signal ${signal})\n`);
      exited = true;
      resolve();
    });
  });
  return { child, logs: () => chunks.join(''), exited: exitedPromise, hasExited: () => exited };
}

function numbered(text: string): string {
  return text
    .split('\n')
    .map((line, i) => `${String(i + 1).padStart(4)}  ${line}`)
    .join('\n');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves 'ready' once the ready line was logged and the port is bound, else 'exited' / 'timeout'. */
async function waitReady(a: Attempt, port: number): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (a.hasExited()) return 'exited';
    if (a.logs().includes(READY_LINE) && (await udpPortInUse(port))) {
      return a.hasExited() ? 'exited' : 'ready';
    }
    await Promise.race([delay(25), a.exited]);
  }
  return 'timeout';
}

async function terminate(a: Attempt): Promise<void> {
  if (a.hasExited()) return;
  a.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      if (!a.hasExited()) a.child.kill('SIGKILL');
      resolve();
    }, STOP_GRACE_MS);
  });
  await Promise.race([a.exited, killed]);
  clearTimeout(timer);
  await a.exited;
}

export async function startFreeRadius(opts: FreeRadiusOptions): Promise<FreeRadius> {
  requireTool('freeradius', 'freeradius');
  const binary = findTool('freeradius') as string;
  validateOptions(opts);

  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-freeradius-'));
  try {
    await mkdir(join(dir, 'run'), { mode: 0o700 });
    await mkdir(join(dir, 'log'), { mode: 0o700 });
    await writeFile(join(dir, 'users'), usersFile(opts.users), { mode: 0o600 });

    // An auto-picked port can be taken between probing and binding: try a few.
    const attempts = opts.port === undefined ? 3 : 1;
    let lastLog = '';
    for (let i = 0; i < attempts; i++) {
      const port = opts.port ?? (await freeUdpPort());
      await writeFile(join(dir, 'radiusd.conf'), radiusdConf(dir, port, opts), { mode: 0o600 });
      const a = launch(binary, dir, opts.debug === true);
      // If the test process exits without stop(), do not leave the server behind.
      const onProcessExit = () => {
        if (!a.hasExited()) a.child.kill('SIGKILL');
      };
      process.on('exit', onProcessExit);

      const state = await waitReady(a, port);
      if (state === 'ready') {
        let stopping: Promise<void> | undefined;
        return {
          port,
          dir,
          logs: a.logs,
          stop: () => {
            stopping ??= (async () => {
              await terminate(a);
              process.removeListener('exit', onProcessExit);
              await rm(dir, { recursive: true, force: true });
            })();
            return stopping;
          },
        };
      }
      if (state === 'timeout') {
        a.child.kill('SIGKILL');
      }
      await a.exited;
      process.removeListener('exit', onProcessExit);
      lastLog = a.logs();
      const portTaken = /Address already in use/.test(lastLog);
      if (state === 'exited' && portTaken && i + 1 < attempts) continue;
      const why = state === 'timeout' ? `was not ready within ${READY_TIMEOUT_MS / 1000} s` : 'exited during startup';
      const conf = portTaken
        ? ''
        : `\nradiusd.conf:\n${numbered(radiusdConf(dir, port, opts))}\nusers:\n${numbered(usersFile(opts.users))}`;
      throw new Error(`freeradius ${why} (port ${port}). Log:\n${lastLog}${conf}`);
    }
    throw new Error(`freeradius could not bind a free port. Log:\n${lastLog}`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
