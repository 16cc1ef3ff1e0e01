// app/pipe/frame.ts: the framing of the Windows logon pipe protocol v1 (4-byte little-endian
// length 1..65536, then UTF-8 JSON), the incremental FrameDecoder, and parseRequest's field rules.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeFrame, FrameDecoder, MAX_FRAME, parseRequest, SCENARIOS, type ParseResult } from '../../app/pipe/frame.js';

const Frame = suite('pipe/frame');

/** A frame with this length prefix and body, whatever encodeFrame would allow. */
function raw(body: Buffer | string, length?: number): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = Buffer.alloc(4);
  head.writeUInt32LE(length ?? b.length, 0);
  return Buffer.concat([head, b]);
}

/** A JSON object whose UTF-8 encoding is exactly `size` bytes. */
function objectOfSize(size: number): Record<string, unknown> {
  const base = JSON.stringify({ id: 1, op: 'health', pad: '' }).length;
  const o = { id: 1, op: 'health', pad: 'x'.repeat(size - base) };
  assert.is(Buffer.byteLength(JSON.stringify(o)), size);
  return o;
}

const parse = (v: unknown): ParseResult => parseRequest(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8'));
const auth = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id: 2, op: 'authenticate', username: 'alice', domain: 'CORP', workstation: 'PC-7', scenario: 'logon', ...extra });

function refused(r: ParseResult, id: number | undefined, message: RegExp, label = ''): void {
  assert.is(r.ok, false, `${label} accepted: ${JSON.stringify(r).slice(0, 200)}`);
  if (r.ok) return;
  assert.is(r.id, id);
  assert.match(r.message, message);
}

// --- encodeFrame ---------------------------------------------------------------

Frame('encodeFrame: 4-byte little-endian length of the UTF-8 body, then the JSON', () => {
  const f = encodeFrame({ id: 1, op: 'health', name: 'Zoë' });
  const body = JSON.stringify({ id: 1, op: 'health', name: 'Zoë' });
  assert.is(f.readUInt32LE(0), Buffer.byteLength(body));
  assert.is(f.length, 4 + Buffer.byteLength(body));
  assert.is(f.subarray(4).toString('utf8'), body);
  assert.equal([...f.subarray(0, 4)], [Buffer.byteLength(body), 0, 0, 0]);
});

Frame('encodeFrame -> FrameDecoder -> parseRequest round trip', () => {
  const req = { id: 42, op: 'authenticate', username: 'Ängström', domain: 'CORP', workstation: 'PC-7', scenario: 'rdp', code: '123456' };
  const d = new FrameDecoder();
  const { frames, error } = d.push(encodeFrame(req));
  assert.is(error, undefined);
  assert.is(frames.length, 1);
  const r = parseRequest(frames[0]!);
  assert.equal(r, { ok: true, request: { ...req, scenario: 'rdp' } });
  assert.is(d.pending(), 0);
});

Frame('encodeFrame limits: a 65536-byte body is allowed, 65537 bytes (counted in UTF-8) are not', () => {
  const max = encodeFrame(objectOfSize(MAX_FRAME));
  assert.is(max.length, 4 + MAX_FRAME);
  assert.is(max.readUInt32LE(0), MAX_FRAME);
  assert.throws(() => encodeFrame(objectOfSize(MAX_FRAME + 1)), (e: unknown) => e instanceof RangeError);
  // 'é' is 2 bytes: a string of 32767 of them is 65534 bytes + 2 quotes = 65536 for a bare string...
  const base = Buffer.byteLength(JSON.stringify({ s: '' }));
  const fits = { s: 'é'.repeat((MAX_FRAME - base) / 2) };
  assert.is(Buffer.byteLength(JSON.stringify(fits)), MAX_FRAME);
  assert.is(encodeFrame(fits).readUInt32LE(0), MAX_FRAME);
  // ...while one more character is still far under 65536 JS characters but over in bytes.
  const over = { s: 'é'.repeat((MAX_FRAME - base) / 2 + 1) };
  assert.ok(JSON.stringify(over).length < MAX_FRAME);
  assert.throws(() => encodeFrame(over), (e: unknown) => e instanceof RangeError);
  assert.is(MAX_FRAME, 65536);
});

// --- FrameDecoder ----------------------------------------------------------------

Frame('decoder: a frame fed byte by byte comes out once, at its last byte', () => {
  const f = encodeFrame({ id: 7, op: 'health' });
  const d = new FrameDecoder();
  for (let i = 0; i < f.length - 1; i++) {
    const r = d.push(f.subarray(i, i + 1));
    assert.equal(r.frames, [], `frame out early at byte ${i}`);
    assert.is(r.error, undefined);
    assert.is(d.pending(), i + 1);
  }
  const last = d.push(f.subarray(f.length - 1));
  assert.is(last.frames.length, 1);
  assert.is(last.frames[0]!.toString('utf8'), '{"id":7,"op":"health"}');
  assert.is(d.pending(), 0);
});

Frame('decoder: several frames in one chunk, and a chunk that ends inside the next frame`s header', () => {
  const a = encodeFrame({ id: 1, op: 'health' });
  const b = encodeFrame({ id: 2, op: 'health' });
  const c = encodeFrame({ id: 3, op: 'health', pad: 'xyz' });
  const all = Buffer.concat([a, b, c]);
  const d = new FrameDecoder();
  const cut = a.length + b.length + 2; // two bytes of c's length prefix
  const first = d.push(all.subarray(0, cut));
  assert.equal(
    first.frames.map((f) => JSON.parse(f.toString()) as unknown),
    [
      { id: 1, op: 'health' },
      { id: 2, op: 'health' },
    ],
  );
  assert.is(d.pending(), 2);
  const rest = d.push(all.subarray(cut));
  assert.equal(
    rest.frames.map((f) => JSON.parse(f.toString()) as unknown),
    [{ id: 3, op: 'health', pad: 'xyz' }],
  );
  assert.is(d.pending(), 0);
});

Frame('decoder: the returned frames stay intact after more data arrives', () => {
  const d = new FrameDecoder();
  const one = encodeFrame({ id: 1, op: 'health' });
  const two = encodeFrame({ id: 2, op: 'health' });
  const chunk = Buffer.concat([one, two.subarray(0, 3)]);
  const got = d.push(chunk).frames;
  d.push(two.subarray(3));
  assert.is(got[0]!.toString(), '{"id":1,"op":"health"}');
});

Frame('decoder: exactly 65536 bytes is one frame, fed whole or in pieces', () => {
  const body = Buffer.alloc(MAX_FRAME, 0x61);
  const whole = new FrameDecoder().push(raw(body));
  assert.is(whole.error, undefined);
  assert.is(whole.frames.length, 1);
  assert.is(whole.frames[0]!.length, MAX_FRAME);
  const d = new FrameDecoder();
  const f = raw(body);
  let n = 0;
  for (let i = 0; i < f.length; i += 1000) {
    const r = d.push(f.subarray(i, i + 1000));
    assert.is(r.error, undefined);
    n += r.frames.length;
  }
  assert.is(n, 1);
  assert.is(d.pending(), 0);
});

Frame('decoder: a length of 65537 is too_long as soon as the prefix is complete, without waiting for the body', () => {
  const d = new FrameDecoder();
  const head = raw(Buffer.alloc(0), MAX_FRAME + 1);
  assert.equal(d.push(head.subarray(0, 3)), { frames: [] });
  assert.equal(d.push(head.subarray(3)), { frames: [], error: 'too_long' });
  assert.is(d.pending(), 0);
  assert.equal(new FrameDecoder().push(raw(Buffer.alloc(0), 0xffffffff)), { frames: [], error: 'too_long' });
});

Frame('decoder: a zero length is zero_length', () => {
  assert.equal(new FrameDecoder().push(Buffer.from([0, 0, 0, 0])), { frames: [], error: 'zero_length' });
});

Frame('decoder: frames before a bad length in the same chunk are still returned with the error', () => {
  const d = new FrameDecoder();
  const r = d.push(Buffer.concat([encodeFrame({ id: 1, op: 'health' }), Buffer.from([0, 0, 0, 0]), encodeFrame({ id: 2, op: 'health' })]));
  assert.is(r.error, 'zero_length');
  assert.equal(
    r.frames.map((f) => f.toString()),
    ['{"id":1,"op":"health"}'],
  );
});

Frame('decoder: errors are terminal; later valid frames are not decoded', () => {
  for (const [bad, error] of [
    [Buffer.from([0, 0, 0, 0]), 'zero_length'],
    [raw(Buffer.alloc(0), MAX_FRAME + 1), 'too_long'],
  ] as const) {
    const d = new FrameDecoder();
    assert.is(d.push(bad).error, error);
    assert.equal(d.push(encodeFrame({ id: 1, op: 'health' })), { frames: [], error });
    assert.equal(d.push(encodeFrame({ id: 2, op: 'health' })), { frames: [], error });
    assert.is(d.pending(), 0);
  }
});

Frame('decoder: an empty chunk changes nothing', () => {
  const d = new FrameDecoder();
  assert.equal(d.push(Buffer.alloc(0)), { frames: [] });
  const f = encodeFrame({ id: 1, op: 'health' });
  d.push(f.subarray(0, 5));
  assert.equal(d.push(Buffer.alloc(0)), { frames: [] });
  assert.is(d.pending(), 5);
  assert.is(d.push(f.subarray(5)).frames.length, 1);
});

// --- parseRequest ------------------------------------------------------------------

Frame('parseRequest: health', () => {
  assert.equal(parse({ id: 1, op: 'health' }), { ok: true, request: { id: 1, op: 'health' } });
  // Extra fields are ignored; id 0 and negative ids are integers too.
  assert.equal(parse({ id: 0, op: 'health', extra: [1, 2] }), { ok: true, request: { id: 0, op: 'health' } });
  assert.equal(parse({ id: -5, op: 'health' }), { ok: true, request: { id: -5, op: 'health' } });
  assert.equal(parse({ id: Number.MAX_SAFE_INTEGER, op: 'health' }), { ok: true, request: { id: Number.MAX_SAFE_INTEGER, op: 'health' } });
});

Frame('parseRequest: authenticate with a code, and without one (absent or null)', () => {
  assert.equal(parse(auth({ code: '123456' })), {
    ok: true,
    request: { id: 2, op: 'authenticate', username: 'alice', domain: 'CORP', workstation: 'PC-7', scenario: 'logon', code: '123456' },
  });
  const without = { ok: true, request: { id: 2, op: 'authenticate', username: 'alice', domain: 'CORP', workstation: 'PC-7', scenario: 'logon', code: undefined } };
  assert.equal(parse(auth()), without);
  assert.equal(parse(auth({ code: null })), without);
});

Frame('parseRequest: every scenario is accepted; others, a missing one and a non-string are refused', () => {
  assert.equal([...SCENARIOS], ['logon', 'unlock', 'rdp', 'credui']);
  for (const s of SCENARIOS) {
    const r = parse(auth({ scenario: s }));
    assert.ok(r.ok && r.request.op === 'authenticate' && r.request.scenario === s, s);
  }
  for (const s of ['sudo', 'LOGON', '', 1, null, ['logon']]) refused(parse(auth({ scenario: s })), 2, /scenario/);
  const { scenario: _omit, ...noScenario } = auth();
  refused(parse(noScenario), 2, /scenario/);
});

Frame('parseRequest: domain and workstation may be absent or null (empty), but must be short strings', () => {
  const { domain: _d, workstation: _w, ...bare } = auth();
  const r = parse(bare);
  assert.ok(r.ok && r.request.op === 'authenticate' && r.request.domain === '' && r.request.workstation === '', JSON.stringify(r));
  const n = parse(auth({ domain: null, workstation: null }));
  assert.ok(n.ok && n.request.op === 'authenticate' && n.request.domain === '' && n.request.workstation === '', JSON.stringify(n));
  for (const field of ['domain', 'workstation']) {
    refused(parse(auth({ [field]: 7 })), 2, /domain and workstation/);
    refused(parse(auth({ [field]: { x: 1 } })), 2, /domain and workstation/);
    refused(parse(auth({ [field]: 'x'.repeat(257) })), 2, /domain and workstation/);
    assert.ok(parse(auth({ [field]: 'x'.repeat(256) })).ok, `${field} of 256`);
  }
});

Frame('parseRequest: the username is required, non-blank, a string of at most 256 characters', () => {
  const { username: _u, ...noUser } = auth();
  refused(parse(noUser), 2, /username/);
  for (const u of ['', '   ', 42, null, ['alice'], 'a'.repeat(257)]) refused(parse(auth({ username: u })), 2, /username/);
  const long = parse(auth({ username: 'a'.repeat(256) }));
  assert.ok(long.ok, JSON.stringify(long).slice(0, 100));
  // Spaces around a name are kept here; the handler trims.
  const spaced = parse(auth({ username: ' alice ' }));
  assert.ok(spaced.ok && spaced.request.op === 'authenticate' && spaced.request.username === ' alice ');
});

Frame('parseRequest: the code must be a string of at most 16 characters when present', () => {
  assert.ok(parse(auth({ code: '1'.repeat(16) })).ok);
  assert.ok(parse(auth({ code: '' })).ok, 'an empty code is a code not typed (the handler asks for one)');
  for (const c of ['1'.repeat(17), 123456, true, { c: '1' }, ['123456']]) refused(parse(auth({ code: c })), 2, /code must be a short string/);
});

Frame('parseRequest: the optional enforced flag (whether the provider hides other sign-in options) is a boolean', () => {
  for (const v of [true, false]) {
    const r = parse(auth({ enforced: v }));
    assert.ok(r.ok && r.request.op === 'authenticate' && r.request.enforced === v);
  }
  const absent = parse(auth({}));
  assert.ok(absent.ok && absent.request.op === 'authenticate' && absent.request.enforced === undefined, 'absent: an older provider, unknown');
  assert.ok(parse(auth({ enforced: null })).ok);
  for (const v of ['yes', 1, 0, {}, []]) refused(parse(auth({ enforced: v })), 2, /enforced must be true or false/);
});

Frame('parseRequest: the optional number_matching flag (the client can show a number while it waits) is a boolean; only true asks for it', () => {
  const yes = parse(auth({ number_matching: true }));
  assert.ok(yes.ok && yes.request.op === 'authenticate' && yes.request.numberMatching === true);
  for (const v of [false, null, undefined]) {
    const r = parse(auth({ number_matching: v }));
    assert.ok(r.ok && r.request.op === 'authenticate' && r.request.numberMatching === undefined, String(v));
  }
  for (const v of ['true', 1, {}, []]) refused(parse(auth({ number_matching: v })), 2, /number_matching must be true or false/);
});

Frame('parseRequest: control characters in any text field are refused (C0 and DEL, as everywhere else in the app)', () => {
  for (const ch of ['\u0000', '\n', '\r', '\t', '\u001b', '\u001f', '\u007f']) {
    const label = `U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    refused(parse(auth({ username: `al${ch}ice` })), 2, /username/, `username with ${label}`);
    refused(parse(auth({ domain: `CO${ch}RP` })), 2, /domain and workstation/, `domain with ${label}`);
    refused(parse(auth({ workstation: `PC${ch}7` })), 2, /domain and workstation/, `workstation with ${label}`);
    refused(parse(auth({ code: `123${ch}456` })), 2, /code/, `code with ${label}`);
  }
  // Printable non-ASCII is fine.
  assert.ok(parse(auth({ username: 'zoë', workstation: 'ПК-7' })).ok);
});

Frame('parseRequest: a missing or non-integer id is refused with no id to answer', () => {
  refused(parse({ op: 'health' }), undefined, /integer id/);
  for (const id of ['1', 1.5, null, true, [1], { n: 1 }, Number.MAX_SAFE_INTEGER + 1, 1e300]) refused(parse({ id, op: 'health' }), undefined, /integer id/);
  refused(parse('{"id":NaN,"op":"health"}'), undefined, /not JSON/);
});

Frame('parseRequest: an unknown or missing op is refused, keeping the id for the reply', () => {
  refused(parse({ id: 9, op: 'shutdown' }), 9, /unknown op "shutdown"/);
  refused(parse({ id: 9, op: 'HEALTH' }), 9, /unknown op/);
  refused(parse({ id: 9 }), 9, /unknown op/);
  refused(parse({ id: 9, op: 5 }), 9, /unknown op/);
  const long = parse({ id: 9, op: 'x'.repeat(10_000) });
  assert.ok(!long.ok && long.message.length < 60, 'the op is quoted only in part');
});

Frame('parseRequest: non-JSON, empty, JSON that is not an object', () => {
  refused(parse('not json'), undefined, /not JSON/);
  refused(parse('{"id":1,"op":"health"'), undefined, /not JSON/);
  refused(parseRequest(Buffer.alloc(0)), undefined, /not JSON/);
  refused(parse('[{"id":1,"op":"health"}]'), undefined, /not a JSON object/);
  refused(parse('null'), undefined, /not a JSON object/);
  refused(parse('"health"'), undefined, /not a JSON object/);
  refused(parse('42'), undefined, /not a JSON object/);
});

Frame('parseRequest: invalid UTF-8 does not throw', () => {
  const r = parseRequest(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])); // {"\xff\xfe":1}
  refused(r, undefined, /integer id/);
});

Frame.run();
