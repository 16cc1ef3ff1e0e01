// Policy rules matched by group and client, in order; reply attributes encoded by name.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPolicyTable, type PolicyRule } from '../../app/mfa/policy.js';
import { parseReplyAttribute, parseReplyAttributes } from '../../app/radius/dictionary.js';
import { decodeVsa } from '../../app/radius/codec.js';

const P = suite('mfa/policy and radius/dictionary');

const rule = (name: string, o: Partial<PolicyRule> = {}): PolicyRule => ({ id: 0, name, groups: [], client: undefined, action: 'require', factors: 'any', replyAttributes: '', ...o });

P('the first rule whose groups and client match decides; groups are read only when a rule names some', async () => {
  const reads: string[] = [];
  const groups: Record<string, string[]> = { alice: ['vpn-users'], gina: ['breakglass', 'vpn-users'] };
  const t = createPolicyTable([rule('lab', { client: 'lab', action: 'deny' }), rule('bg', { groups: ['breakglass'], action: 'password_only' }), rule('vpn', { groups: ['vpn-users'] })], async (u) => {
    reads.push(u);
    return new Set(groups[u] ?? []);
  });
  assert.is((await t.match('gina', 'vpn'))?.name, 'bg');
  assert.is((await t.match('alice', 'vpn'))?.name, 'vpn');
  assert.is((await t.match('alice', 'lab'))?.name, 'lab');
  assert.is((await t.match('alice', undefined))?.name, 'vpn', 'a client rule never applies where there is no client (Windows)');
  assert.is(await t.match('nobody', 'vpn'), undefined);
  assert.equal(reads, ['gina', 'alice', 'alice', 'alice', 'nobody']);
  const noGroups: string[] = [];
  await createPolicyTable([rule('all', { action: 'deny' })], async (u) => (noGroups.push(u), new Set())).match('x', undefined);
  assert.equal(noGroups, []);
});

P('reply attributes by dictionary name: strings, octets, integers (named values), addresses, tags, vendor attributes', () => {
  assert.equal(parseReplyAttribute('Filter-Id = "full tunnel"'), { type: 11, value: Buffer.from('full tunnel') });
  assert.equal(parseReplyAttribute('class = 0x0102'), { type: 25, value: Buffer.from([1, 2]) });
  assert.equal(parseReplyAttribute('Session-Timeout = 3600'), { type: 27, value: Buffer.from([0, 0, 0x0e, 0x10]) });
  assert.equal(parseReplyAttribute('Service-Type = Framed-User'), { type: 6, value: Buffer.from([0, 0, 0, 2]) });
  assert.equal(parseReplyAttribute('Framed-IP-Address = 10.1.2.3'), { type: 8, value: Buffer.from([10, 1, 2, 3]) });
  assert.equal(parseReplyAttribute('Tunnel-Type = VLAN'), { type: 64, value: Buffer.from([0, 0, 0, 13]) });
  const vsa = parseReplyAttribute('Cisco-AVPair = "shell:priv-lvl=15"');
  assert.ok(typeof vsa !== 'string' && vsa.type === 26);
  assert.equal(decodeVsa((vsa as { value: Buffer }).value), { vendor: 9, subs: [{ type: 1, value: Buffer.from('shell:priv-lvl=15') }] });
  const raw = parseReplyAttribute('Vendor-25461-Attr-5 = admins');
  assert.equal(decodeVsa((raw as { value: Buffer }).value), { vendor: 25461, subs: [{ type: 5, value: Buffer.from('admins') }] });
  assert.equal(parseReplyAttribute('Attr-230 = 0xff'), { type: 230, value: Buffer.from([0xff]) });
});

P('what a rule may not send, or cannot be encoded, is refused with the reason', () => {
  for (const [line, why] of [
    ['User-Name = x', /unknown attribute/],
    ['Attr-80 = 0x00', /cannot be set by a rule/],
    ['Attr-26 = 0x00', /cannot be set by a rule/],
    ['Session-Timeout = soon', /is not a number/],
    ['Tunnel-Type = Carrier-Pigeon', /or one of PPTP, L2TP, GRE, VLAN/],
    ['Framed-IP-Address = 10.0.0.300', /not an IPv4 address/],
    ['Filter-Id = ""', /empty/],
    ['Filter-Id', /is not Name = value/],
    [`Filter-Id = ${'x'.repeat(300)}`, /longer than 247 bytes/],
  ] as const) {
    const r = parseReplyAttribute(line);
    assert.type(r, 'string', line);
    assert.match(r as string, why, line);
  }
  assert.equal(parseReplyAttributes('\nClass = a\n\n'), { ok: true, attributes: [{ type: 25, value: Buffer.from('a') }] });
  assert.equal(parseReplyAttributes('Class = a\nNope = 1'), { ok: false, problem: 'unknown attribute Nope (known: Service-Type, Framed-IP-Address, Framed-IP-Netmask, Filter-Id, Reply-Message, Class, Session-Timeout, Idle-Timeout, Tunnel-Type, Tunnel-Medium-Type, Tunnel-Private-Group-Id, Acct-Interim-Interval, Framed-Pool, Cisco-AVPair, ASA-Group-Policy, Juniper-Local-User-Name, Aruba-User-Role, Fortinet-Group-Name, PaloAlto-User-Group; or Attr-N, Vendor-V-Attr-N)' });
});

P.run();
