// app/radius/clients.ts and app/lib/cidr.ts: which RADIUS client a source address belongs to,
// and whether its Message-Authenticator state is acceptable.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClientSpec } from '../../app/config.js';
import type { RequireMa, StoredClient } from '../../app/db/queries/clients.js';
import { cidrContains, normalizeAddress, parseCidr } from '../../app/lib/cidr.js';
import type { MaCheck } from '../../app/radius/codec.js';
import { buildClientTable, messageAuthenticatorVerdict, type MaVerdict } from '../../app/radius/clients.js';

const Cidr = suite('lib/cidr');
const Clients = suite('radius/clients');

const spec = (address: string, secret: string): ClientSpec => ({ address: parseCidr(address)!.text, secret });
let nextId = 1;
const stored = (address: string, secret: string, require: RequireMa = 'auto', seen = false): StoredClient => ({
  id: nextId++,
  name: `stored ${address}`,
  address,
  secret: Buffer.from(secret),
  requireMessageAuthenticator: require,
  messageAuthenticatorSeen: seen,
  firstFactor: null,
  createdAt: 0,
});
const secretOf = (t: ReturnType<typeof buildClientTable>, addr: string): string | undefined => t.lookup(addr)?.secret.toString();

// --- cidr -------------------------------------------------------------------

Cidr('parseCidr: canonical text with host bits cleared; bare address is a host', () => {
  assert.is(parseCidr('10.1.2.3/8')?.text, '10.0.0.0/8');
  assert.is(parseCidr('192.0.2.7')?.text, '192.0.2.7/32');
  assert.is(parseCidr(' 192.0.2.7 ')?.text, '192.0.2.7/32');
  assert.is(parseCidr('2001:DB8::1/32')?.text, '2001:db8::/32');
  assert.is(parseCidr('::1')?.text, '::1/128');
  assert.is(parseCidr('0.0.0.0')?.prefix, 0);
  assert.is(parseCidr('::')?.prefix, 0);
  assert.is(parseCidr('0.0.0.0/32')?.prefix, 32);
});

Cidr('parseCidr: canonical text parses back to itself', () => {
  for (const s of ['10.0.0.0/8', '2001:db8::/32', 'fe80::1:0:0:0/128', '1:0:2:0:0:3:0:0/128', '::ffff:10.0.0.1', '0.0.0.0', '::', '2001:db8:0:0:1::/80']) {
    const c = parseCidr(s)!;
    assert.ok(c, s);
    assert.equal(parseCidr(c.text), c, s);
  }
});

Cidr('parseCidr: refuses what is not an address or prefix', () => {
  for (const s of ['', 'abc', 'host.example', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0.256', '::/129', 'fe80::1%eth0', '10.0.0.0/ 8']) {
    assert.is(parseCidr(s), null, s);
  }
});

Cidr('cidrContains: family-aware prefix match', () => {
  const v4 = parseCidr('172.16.0.0/12')!;
  assert.ok(cidrContains(v4, '172.16.0.1'));
  assert.ok(cidrContains(v4, '172.31.255.255'));
  assert.not.ok(cidrContains(v4, '172.32.0.0'));
  assert.not.ok(cidrContains(v4, '::ffff:172.16.0.1'));
  const v6 = parseCidr('2001:db8:abcd::/48')!;
  assert.ok(cidrContains(v6, '2001:db8:abcd:12::1'));
  assert.not.ok(cidrContains(v6, '2001:db8:abce::1'));
  assert.not.ok(cidrContains(v6, '172.16.0.1'));
});

Cidr('normalizeAddress: IPv4-mapped IPv6 becomes IPv4; other addresses unchanged', () => {
  assert.is(normalizeAddress('::ffff:192.0.2.1'), '192.0.2.1');
  assert.is(normalizeAddress('192.0.2.1'), '192.0.2.1');
  assert.is(normalizeAddress('::1'), '::1');
  assert.is(normalizeAddress('2001:db8::ffff:1'), '2001:db8::ffff:1');
  assert.is(normalizeAddress('::ffff:abcd'), '::ffff:abcd');
});

Cidr.run();

// --- client table -----------------------------------------------------------

Clients('most specific prefix wins, whatever the order given', () => {
  const specs = [spec('10.0.0.0/8', 'eight'), spec('10.1.0.0/16', 'sixteen'), spec('10.1.2.3', 'host')];
  for (const order of [specs, [...specs].reverse(), [specs[1]!, specs[2]!, specs[0]!]]) {
    const t = buildClientTable(order, 'flag', []);
    assert.is(secretOf(t, '10.1.2.3'), 'host');
    assert.is(secretOf(t, '10.1.2.4'), 'sixteen');
    assert.is(secretOf(t, '10.200.0.1'), 'eight');
    assert.is(t.lookup('11.0.0.1'), undefined);
    // Repeated lookups (cached) give the same answers.
    assert.is(secretOf(t, '10.1.2.3'), 'host');
    assert.is(t.lookup('11.0.0.1'), undefined);
  }
});

Clients('most specific wins across flag and stored clients', () => {
  const t = buildClientTable([spec('10.0.0.0/8', 'flag-wide')], 'env', [stored('10.5.0.0/16', 'stored-narrow'), stored('0.0.0.0', 'stored-any')]);
  assert.is(secretOf(t, '10.5.1.1'), 'stored-narrow');
  assert.is(t.lookup('10.5.1.1')?.source, 'db');
  assert.is(secretOf(t, '10.6.1.1'), 'flag-wide');
  assert.is(t.lookup('10.6.1.1')?.source, 'env');
  assert.is(secretOf(t, '8.8.8.8'), 'stored-any');
});

Clients('0.0.0.0 means any IPv4 client, and only IPv4', () => {
  const t = buildClientTable([spec('0.0.0.0', 'any')], 'flag', []);
  for (const a of ['1.2.3.4', '203.0.113.9', '255.255.255.255', '0.0.0.0']) assert.is(secretOf(t, a), 'any', a);
  assert.is(t.lookup('::1'), undefined);
  assert.is(t.lookup('2001:db8::1'), undefined);
  assert.is(t.lookup(normalizeAddress('::ffff:198.51.100.2'))?.secret.toString(), 'any');
});

Clients('IPv6 prefixes and hosts', () => {
  const t = buildClientTable([spec('2001:db8::/32', 'net'), spec('2001:db8::5', 'host'), spec('::1', 'loop')], 'flag', []);
  assert.is(secretOf(t, '2001:db8::5'), 'host');
  assert.is(secretOf(t, '2001:0db8:0000::0005'), 'host');
  assert.is(secretOf(t, '2001:db8:ffff::1'), 'net');
  assert.is(secretOf(t, '::1'), 'loop');
  assert.is(t.lookup('2001:db9::1'), undefined);
  assert.is(t.lookup('127.0.0.1'), undefined);
});

Clients('an IPv4 client is found from the IPv4-mapped address a dual-stack socket reports', () => {
  const t = buildClientTable([spec('192.0.2.0/24', 'v4')], 'flag', []);
  assert.is(secretOf(t, normalizeAddress('::ffff:192.0.2.44')), 'v4');
});

Clients('a flag client overrides a stored client with the same address (any spelling of it)', () => {
  const t = buildClientTable([spec('192.0.2.7', 'from-flag'), spec('10.0.0.0/8', 'flag-net')], 'flag', [stored('192.0.2.7/32', 'from-db', 'yes', true), stored('10.9.9.9/8', 'db-net'), stored('198.51.100.1', 'db-only')]);
  const c = t.lookup('192.0.2.7')!;
  assert.is(c.secret.toString(), 'from-flag');
  assert.is(c.source, 'flag');
  assert.is(c.id, undefined);
  assert.is(c.requireMessageAuthenticator, 'auto');
  assert.is(c.messageAuthenticatorSeen, false);
  assert.is(secretOf(t, '10.1.1.1'), 'flag-net');
  const dbOnly = t.lookup('198.51.100.1')!;
  assert.is(dbOnly.source, 'db');
  assert.is(dbOnly.secret.toString(), 'db-only');
  assert.is(t.all().length, 3);
});

Clients('stored clients with an unparsable address are skipped', () => {
  const t = buildClientTable([], 'flag', [stored('not-an-address', 'x'), stored('192.0.2.9', 'ok')]);
  assert.is(t.all().length, 1);
  assert.is(secretOf(t, '192.0.2.9'), 'ok');
});

// --- Message-Authenticator verdict ---------------------------------------------

const ACCEPT: MaVerdict = { accept: true, firstSeen: false };
const FIRST: MaVerdict = { accept: true, firstSeen: true };
const BAD: MaVerdict = { accept: false, reason: 'bad_message_authenticator' };
const MISSING: MaVerdict = { accept: false, reason: 'missing_message_authenticator' };

const TABLE: [RequireMa, boolean, MaCheck, MaVerdict][] = [
  ['yes', false, 'absent', MISSING],
  ['yes', false, 'valid', ACCEPT],
  ['yes', false, 'invalid', BAD],
  ['yes', true, 'absent', MISSING],
  ['yes', true, 'valid', ACCEPT],
  ['yes', true, 'invalid', BAD],
  ['no', false, 'absent', ACCEPT],
  ['no', false, 'valid', ACCEPT],
  ['no', false, 'invalid', BAD],
  ['no', true, 'absent', ACCEPT],
  ['no', true, 'valid', ACCEPT],
  ['no', true, 'invalid', BAD],
  ['auto', false, 'absent', ACCEPT],
  ['auto', false, 'valid', FIRST],
  ['auto', false, 'invalid', BAD],
  ['auto', true, 'absent', MISSING],
  ['auto', true, 'valid', ACCEPT],
  ['auto', true, 'invalid', BAD],
];

Clients('messageAuthenticatorVerdict: yes/no/auto x seen x absent/valid/invalid', () => {
  for (const [require, seen, ma, expected] of TABLE) {
    assert.equal(messageAuthenticatorVerdict({ requireMessageAuthenticator: require, messageAuthenticatorSeen: seen }, ma), expected, `${require} seen=${seen} ${ma}`);
  }
});

Clients('auto: once seen is recorded on the client, a later request without MA is refused', () => {
  const t = buildClientTable([spec('192.0.2.1', 's')], 'flag', []);
  const c = t.lookup('192.0.2.1')!;
  assert.equal(messageAuthenticatorVerdict(c, 'absent'), ACCEPT);
  const v = messageAuthenticatorVerdict(c, 'valid');
  assert.equal(v, FIRST);
  c.messageAuthenticatorSeen = true;
  assert.equal(messageAuthenticatorVerdict(t.lookup('192.0.2.1')!, 'absent'), MISSING);
});

Clients.run();
