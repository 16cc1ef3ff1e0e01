/**
 * A private FreeRADIUS 3.2.x instance for integration tests.
 *
 * startFreeRadius() writes a minimal, self-contained radiusd.conf (plus a `users` file) into a fresh
 * directory under os.tmpdir(), runs `freeradius -f -l stdout -d DIR` as a child process listening on
 * 127.0.0.1 only (or FreeRadiusOptions.listenAddress), and resolves once the server logged "Ready to
 * process requests" and its UDP ports are really bound. Nothing from /etc/freeradius is used;
 * dictionaries come from /usr/share/freeradius.
 *
 * What the instance does:
 * - PAP, CHAP, MS-CHAPv1 and MS-CHAPv2 against Cleartext-Password from the users file (mschap uses
 *   the cleartext password itself, no ntlm_auth; MS-CHAP accepts carry MPPE keys).
 * - Optional challenge user (see FreeRadiusOptions.challengeUser), written in unlang in authorize {}.
 * - reject_delay = 0, recv_buff = 4194304, Status-Server answered, every reply attribute removed
 *   from Access-Rejects (as the stock attr_filter.access_reject would).
 * - Optional EAP (FreeRadiusOptions.eap): PEAP with inner EAP-MSCHAPv2 and TTLS with inner PAP,
 *   against the same users file through a second virtual server `inner-tunnel`, with a test CA and
 *   server certificate made by the openssl CLI. The outer Access-Accept carries the inner identity
 *   as User-Name (or none, with eapNoInnerName), and the MPPE keys.
 * - Optional accounting (FreeRadiusOptions.accounting): Accounting-Request answered on a second UDP
 *   port, every record appended to a detail file (FreeRadius.accountingRecords()).
 *
 * No module-level mutable state: every call owns its process, directory and log buffer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
  /** UDP port on listenAddress. Default: a free port picked by the helper (retried if it gets taken). */
  port?: number;
  /** Run `freeradius -X` (single-threaded full debug trace in logs()) instead of `-f -l stdout`. */
  debug?: boolean;
  /**
   * Enable EAP on the auth port: PEAP (inner EAP-MSCHAPv2) and EAP-TTLS (inner PAP), both checked
   * against `users` in a second virtual server `inner-tunnel`; also EAP-MD5 outside a tunnel. TLS 1.2
   * with a fresh test CA and server certificate (ECDSA P-256, made with the openssl CLI into dir;
   * FreeRadius.caCert is the CA for the supplicant's ca_cert). The outer identity may be anything
   * (e.g. "anonymous"): the Access-Accept carries User-Name = the inner identity, and
   * MS-MPPE-Send-Key / MS-MPPE-Recv-Key. Default off.
   */
  eap?: boolean;
  /** With eap: the outer Access-Accept carries no User-Name at all (neither inner nor outer name). */
  eapNoInnerName?: boolean;
  /**
   * Also answer Accounting-Request (with Accounting-Response) on a second UDP port
   * (FreeRadius.acctPort) and append every record to a detail file (FreeRadius.accountingRecords()).
   * Default off.
   */
  accounting?: boolean;
  /** UDP port for accounting. Default: a free port picked by the helper. Only with accounting. */
  acctPort?: number;
  /** Address the server listens on (auth and accounting): an IPv4 or IPv6 literal. Default '127.0.0.1'. */
  listenAddress?: string;
}

export interface FreeRadius {
  port: number;
  /** The address it listens on (FreeRadiusOptions.listenAddress, default '127.0.0.1'). */
  address: string;
  /** `address:port`, or `[address]:port` for IPv6, as radclient takes it. */
  server: string;
  /** With eap: path (inside dir) of the test CA certificate (PEM) that signed the server certificate. */
  caCert?: string;
  /** With accounting: the UDP accounting port on address. */
  acctPort?: number;
  /**
   * With accounting: the detail file so far, one block per Accounting-Request (a timestamp line,
   * then tab-indented `Attribute = value` lines incl. User-Name and Acct-Status-Type, then a blank
   * line); '' before the first record. Rejects when accounting is not enabled.
   */
  accountingRecords(): Promise<string>;
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

/** A UDP port on `address` (default 127.0.0.1; IPv6 literals work) that was free a moment ago. */
export function freeUdpPort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(0, address, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** True when something holds address:port (UDP; default 127.0.0.1), i.e. binding it fails with EADDRINUSE. */
export function udpPortInUse(port: number, address = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.close();
      resolve(err.code === 'EADDRINUSE');
    });
    socket.bind(port, address, () => {
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
  for (const [what, port] of [['port', opts.port], ['acctPort', opts.acctPort]] as const) {
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
      throw new Error(`freeradius helper: bad ${what} ${port}`);
    }
  }
  if (opts.acctPort !== undefined && !opts.accounting) throw new Error('freeradius helper: acctPort needs accounting: true');
  if (opts.acctPort !== undefined && opts.acctPort === opts.port) throw new Error('freeradius helper: acctPort must differ from port');
  if (opts.eapNoInnerName && !opts.eap) throw new Error('freeradius helper: eapNoInnerName needs eap: true');
  if (opts.listenAddress !== undefined && isIP(opts.listenAddress) === 0) {
    throw new Error(`freeradius helper: listenAddress must be an IPv4 or IPv6 literal: ${JSON.stringify(opts.listenAddress)}`);
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

/** Where the EAP test PKI lives inside the instance directory (written by makeTestPki). */
const PKI = { dir: 'certs', ca: 'certs/ca.pem', cert: 'certs/server.pem', key: 'certs/server.key' } as const;
/** The accounting detail file inside the instance directory. */
const DETAIL_FILE = 'log/detail';
/** attr_filter rules for Access-Rejects in EAP mode (see eapModule). */
const REJECT_FILTER_FILE = 'attrs.access_reject';
const REJECT_FILTER = `# written by test/helpers/freeradius.ts: an EAP Access-Reject keeps only its EAP-Failure
DEFAULT
	EAP-Message =* ANY,
	Message-Authenticator =* ANY
`;

interface Ports {
  auth: number;
  /** Set when accounting is on. */
  acct?: number;
}

/**
 * The eap module: PEAP/MSCHAPv2 and TTLS (inner PAP, or inner EAP) over one TLS 1.2 config. And
 * attr_filter.access_reject: in EAP mode a reject must keep the EAP-Failure that rlm_eap put in
 * the reply during authenticate (`&reply: !* ANY` would delete it, and rlm_eap's post-auth cannot
 * put it back then: it has already dropped the EAP session, "not inserting EAP-Failure").
 */
function eapModule(dir: string): string {
  const d = (sub: string) => dq(join(dir, sub));
  return `
	attr_filter attr_filter.access_reject {
		key = "%{User-Name}"
		filename = ${d(REJECT_FILTER_FILE)}
	}
	eap {
		# The type offered first when the supplicant starts with EAP-Identity; eapol_test
		# answers with a NAK naming the type in its config, so any configured type works.
		default_eap_type = peap
		timer_expire = 60
		ignore_unknown_eap_types = no
		cisco_accounting_username_bug = no
		max_sessions = \${max_requests}
		md5 {
		}
		tls-config tls-common {
			certificate_file = ${d(PKI.cert)}
			private_key_file = ${d(PKI.key)}
			# Only used to verify client certificates (EAP-TLS, not offered here).
			ca_file = ${d(PKI.ca)}
			cipher_list = "DEFAULT"
			cipher_server_preference = no
			# As the stock config: in 3.2 only EAP-TLS supports TLS 1.3, not PEAP / TTLS.
			tls_min_version = "1.2"
			tls_max_version = "1.2"
			ecdh_curve = "prime256v1"
			cache {
				enable = no
			}
			verify {
			}
			ocsp {
				enable = no
			}
		}
		peap {
			tls = tls-common
			default_eap_type = mschapv2
			copy_request_to_tunnel = no
			# Deprecated in 3.2: the inner-tunnel post-auth copies what the outer Accept
			# needs into outer.session-state instead.
			use_tunneled_reply = no
			virtual_server = "inner-tunnel"
		}
		ttls {
			tls = tls-common
			default_eap_type = mschapv2
			copy_request_to_tunnel = no
			use_tunneled_reply = no
			virtual_server = "inner-tunnel"
		}
		mschapv2 {
		}
	}
`;
}

/**
 * The second virtual server PEAP and TTLS hand the decrypted inner request to (no listen section:
 * only reachable through the tunnel). Same users file, PAP / CHAP / MS-CHAP, and inner EAP-MSCHAPv2
 * for PEAP. On success it leaves the inner User-Name in outer.session-state: the outer post-auth
 * puts it into the Access-Accept.
 */
function innerTunnelServer(): string {
  return `
server inner-tunnel {
	authorize {
		chap
		mschap
		# PEAP's inner EAP-MSCHAPv2: eap sets Auth-Type eap and returns updated, so files
		# below still loads the Cleartext-Password that its MS-CHAP step needs.
		eap {
			ok = return
		}
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
		Auth-Type eap {
			eap
		}
	}

	post-auth {
		# The inner identity for the outer Access-Accept. session-state survives the
		# Access-Challenge rounds that follow the inner authentication (PEAP's result TLV).
		update outer.session-state {
			&User-Name := &request:User-Name
		}
		Post-Auth-Type REJECT {
			attr_filter.access_reject
		}
	}
}
`;
}

function radiusdConf(dir: string, ports: Ports, opts: FreeRadiusOptions): string {
  const d = (sub?: string) => dq(sub ? join(dir, sub) : dir);
  const address = opts.listenAddress ?? '127.0.0.1';
  const eap = opts.eap === true;
  const accounting = ports.acct !== undefined;
  // rlm_eap itself puts the outer User-Name into every EAP Access-Accept (RFC 2869 2.3.1) before
  // post-auth runs, so both variants overwrite or delete it here.
  const eapPostAuth = !eap
    ? ''
    : opts.eapNoInnerName
      ? `
		# eapNoInnerName: no User-Name in the Access-Accept at all.
		update reply {
			&User-Name !* ANY
		}
`
      : `
		# The inner identity (left by inner-tunnel) replaces the outer one rlm_eap copied in.
		if (&session-state:User-Name) {
			update reply {
				&User-Name := &session-state:User-Name
			}
		}
`;
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
	}${eap ? eapModule(dir) : ''}${
    accounting
      ? `
	detail {
		# A fixed file name (the stock one has per-client directories and a date).
		filename = ${d(DETAIL_FILE)}
		escape_filenames = no
		permissions = 0600
		header = "%t"
		locking = no
	}
`
      : ''
  }
}

server gatehouse_test {
	listen {
		type = auth
		ipaddr = ${address}
		port = ${ports.auth}
		recv_buff = 4194304
	}${
    accounting
      ? `
	listen {
		type = acct
		ipaddr = ${address}
		port = ${ports.acct}
		recv_buff = 4194304
	}`
      : ''
  }

	authorize {${challengeUnlang(opts.challengeUser)}
		chap
		mschap${
      eap
        ? `
		# Sets Auth-Type eap for any request with an EAP-Message; returns ok (skipping files
		# and pap) for the EAP-Identity and for every round of an EAP conversation in progress.
		eap {
			ok = return
		}`
        : ''
    }
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
		}${
      eap
        ? `
		Auth-Type eap {
			eap
		}`
        : ''
    }
	}
${
  accounting
    ? `
	accounting {
		# detail returns ok: that makes the Accounting-Response.
		detail
	}
`
    : ''
}
	post-auth {${eapPostAuth}
		Post-Auth-Type REJECT {${
      eap
        ? `
			# Only EAP-Message and Message-Authenticator survive (see eapModule), then
			# eap adds an EAP-Failure if the reject came from policy rather than from EAP.
			attr_filter.access_reject
			eap`
        : `
			# Like attr_filter.access_reject: no reply items from the users file in a reject.
			update {
				&reply: !* ANY
			}`
    }
		}
	}
}
${eap ? innerTunnelServer() : ''}`;
}

/** Runs the openssl CLI; rejects with its output when it fails. */
function openssl(args: string[], cwd: string): Promise<void> {
  const binary = findTool('openssl') as string;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`openssl ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

/**
 * A throw-away PKI for EAP: a self-signed CA (ECDSA P-256) and a server certificate it signed, with
 * extendedKeyUsage serverAuth (wpa_supplicant rejects a server certificate whose EKU lacks it),
 * valid for two days.
 */
async function makeTestPki(dir: string): Promise<void> {
  requireTool('openssl', 'openssl');
  const certs = join(dir, PKI.dir);
  await mkdir(certs, { mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Gatehouse test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], certs);
  await openssl(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=freeradius.test'], certs);
  await writeFile(join(certs, 'server.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:freeradius.test\n');
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', `0x${Date.now().toString(16)}`, '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem'], certs);
}

// ---------------------------------------------------------------------------------------------
// Process handling

/** A FreeRADIUS child process being started: its output so far, and whether it has exited. */
export interface Attempt {
  child: ChildProcess;
  logs: () => string;
  exited: Promise<void>;
  hasExited: () => boolean;
}

function launch(binary: string, dir: string, debug: boolean): Attempt {
  return spawnFreeRadius(binary, debug ? ['-X', '-d', dir] : ['-f', '-l', 'stdout', '-d', dir]);
}

/** Start `freeradius ARGS`, collecting everything it writes (also used by the RadSec helper). */
export function spawnFreeRadius(binary: string, args: readonly string[]): Attempt {
  const child = spawn(binary, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** A config file with line numbers, for the message when FreeRADIUS refuses it. */
export function numbered(text: string): string {
  return text
    .split('\n')
    .map((line, i) => `${String(i + 1).padStart(4)}  ${line}`)
    .join('\n');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves 'ready' once the ready line was logged and the ports are bound, else 'exited' / 'timeout'. */
async function waitReady(a: Attempt, ports: number[], address: string): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const bound = async () => (await Promise.all(ports.map((p) => udpPortInUse(p, address)))).every(Boolean);
  while (Date.now() < deadline) {
    if (a.hasExited()) return 'exited';
    if (a.logs().includes(READY_LINE) && (await bound())) {
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

/** `fixed` if given, else a free port on address other than `avoid` (two probes can return the same
 * port: each probe socket is closed before the next one is bound). */
async function pickPort(fixed: number | undefined, address: string, avoid: number | undefined): Promise<number> {
  if (fixed !== undefined) return fixed;
  for (;;) {
    const port = await freeUdpPort(address);
    if (port !== avoid) return port;
  }
}

export async function startFreeRadius(opts: FreeRadiusOptions): Promise<FreeRadius> {
  requireTool('freeradius', 'freeradius');
  const binary = findTool('freeradius') as string;
  validateOptions(opts);

  const address = opts.listenAddress ?? '127.0.0.1';
  const accounting = opts.accounting === true;

  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-freeradius-'));
  try {
    await mkdir(join(dir, 'run'), { mode: 0o700 });
    await mkdir(join(dir, 'log'), { mode: 0o700 });
    await writeFile(join(dir, 'users'), usersFile(opts.users), { mode: 0o600 });
    if (opts.eap) {
      await makeTestPki(dir);
      await writeFile(join(dir, REJECT_FILTER_FILE), REJECT_FILTER, { mode: 0o600 });
    }

    // An auto-picked port can be taken between probing and binding: try a few.
    const attempts = opts.port === undefined || (accounting && opts.acctPort === undefined) ? 3 : 1;
    let lastLog = '';
    for (let i = 0; i < attempts; i++) {
      const port = await pickPort(opts.port, address, opts.acctPort);
      const acctPort = accounting ? await pickPort(opts.acctPort, address, port) : undefined;
      const ports: Ports = acctPort === undefined ? { auth: port } : { auth: port, acct: acctPort };
      await writeFile(join(dir, 'radiusd.conf'), radiusdConf(dir, ports, opts), { mode: 0o600 });
      const a = launch(binary, dir, opts.debug === true);
      // If the test process exits without stop(), do not leave the server behind.
      const onProcessExit = () => {
        if (!a.hasExited()) a.child.kill('SIGKILL');
      };
      process.on('exit', onProcessExit);

      const state = await waitReady(a, acctPort === undefined ? [port] : [port, acctPort], address);
      if (state === 'ready') {
        let stopping: Promise<void> | undefined;
        const detailFile = join(dir, DETAIL_FILE);
        return {
          port,
          address,
          server: isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`,
          ...(opts.eap ? { caCert: join(dir, PKI.ca) } : {}),
          ...(acctPort === undefined ? {} : { acctPort }),
          dir,
          accountingRecords: async () => {
            if (!accounting) throw new Error('freeradius helper: accountingRecords() needs accounting: true');
            // detail creates the file with the first record.
            return readFile(detailFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
              if (err.code === 'ENOENT') return '';
              throw err;
            });
          },
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
        : `\nradiusd.conf:\n${numbered(radiusdConf(dir, ports, opts))}\nusers:\n${numbered(usersFile(opts.users))}`;
      const portText = acctPort === undefined ? `port ${port}` : `port ${port}, acctPort ${acctPort}`;
      throw new Error(`freeradius ${why} (${portText}). Log:\n${lastLog}${conf}`);
    }
    throw new Error(`freeradius could not bind a free port. Log:\n${lastLog}`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
