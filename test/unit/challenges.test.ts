// app/radius/challenges.ts: Gatehouse's own State values (recognisable, single use, expiring),
// and splitting a code appended to the password ("password,123456").
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { openStore, type Store } from '../../app/db/open.js';
import { putChallenge, sweepChallenges, takeChallenge } from '../../app/db/queries/challenges.js';
import { createSealer } from '../../app/db/secrets.js';
import { type ChallengeStore, createChallengeStore, createSharedChallengeStore, type PendingChallenge, splitAppendedCode } from '../../app/radius/challenges.js';

const KEY = randomBytes(32);

interface Ctx {
  store: ChallengeStore;
  t: number;
  /** Every buffer the injected rng handed out, in order. */
  randoms: Buffer[];
}

const START = 1_700_000_000_000;
const PREFIX = Buffer.from([0x47, 0x48, 0x01]); // 'GH\x01'

const Challenges = suite<Ctx>('radius/challenges', {} as Ctx);

Challenges.before.each((ctx) => {
  ctx.t = START;
  ctx.randoms = [];
  let n = 0;
  ctx.store = createChallengeStore(
    (len) => {
      n++;
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = (n * 37 + i) & 0xff;
      ctx.randoms.push(b);
      return b;
    },
    () => ctx.t,
  );
});

const challenge = (username: string, expires: number): PendingChallenge => ({
  client: 'vpn-1',
  username,
  expires,
  downstreamAttributes: [{ type: 25, value: Buffer.from(`class-${username}`) }],
  downstreamSecret: Buffer.from('downstream-secret'),
  downstreamAuthenticator: Buffer.alloc(16, 0xd1),
});

// --- issue / isOurs -------------------------------------------------------------

Challenges('issue returns a 19-byte State: GH\\x01 then 16 bytes from the injected rng', async ({ store, randoms, t }) => {
  const state = await store.issue(challenge('alice', t + 60_000));
  assert.is(state.length, 19);
  assert.ok(state.subarray(0, 3).equals(PREFIX));
  assert.is(randoms.length, 1);
  assert.is(randoms[0]!.length, 16);
  assert.ok(state.subarray(3).equals(randoms[0]!));
  assert.is(store.isOurs(state), true);
  assert.is(store.size(), 1);
});

Challenges('each issued State is distinct and leads to its own challenge', async ({ store, t }) => {
  const a = await store.issue(challenge('alice', t + 60_000));
  const b = await store.issue(challenge('bob', t + 60_000));
  assert.not.ok(a.equals(b));
  assert.is(store.size(), 2);
  const tb = await store.take(b);
  assert.ok(tb.found && tb.challenge.username === 'bob');
  const ta = await store.take(a);
  assert.ok(ta.found && ta.challenge.username === 'alice');
});

Challenges('isOurs is false for other States: different prefix or length', async ({ store, t }) => {
  const ours = await store.issue(challenge('alice', t + 60_000));
  const otherPrefix = Buffer.from(ours);
  otherPrefix[2] = 0x02;
  assert.is(store.isOurs(otherPrefix), false);
  const lower = Buffer.from(ours);
  lower[0] = 0x67; // 'g'
  assert.is(store.isOurs(lower), false);
  assert.is(store.isOurs(ours.subarray(0, 18)), false);
  assert.is(store.isOurs(Buffer.concat([ours, Buffer.from([0])])), false);
  assert.is(store.isOurs(PREFIX), false);
  assert.is(store.isOurs(Buffer.alloc(0)), false);
  assert.is(store.isOurs(Buffer.alloc(19)), false);
  // Any State of the right shape is ours, issued or not (so it never goes to the downstream server).
  assert.is(store.isOurs(Buffer.concat([PREFIX, Buffer.alloc(16, 0xee)])), true);
});

// --- take -----------------------------------------------------------------------

Challenges('take returns the challenge once, then state_expired', async ({ store, t }) => {
  const c = challenge('alice', t + 60_000);
  const state = await store.issue(c);
  const first = await store.take(state);
  assert.is(first.found, true);
  if (first.found) {
    assert.equal(first.challenge, c);
    assert.ok(first.challenge.downstreamSecret.equals(c.downstreamSecret));
  }
  assert.equal(await store.take(state), { found: false, reason: 'state_expired' });
  assert.is(store.size(), 0);
});

Challenges('take works with a copy of the State (as decoded from a new packet)', async ({ store, t }) => {
  const state = await store.issue(challenge('alice', t + 60_000));
  const copy = Buffer.from(state.toString('hex'), 'hex');
  assert.is((await store.take(copy)).found, true);
});

Challenges('an expired challenge gives state_expired and is forgotten', async (ctx) => {
  const state = await ctx.store.issue(challenge('alice', START + 60_000));
  ctx.t = START + 60_001;
  assert.equal(await ctx.store.take(state), { found: false, reason: 'state_expired' });
  assert.is(ctx.store.size(), 0);
  ctx.t = START;
  assert.equal(await ctx.store.take(state), { found: false, reason: 'state_expired' });
});

Challenges('a challenge expires at `expires` exactly, and is live one millisecond before', async (ctx) => {
  const a = await ctx.store.issue(challenge('alice', START + 60_000));
  const b = await ctx.store.issue(challenge('bob', START + 60_000));
  ctx.t = START + 59_999;
  assert.is((await ctx.store.take(a)).found, true);
  ctx.t = START + 60_000;
  assert.equal(await ctx.store.take(b), { found: false, reason: 'state_expired' });
});

Challenges('a State that was not issued (forged, with our prefix) gives state_expired', async ({ store, t }) => {
  const real = await store.issue(challenge('alice', t + 60_000));
  const forged = Buffer.from(real);
  forged[18] = forged[18]! ^ 0x01;
  assert.equal(await store.take(forged), { found: false, reason: 'state_expired' });
  assert.equal(await store.take(Buffer.concat([PREFIX, Buffer.alloc(16)])), { found: false, reason: 'state_expired' });
  // The forged attempt does not consume the real one.
  assert.is((await store.take(real)).found, true);
});

Challenges('expired challenges are dropped when new ones are issued', async (ctx) => {
  await ctx.store.issue(challenge('a', START + 1_000));
  await ctx.store.issue(challenge('b', START + 2_000));
  const live = await ctx.store.issue(challenge('c', START + 60_000));
  assert.is(ctx.store.size(), 3);
  ctx.t = START + 5_000;
  const d = await ctx.store.issue(challenge('d', ctx.t + 60_000));
  assert.is(ctx.store.size(), 2);
  assert.is((await ctx.store.take(live)).found, true);
  assert.is((await ctx.store.take(d)).found, true);
});

// --- splitAppendedCode ------------------------------------------------------------

const split = (password: string | Buffer, delimiter = ',', digits = 6) => {
  const r = splitAppendedCode(typeof password === 'string' ? Buffer.from(password, 'utf8') : password, delimiter, digits);
  return r === undefined ? undefined : { password: r.password.toString('utf8'), code: r.code, raw: r.password };
};

Challenges("splitAppendedCode: 'pw,123456' gives password 'pw' and code '123456'", () => {
  const r = split('pw,123456');
  assert.is(r?.password, 'pw');
  assert.is(r?.code, '123456');
  assert.ok(Buffer.isBuffer(r?.raw));
});

Challenges('splitAppendedCode splits at the last delimiter', () => {
  const r = split('a,b,123456');
  assert.is(r?.password, 'a,b');
  assert.is(r?.code, '123456');
  assert.is(split('pass,word,,654321')?.password, 'pass,word,');
  assert.is(split('111111,222222')?.password, '111111');
  assert.is(split('111111,222222')?.code, '222222');
});

Challenges('splitAppendedCode: wrong digit count, non-digits, no delimiter, delimiter first or empty code give undefined', () => {
  assert.is(split('pw,12345'), undefined);
  assert.is(split('pw,1234567'), undefined);
  assert.is(split('pw,12a456'), undefined);
  assert.is(split('pw,12345 '), undefined);
  assert.is(split('pw, 12345'), undefined);
  assert.is(split('pw,-12345'), undefined);
  assert.is(split('pw,１２３４５６'), undefined); // full-width digits
  assert.is(split('pw123456'), undefined);
  assert.is(split('123456'), undefined);
  assert.is(split(',123456'), undefined);
  assert.is(split('pw,'), undefined);
  assert.is(split('pw,123456,'), undefined);
  assert.is(split('pw,123456,abc'), undefined);
  assert.is(split(''), undefined);
});

Challenges('splitAppendedCode with 8 digits', () => {
  const r = split('pw,12345678', ',', 8);
  assert.is(r?.password, 'pw');
  assert.is(r?.code, '12345678');
  assert.is(split('pw,123456', ',', 8), undefined);
  assert.is(split('pw,12345678', ',', 6), undefined);
});

Challenges('splitAppendedCode handles a multi-byte delimiter by bytes', () => {
  const r = split('pw§123456', '§');
  assert.is(r?.password, 'pw');
  assert.is(r?.code, '123456');
  assert.ok(r?.raw.equals(Buffer.from('pw', 'utf8')));
  assert.is(split('p§w§123456', '§')?.password, 'p§w');
  // Only the whole delimiter counts: one of its bytes alone does not.
  assert.is(split(Buffer.concat([Buffer.from('pw'), Buffer.from([0xa7]), Buffer.from('123456')]), '§'), undefined);
  assert.is(split('pw,123456', '§'), undefined);
  assert.is(split('pw::123456', '::')?.password, 'pw');
  assert.is(split('pw:123456', '::'), undefined);
});

Challenges('splitAppendedCode keeps a UTF-8 password before the delimiter byte for byte', () => {
  const r = split('pässwörd €,123456');
  assert.is(r?.password, 'pässwörd €');
  assert.ok(r?.raw.equals(Buffer.from('pässwörd €', 'utf8')));
  assert.is(r?.code, '123456');
  assert.is(split('日本語,654321')?.password, '日本語');
});

Challenges.run();

// --- several appliances: the challenges in the shared store (here a real SQLite table) --------

const Shared = suite<{ db: Store; t: number }>('radius/challenges in the shared store', { t: START } as { db: Store; t: number });
Shared.before.each((ctx) => {
  ctx.db = openStore(':memory:');
  ctx.t = START;
});
Shared.after.each((ctx) => ctx.db.close());

const node = (ctx: { db: Store; t: number }, key = KEY) =>
  createSharedChallengeStore({ put: (s, p, e) => putChallenge(ctx.db, s, p, e), take: (s) => takeChallenge(ctx.db, s), sweep: (n) => sweepChallenges(ctx.db, n) }, createSealer(key), randomBytes, () => ctx.t);

Shared('a State issued by one appliance is answered on another, once; the payload is sealed', async (ctx) => {
  const a = node(ctx);
  const b = node(ctx);
  const c = challenge('alice', START + 60_000);
  const state = await a.issue(c);
  assert.ok(a.isOurs(state) && b.isOurs(state));
  assert.is(a.size(), 1);
  const row = ctx.db.sqlite.prepare('SELECT payload_sealed FROM radius_challenges').get() as { payload_sealed: Buffer };
  assert.not.ok(row.payload_sealed.includes(Buffer.from('downstream-secret')), 'the downstream secret in the clear');
  assert.not.ok(row.payload_sealed.includes(Buffer.from('alice')));
  const taken = await b.take(Buffer.from(state));
  assert.ok(taken.found);
  if (taken.found) {
    assert.equal({ ...taken.challenge }, { ...c });
    assert.ok(taken.challenge.downstreamAttributes[0]!.value.equals(Buffer.from('class-alice')));
  }
  assert.equal(await a.take(state), { found: false, reason: 'state_expired' }, 'taken once, whichever appliance asks');
  assert.is(a.size(), 0);
});

Shared('the same answer at two appliances at once: one gets the challenge', async (ctx) => {
  const a = node(ctx);
  const b = node(ctx);
  const state = await a.issue(challenge('bob', START + 60_000));
  const both = await Promise.all([a.take(state), b.take(state), a.take(state), b.take(state)]);
  assert.is(both.filter((r) => r.found).length, 1);
});

Shared('expired challenges are refused and swept from the store; another master key cannot open one', async (ctx) => {
  const a = node(ctx);
  const old = await a.issue(challenge('carol', START + 60_000));
  ctx.t = START + 60_000;
  assert.equal(await a.take(old), { found: false, reason: 'state_expired' });
  await a.issue(challenge('dave', START + 120_000));
  ctx.t = START + 200_000;
  await a.issue(challenge('erin', START + 260_000));
  assert.is((ctx.db.sqlite.prepare('SELECT count(*) AS n FROM radius_challenges').get() as { n: number }).n, 1, 'the ones whose time was up were swept');
  const foreign = node(ctx, randomBytes(32));
  const st = await a.issue(challenge('fred', START + 300_000));
  await foreign.take(st).then(
    () => assert.unreachable('opened with another key'),
    (e: Error) => assert.match(e.message, /./),
  );
});

Shared.run();
