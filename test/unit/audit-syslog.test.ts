// app/audit/syslog.ts: audit records as RFC 5424 messages (facility authpriv, severity from the
// outcome, APP-NAME gatehouse, MSGID the event, the export's JSON line as an all-ASCII MSG) and
// RFC 6587 octet-counted frames.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditRecord } from '../../app/audit/chain.js';
import { jsonLine } from '../../app/audit/export.js';
import { asciiJson, headerField, octetCounted, syslogMessage, syslogOrigin } from '../../app/audit/syslog.js';

const S = suite('audit/syslog');

const record = (over: Partial<AuditRecord> = {}): AuditRecord => ({
  id: 42,
  time: Date.UTC(2026, 4, 1, 10, 0, 0, 123),
  event: 'radius.auth',
  outcome: 'accept',
  username: 'alice',
  reason: 'push_approved',
  source: '192.0.2.7:40000',
  client: 'vpn-1',
  actor: null,
  details: '{"factor":"push","packetId":7}',
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
  ...over,
});

/** RFC 5424: HEADER SP STRUCTURED-DATA SP MSG. */
const SYSLOG = /^<(\d{1,3})>1 (\S+) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) (-|\[.*?\]) (.*)$/s;

S('the message: authpriv, version 1, the record time in UTC, host, gatehouse, pid, the event, no structured data, the export line', () => {
  const origin = syslogOrigin('gate-1.example', 4242);
  const r = record();
  const msg = syslogMessage(r, origin);
  assert.is(msg, `<86>1 2026-05-01T10:00:00.123Z gate-1.example gatehouse 4242 radius.auth - ${jsonLine(r)}`);
  const m = SYSLOG.exec(msg)!;
  assert.ok(m, msg);
  assert.is(Math.floor(Number(m[1]) / 8), 10, 'facility authpriv');
  assert.equal(JSON.parse(m[8]!), { id: 42, time: '2026-05-01T10:00:00.123Z', event: 'radius.auth', outcome: 'accept', username: 'alice', reason: 'push_approved', source: '192.0.2.7:40000', client: 'vpn-1', actor: null, details: { factor: 'push', packetId: 7 }, hash: 'b'.repeat(64) });
  // No secret-bearing field: prevHash is not exported either.
  assert.not.match(msg, 'a'.repeat(64));
});

S('severity from the outcome: error 3, drop 4, reject and ok 5, accept and challenge 6', () => {
  const origin = syslogOrigin('h', 1);
  const pri = (outcome: AuditRecord['outcome']) => Number(/^<(\d+)>/.exec(syslogMessage(record({ outcome }), origin))![1]);
  assert.equal(
    (['error', 'drop', 'reject', 'ok', 'accept', 'challenge'] as const).map(pri),
    [83, 84, 85, 85, 86, 86],
  );
});

S('MSG is US-ASCII: other characters are JSON escapes that parse back to the same values', () => {
  const r = record({ username: 'jürgen', client: 'Büro "VPN"\nzwei', details: '{"message":"日本 😀"}' });
  const msg = syslogMessage(r, syslogOrigin('h', 1));
  assert.ok(/^[\x20-\x7e]*$/.test(msg), msg);
  const body = JSON.parse(msg.slice(msg.indexOf(' - ') + 3)) as Record<string, unknown>;
  assert.is(body['username'], 'jürgen');
  assert.is(body['client'], 'Büro "VPN"\nzwei');
  assert.equal(body['details'], { message: '日本 😀' });
  assert.is(asciiJson('"\u007f"'), '"\\u007f"');
});

S('header fields: printable ASCII only, bounded, "-" when empty (MSGID at most 32, HOSTNAME 255)', () => {
  assert.is(headerField('a b\tc\u00e9d', 32), 'abcd');
  assert.is(headerField('', 32), '-');
  assert.is(headerField('x'.repeat(40), 32), 'x'.repeat(32));
  assert.equal(syslogOrigin('  ', 7), { hostname: '-', procId: '7' });
  const msg = syslogMessage(record({ event: 'an.event.with a space and a very long name indeed' }), syslogOrigin('h', 1));
  assert.is(SYSLOG.exec(msg)![6], 'an.event.withaspaceandaverylongn');
});

S('octet counting (RFC 6587 3.4.1): the length in bytes, a space, the message', () => {
  assert.is(octetCounted('<86>1 x'), '7 <86>1 x');
  // Were anything not ASCII, the count is of bytes, not characters.
  assert.is(octetCounted('é'), '2 é');
  const msg = syslogMessage(record({ username: 'jürgen' }), syslogOrigin('h', 1));
  const framed = octetCounted(msg);
  const sp = framed.indexOf(' ');
  assert.is(Number(framed.slice(0, sp)), Buffer.byteLength(framed.slice(sp + 1)));
});

S.run();
