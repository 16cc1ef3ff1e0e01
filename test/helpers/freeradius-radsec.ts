/**
 * FreeRADIUS 3.2.x as a RadSec (RADIUS over TLS, RFC 6614) peer for integration tests, in both
 * roles, plus a throwaway certificate authority made with the `openssl` CLI.
 *
 * - makeTestCa(dir): a CA (EC P-256 by default) that issues leaf certificates with
 *   subjectAltName and serverAuth / clientAuth extendedKeyUsage. Call it twice for two unrelated
 *   CAs ("a certificate from the wrong CA is refused").
 * - startRadsecServer(): FreeRADIUS listening for RadSec on TCP (127.0.0.1 or ::1), requiring a
 *   client certificate from the given CA, answering PAP / CHAP from a users file
 *   (Cleartext-Password), Accounting-Request with Accounting-Response, and Status-Server. Every
 *   request it processed is appended to a `detail` file (see RadsecServer.received()).
 * - startRadsecClientProxy(): FreeRADIUS as a plain UDP RADIUS server (for radclient) that proxies
 *   every Access-Request and Accounting-Request, unchanged, to one RadSec home server over TLS
 *   with a client certificate: the way to make FreeRADIUS a RadSec client of something else.
 *
 * Like test/helpers/freeradius.ts: a fresh directory under os.tmpdir() per instance, nothing from
 * /etc/freeradius, `freeradius -f -l stdout -d DIR`, reject_delay = 0, and stop() ends the process
 * and removes the directory. No module-level mutable state. An instance is ready in about 0.3-0.7 s.
 *
 * FreeRADIUS 3.2.1 facts this relies on (found by trying; Debian 12, OpenSSL 3.0):
 * - RadSec server: `listen { type = auth+acct; proto = tcp; clients = NAME; tls { ... } }` plus a
 *   top-level `clients NAME { client X { ipaddr = ...; proto = tls; secret = ... } }`. No global
 *   client is needed. The RFC 6614 secret "radsec" is only a convention: any secret works when
 *   both ends agree; with another one FreeRADIUS drops the packet and keeps the connection.
 * - `freeradius -X` refuses a TLS listen ("Threading must be enabled for TLS sockets to function
 *   properly"): debug with `-f -xx -l stdout` (the `debug` options do, for both roles).
 * - check_crl (default no), fragment_size and dh_file are not needed; the server offers TLS 1.3
 *   (TLS_AES_256_GCM_SHA384 first) and 1.2 (ECDHE-ECDSA-AES*-GCM, CHACHA20 with an EC key), key
 *   exchange on prime256v1 only (its default ecdh_curve), and refuses TLS 1.1 and older.
 * - The server checks the client certificate's chain against ca_file, its validity dates, and
 *   its purpose (a serverAuth-only certificate fails: "unsuitable certificate purpose"); never
 *   its name. `%{listen:TLS-Client-Cert-Common-Name}` gives the connection's certificate (the
 *   attributes are not in the request by themselves).
 * - RadSec client: home_server { proto = tcp; type = auth+acct; tls { ... } } proxies both
 *   Access-Request and Accounting-Request over one TLS connection (same port). The home server's
 *   certificate is checked against ca_file only, not against its address or a name, and
 *   `hostname` (SNI) in that tls block makes 3.2.1 die with SIGSEGV on the first connection.
 * - A refused connection: when the client refuses the server (unknown CA), the proxy answers
 *   Access-Reject at once; when the server refuses the client (TLS 1.3: after the client already
 *   sent its request), the request is lost and the proxy gives up after response_window.
 * - A UDP `listen { type = auth+acct }` takes only Access-Request ("Invalid packet code 4 sent to
 *   authentication port"): accounting needs its own UDP listen.
 * - revive_interval below 10 is forced up to 10.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertNoControlChars,
  dq,
  findTool,
  freeUdpPort,
  numbered,
  radiusdPrelude,
  spawnFreeRadius,
  requireTool,
  sq,
  udpPortInUse,
  type Attempt,
  type FreeRadiusClient,
  type RadiusUser,
} from './freeradius.js';

// ---------------------------------------------------------------------------------------------
// Test CA

export interface IssueOptions {
  /** extendedKeyUsage serverAuth. When neither server nor client is given, both are set. */
  server?: boolean;
  /** extendedKeyUsage clientAuth. */
  client?: boolean;
  /** IP subjectAltNames; default ['127.0.0.1', '::1']. */
  ips?: string[];
  /** DNS subjectAltNames; default ['localhost']. */
  dns?: string[];
  /** Issue a certificate that expired yesterday (notAfter = now - 1 day). */
  expired?: boolean;
}

export interface IssuedCert {
  /** The subject CN. */
  name: string;
  /** PEM certificate file (the leaf only). */
  cert: string;
  /** PEM private key file (unencrypted, mode 0600). */
  key: string;
}

export interface TestCa {
  dir: string;
  /** The CA's subject CN (random suffix, so two CAs never share a name). */
  name: string;
  /** PEM CA certificate file: the trust anchor to give the other side. */
  cert: string;
  /** PEM CA private key file. */
  key: string;
  /** Issue a leaf certificate signed by this CA; files are DIR/NAME.crt and DIR/NAME.key. */
  issue(name: string, opts?: IssueOptions): Promise<IssuedCert>;
}

export interface TestCaOptions {
  /** Key type of the CA and every leaf: 'ec' (P-256, default, fast) or 'rsa' (2048 bits). */
  keyType?: 'ec' | 'rsa';
  /** Prefix of the CA's CN; default 'Gatehouse Test CA'. */
  name?: string;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function openssl(args: string[], cwd: string): Promise<void> {
  requireTool('openssl', 'openssl');
  const binary = findTool('openssl') as string;
  return new Promise((resolve, reject) => {
    execFile(binary, args, { cwd }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

function keyArgs(keyType: 'ec' | 'rsa'): string[] {
  return keyType === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
}

/**
 * Create a CA in `dir` (created if missing): ca.crt / ca.key, valid from now for 2 days. Leaf
 * certificates are made with `openssl req -new` + `openssl x509 -req -extfile` (random serial,
 * 2 days, or -1 day when expired).
 */
export async function makeTestCa(dir: string, opts: TestCaOptions = {}): Promise<TestCa> {
  const keyType = opts.keyType ?? 'ec';
  const name = `${opts.name ?? 'Gatehouse Test CA'} ${randomBytes(4).toString('hex')}`;
  assertNoControlChars('CA name', name);
  if (/[/=+,]/.test(name)) throw new Error(`freeradius-radsec helper: CA name must not contain / = + or ,: ${JSON.stringify(name)}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const cert = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  const caExtensions = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash'];
  const caArgs = ['req', '-x509', ...keyArgs(keyType), '-noenc', '-keyout', key, '-out', cert, '-subj', `/CN=${name}`, '-days', '2'];
  await openssl([...caArgs, ...caExtensions.flatMap((e) => ['-addext', e])], dir);

  const issue = async (leaf: string, o: IssueOptions = {}): Promise<IssuedCert> => {
    if (!FILE_NAME.test(leaf) || leaf === 'ca') {
      throw new Error(`freeradius-radsec helper: certificate name must match ${FILE_NAME} and not be "ca": ${JSON.stringify(leaf)}`);
    }
    const ips = o.ips ?? ['127.0.0.1', '::1'];
    const dns = o.dns ?? ['localhost'];
    for (const ip of ips) if (isIP(ip) === 0) throw new Error(`freeradius-radsec helper: not an IP address: ${JSON.stringify(ip)}`);
    for (const d of dns) if (!/^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(d)) throw new Error(`freeradius-radsec helper: bad DNS name ${JSON.stringify(d)}`);
    const both = o.server === undefined && o.client === undefined;
    const eku = [...(both || o.server ? ['serverAuth'] : []), ...(both || o.client ? ['clientAuth'] : [])];
    if (eku.length === 0) throw new Error('freeradius-radsec helper: a certificate needs server or client usage');
    const san = [...ips.map((ip) => `IP:${ip}`), ...dns.map((d) => `DNS:${d}`)];
    const ext = [
      'basicConstraints = critical, CA:FALSE',
      `keyUsage = critical, digitalSignature${keyType === 'rsa' ? ', keyEncipherment' : ''}`,
      `extendedKeyUsage = ${eku.join(', ')}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
      ...(san.length > 0 ? [`subjectAltName = ${san.join(', ')}`] : []),
    ];
    const leafCert = join(dir, `${leaf}.crt`);
    const leafKey = join(dir, `${leaf}.key`);
    const csr = join(dir, `${leaf}.csr`);
    const extFile = join(dir, `${leaf}.ext`);
    await writeFile(extFile, `${ext.join('\n')}\n`, { mode: 0o600 });
    await openssl(['req', '-new', ...keyArgs(keyType), '-noenc', '-keyout', leafKey, '-out', csr, '-subj', `/CN=${leaf}`], dir);
    const serial = `0x${randomBytes(12).toString('hex')}`;
    // -days -1: notAfter is a day before now (and before notBefore): expired.
    const days = o.expired ? '-1' : '2';
    await openssl(['x509', '-req', '-in', csr, '-CA', cert, '-CAkey', key, '-set_serial', serial, '-days', days, '-extfile', extFile, '-out', leafCert], dir);
    await rm(csr, { force: true });
    await rm(extFile, { force: true });
    return { name: leaf, cert: leafCert, key: leafKey };
  };

  return { dir, name, cert, key, issue };
}

// ---------------------------------------------------------------------------------------------
// Shared config pieces

export interface RadsecTlsOptions {
  /** Lowest TLS version FreeRADIUS accepts / offers: '1.2' (default) or '1.3'. */
  tlsMinVersion?: '1.2' | '1.3';
  /** Highest TLS version: '1.3' (default) or '1.2'. */
  tlsMaxVersion?: '1.2' | '1.3';
  /** OpenSSL cipher list for TLS 1.2 (cipher_list); default "DEFAULT". */
  cipherList?: string;
}

function checkFile(what: string, path: string): void {
  assertNoControlChars(what, path);
  if (!path.startsWith('/')) throw new Error(`freeradius-radsec helper: ${what} must be an absolute path: ${JSON.stringify(path)}`);
}

/** The `tls { }` block of a RadSec listen (server) or home_server (client). */
function radsecTlsBlock(role: 'server' | 'client', files: { cert: string; key: string; ca: string }, o: RadsecTlsOptions & { requireClientCert?: boolean }): string {
  checkFile('certificate file', files.cert);
  checkFile('private key file', files.key);
  checkFile('CA file', files.ca);
  if (o.cipherList !== undefined) assertNoControlChars('cipher list', o.cipherList);
  const lines = [
    `certificate_file = ${dq(files.cert)}`,
    `private_key_file = ${dq(files.key)}`,
    // The trust anchor for the peer's certificate (no ca_path: nothing else is trusted).
    `ca_file = ${dq(files.ca)}`,
    // The default, made explicit: no CRL is checked (OpenSSL would want one for every CA).
    'check_crl = no',
    // As in the stock sites-available/tls (not needed for these small certificates).
    'fragment_size = 8192',
    `cipher_list = ${dq(o.cipherList ?? 'DEFAULT')}`,
    `tls_min_version = ${dq(o.tlsMinVersion ?? '1.2')}`,
    `tls_max_version = ${dq(o.tlsMaxVersion ?? '1.3')}`,
  ];
  if (role === 'server') {
    lines.push(`require_client_cert = ${o.requireClientCert === false ? 'no' : 'yes'}`, 'cache {\n\tenable = no\n}');
  } else {
    // No `hostname` (SNI): 3.2.1 dies with SIGSEGV on the first outgoing connection when it is set.
    // The home server's certificate is checked against ca_file only, never against its address.
    lines.push('connect_timeout = 3');
  }
  return `tls {\n${lines.map((l) => `\t${l.replace(/\n/g, '\n\t')}`).join('\n')}\n}`;
}

function indent(text: string, tabs: number): string {
  const pad = '\t'.repeat(tabs);
  return text
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n');
}

function usersFile(users: readonly RadiusUser[]): string {
  const out = ['# written by test/helpers/freeradius-radsec.ts', ''];
  const names = new Set<string>();
  for (const u of users) {
    if (u.name === '') throw new Error('freeradius-radsec helper: user name must not be empty');
    assertNoControlChars('user name', u.name);
    assertNoControlChars('user password', u.password);
    if (names.has(u.name)) throw new Error(`freeradius-radsec helper: duplicate user ${JSON.stringify(u.name)}`);
    names.add(u.name);
    out.push(`${dq(u.name)}\tCleartext-Password := ${sq(u.password)}`);
    const reply = (u.reply ?? []).map((line) => {
      assertNoControlChars('reply line', line);
      if (line.trim() === '') throw new Error('freeradius-radsec helper: empty reply line');
      return `\t${line.trim()}`;
    });
    if (reply.length > 0) out.push(reply.join(',\n'));
    out.push('');
  }
  return out.join('\n');
}

function checkAddress(what: string, address: string): void {
  const [addr, prefix, ...rest] = address.split('/');
  const family = isIP(addr ?? '');
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
  if (family === 0 || rest.length > 0 || !prefixOk) throw new Error(`freeradius-radsec helper: ${what} must be an IP address or CIDR: ${JSON.stringify(address)}`);
}

function checkPort(port: number | undefined): void {
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`freeradius-radsec helper: bad port ${port}`);
}

// ---------------------------------------------------------------------------------------------
// RadSec server

export interface RadsecServerClient {
  /** IP address or CIDR the TLS connections come from. */
  address: string;
  /** RADIUS shared secret inside the TLS tunnel; default 'radsec' (RFC 6614). */
  secret?: string;
}

export interface RadsecServerOptions extends RadsecTlsOptions {
  /** The server's certificate and key (e.g. ca.issue('radsec-server', { server: true })). */
  cert: { cert: string; key: string };
  /** PEM file of the CA(s) trusted to issue client certificates. */
  clientCa: string;
  users: RadiusUser[];
  /** Who may connect; default 127.0.0.1 and ::1 with secret 'radsec'. */
  clients?: RadsecServerClient[];
  /** Address to listen on: '127.0.0.1' (default) or '::1'. */
  address?: '127.0.0.1' | '::1';
  /** TCP port; default: a free one. */
  port?: number;
  /** Packet types accepted on the RadSec port; default 'auth+acct'. */
  type?: 'auth' | 'acct' | 'auth+acct';
  /** Default true. false: the server does not even ask for a certificate (no CertificateRequest),
   * so any client connects, and nothing about a client certificate is recorded. */
  requireClientCert?: boolean;
  /** Run `freeradius -f -xx -l stdout` (debug trace, TLS handshake included) instead of `-f -l stdout`. (`-X` is
   * refused: 3.2.1 will not run TLS sockets single-threaded.) */
  debug?: boolean;
}

export interface RadsecServer {
  /** TLS port on `address`. */
  port: number;
  address: string;
  /** The instance's config directory (removed by stop()). */
  dir: string;
  /** Everything the server wrote to stdout and stderr so far. */
  logs(): string;
  /**
   * The `detail` file: every Access-Request and Accounting-Request the server processed, as
   * FreeRADIUS prints them (one block per request, attributes tab-indented, including the
   * TLS-Client-Cert-* attributes of the connection). Empty string before the first request.
   */
  received(): Promise<string>;
  /** SIGTERM, SIGKILL after 3 s, wait for exit, remove dir. Safe to call more than once. */
  stop(): Promise<void>;
}

export function radsecServerConf(dir: string, port: number, opts: RadsecServerOptions): string {
  const d = (sub: string) => dq(join(dir, sub));
  const clients = opts.clients ?? [{ address: '127.0.0.1' }, { address: '::1' }];
  if (clients.length === 0) throw new Error('freeradius-radsec helper: at least one client is required');
  const clientBlocks = clients
    .map((c, i) => {
      checkAddress('client address', c.address);
      const secret = c.secret ?? 'radsec';
      if (secret === '') throw new Error('freeradius-radsec helper: client secret must not be empty');
      assertNoControlChars('client secret', secret);
      return `\tclient radsec${i} {
		ipaddr = ${c.address}
		# TLS only: plain TCP from this address is refused.
		proto = tls
		secret = ${sq(secret)}
		shortname = radsec${i}
		nas_type = other
	}`;
    })
    .join('\n');
  const address = opts.address ?? '127.0.0.1';
  const type = opts.type ?? 'auth+acct';
  return `${radiusdPrelude(dir, [], { title: 'FreeRADIUS 3.2 RadSec server, written by test/helpers/freeradius-radsec.ts', maxRequests: 16384, proxy: false, logAuth: true, threads: { start: 2, max: 8, maxSpare: 4 } })}
clients radsec_clients {
${clientBlocks}
}

modules {
	always ok {
		rcode = ok
	}
	always reject {
		rcode = reject
	}
	pap {
		normalise = yes
	}
	chap {
	}
	files {
		filename = ${d('users')}
	}
	# Everything the server processed, for RadsecServer.received().
	detail {
		filename = ${d('detail')}
		escape_filenames = no
		permissions = 0600
		header = "%t"
		locking = no
		log_packet_header = no
	}
}

policy {
	# The connection's client certificate (if any), into the request and so into the detail file.
	radsec_client_cert {
		if ("%{listen:TLS-Client-Cert-Common-Name}" != "") {
			update request {
				&TLS-Client-Cert-Common-Name := "%{listen:TLS-Client-Cert-Common-Name}"
				&TLS-Client-Cert-Issuer := "%{listen:TLS-Client-Cert-Issuer}"
			}
		}
	}
}

server radsec {
	listen {
		type = ${type}
		proto = tcp
		ipaddr = ${address}
		port = ${port}
		clients = radsec_clients
		limit {
			max_connections = 64
			lifetime = 0
			idle_timeout = 60
		}
${indent(radsecTlsBlock('server', { cert: opts.cert.cert, key: opts.cert.key, ca: opts.clientCa }, opts), 2)}
	}

	authorize {
		radsec_client_cert
		detail
		chap
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
	}

	preacct {
		radsec_client_cert
		ok
	}

	accounting {
		detail
		ok
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

export async function startRadsecServer(opts: RadsecServerOptions): Promise<RadsecServer> {
  checkPort(opts.port);
  const address = opts.address ?? '127.0.0.1';
  const inst = await startInstance({
    prefix: 'gatehouse-radsec-server-',
    debug: opts.debug === true,
    fixedPort: opts.port,
    pickPort: () => freeTcpPort(address),
    files: () => [{ name: 'users', text: usersFile(opts.users) }],
    conf: (dir, port) => radsecServerConf(dir, port, opts),
    bound: (port) => tcpPortInUse(address, port),
    what: 'RadSec server',
  });
  return {
    port: inst.port,
    address,
    dir: inst.dir,
    logs: inst.logs,
    received: async () => {
      try {
        return await readFile(join(inst.dir, 'detail'), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw err;
      }
    },
    stop: inst.stop,
  };
}

// ---------------------------------------------------------------------------------------------
// RadSec client (a UDP -> RadSec proxy)

export interface RadsecClientProxyOptions extends RadsecTlsOptions {
  /** The RadSec home server. */
  home: {
    /** IP address (FreeRADIUS connects to an address, not a name). */
    address: string;
    port: number;
    /** Secret inside the tunnel; default 'radsec'. */
    secret?: string;
  };
  /** The client certificate presented to the home server. */
  cert: { cert: string; key: string };
  /** PEM file of the CA(s) trusted to have issued the home server's certificate. */
  serverCa: string;
  /** UDP clients (radclient); default 127.0.0.1 with secret 'testing123'. */
  clients?: FreeRadiusClient[];
  /** UDP port on 127.0.0.1 for Access-Request; Accounting-Request goes to udpPort + 1. Default: a
   * free pair. */
  udpPort?: number;
  /** Also proxy Accounting-Request (home_server type auth+acct); default true. */
  accounting?: boolean;
  /** Seconds FreeRADIUS waits for the home server's answer (response_window); default 3. */
  responseWindow?: number;
  /** Run `freeradius -f -xx -l stdout` (debug trace) instead of `-f -l stdout`. */
  debug?: boolean;
}

export interface RadsecClientProxy {
  /** UDP port on 127.0.0.1 taking Access-Request (and Status-Server). */
  udpPort: number;
  /** udpPort + 1, taking Accounting-Request (when accounting is on). */
  acctPort: number;
  dir: string;
  logs(): string;
  /** SIGTERM, SIGKILL after 3 s, wait for exit, remove dir. Safe to call more than once. */
  stop(): Promise<void>;
}

export function radsecClientProxyConf(dir: string, udpPort: number, opts: RadsecClientProxyOptions): string {
  const clients = opts.clients ?? [{ address: '127.0.0.1', secret: 'testing123' }];
  for (const c of clients) {
    checkAddress('client address', c.address);
    assertNoControlChars('client secret', c.secret);
  }
  if (isIP(opts.home.address) === 0) throw new Error(`freeradius-radsec helper: home address must be an IP address: ${JSON.stringify(opts.home.address)}`);
  checkPort(opts.home.port);
  const secret = opts.home.secret ?? 'radsec';
  assertNoControlChars('home secret', secret);
  const acct = opts.accounting !== false;
  const tls = radsecTlsBlock('client', { cert: opts.cert.cert, key: opts.cert.key, ca: opts.serverCa }, opts);
  return `${radiusdPrelude(dir, clients, { title: 'FreeRADIUS 3.2 UDP -> RadSec proxy, written by test/helpers/freeradius-radsec.ts', maxRequests: 16384, proxy: true, logAuth: false, threads: { start: 2, max: 8, maxSpare: 4 } })}
proxy server {
	default_fallback = no
}

home_server radsec_home {
	# With proto = tcp, auth+acct means both packet types on the one connection (not port + 1).
	type = ${acct ? 'auth+acct' : 'auth'}
	ipaddr = ${opts.home.address}
	port = ${opts.home.port}
	proto = tcp
	secret = ${sq(secret)}
	response_window = ${opts.responseWindow ?? 3}
	zombie_period = 10
	# 3.2.1 forces anything below 10 up to 10.
	revive_interval = 10
	status_check = none
${indent(tls, 1)}
}

home_server_pool radsec_pool {
	type = fail-over
	home_server = radsec_home
}

realm radsec {
	auth_pool = radsec_pool
${acct ? '\tacct_pool = radsec_pool\n' : ''}	nostrip
}

modules {
	always ok {
		rcode = ok
	}
}

server udp_to_radsec {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = ${udpPort}
		recv_buff = 4194304
	}
${
  acct
    ? `
	# A UDP listen of type auth+acct takes only Access-Request ("Invalid packet code 4 sent to
	# authentication port"): accounting needs a listen of its own.
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = ${udpPort + 1}
		recv_buff = 4194304
	}
`
    : ''
}
	authorize {
		update control {
			&Proxy-To-Realm := "radsec"
		}
		ok
	}

	authenticate {
	}

	preacct {
		update control {
			&Proxy-To-Realm := "radsec"
		}
		ok
	}

	accounting {
		ok
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

export async function startRadsecClientProxy(opts: RadsecClientProxyOptions): Promise<RadsecClientProxy> {
  checkPort(opts.udpPort);
  if (opts.udpPort === 65535 && opts.accounting !== false) throw new Error('freeradius-radsec helper: udpPort + 1 must be a port too');
  const inst = await startInstance({
    prefix: 'gatehouse-radsec-client-',
    debug: opts.debug === true,
    fixedPort: opts.udpPort,
    pickPort: freeUdpPortPair,
    files: () => [],
    conf: (dir, port) => radsecClientProxyConf(dir, port, opts),
    bound: async (port) => (await udpPortInUse(port)) && (opts.accounting === false || (await udpPortInUse(port + 1))),
    what: 'RadSec client proxy',
  });
  return { udpPort: inst.port, acctPort: inst.port + 1, dir: inst.dir, logs: inst.logs, stop: inst.stop };
}

// ---------------------------------------------------------------------------------------------
// Ports and processes

/** A UDP port P on 127.0.0.1 such that P and P + 1 were free a moment ago. */
export async function freeUdpPortPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freeUdpPort();
    if (port < 65535 && !(await udpPortInUse(port + 1))) return port;
  }
  throw new Error('freeradius-radsec helper: found no two free consecutive UDP ports');
}

/** A TCP port on `address` that was free a moment ago. */
export function freeTcpPort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: address, exclusive: true }, () => {
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when something listens on address:port (TCP), i.e. listening there fails with EADDRINUSE. */
export function tcpPortInUse(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    server.listen({ port, host: address, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

const READY_LINE = 'Ready to process requests';
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

interface InstanceSpec {
  prefix: string;
  debug: boolean;
  fixedPort: number | undefined;
  pickPort: () => Promise<number>;
  files: () => { name: string; text: string }[];
  conf: (dir: string, port: number) => string;
  bound: (port: number) => Promise<boolean>;
  what: string;
}

interface Instance {
  port: number;
  dir: string;
  logs: () => string;
  stop: () => Promise<void>;
}

type Running = Attempt;

function launch(binary: string, dir: string, debug: boolean): Running {
  return spawnFreeRadius(binary, debug ? ['-f', '-xx', '-l', 'stdout', '-d', dir] : ['-f', '-l', 'stdout', '-d', dir]);
}

async function startInstance(spec: InstanceSpec): Promise<Instance> {
  requireTool('freeradius', 'freeradius');
  const binary = findTool('freeradius') as string;
  const dir = await mkdtemp(join(tmpdir(), spec.prefix));
  try {
    await mkdir(join(dir, 'run'), { mode: 0o700 });
    await mkdir(join(dir, 'log'), { mode: 0o700 });
    for (const f of spec.files()) await writeFile(join(dir, f.name), f.text, { mode: 0o600 });
    // An auto-picked port can be taken between probing and binding: try a few.
    const attempts = spec.fixedPort === undefined ? 3 : 1;
    let lastLog = '';
    for (let i = 0; i < attempts; i++) {
      const port = spec.fixedPort ?? (await spec.pickPort());
      const conf = spec.conf(dir, port);
      await writeFile(join(dir, 'radiusd.conf'), conf, { mode: 0o600 });
      const r = launch(binary, dir, spec.debug);
      // If the test process exits without stop(), do not leave the server behind.
      const onProcessExit = () => {
        if (!r.hasExited()) r.child.kill('SIGKILL');
      };
      process.on('exit', onProcessExit);
      const deadline = Date.now() + READY_TIMEOUT_MS;
      let ready = false;
      while (!r.hasExited() && Date.now() < deadline) {
        if (r.logs().includes(READY_LINE) && (await spec.bound(port))) {
          ready = !r.hasExited();
          break;
        }
        await Promise.race([new Promise((res) => setTimeout(res, 20)), r.exited]);
      }
      if (ready) {
        let stopping: Promise<void> | undefined;
        const stop = () =>
          (stopping ??= (async () => {
            if (!r.hasExited()) {
              r.child.kill('SIGTERM');
              const t = setTimeout(() => {
                if (!r.hasExited()) r.child.kill('SIGKILL');
              }, STOP_GRACE_MS);
              await r.exited;
              clearTimeout(t);
            }
            process.removeListener('exit', onProcessExit);
            await rm(dir, { recursive: true, force: true });
          })());
        return { port, dir, logs: r.logs, stop };
      }
      const timedOut = !r.hasExited();
      if (timedOut) r.child.kill('SIGKILL');
      await r.exited;
      process.removeListener('exit', onProcessExit);
      lastLog = r.logs();
      const portTaken = /Address already in use/.test(lastLog);
      if (!timedOut && portTaken && i + 1 < attempts) continue;
      const why = timedOut ? `was not ready within ${READY_TIMEOUT_MS / 1000} s` : 'exited during startup';
      throw new Error(`freeradius ${spec.what} ${why} (port ${port}). Log:\n${lastLog}${portTaken ? '' : `\nradiusd.conf:\n${numbered(conf)}`}`);
    }
    throw new Error(`freeradius ${spec.what} could not bind a free port. Log:\n${lastLog}`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
