// Options of the appliance: flags > environment > stored settings > defaults, validated once into
// a frozen object. The first fourteen are the flags of the authentication proxy Gatehouse
// replaces, with the same names, variables and defaults; do not rename them.
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { parseCidr } from './lib/cidr.js';
import { secureUrlProblem } from './lib/loopback.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ClientSpec {
  /** Canonical CIDR text. */
  address: string;
  secret: string;
}

export interface Settings {
  notakeyHost: string | undefined;
  notakeyAccessId: string | undefined;
  notakeyTimeout: number;
  messageTtlSeconds: number;
  messageTitle: string;
  messageDescription: string;
  proxyReceiveTimeout: number;
  proxySendTimeout: number;
  listenAddress: string;
  downstreamAddress: string | undefined;
  addressSecretIn: readonly ClientSpec[];
  secretOut: string | undefined;
  portIn: number;
  portOut: number;
  /** Accounting port for clients; 0: no accounting listener. */
  portAcct: number;
  /** Accounting port of the --downstream-address server. */
  portOutAcct: number;
  /** RadSec (RADIUS over TLS, RFC 6614): listener port, and the certificate, key and CA of both directions. */
  radsecPort: number;
  radsecCert: string | undefined;
  radsecKey: string | undefined;
  radsecCa: string | undefined;
  /** Windows push text: {0} the user, {1} the workstation; unset: a text naming the scenario. */
  windowsMessage: string | undefined;
  /** Offline logon for Windows (app/mfa/offline.ts): days of codes a workstation keeps as hashes after an online TOTP sign-in; 0: off. */
  windowsOfflineDays: number;
  /** EAP: an Access-Accept without an inner identity (User-Name) is rejected (`required`) or decided for the outer one. */
  eapInnerIdentity: 'required' | 'outer';
  dataDir: string;
  httpAddress: string;
  httpPort: number;
  pipePath: string | undefined;
  failmode: 'secure' | 'safe';
  unenrolledUsers: 'reject' | 'allow';
  stripRealm: 'yes' | 'no';
  otpDelimiter: string;
  totpMaxFailures: number;
  totpLockoutMinutes: number;
  totpChallengeTtl: number;
  totpIssuer: string;
  pushMaxPendingPerUser: number;
  pushRatePerUser: number;
  pushRateWindow: number;
  clientRateLimit: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  httpsPort: number;
  downstreamRequireMessageAuthenticator: 'yes' | 'no';
  pushCa: string | undefined;
  metricsTokenFile: string | undefined;
  auditStdout: 'yes' | 'no';
  auditSyslog: string | undefined;
  pushProvider: 'gatehouse' | 'notakey' | undefined;
  publicUrl: string | undefined;
  pushNumberMatching: 'yes' | 'no';
  windowsNumberMatching: 'yes' | 'no';
  firstFactor: 'downstream' | 'directory';
  /** Comma-separated ldap:// or ldaps:// URLs, tried in order. */
  ldapUrl: string | undefined;
  ldapBindDn: string | undefined;
  ldapBindPasswordFile: string | undefined;
  ldapBaseDn: string | undefined;
  ldapUserFilter: string | undefined;
  ldapPreset: 'ad' | 'openldap';
  ldapCa: string | undefined;
  ldapStarttls: 'yes' | 'no';
  ldapAllowPlain: 'yes' | 'no';
  ldapTimeout: number;
  /** This appliance's name among those sharing a store (default: the host name). */
  nodeName: string | undefined;
  /** The store on PostgreSQL (postgres://...); unset: SQLite in the data directory. */
  databaseUrl: string | undefined;
  /** PEM file of the CA the PostgreSQL server's certificate must chain to (TLS, host verified). */
  databaseCa: string | undefined;
  ldapSyncInterval: number;
  ldapSyncGroups: string | undefined;
  ldapSyncFilter: string | undefined;
  ldapGraceDays: number;
  /** Days after a user is first seen during which they may enrol a first factor at /my without a code; or always, or never. */
  enrolWindow: number | 'always' | 'never';
}

export type SettingKey = keyof Settings;
export type Source = 'flag' | 'env' | 'stored' | 'default';

interface OptionDef<K extends SettingKey = SettingKey> {
  key: K;
  flag: string;
  env: string;
  /** Whether an admin may store it in the database (the data directory itself cannot be). */
  storable: boolean;
  parse(raw: string, name: string): Settings[K];
  fallback: Settings[K];
  help: string;
}

const fail = (name: string, raw: string, why: string): never => {
  throw new ConfigError(`${name}: '${raw}' ${why}`);
};

const text = (raw: string): string => raw;
const optionalText = (raw: string): string | undefined => (raw === '' ? undefined : raw);
function seconds(raw: string, name: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 86400) fail(name, raw, 'is not a number of seconds (greater than 0, at most 86400)');
  return n;
}
function port(raw: string, name: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) fail(name, raw, 'is not a port number (1-65535)');
  return Number(raw);
}
function portOrOff(raw: string, name: string): number {
  if (raw === '0') return 0;
  return port(raw, name);
}
function ipAddress(raw: string, name: string): string {
  if (isIP(raw) === 0) fail(name, raw, 'is not an IPv4 or IPv6 address');
  return raw;
}
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
function hostOrIp(raw: string, name: string): string | undefined {
  if (raw === '') return undefined;
  if (isIP(raw) === 0 && !HOST_NAME.test(raw)) {
    fail(name, raw, 'is not an IP address or host name');
  }
  return raw;
}

/** Where audit records go as RFC 5424 syslog: over UDP (one datagram each) or TCP (RFC 6587 octet counting). */
export interface SyslogTarget {
  transport: 'udp' | 'tcp';
  /** An IP address (IPv6 without brackets) or a host name. */
  host: string;
  port: number;
}

/** The default port of each transport when the URL names none (RFC 5426: 514/udp; 601/tcp, syslog-conn). */
export const SYSLOG_DEFAULT_PORT = { udp: 514, tcp: 601 } as const;

/** `udp://HOST[:PORT]` or `tcp://HOST[:PORT]` (an IPv6 address in brackets). Throws ConfigError naming `name`. */
export function parseSyslogTarget(raw: string, name: string): SyslogTarget {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]*\]|[^/:@?#\s[\]]*)(?::([^/]*))?\/?$/i.exec(raw);
  if (m === null) return fail(name, raw, 'is not a syslog collector URL (udp://HOST:PORT or tcp://HOST:PORT)');
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'udp' && scheme !== 'tcp') {
    return fail(name, raw, /tls|ssl/.test(scheme) ? 'uses TLS, which is not supported: use udp:// or tcp:// (clear text; see the README)' : 'must start with udp:// or tcp://');
  }
  const bracketed = m[2]!.startsWith('[');
  const host = bracketed ? m[2]!.slice(1, -1) : m[2]!;
  const badName = !HOST_NAME.test(host) || /^[\d.]+$/.test(host);
  if (bracketed ? isIP(host) !== 6 : isIP(host) !== 4 && badName) fail(name, raw, 'does not name an IP address or host name (an IPv6 address goes in brackets)');
  const portText = m[3];
  if (portText !== undefined && (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535)) fail(name, raw, 'has a port that is not 1-65535');
  return { transport: scheme, host, port: portText === undefined ? SYSLOG_DEFAULT_PORT[scheme] : Number(portText) };
}
function syslogUrl(raw: string, name: string): string | undefined {
  if (raw === '') return undefined;
  const t = parseSyslogTarget(raw, name);
  return `${t.transport}://${isIP(t.host) === 6 ? `[${t.host}]` : t.host}:${t.port}`;
}
/** A URL that is https, or http to this machine: what carries user names or decisions. */
function secureUrl(raw: string, name: string, example: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return fail(name, raw, `is not a URL (expected e.g. ${example})`);
  }
  const problem = secureUrlProblem(u);
  if (problem !== undefined) fail(name, raw, problem);
  return u;
}
function url(raw: string, name: string): string | undefined {
  if (raw === '') return undefined;
  // The push API carries user names and decisions: never in clear text over a network.
  secureUrl(raw, name, 'https://host/api/');
  // The API paths are appended to it ({host}v2/...), so it must end with a slash.
  return raw.endsWith('/') ? raw : `${raw}/`;
}
/**
 * The address people reach Gatehouse at (scheme, host, port; no path), e.g.
 * https://gatehouse.corp.example: enrolment links and the phone approver use it, and its host is
 * the passkeys' relying party. https, or http to this machine (browsers allow passkeys there only).
 */
/**
 * A PostgreSQL connection URL. Its password, if it holds one, never appears in a message: errors
 * show the URL with the password replaced.
 */
export function databaseUrl(raw: string, name: string): string | undefined {
  if (raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: not a URL (postgres://USER@HOST:PORT/DATABASE)`);
  }
  const shown = u.password === '' ? raw : raw.replace(`:${u.password}@`, ':***@');
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new ConfigError(`${name}: '${shown}' must start with postgres:// (postgres://USER@HOST:PORT/DATABASE)`);
  if (u.hostname === '' || u.pathname.replace(/^\//, '') === '') throw new ConfigError(`${name}: '${shown}' must name a host and a database (postgres://USER@HOST:PORT/DATABASE)`);
  return raw;
}

/** A node's name: what the UI lists and pg_stat_activity shows; letters, digits, '.', '_', '-'. */
function nodeName(raw: string, name: string): string | undefined {
  if (raw === '') return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(raw)) throw new ConfigError(`${name}: a node name is 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (got ${JSON.stringify(raw)})`);
  return raw;
}

function publicUrl(raw: string, name: string): string | undefined {
  if (raw === '') return undefined;
  const u = secureUrl(raw, name, 'https://gatehouse.example.org');
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') fail(name, raw, 'must be scheme, host and port only (no path, query or user)');
  return u.origin;
}
const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string, name: string): T => {
    if (!(values as string[]).includes(raw)) fail(name, raw, `must be one of ${values.join(', ')}`);
    return raw as T;
  };
function count(raw: string, name: string): number {
  if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1) fail(name, raw, 'is not a whole number from 1 to 999');
  return Number(raw);
}
/** A limit where 0 turns it off. */
function limit(raw: string, name: string): number {
  if (!/^\d{1,3}$/.test(raw)) fail(name, raw, 'is not a whole number from 0 (off) to 999');
  return Number(raw);
}
/** Requests per second; 0 turns the limit off. */
function perSecond(raw: string, name: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1_000_000) fail(name, raw, 'is not a number of requests per second (0 = off, at most 1000000)');
  return n;
}
function minutes(raw: string, name: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 525600) fail(name, raw, 'is not a number of minutes (greater than 0, at most 525600)');
  return n;
}
function nonEmpty(raw: string, name: string): string {
  if (raw.trim() === '') fail(name, raw, 'must not be empty');
  return raw;
}
function delimiter(raw: string, name: string): string {
  if (raw.length !== 1) fail(name, raw, 'must be a single character');
  return raw;
}

/** `ADDRESS:SECRET`, or `[IPV6]:SECRET`; the address may carry a /prefix. */
export function parseAddressSecret(raw: string, name: string): ClientSpec {
  let addr: string;
  let secret: string;
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(raw);
  if (bracket) {
    addr = bracket[1]!;
    secret = bracket[2]!;
  } else {
    const i = raw.indexOf(':');
    // The value is not echoed: without a colon it may well be a secret typed on its own.
    if (i < 0) throw new ConfigError(`${name}: expected ADDRESS:SECRET (e.g. 10.0.0.1:s3cret, 0.0.0.0:s3cret for any IPv4 client)`);
    addr = raw.slice(0, i);
    secret = raw.slice(i + 1);
  }
  const cidr = parseCidr(addr);
  if (cidr === null) return fail(name, raw.replace(/:.*/, ':…'), 'does not start with an IP address or CIDR (ADDRESS:SECRET)');
  if (secret === '') return fail(name, `${addr}:`, 'has an empty secret (ADDRESS:SECRET)');
  return { address: cidr.text, secret };
}
function clientList(raw: string, name: string): ClientSpec[] {
  // Several entries in one environment variable are separated by commas or spaces.
  return raw
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map((s) => parseAddressSecret(s, name));
}

/** One or more directory URLs (commas or spaces between them), returned comma-separated. */
function ldapUrls(raw: string, name: string): string | undefined {
  const urls = raw.split(/[\s,]+/).filter((u) => u !== '');
  if (urls.length === 0) return undefined;
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      return fail(name, u, 'is not a URL (expected ldaps://dc1.corp.example or ldap://host:389)');
    }
    if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:') fail(name, u, 'must start with ldap:// or ldaps://');
    if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.username !== '') fail(name, u, 'must name only the server (the base DN is --ldap-base-dn)');
  }
  return urls.join(',');
}
/** A search filter for one user: must hold {username} and be one parenthesised filter. */
function ldapFilter(raw: string, name: string): string | undefined {
  if (raw.trim() === '') return undefined;
  if (!raw.includes('{username}')) fail(name, raw, 'must contain {username} (e.g. (&(objectClass=person)(uid={username})))');
  return ldapSearchFilter(raw, name);
}
/** One parenthesised LDAP filter (balanced parentheses). */
function ldapSearchFilter(raw: string, name: string): string | undefined {
  if (raw.trim() === '') return undefined;
  let depth = 0;
  for (const ch of raw) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) break;
  }
  if (depth !== 0 || !raw.trim().startsWith('(')) fail(name, raw, 'is not one parenthesised LDAP filter (unbalanced parentheses)');
  return raw.trim();
}

/** Whole minutes, 0 (off) to a week. */
function syncMinutes(raw: string, name: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 10080) fail(name, raw, 'is not a whole number of minutes from 0 (off) to 10080');
  return Number(raw);
}
function days(raw: string, name: string): number {
  if (!/^\d{1,4}$/.test(raw) || Number(raw) > 3650) fail(name, raw, 'is not a whole number of days from 0 to 3650');
  return Number(raw);
}
function offlineDays(raw: string, name: string): number {
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > 14) fail(name, raw, 'is not a whole number of days from 0 (off) to 14');
  return Number(raw);
}
function enrolWindow(raw: string, name: string): number | 'always' | 'never' {
  if (raw === 'always' || raw === 'never') return raw;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 3650) fail(name, raw, 'must be always, never, or a number of days from 1 to 3650');
  return Number(raw);
}
/** Group names or DNs, separated by semicolons (a DN holds commas). */
function groupList(raw: string): string | undefined {
  const groups = raw.split(';').map((g) => g.trim()).filter((g) => g !== '');
  return groups.length === 0 ? undefined : groups.join('; ');
}

function def<K extends SettingKey>(d: OptionDef<K>): OptionDef<K> {
  return d;
}

export const OPTIONS = [
  def({ key: 'notakeyHost', flag: 'notakey-host', env: 'NOTAKEY_HOST', storable: true, parse: url, fallback: undefined, help: 'push API base URL incl. scheme and path, without version' }),
  def({ key: 'notakeyAccessId', flag: 'notakey-access-id', env: 'NOTAKEY_ACCESS_ID', storable: true, parse: optionalText, fallback: undefined, help: 'application access id on the push API' }),
  def({ key: 'notakeyTimeout', flag: 'notakey-timeout', env: 'NOTAKEY_TIMEOUT', storable: true, parse: seconds, fallback: 5, help: 'seconds for one push-API call' }),
  def({ key: 'messageTtlSeconds', flag: 'message-ttl-seconds', env: 'NOTAKEY_TTL_SECONDS', storable: true, parse: seconds, fallback: 60, help: 'how long a push request waits for the user' }),
  def({ key: 'messageTitle', flag: 'message-title', env: 'MESSAGE_TITLE', storable: true, parse: text, fallback: 'VPN authentication', help: 'push title' }),
  def({ key: 'messageDescription', flag: 'message-description', env: 'MESSAGE_DESCRIPTION', storable: true, parse: text, fallback: 'Do you want to allow VPN access for user {0}?', help: 'push text; {0} = user name' }),
  def({ key: 'proxyReceiveTimeout', flag: 'proxy-receive-timeout', env: 'PROXY_RECEIVE_TIMEOUT', storable: true, parse: seconds, fallback: 5, help: 'seconds to wait for the downstream answer' }),
  def({ key: 'proxySendTimeout', flag: 'proxy-send-timeout', env: 'PROXY_SEND_TIMEOUT', storable: true, parse: seconds, fallback: 5, help: 'seconds allowed to send to downstream' }),
  def({ key: 'listenAddress', flag: 'listen-address', env: 'LISTEN_ADDRESS', storable: true, parse: ipAddress, fallback: '127.0.0.1', help: 'address for RADIUS clients' }),
  def({ key: 'downstreamAddress', flag: 'downstream-address', env: 'DOWNSTREAM_ADDRESS', storable: false, parse: hostOrIp, fallback: undefined, help: 'downstream RADIUS server (IP or host name)' }),
  def({ key: 'addressSecretIn', flag: 'address-secret-in', env: 'ADDRESS_SECRET_IN', storable: false, parse: clientList, fallback: [], help: 'ADDRESS:SECRET of a RADIUS client, repeatable; 0.0.0.0:s = any IPv4 client' }),
  def({ key: 'secretOut', flag: 'secret-out', env: 'SECRET_OUT', storable: false, parse: optionalText, fallback: undefined, help: 'downstream shared secret' }),
  def({ key: 'portIn', flag: 'port-in', env: 'PORT_IN', storable: true, parse: port, fallback: 1812, help: 'RADIUS port for clients' }),
  def({ key: 'portOut', flag: 'port-out', env: 'PORT_OUT', storable: false, parse: port, fallback: 1812, help: 'downstream RADIUS port' }),
  def({ key: 'portAcct', flag: 'port-acct', env: 'PORT_ACCT', storable: true, parse: portOrOff, fallback: 1813, help: 'RADIUS accounting port for clients; 0: none (by default, a port already in use only logs a warning)' }),
  def({ key: 'portOutAcct', flag: 'port-out-acct', env: 'PORT_OUT_ACCT', storable: false, parse: port, fallback: 1813, help: 'accounting port of the --downstream-address server' }),
  def({ key: 'radsecPort', flag: 'radsec-port', env: 'RADSEC_PORT', storable: false, parse: portOrOff, fallback: 2083, help: 'RadSec (RADIUS over TLS, RFC 6614) port for clients, served when --radsec-cert, --radsec-key and --radsec-ca are given; 0: none (RadSec only towards downstream servers)' }),
  def({ key: 'radsecCert', flag: 'radsec-cert', env: 'RADSEC_CERT', storable: false, parse: optionalText, fallback: undefined, help: 'PEM certificate (chain) Gatehouse shows RadSec clients and RadSec downstream servers' }),
  def({ key: 'radsecKey', flag: 'radsec-key', env: 'RADSEC_KEY', storable: false, parse: optionalText, fallback: undefined, help: 'PEM private key of --radsec-cert' }),
  def({ key: 'radsecCa', flag: 'radsec-ca', env: 'RADSEC_CA', storable: false, parse: optionalText, fallback: undefined, help: "PEM file of the CA(s) RadSec clients' and RadSec downstream servers' certificates must chain to" }),
  def({ key: 'windowsMessage', flag: 'windows-message', env: 'WINDOWS_MESSAGE', storable: true, parse: optionalText, fallback: undefined, help: 'push text for Windows sign-ins: {0} the user, {1} the workstation (e.g. "Proceed as {0} on server {1}?"); default: a text naming the kind of sign-in' }),
  def({ key: 'eapInnerIdentity', flag: 'eap-inner-identity', env: 'EAP_INNER_IDENTITY', storable: true, parse: oneOf('required', 'outer'), fallback: 'required', help: "EAP: the second factor is for the inner identity the server's Access-Accept names (User-Name); without one: required rejects, outer uses the outer identity (which the device chooses freely: only where the server makes it equal the inner one)" }),
  def({ key: 'dataDir', flag: 'data-dir', env: 'GATEHOUSE_DATA_DIR', storable: false, parse: text, fallback: './data', help: 'SQLite store, master key, TLS material' }),
  def({ key: 'httpAddress', flag: 'http-address', env: 'HTTP_ADDRESS', storable: true, parse: ipAddress, fallback: '127.0.0.1', help: 'admin UI and API address' }),
  def({ key: 'httpPort', flag: 'http-port', env: 'HTTP_PORT', storable: true, parse: port, fallback: 8080, help: 'admin UI and API port' }),
  def({ key: 'pipePath', flag: 'pipe-path', env: 'PIPE_PATH', storable: true, parse: optionalText, fallback: undefined, help: 'Windows logon endpoint: named pipe or Unix socket path' }),
  def({ key: 'failmode', flag: 'failmode', env: 'FAILMODE', storable: true, parse: oneOf('secure', 'safe'), fallback: 'secure', help: 'push service unreachable: secure rejects, safe accepts on the password' }),
  def({ key: 'unenrolledUsers', flag: 'unenrolled-users', env: 'UNENROLLED_USERS', storable: true, parse: oneOf('reject', 'allow'), fallback: 'reject', help: 'users with no second factor: reject, or allow on the password alone' }),
  def({ key: 'stripRealm', flag: 'strip-realm', env: 'STRIP_REALM', storable: true, parse: oneOf('no', 'yes'), fallback: 'no', help: 'yes: alice@corp.example and CORP\\alice get the second factor of alice' }),
  def({ key: 'otpDelimiter', flag: 'otp-delimiter', env: 'OTP_DELIMITER', storable: true, parse: delimiter, fallback: ',', help: 'PAP password secret,123456 carries a TOTP code' }),
  def({ key: 'totpMaxFailures', flag: 'totp-max-failures', env: 'TOTP_MAX_FAILURES', storable: true, parse: count, fallback: 5, help: 'consecutive wrong codes that lock a user out' }),
  def({ key: 'totpLockoutMinutes', flag: 'totp-lockout-minutes', env: 'TOTP_LOCKOUT_MINUTES', storable: true, parse: minutes, fallback: 15, help: 'how long a lockout lasts' }),
  def({ key: 'totpChallengeTtl', flag: 'totp-challenge-ttl', env: 'TOTP_CHALLENGE_TTL', storable: true, parse: seconds, fallback: 120, help: 'seconds a RADIUS code challenge (its State) stays valid' }),
  def({ key: 'totpIssuer', flag: 'totp-issuer', env: 'TOTP_ISSUER', storable: true, parse: nonEmpty, fallback: 'Gatehouse', help: 'issuer shown in authenticator apps' }),
  def({ key: 'pushMaxPendingPerUser', flag: 'push-max-pending-per-user', env: 'PUSH_MAX_PENDING_PER_USER', storable: true, parse: limit, fallback: 3, help: 'push requests one user may have waiting at once (a retransmission or a retry from the same station joins its push); 0 = no limit' }),
  def({ key: 'pushRatePerUser', flag: 'push-rate-per-user', env: 'PUSH_RATE_PER_USER', storable: true, parse: limit, fallback: 10, help: 'new push requests per user within --push-rate-window; 0 = no limit' }),
  def({ key: 'pushRateWindow', flag: 'push-rate-window', env: 'PUSH_RATE_WINDOW', storable: true, parse: seconds, fallback: 600, help: 'seconds of the sliding window for --push-rate-per-user' }),
  def({ key: 'clientRateLimit', flag: 'client-rate-limit', env: 'CLIENT_RATE_LIMIT', storable: true, parse: perSecond, fallback: 0, help: 'requests per second from one RADIUS client (bursts of one second); more are dropped unanswered; 0 = no limit' }),
  def({ key: 'tlsCert', flag: 'tls-cert', env: 'TLS_CERT', storable: false, parse: optionalText, fallback: undefined, help: 'PEM certificate (chain) for HTTPS; with --tls-key the UI is served over HTTPS' }),
  def({ key: 'tlsKey', flag: 'tls-key', env: 'TLS_KEY', storable: false, parse: optionalText, fallback: undefined, help: 'PEM private key for HTTPS' }),
  def({ key: 'httpsPort', flag: 'https-port', env: 'HTTPS_PORT', storable: false, parse: port, fallback: 8443, help: 'HTTPS port when a certificate is given; the HTTP port then redirects to it' }),
  def({ key: 'downstreamRequireMessageAuthenticator', flag: 'downstream-require-message-authenticator', env: 'DOWNSTREAM_REQUIRE_MESSAGE_AUTHENTICATOR', storable: false, parse: oneOf('no', 'yes'), fallback: 'no', help: 'yes: answers of the --downstream-address server must carry a valid Message-Authenticator' }),
  def({ key: 'pushCa', flag: 'push-ca', env: 'PUSH_CA', storable: false, parse: optionalText, fallback: undefined, help: 'PEM file of the certificates to trust for the push API (instead of the system CAs)' }),
  def({ key: 'metricsTokenFile', flag: 'metrics-token-file', env: 'METRICS_TOKEN_FILE', storable: false, parse: optionalText, fallback: undefined, help: 'file holding a bearer token that lets other hosts read /metrics (METRICS_TOKEN also works); without one only loopback can' }),
  def({ key: 'auditStdout', flag: 'audit-stdout', env: 'AUDIT_STDOUT', storable: true, parse: oneOf('no', 'yes'), fallback: 'no', help: 'yes: every audit record, once committed, is also written to standard output as a JSON line' }),
  def({ key: 'auditSyslog', flag: 'audit-syslog', env: 'AUDIT_SYSLOG', storable: true, parse: syslogUrl, fallback: undefined, help: 'udp://HOST:PORT or tcp://HOST:PORT: every audit record, once committed, is also sent to this syslog collector (RFC 5424, clear text)' }),
  def({ key: 'pushProvider', flag: 'push-provider', env: 'PUSH_PROVIDER', storable: true, parse: oneOf('gatehouse', 'notakey'), fallback: undefined, help: "who delivers push approvals: gatehouse (its own phone approver) or notakey (the push API at --notakey-host); default notakey when --notakey-host is set, else gatehouse" }),
  def({ key: 'pushNumberMatching', flag: 'push-number-matching', env: 'PUSH_NUMBER_MATCHING', storable: true, parse: oneOf('no', 'yes'), fallback: 'no', help: 'yes: a RADIUS login that needs push is answered with an Access-Challenge for the two-digit number the phone shows, and is accepted only with the approval and that number' }),
  def({ key: 'windowsOfflineDays', flag: 'windows-offline-days', env: 'WINDOWS_OFFLINE_DAYS', storable: true, parse: offlineDays, fallback: 0, help: 'offline logon: after an online Windows sign-in with a TOTP code, the workstation keeps hashes of that user\'s codes for this many days (1-14) and accepts them while it cannot reach Gatehouse; 0: off' }),
  def({ key: 'windowsNumberMatching', flag: 'windows-number-matching', env: 'WINDOWS_NUMBER_MATCHING', storable: true, parse: oneOf('no', 'yes'), fallback: 'no', help: "yes: a Windows logon that needs push shows a two-digit number on the logon screen, and is accepted only when the person picks that number on the phone; credential providers too old to show it are refused" }),
  def({ key: 'publicUrl', flag: 'public-url', env: 'PUBLIC_URL', storable: true, parse: publicUrl, fallback: undefined, help: 'address people reach Gatehouse at (https://host[:port]), for enrolment links and the phone approver; its host names the passkeys; default http://localhost and the HTTP port' }),
  def({ key: 'firstFactor', flag: 'first-factor', env: 'FIRST_FACTOR', storable: true, parse: oneOf('downstream', 'directory'), fallback: 'downstream', help: 'who checks RADIUS passwords for clients that do not choose: downstream (the RADIUS server) or directory (an LDAP bind as the user; PAP only)' }),
  def({ key: 'ldapUrl', flag: 'ldap-url', env: 'LDAP_URL', storable: true, parse: ldapUrls, fallback: undefined, help: 'directory servers, tried in order: ldaps://dc1.corp.example,ldaps://dc2.corp.example (ldap:// only to loopback, with --ldap-starttls yes, or --ldap-allow-plain yes)' }),
  def({ key: 'ldapBindDn', flag: 'ldap-bind-dn', env: 'LDAP_BIND_DN', storable: true, parse: optionalText, fallback: undefined, help: 'the service account searches run as (its password: LDAP_BIND_PASSWORD, --ldap-bind-password-file, or the Directory page); none: anonymous' }),
  def({ key: 'ldapBindPasswordFile', flag: 'ldap-bind-password-file', env: 'LDAP_BIND_PASSWORD_FILE', storable: false, parse: optionalText, fallback: undefined, help: "file holding the service account's password (LDAP_BIND_PASSWORD also works; never a flag value)" }),
  def({ key: 'ldapBaseDn', flag: 'ldap-base-dn', env: 'LDAP_BASE_DN', storable: true, parse: optionalText, fallback: undefined, help: 'where users are searched, e.g. DC=corp,DC=example' }),
  def({ key: 'ldapUserFilter', flag: 'ldap-user-filter', env: 'LDAP_USER_FILTER', storable: true, parse: ldapFilter, fallback: undefined, help: "filter finding one user, {username} replaced (escaped per RFC 4515); default the preset's" }),
  def({ key: 'ldapPreset', flag: 'ldap-preset', env: 'LDAP_PRESET', storable: true, parse: oneOf('ad', 'openldap'), fallback: 'ad', help: 'ad: sAMAccountName or userPrincipalName, nested groups, disabled accounts; openldap: uid and memberOf' }),
  def({ key: 'ldapCa', flag: 'ldap-ca', env: 'LDAP_CA', storable: true, parse: optionalText, fallback: undefined, help: "PEM file of the CA the directory's certificate must chain to (instead of the system CAs)" }),
  def({ key: 'ldapStarttls', flag: 'ldap-starttls', env: 'LDAP_STARTTLS', storable: true, parse: oneOf('no', 'yes'), fallback: 'no', help: 'yes: ldap:// URLs are upgraded with StartTLS before anything is sent' }),
  def({ key: 'ldapAllowPlain', flag: 'ldap-allow-plain', env: 'LDAP_ALLOW_PLAIN', storable: true, parse: oneOf('no', 'yes'), fallback: 'no', help: 'yes: allow clear-text ldap:// to a host that is not this machine (passwords cross the network readable)' }),
  def({ key: 'ldapSyncInterval', flag: 'ldap-sync-interval', env: 'LDAP_SYNC_INTERVAL', storable: true, parse: syncMinutes, fallback: 15, help: 'minutes between directory syncs (users, names, emails, groups); 0: only "Sync now"' }),
  def({ key: 'ldapSyncGroups', flag: 'ldap-sync-groups', env: 'LDAP_SYNC_GROUPS', storable: true, parse: groupList, fallback: undefined, help: 'sync only members of these groups (names or DNs, separated by semicolons; nested membership counts); none: every user' }),
  def({ key: 'ldapSyncFilter', flag: 'ldap-sync-filter', env: 'LDAP_SYNC_FILTER', storable: true, parse: ldapSearchFilter, fallback: undefined, help: "filter the sync reads users with; default the preset's (every person)" }),
  def({ key: 'ldapGraceDays', flag: 'ldap-grace-days', env: 'LDAP_GRACE_DAYS', storable: true, parse: days, fallback: 30, help: 'days a user disabled in or removed from the directory keeps their factors (without access) before being deleted' }),
  def({ key: 'enrolWindow', flag: 'enrol-window', env: 'ENROL_WINDOW', storable: true, parse: enrolWindow, fallback: 14, help: 'self-service at /my: a user with no factor yet may enrol one without a code from an admin for this many days after they are first seen; always; or never' }),
  def({ key: 'ldapTimeout', flag: 'ldap-timeout', env: 'LDAP_TIMEOUT', storable: true, parse: seconds, fallback: 5, help: 'seconds for one directory operation and for each connection attempt' }),
  def({ key: 'databaseUrl', flag: 'database-url', env: 'DATABASE_URL', storable: false, parse: databaseUrl, fallback: undefined, help: 'postgres://USER@HOST:PORT/DATABASE: the store on PostgreSQL, shared by every appliance of a cluster (password: in the URL, DATABASE_PASSWORD or PGPASSFILE); unset: SQLite in the data directory' }),
  def({ key: 'databaseCa', flag: 'database-ca', env: 'DATABASE_CA', storable: false, parse: optionalText, fallback: undefined, help: "PEM file of the CA that signed the PostgreSQL server's certificate: TLS to the database, certificate and host name verified" }),
  def({ key: 'nodeName', flag: 'node-name', env: 'NODE_NAME', storable: false, parse: nodeName, fallback: undefined, help: "this appliance's name where several share one store (listed with its health and heartbeat); default the host name" }),
] as const satisfies readonly OptionDef[];

/** Values given on the command line or in the environment, already validated. */
export interface FixedOptions {
  values: Partial<Settings>;
  sources: Partial<Record<SettingKey, 'flag' | 'env'>>;
}

/**
 * Parse the flags of `serve` (and `--data-dir` of every command) and the environment.
 * Throws ConfigError with a one-line message naming the flag or variable.
 */
export function parseServeOptions(argv: readonly string[], env: NodeJS.ProcessEnv, extra: { allowPositionals?: boolean } = {}): { fixed: FixedOptions; positionals: string[] } {
  const options: Record<string, { type: 'string'; multiple?: boolean }> = {};
  for (const o of OPTIONS) options[o.flag] = o.key === 'addressSecretIn' ? { type: 'string', multiple: true } : { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: extra.allowPositionals ?? false });
  } catch (e) {
    throw new ConfigError(flagErrorMessage(e));
  }
  const values: Record<string, unknown> = {};
  const sources: Partial<Record<SettingKey, 'flag' | 'env'>> = {};
  for (const o of OPTIONS) {
    const fromFlag = parsed.values[o.flag] as string | string[] | undefined;
    if (fromFlag !== undefined) {
      // Each flag carries one ADDRESS:SECRET (the secret may contain commas or spaces); only the
      // environment variable holds several.
      if (Array.isArray(fromFlag)) values[o.key] = fromFlag.map((v) => parseAddressSecret(v, `--${o.flag}`));
      else values[o.key] = o.parse(fromFlag, `--${o.flag}`);
      sources[o.key] = 'flag';
      continue;
    }
    const fromEnv = env[o.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      values[o.key] = o.parse(fromEnv, o.env);
      sources[o.key] = 'env';
    }
  }
  return { fixed: { values: values as Partial<Settings>, sources }, positionals: parsed.positionals };
}

/** Node's parseArgs messages, turned into one line that names the flag. */
export function flagErrorMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (unknown) return `unknown flag ${unknown[1]} (see gatehouse --help)`;
  const missing = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(msg);
  if (missing) return `${missing[1]} needs a value`;
  const ambiguous = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument is ambiguous/.exec(msg);
  if (ambiguous) return `${ambiguous[1]}: a value starting with '-' must be written ${ambiguous[1]}=VALUE`;
  const positional = /Unexpected argument '([^']+)'/.exec(msg);
  if (positional) return `unexpected argument '${positional[1]}'`;
  return msg.split('\n')[0] ?? msg;
}

export interface ResolvedSettings {
  settings: Readonly<Settings>;
  sources: Readonly<Record<SettingKey, Source>>;
  /** Stored values that failed validation: ignored (default used), reported once by the caller. */
  invalidStored: string[];
}

/** Merge: flag > env > stored > default. Pure; called at start and whenever stored settings change. */
export function resolveSettings(fixed: FixedOptions, stored: ReadonlyMap<string, string>): ResolvedSettings {
  const settings: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  const invalidStored: string[] = [];
  for (const o of OPTIONS) {
    if (o.key in fixed.values) {
      settings[o.key] = fixed.values[o.key];
      sources[o.key] = fixed.sources[o.key] ?? 'flag';
      continue;
    }
    const raw = o.storable ? stored.get(o.flag) : undefined;
    if (raw !== undefined) {
      try {
        settings[o.key] = o.parse(raw, `stored setting ${o.flag}`);
        sources[o.key] = 'stored';
        continue;
      } catch (e) {
        invalidStored.push((e as Error).message);
      }
    }
    settings[o.key] = o.fallback;
    sources[o.key] = 'default';
  }
  return { settings: Object.freeze(settings as unknown as Settings), sources: Object.freeze(sources as Record<SettingKey, Source>), invalidStored };
}

/** Validate one value an admin wants to store; returns the error message or null. */
export function validateStoredSetting(flag: string, raw: string): string | null {
  const o = OPTIONS.find((x) => x.flag === flag);
  if (o === undefined || !o.storable) return `${flag} is not a stored setting`;
  try {
    o.parse(raw, flag);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export function usage(): string {
  const fw = Math.max(...OPTIONS.map((o) => o.flag.length)) + 2;
  const ew = Math.max(...OPTIONS.map((o) => o.env.length));
  const lines = OPTIONS.map((o) => {
    const dflt = Array.isArray(o.fallback) || o.fallback === undefined ? '' : ` (default ${String(o.fallback)})`;
    return `  ${`--${o.flag}`.padEnd(fw)} ${o.env.padEnd(ew)} ${o.help}${dflt}`;
  });
  return ['Usage: gatehouse [serve] [flags]', '', `  ${'flag'.padEnd(fw)} ${'environment'.padEnd(ew)} meaning`, ...lines].join('\n');
}
