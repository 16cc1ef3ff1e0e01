// app/config.ts: the command line and environment of the proxy Gatehouse replaces (DESIGN.md
// "The appliance command line"), precedence flag > env > stored > default, one-line errors.
import { publicOrigin, pushProviderOf } from '../../app/push/provider.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, type FixedOptions, OPTIONS, parseServeOptions, parseSyslogTarget, resolveSettings, type Settings, type SettingKey, usage, validateStoredSetting } from '../../app/config.js';

const Config = suite('config');

const NO_STORED: ReadonlyMap<string, string> = new Map();
const parse = (argv: string[], env: Record<string, string> = {}) => parseServeOptions(argv, env).fixed;
const resolve = (argv: string[], env: Record<string, string> = {}, stored: Record<string, string> = {}) => resolveSettings(parse(argv, env), new Map(Object.entries(stored)));

/** DESIGN.md's two tables: flag, environment variable, default. */
const TABLE: [SettingKey, string, string, Settings[SettingKey]][] = [
  ['notakeyHost', 'notakey-host', 'NOTAKEY_HOST', undefined],
  ['notakeyAccessId', 'notakey-access-id', 'NOTAKEY_ACCESS_ID', undefined],
  ['notakeyTimeout', 'notakey-timeout', 'NOTAKEY_TIMEOUT', 5],
  ['messageTtlSeconds', 'message-ttl-seconds', 'NOTAKEY_TTL_SECONDS', 60],
  ['messageTitle', 'message-title', 'MESSAGE_TITLE', 'VPN authentication'],
  ['messageDescription', 'message-description', 'MESSAGE_DESCRIPTION', 'Do you want to allow VPN access for user {0}?'],
  ['proxyReceiveTimeout', 'proxy-receive-timeout', 'PROXY_RECEIVE_TIMEOUT', 5],
  ['proxySendTimeout', 'proxy-send-timeout', 'PROXY_SEND_TIMEOUT', 5],
  ['listenAddress', 'listen-address', 'LISTEN_ADDRESS', '127.0.0.1'],
  ['downstreamAddress', 'downstream-address', 'DOWNSTREAM_ADDRESS', undefined],
  ['addressSecretIn', 'address-secret-in', 'ADDRESS_SECRET_IN', []],
  ['secretOut', 'secret-out', 'SECRET_OUT', undefined],
  ['portIn', 'port-in', 'PORT_IN', 1812],
  ['portOut', 'port-out', 'PORT_OUT', 1812],
  ['portAcct', 'port-acct', 'PORT_ACCT', 1813],
  ['portOutAcct', 'port-out-acct', 'PORT_OUT_ACCT', 1813],
  ['radsecPort', 'radsec-port', 'RADSEC_PORT', 2083],
  ['radsecCert', 'radsec-cert', 'RADSEC_CERT', undefined],
  ['radsecKey', 'radsec-key', 'RADSEC_KEY', undefined],
  ['radsecCa', 'radsec-ca', 'RADSEC_CA', undefined],
  ['windowsMessage', 'windows-message', 'WINDOWS_MESSAGE', undefined],
  ['eapInnerIdentity', 'eap-inner-identity', 'EAP_INNER_IDENTITY', 'required'],
  ['dataDir', 'data-dir', 'GATEHOUSE_DATA_DIR', './data'],
  ['httpAddress', 'http-address', 'HTTP_ADDRESS', '127.0.0.1'],
  ['httpPort', 'http-port', 'HTTP_PORT', 8080],
  ['pipePath', 'pipe-path', 'PIPE_PATH', undefined],
  ['failmode', 'failmode', 'FAILMODE', 'secure'],
  ['unenrolledUsers', 'unenrolled-users', 'UNENROLLED_USERS', 'reject'],
  ['stripRealm', 'strip-realm', 'STRIP_REALM', 'no'],
  ['otpDelimiter', 'otp-delimiter', 'OTP_DELIMITER', ','],
  ['totpMaxFailures', 'totp-max-failures', 'TOTP_MAX_FAILURES', 5],
  ['totpLockoutMinutes', 'totp-lockout-minutes', 'TOTP_LOCKOUT_MINUTES', 15],
  ['totpChallengeTtl', 'totp-challenge-ttl', 'TOTP_CHALLENGE_TTL', 120],
  ['totpIssuer', 'totp-issuer', 'TOTP_ISSUER', 'Gatehouse'],
  ['pushMaxPendingPerUser', 'push-max-pending-per-user', 'PUSH_MAX_PENDING_PER_USER', 3],
  ['pushRatePerUser', 'push-rate-per-user', 'PUSH_RATE_PER_USER', 10],
  ['pushRateWindow', 'push-rate-window', 'PUSH_RATE_WINDOW', 600],
  ['clientRateLimit', 'client-rate-limit', 'CLIENT_RATE_LIMIT', 0],
  ['tlsCert', 'tls-cert', 'TLS_CERT', undefined],
  ['tlsKey', 'tls-key', 'TLS_KEY', undefined],
  ['httpsPort', 'https-port', 'HTTPS_PORT', 8443],
  ['downstreamRequireMessageAuthenticator', 'downstream-require-message-authenticator', 'DOWNSTREAM_REQUIRE_MESSAGE_AUTHENTICATOR', 'no'],
  ['pushCa', 'push-ca', 'PUSH_CA', undefined],
  ['metricsTokenFile', 'metrics-token-file', 'METRICS_TOKEN_FILE', undefined],
  ['auditStdout', 'audit-stdout', 'AUDIT_STDOUT', 'no'],
  ['auditSyslog', 'audit-syslog', 'AUDIT_SYSLOG', undefined],
  ['pushProvider', 'push-provider', 'PUSH_PROVIDER', undefined],
  ['pushNumberMatching', 'push-number-matching', 'PUSH_NUMBER_MATCHING', 'no'],
  ['windowsOfflineDays', 'windows-offline-days', 'WINDOWS_OFFLINE_DAYS', 0],
  ['windowsNumberMatching', 'windows-number-matching', 'WINDOWS_NUMBER_MATCHING', 'no'],
  ['publicUrl', 'public-url', 'PUBLIC_URL', undefined],
  ['firstFactor', 'first-factor', 'FIRST_FACTOR', 'downstream'],
  ['ldapUrl', 'ldap-url', 'LDAP_URL', undefined],
  ['ldapBindDn', 'ldap-bind-dn', 'LDAP_BIND_DN', undefined],
  ['ldapBindPasswordFile', 'ldap-bind-password-file', 'LDAP_BIND_PASSWORD_FILE', undefined],
  ['ldapBaseDn', 'ldap-base-dn', 'LDAP_BASE_DN', undefined],
  ['ldapUserFilter', 'ldap-user-filter', 'LDAP_USER_FILTER', undefined],
  ['ldapPreset', 'ldap-preset', 'LDAP_PRESET', 'ad'],
  ['ldapCa', 'ldap-ca', 'LDAP_CA', undefined],
  ['ldapStarttls', 'ldap-starttls', 'LDAP_STARTTLS', 'no'],
  ['ldapAllowPlain', 'ldap-allow-plain', 'LDAP_ALLOW_PLAIN', 'no'],
  ['ldapSyncInterval', 'ldap-sync-interval', 'LDAP_SYNC_INTERVAL', 15],
  ['ldapSyncGroups', 'ldap-sync-groups', 'LDAP_SYNC_GROUPS', undefined],
  ['ldapSyncFilter', 'ldap-sync-filter', 'LDAP_SYNC_FILTER', undefined],
  ['ldapGraceDays', 'ldap-grace-days', 'LDAP_GRACE_DAYS', 30],
  ['enrolWindow', 'enrol-window', 'ENROL_WINDOW', 14],
  ['ldapTimeout', 'ldap-timeout', 'LDAP_TIMEOUT', 5],
  ['databaseUrl', 'database-url', 'DATABASE_URL', undefined],
  ['databaseCa', 'database-ca', 'DATABASE_CA', undefined],
  ['nodeName', 'node-name', 'NODE_NAME', undefined],
];

/** A valid value for each option, and what it parses to. */
const SAMPLE: Record<SettingKey, [string, unknown]> = {
  notakeyHost: ['https://push.example/api/', 'https://push.example/api/'],
  notakeyAccessId: ['app-123', 'app-123'],
  notakeyTimeout: ['7', 7],
  messageTtlSeconds: ['90', 90],
  messageTitle: ['Sign in', 'Sign in'],
  messageDescription: ['Allow {0}?', 'Allow {0}?'],
  proxyReceiveTimeout: ['3', 3],
  proxySendTimeout: ['2', 2],
  listenAddress: ['0.0.0.0', '0.0.0.0'],
  downstreamAddress: ['radius.example', 'radius.example'],
  addressSecretIn: ['10.0.0.1:s', [{ address: '10.0.0.1/32', secret: 's' }]],
  secretOut: ['down-secret', 'down-secret'],
  portIn: ['11812', 11812],
  portOut: ['21812', 21812],
  portAcct: ['0', 0],
  portOutAcct: ['21813', 21813],
  radsecPort: ['12083', 12083],
  radsecCert: ['/etc/gatehouse/radsec.pem', '/etc/gatehouse/radsec.pem'],
  radsecKey: ['/etc/gatehouse/radsec.key', '/etc/gatehouse/radsec.key'],
  radsecCa: ['/etc/gatehouse/radsec-ca.pem', '/etc/gatehouse/radsec-ca.pem'],
  windowsMessage: ['Proceed as {0} on server {1}?', 'Proceed as {0} on server {1}?'],
  windowsOfflineDays: ['7', 7],
  eapInnerIdentity: ['outer', 'outer'],
  dataDir: ['/var/lib/gatehouse', '/var/lib/gatehouse'],
  httpAddress: ['::', '::'],
  httpPort: ['9090', 9090],
  pipePath: ['/run/gatehouse.sock', '/run/gatehouse.sock'],
  failmode: ['safe', 'safe'],
  unenrolledUsers: ['allow', 'allow'],
  stripRealm: ['yes', 'yes'],
  otpDelimiter: [':', ':'],
  totpMaxFailures: ['3', 3],
  totpLockoutMinutes: ['30', 30],
  totpChallengeTtl: ['60', 60],
  totpIssuer: ['ACME VPN', 'ACME VPN'],
  pushMaxPendingPerUser: ['0', 0],
  pushRatePerUser: ['20', 20],
  pushRateWindow: ['60', 60],
  clientRateLimit: ['2500.5', 2500.5],
  tlsCert: ['/etc/gatehouse/cert.pem', '/etc/gatehouse/cert.pem'],
  tlsKey: ['/etc/gatehouse/key.pem', '/etc/gatehouse/key.pem'],
  httpsPort: ['443', 443],
  downstreamRequireMessageAuthenticator: ['yes', 'yes'],
  pushCa: ['/etc/gatehouse/push-ca.pem', '/etc/gatehouse/push-ca.pem'],
  metricsTokenFile: ['/etc/gatehouse/metrics-token', '/etc/gatehouse/metrics-token'],
  auditStdout: ['yes', 'yes'],
  auditSyslog: ['tcp://siem.example:6514', 'tcp://siem.example:6514'],
  pushProvider: ['gatehouse', 'gatehouse'],
  pushNumberMatching: ['yes', 'yes'],
  windowsNumberMatching: ['yes', 'yes'],
  publicUrl: ['https://gatehouse.example.org:8443/', 'https://gatehouse.example.org:8443'],
  firstFactor: ['directory', 'directory'],
  ldapUrl: ['ldaps://dc1.corp.example, ldaps://dc2.corp.example:636', 'ldaps://dc1.corp.example,ldaps://dc2.corp.example:636'],
  ldapBindDn: ['CN=svc-gatehouse,OU=Service,DC=corp,DC=example', 'CN=svc-gatehouse,OU=Service,DC=corp,DC=example'],
  ldapBindPasswordFile: ['/etc/gatehouse/ldap-password', '/etc/gatehouse/ldap-password'],
  ldapBaseDn: ['DC=corp,DC=example', 'DC=corp,DC=example'],
  ldapUserFilter: ['(&(objectClass=person)(uid={username}))', '(&(objectClass=person)(uid={username}))'],
  ldapPreset: ['openldap', 'openldap'],
  ldapCa: ['/etc/gatehouse/ldap-ca.pem', '/etc/gatehouse/ldap-ca.pem'],
  ldapStarttls: ['yes', 'yes'],
  ldapAllowPlain: ['yes', 'yes'],
  ldapTimeout: ['2.5', 2.5],
  nodeName: ['gh-2.dc1', 'gh-2.dc1'],
  databaseUrl: ['postgres://gatehouse@db.corp.example:5432/gatehouse', 'postgres://gatehouse@db.corp.example:5432/gatehouse'],
  databaseCa: ['/etc/gatehouse/db-ca.pem', '/etc/gatehouse/db-ca.pem'],
  ldapSyncInterval: ['0', 0],
  ldapSyncGroups: ['VPN-Users; CN=BreakGlass,OU=Groups,DC=corp,DC=example;', 'VPN-Users; CN=BreakGlass,OU=Groups,DC=corp,DC=example'],
  ldapSyncFilter: ['(&(objectClass=person)(department=IT))', '(&(objectClass=person)(department=IT))'],
  ldapGraceDays: ['7', 7],
  enrolWindow: ['never', 'never'],
};

function configError(fn: () => unknown, ...mustName: string[]): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ConfigError);
    const msg = (e as Error).message;
    assert.not.match(msg, /\n/, 'one line');
    for (const n of mustName) assert.ok(msg.includes(n), `message "${msg}" names ${n}`);
    return e as ConfigError;
  }
  throw new assert.Assertion({ message: `expected a ConfigError naming ${mustName.join(', ')}`, operator: 'throws', generated: false, actual: 'no error', expects: 'ConfigError' });
}

// --- names and defaults ---------------------------------------------------

Config('every option has the flag, environment variable and default of DESIGN.md (21) or of Gatehouse own (TOTP, abuse limits, TLS, names, transport, audit feed, own push, RADIUS breadth, offline logon)', () => {
  assert.is(OPTIONS.length, 70);
  assert.equal(
    OPTIONS.map((o) => [o.key, o.flag, o.env, o.fallback]),
    TABLE,
  );
  const { settings, sources } = resolveSettings({ values: {}, sources: {} }, NO_STORED);
  for (const [key, , , dflt] of TABLE) {
    assert.equal(settings[key], dflt, key);
    assert.is(sources[key], 'default', key);
  }
  assert.ok(Object.isFrozen(settings));
});

Config('every option is read from its flag and from its environment variable', () => {
  for (const [key, flag, env] of TABLE) {
    const [raw, value] = SAMPLE[key];
    const byFlag = parse([`--${flag}`, raw]);
    assert.equal(byFlag.values[key], value, `--${flag}`);
    assert.is(byFlag.sources[key], 'flag');
    const byFlagEq = parse([`--${flag}=${raw}`]);
    assert.equal(byFlagEq.values[key], value, `--${flag}=`);
    const byEnv = parse([], { [env]: raw });
    assert.equal(byEnv.values[key], value, env);
    assert.is(byEnv.sources[key], 'env');
  }
});

Config('usage lists every flag with its environment variable', () => {
  const text = usage();
  for (const [, flag, env] of TABLE) {
    assert.match(text, `--${flag}`);
    assert.match(text, env);
  }
});

// --- precedence -------------------------------------------------------------

Config('flag beats env beats stored beats default', () => {
  const all = resolve(['--port-in', '1001'], { PORT_IN: '1002' }, { 'port-in': '1003' });
  assert.is(all.settings.portIn, 1001);
  assert.is(all.sources.portIn, 'flag');
  const envStored = resolve([], { PORT_IN: '1002' }, { 'port-in': '1003' });
  assert.is(envStored.settings.portIn, 1002);
  assert.is(envStored.sources.portIn, 'env');
  const storedOnly = resolve([], {}, { 'port-in': '1003' });
  assert.is(storedOnly.settings.portIn, 1003);
  assert.is(storedOnly.sources.portIn, 'stored');
  const none = resolve([], {}, {});
  assert.is(none.settings.portIn, 1812);
  assert.is(none.sources.portIn, 'default');
});

Config('precedence holds per option: each comes from its own highest source', () => {
  const r = resolve(['--failmode', 'safe'], { MESSAGE_TITLE: 'From env', FAILMODE: 'secure' }, { 'message-title': 'From store', 'otp-delimiter': '#', failmode: 'secure' });
  assert.is(r.settings.failmode, 'safe');
  assert.is(r.sources.failmode, 'flag');
  assert.is(r.settings.messageTitle, 'From env');
  assert.is(r.sources.messageTitle, 'env');
  assert.is(r.settings.otpDelimiter, '#');
  assert.is(r.sources.otpDelimiter, 'stored');
  assert.is(r.settings.httpPort, 8080);
  assert.is(r.sources.httpPort, 'default');
  assert.equal(r.invalidStored, []);
});

Config('an empty environment variable counts as unset', () => {
  const r = resolve([], { PORT_IN: '', NOTAKEY_HOST: '' }, { 'port-in': '1003' });
  assert.is(r.settings.portIn, 1003);
  assert.is(r.sources.notakeyHost, 'default');
});

Config('the data directory and RADIUS clients cannot come from the store', () => {
  const r = resolve([], {}, { 'data-dir': '/elsewhere', 'address-secret-in': '10.0.0.1:s' });
  assert.is(r.settings.dataDir, './data');
  assert.equal(r.settings.addressSecretIn, []);
  assert.ok(validateStoredSetting('data-dir', '/x') !== null);
  assert.ok(validateStoredSetting('address-secret-in', '10.0.0.1:s') !== null);
  assert.is(validateStoredSetting('port-in', '1812'), null);
  assert.match(validateStoredSetting('port-in', '0') ?? '', 'port-in');
});

// --- RADIUS clients ---------------------------------------------------------

Config('--address-secret-in is repeatable', () => {
  const f = parse(['--address-secret-in', '10.0.0.1:one', '--address-secret-in', '192.0.2.0/24:two']);
  assert.equal(f.values.addressSecretIn, [
    { address: '10.0.0.1/32', secret: 'one' },
    { address: '192.0.2.0/24', secret: 'two' },
  ]);
});

Config('ADDRESS_SECRET_IN holds several entries separated by commas or spaces', () => {
  const f = parse([], { ADDRESS_SECRET_IN: '10.0.0.1:one,10.0.0.2:two 10.0.0.3:three ,  10.0.0.4:four\t10.0.0.5:five' });
  assert.equal(
    f.values.addressSecretIn?.map((c) => `${c.address}=${c.secret}`),
    ['10.0.0.1/32=one', '10.0.0.2/32=two', '10.0.0.3/32=three', '10.0.0.4/32=four', '10.0.0.5/32=five'],
  );
});

Config('address forms: 0.0.0.0 (any IPv4), [IPv6]:secret, IPv6 prefix, secret containing ":"', () => {
  const f = parse(['--address-secret-in', '0.0.0.0:any', '--address-secret-in', '[::1]:loop', '--address-secret-in', '[2001:db8::/32]:net', '--address-secret-in', '10.0.0.9:a:b::c']);
  assert.equal(f.values.addressSecretIn, [
    { address: '0.0.0.0/0', secret: 'any' },
    { address: '::1/128', secret: 'loop' },
    { address: '2001:db8::/32', secret: 'net' },
    { address: '10.0.0.9/32', secret: 'a:b::c' },
  ]);
  assert.equal(parse([], { ADDRESS_SECRET_IN: '[::1]:x:y' }).values.addressSecretIn, [{ address: '::1/128', secret: 'x:y' }]);
});

Config('a malformed ADDRESS:SECRET is a ConfigError naming the flag or variable', () => {
  for (const bad of ['no-colon-here', 'radius.example:secret', '10.0.0.1:', '10.0.0.300:s', '::1:s', '[::1]s']) {
    configError(() => parse(['--address-secret-in', bad]), '--address-secret-in');
    configError(() => parse([], { ADDRESS_SECRET_IN: `10.0.0.1:ok,${bad}` }), 'ADDRESS_SECRET_IN');
  }
});

Config('the error for a bad address does not repeat the secret', () => {
  const e = configError(() => parse(['--address-secret-in', 'radius.example:TopSecret123']), '--address-secret-in');
  assert.not.match(e.message, 'TopSecret123');
});

// --- errors -----------------------------------------------------------------

Config('ports 0, 65536 and abc are refused, naming the flag or variable', () => {
  for (const bad of ['0', '65536', 'abc', '-1', '1.5', '']) {
    configError(() => parse(['--port-in', bad]), '--port-in');
    configError(() => parse([`--http-port=${bad}`]), '--http-port');
  }
  for (const bad of ['0', '65536', 'abc']) configError(() => parse([], { PORT_OUT: bad }), 'PORT_OUT');
  assert.is(parse(['--port-out', '65535']).values.portOut, 65535);
  assert.is(parse(['--port-out', '1']).values.portOut, 1);
});

Config('an unknown flag is refused, naming it', () => {
  configError(() => parse(['--notakey-hots', 'https://x/']), '--notakey-hots');
  configError(() => parse(['--bogus']), '--bogus');
});

Config('a flag without its value is refused, naming it', () => {
  configError(() => parse(['--port-in']), '--port-in');
  configError(() => parse(['--listen-address', '--port-in', '1812']), '--listen-address');
});

Config('a stray positional argument is refused', () => {
  configError(() => parse(['serve-now']), 'serve-now');
});

Config('a database URL must be postgres:// with a host and a database; its password never shows in the error', () => {
  for (const bad of ['mysql://db/gh', 'postgres://db.corp.example', 'postgres:///gatehouse', 'not a url']) configError(() => parse(['--database-url', bad]), '--database-url');
  const e = configError(() => parse([], { DATABASE_URL: 'mysql://gatehouse:s3cret-pw@db/gh' }), 'DATABASE_URL', ':***@');
  assert.not.match(e.message, /s3cret-pw/);
  assert.is(parse(['--database-url', 'postgresql://gh:pw@10.0.0.5:5433/gatehouse?sslmode=verify-full']).values.databaseUrl, 'postgresql://gh:pw@10.0.0.5:5433/gatehouse?sslmode=verify-full');
});

Config('failmode other than secure or safe is refused', () => {
  for (const bad of ['loose', 'SECURE', '']) configError(() => parse(['--failmode', bad]), '--failmode');
  configError(() => parse([], { FAILMODE: 'open' }), 'FAILMODE');
  configError(() => parse([], { UNENROLLED_USERS: 'maybe' }), 'UNENROLLED_USERS');
});

Config('abuse limits: whole numbers 0 (off) to 999 per user, a non-negative request rate per client', () => {
  for (const bad of ['-1', '1000', '2.5', 'ten', ' ', '1e2']) {
    configError(() => parse(['--push-max-pending-per-user', bad]), '--push-max-pending-per-user');
    configError(() => parse([], { PUSH_RATE_PER_USER: bad }), 'PUSH_RATE_PER_USER');
  }
  assert.is(parse(['--push-max-pending-per-user', '0']).values.pushMaxPendingPerUser, 0);
  assert.is(parse(['--push-rate-per-user', '999']).values.pushRatePerUser, 999);
  for (const bad of ['0', '-1', 'abc', '86401']) configError(() => parse(['--push-rate-window', bad]), '--push-rate-window');
  for (const bad of ['-1', 'abc', 'Infinity', '1000001', ' ']) configError(() => parse(['--client-rate-limit', bad]), '--client-rate-limit');
  assert.is(parse([], { CLIENT_RATE_LIMIT: '0' }).values.clientRateLimit, 0);
  assert.is(parse(['--client-rate-limit', '0.5']).values.clientRateLimit, 0.5);
  assert.is(validateStoredSetting('client-rate-limit', '50000'), null);
  assert.is(validateStoredSetting('push-max-pending-per-user', '5'), null);
});

Config('seconds must be a number greater than 0', () => {
  for (const bad of ['0', '-5', 'abc', '5s', 'Infinity', 'NaN', ' ']) {
    configError(() => parse(['--notakey-timeout', bad]), '--notakey-timeout');
    configError(() => parse([], { NOTAKEY_TTL_SECONDS: bad }), 'NOTAKEY_TTL_SECONDS');
  }
  assert.is(parse(['--proxy-receive-timeout', '0.5']).values.proxyReceiveTimeout, 0.5);
});

Config('addresses and other values are validated', () => {
  configError(() => parse(['--listen-address', 'localhost']), '--listen-address');
  configError(() => parse([], { HTTP_ADDRESS: '10.0.0' }), 'HTTP_ADDRESS');
  configError(() => parse(['--downstream-address', 'bad host!']), '--downstream-address');
  configError(() => parse(['--otp-delimiter', ',,']), '--otp-delimiter');
  configError(() => parse(['--notakey-host', 'not a url']), '--notakey-host');
  configError(() => parse(['--notakey-host', 'ftp://push.example/api/']), '--notakey-host');
  configError(() => parse(['--strip-realm', 'maybe']), '--strip-realm');
  assert.is(parse(['--downstream-address', '192.0.2.10']).values.downstreamAddress, '192.0.2.10');
});

Config('the push provider: as given; else notakey when --notakey-host is set (command lines from before keep their meaning), else gatehouse; the public URL is an origin', () => {
  const provider = (argv: string[], env: Record<string, string> = {}) => pushProviderOf(parse(argv, env).values as Settings);
  assert.is(provider([]), 'gatehouse');
  assert.is(provider(['--notakey-host', 'https://push.example/api/']), 'notakey');
  assert.is(provider(['--notakey-host', 'https://push.example/api/', '--push-provider', 'gatehouse']), 'gatehouse');
  assert.is(provider([], { PUSH_PROVIDER: 'notakey' }), 'notakey');
  configError(() => parse(['--push-provider', 'duo']), '--push-provider');
  assert.is(parse(['--public-url', 'https://GateHouse.example.org:443/']).values.publicUrl, 'https://gatehouse.example.org');
  configError(() => parse(['--public-url', 'http://gatehouse.example.org']), '--public-url');
  configError(() => parse(['--public-url', 'https://gatehouse.example.org/mfa']), '--public-url');
  assert.is(publicOrigin({ publicUrl: undefined, tlsCert: undefined, tlsKey: undefined, httpPort: 8080, httpsPort: 8443 }), 'http://localhost:8080');
  assert.is(publicOrigin({ publicUrl: undefined, tlsCert: 'c.pem', tlsKey: 'k.pem', httpPort: 8080, httpsPort: 8443 }), 'https://localhost:8443');
});

Config('the directory: one or more ldap:// or ldaps:// URLs naming only the server; a user filter holding {username} with balanced parentheses', () => {
  const parse = (args: string[]) => parseServeOptions(args, {}).fixed.values;
  assert.is(parse(['--ldap-url', 'ldap://127.0.0.1:3389 ldaps://dc.corp.example']).ldapUrl, 'ldap://127.0.0.1:3389,ldaps://dc.corp.example');
  configError(() => parse(['--ldap-url', 'http://dc.corp.example']), '--ldap-url', 'ldap://');
  configError(() => parse(['--ldap-url', 'ldaps://dc.corp.example/DC=corp']), '--ldap-url', 'base DN');
  configError(() => parse(['--ldap-url', 'not a url']), '--ldap-url');
  configError(() => parseServeOptions([], { LDAP_USER_FILTER: '(uid=alice)' }), 'LDAP_USER_FILTER', '{username}');
  configError(() => parse(['--ldap-user-filter', '(&(uid={username})']), '--ldap-user-filter', 'parentheses');
  configError(() => parse(['--first-factor', 'ldap']), '--first-factor', 'downstream, directory');
  configError(() => parse(['--ldap-sync-filter', '(objectClass=person']), '--ldap-sync-filter', 'parentheses');
  configError(() => parse(['--ldap-sync-interval', '1.5']), '--ldap-sync-interval', 'minutes');
  configError(() => parse(['--ldap-grace-days', '-1']), '--ldap-grace-days');
  configError(() => parse(['--enrol-window', '0']), '--enrol-window', 'always, never');
  assert.is(parse(['--enrol-window', '30']).enrolWindow, 30);
  // The bind password is never a flag: only its file is.
  configError(() => parse(['--ldap-bind-password', 'x']), 'unknown flag --ldap-bind-password');
});

Config('the notakey host gets a trailing slash (the API paths are appended to it)', () => {
  assert.is(parse(['--notakey-host', 'https://push.example/api']).values.notakeyHost, 'https://push.example/api/');
  assert.is(parse([], { NOTAKEY_HOST: 'https://push.example/api/' }).values.notakeyHost, 'https://push.example/api/');
  assert.is(resolve([], {}, { 'notakey-host': 'https://10.0.0.5:8080/api' }).settings.notakeyHost, 'https://10.0.0.5:8080/api/');
});

Config('the audit syslog collector: udp:// or tcp://, a host or an IP address, a port (514/udp and 601/tcp by default); nothing else', () => {
  const ok: [string, string][] = [
    ['udp://127.0.0.1:5514', 'udp://127.0.0.1:5514'],
    ['tcp://siem.example.org:601', 'tcp://siem.example.org:601'],
    ['UDP://Collector.Example', 'udp://Collector.Example:514'],
    ['tcp://10.1.2.3', 'tcp://10.1.2.3:601'],
    ['tcp://[2001:db8::7]:6514/', 'tcp://[2001:db8::7]:6514'],
    ['udp://[::1]', 'udp://[::1]:514'],
  ];
  for (const [raw, value] of ok) {
    assert.is(parse(['--audit-syslog', raw]).values.auditSyslog, value, raw);
    assert.is(parse([], { AUDIT_SYSLOG: raw }).values.auditSyslog, value, raw);
  }
  assert.equal(parseSyslogTarget('tcp://[2001:db8::7]:6514', 'x'), { transport: 'tcp', host: '2001:db8::7', port: 6514 });
  assert.equal(parseSyslogTarget('udp://collector', 'x'), { transport: 'udp', host: 'collector', port: 514 });
  const bad = ['collector:514', 'syslog://host:514', 'http://host:514', 'udp://', 'udp://:514', 'udp://host:0', 'udp://host:65536', 'udp://host:x', 'tcp://host:601/path', 'tcp://host:601?x=1', 'tcp://user@host:601', 'udp://2001:db8::7:514', 'udp://[10.0.0.1]:514', 'udp://bad_host!:514', 'udp://999.1.1.1:514', 'udp://host name:514'];
  for (const raw of bad) {
    configError(() => parse(['--audit-syslog', raw]), '--audit-syslog');
    configError(() => parse([], { AUDIT_SYSLOG: raw }), 'AUDIT_SYSLOG');
  }
  // TLS syslog (RFC 5425) is not offered: say so rather than send in clear to a TLS port.
  for (const raw of ['tls://siem.example:6514', 'tcp+tls://siem.example:6514', 'ssl://siem.example:6514']) configError(() => parse(['--audit-syslog', raw]), '--audit-syslog', 'TLS');
  for (const raw of ['on', 'true', 'YES', '']) configError(() => parse(['--audit-stdout', raw]), '--audit-stdout');
  configError(() => parse([], { AUDIT_STDOUT: '1' }), 'AUDIT_STDOUT');
  // Both can be stored (the admin UI, `gatehouse settings set`), and a bad stored value is reported.
  assert.is(validateStoredSetting('audit-syslog', 'udp://10.0.0.9:514'), null);
  assert.is(validateStoredSetting('audit-stdout', 'yes'), null);
  assert.match(validateStoredSetting('audit-syslog', 'tls://10.0.0.9') ?? '', /TLS/);
  const r = resolve([], {}, { 'audit-syslog': 'udp://10.0.0.9', 'audit-stdout': 'yes' });
  assert.is(r.settings.auditSyslog, 'udp://10.0.0.9:514');
  assert.is(r.settings.auditStdout, 'yes');
  assert.is(r.sources.auditSyslog, 'stored');
});

Config('the push API is https; plain http only to this machine (user names and decisions cross it)', () => {
  const e = configError(() => parse(['--notakey-host', 'http://push.example/api/']), '--notakey-host', 'https://');
  assert.not.match(e.message, /undefined/);
  configError(() => parse([], { NOTAKEY_HOST: 'http://10.0.0.5:8080/api/' }), 'NOTAKEY_HOST', 'https://');
  for (const local of ['http://127.0.0.1:9/api/', 'http://localhost:9/api/', 'http://[::1]:9/api/', 'http://127.1.2.3/api/']) assert.is(parse(['--notakey-host', local]).values.notakeyHost, local);
  // A stored http:// host (from before this rule) is ignored, with a message, rather than used.
  const r = resolve([], {}, { 'notakey-host': 'http://push.example/api/' });
  assert.is(r.settings.notakeyHost, undefined);
  assert.match(r.invalidStored.join('\n'), /https:\/\//);
});

Config('invalid stored values are ignored, with a message in invalidStored', () => {
  const r = resolve([], {}, { 'port-in': 'abc', failmode: 'loose', 'message-title': 'OK title' });
  assert.is(r.settings.portIn, 1812);
  assert.is(r.sources.portIn, 'default');
  assert.is(r.settings.failmode, 'secure');
  assert.is(r.sources.failmode, 'default');
  assert.is(r.settings.messageTitle, 'OK title');
  assert.is(r.invalidStored.length, 2);
  assert.ok(r.invalidStored.some((m) => m.includes('port-in')));
  assert.ok(r.invalidStored.some((m) => m.includes('failmode')));
});

Config('a stored value shadowed by a flag or env is not reported invalid', () => {
  const fixed: FixedOptions = parse(['--port-in', '1812'], { FAILMODE: 'safe' });
  const r = resolveSettings(fixed, new Map([
    ['port-in', 'abc'],
    ['failmode', 'loose'],
  ]));
  assert.equal(r.invalidStored, []);
});

Config.run();
