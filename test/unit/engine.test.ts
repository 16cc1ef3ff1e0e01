// app/mfa/engine.ts, the one second-factor decision, over a real (in-memory) store with sealed
// seeds and the real TOTP factor, lockout, push limits and pending approvals. The push service is
// a function that holds every approval until the test decides it.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import { createSharedPushLimiter } from '../../app/cluster/push-limits.js';
import { createSharedPushes } from '../../app/cluster/shared-pushes.js';
import { recordNode } from '../../app/db/queries/nodes.js';
import { createLogger } from '../../app/lib/log.js';
import * as assert from 'uvu/assert';
import { openAuditLog } from '../../app/audit/log.js';
import { parseServeOptions, resolveSettings } from '../../app/config.js';
import { openStore, type Store } from '../../app/db/open.js';
import { createUserFactorQueries, replaceTotpAccount, setUserLocked } from '../../app/db/queries/users.js';
import { createSealer, type Sealer } from '../../app/db/secrets.js';
import { Counters } from '../../app/lib/metrics.js';
import { canonicalUsername } from '../../app/lib/username.js';
import { createEngine, type DecideRequest, type Engine, type KnownSubject, type Origin, type Verdict } from '../../app/mfa/engine.js';
import type { ApprovalRequest, FactorOutcome } from '../../app/mfa/factor.js';
import { DEFAULT_TOTP, totp } from '../../app/mfa/otp.js';
import { createPendingApprovals } from '../../app/mfa/pending.js';
import { createPushLimiter } from '../../app/mfa/push-limits.js';
import { createTotpFactor } from '../../app/mfa/totp.js';

const START = 1_750_000_000_000;
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');

interface Held {
  req: ApprovalRequest;
  decide(o: FactorOutcome): void;
}

interface Ctx {
  store: Store;
  sealer: Sealer;
  engine: Engine;
  held: Held[];
  t: number;
  env: Record<string, string>;
  /** Whether a push service is configured. */
  push: boolean;
  /** Whether the push service lets the person pick a number (Gatehouse's own approver does). */
  picks: boolean;
}

const E = suite<Ctx>('mfa/engine', {} as Ctx);

async function build(ctx: Ctx, env: Record<string, string> = {}, push = true): Promise<void> {
  ctx.env = env;
  ctx.push = push;
  const settings = resolveSettings(parseServeOptions([], env).fixed, new Map()).settings;
  ctx.engine = createEngine({
    settings: () => settings,
    totp: createTotpFactor(createUserFactorQueries(ctx.store, ctx.sealer), () => ({ maxFailures: settings.totpMaxFailures, lockoutMs: settings.totpLockoutMinutes * 60_000 }), () => ctx.t),
    push: {
      configured: () => ctx.push,
      get picks() {
        return ctx.picks;
      },
      approve: (req) => new Promise<FactorOutcome>((resolve) => ctx.held.push({ req, decide: resolve })),
    },
    limits: createPushLimiter(() => ctx.t),
    pending: createPendingApprovals(),
    audit: (await openAuditLog(ctx.store, randomBytes(32), () => ctx.t)).auditor,
    counters: new Counters(),
    now: () => ctx.t,
  });
}

E.before.each(async (ctx) => {
  ctx.store = openStore(':memory:');
  ctx.sealer = createSealer(randomBytes(32));
  ctx.t = START;
  ctx.held = [];
  ctx.picks = true;
  await build(ctx);
});
E.after.each((ctx) => ctx.store.close());

const RADIUS: Origin = { door: 'radius', source: '192.0.2.10', nas: 'nas-1', station: '198.51.100.7', firstFactor: 'downstream-a' };

async function subject(ctx: Ctx, name: string): Promise<KnownSubject> {
  const s = await ctx.engine.subject(name);
  if (!s.ok) throw new Error(`${name}: ${s.problem}`);
  return s;
}

async function request(ctx: Ctx, name: string, extra: Partial<DecideRequest> = {}): Promise<DecideRequest> {
  return {
    subject: await subject(ctx, name),
    origin: RADIUS,
    push: { title: 'VPN', description: 'Allow {0}?', fingerprint: 'vpn' },
    view: { client: 'vpn', station: RADIUS.station },
    audit: { source: '192.0.2.10:4000', client: 'vpn' },
    ...extra,
  };
}

const tick = () => new Promise((r) => setImmediate(r));
const code = (ctx: Ctx, offset = 0) => totp(SEED, ctx.t + offset * 30_000, DEFAULT_TOTP);
function wrongCode(ctx: Ctx): string {
  const valid = [-1, 0, 1].map((o) => code(ctx, o));
  for (let i = 1; ; i++) {
    const c = String((i * 7919) % 1_000_000).padStart(6, '0');
    if (!valid.includes(c)) return c;
  }
}
const auditOf = (store: Store, event: string) => store.sqlite.prepare('SELECT username, reason FROM audit_log WHERE event = ? ORDER BY id').all(event) as { username: string; reason: string }[];

// --- one user, whatever the spelling ----------------------------------------------------------

E('canonical names: surrounding space, case and full-width forms are one user; inner space and control characters are refused', () => {
  for (const spelling of ['alice', 'alice ', ' Alice', 'ALICE', '\talice\n', 'ａｌｉｃｅ']) assert.equal(canonicalUsername(spelling), { ok: true, name: 'alice' }, JSON.stringify(spelling));
  for (const bad of ['', '   ', 'al ice', 'al\u00a0ice', 'alice\u0000', 'ali\u200bce', '\u202ealice', 'a'.repeat(254)]) assert.is(canonicalUsername(bad).ok, false, JSON.stringify(bad));
  assert.equal(canonicalUsername('alice@corp.example'), { ok: true, name: 'alice@corp.example' }, 'realms are kept unless stripping is on');
  for (const spelling of ['alice@corp.example', 'CORP\\alice', 'corp\\Alice@Corp.Example', 'Alice@x@corp.example']) {
    const expected = spelling === 'Alice@x@corp.example' ? 'alice@x' : 'alice';
    assert.equal(canonicalUsername(spelling, { stripRealm: true }), { ok: true, name: expected }, spelling);
  }
  assert.is(canonicalUsername('@corp.example', { stripRealm: true }).ok, false);
});

E("every spelling of an enrolled user gets that user's code challenge and lock", async (ctx) => {
  await replaceTotpAccount(ctx.store, ctx.sealer, 'alice', SEED, DEFAULT_TOTP);
  await build(ctx, { STRIP_REALM: 'yes' });
  for (const spelling of ['alice ', ' Alice', 'ALICE', 'alice@corp.example', 'CORP\\alice']) {
    const s = await subject(ctx, spelling);
    assert.is(s.name, 'alice');
    assert.is(s.codeDigits, 6, `${spelling}: known as a TOTP user before the password is checked`);
  }
  await setUserLocked(ctx.store, 'alice', true);
  for (const spelling of ['alice ', 'ALICE', 'alice@corp.example']) {
    assert.equal(await ctx.engine.decide(await request(ctx, spelling, { code: { text: code(ctx), how: 'appended' } })), { kind: 'reject', reason: 'locked', details: { factor: 'totp' } }, spelling);
  }
});

// --- TOTP --------------------------------------------------------------------------------------

E('TOTP: no code asks for one; a good code is accepted once (its step committed with the record); a replay is refused', async (ctx) => {
  await replaceTotpAccount(ctx.store, ctx.sealer, 'alice', SEED, DEFAULT_TOTP);
  assert.equal(await ctx.engine.decide(await request(ctx, 'alice')), { kind: 'code_required', reason: 'totp_challenge', details: { factor: 'totp' } });
  const ok = await ctx.engine.decide(await request(ctx, 'alice', { code: { text: code(ctx), how: 'challenge' } }));
  assert.is(ok.kind, 'accept');
  assert.is(ok.reason, 'totp_ok');
  assert.type((ok as Extract<Verdict, { kind: 'accept' }>).commit, 'function', 'the step is handed to the door to commit with its audit record');
  // Before the commit, the same code is refused from memory; after it, from the store.
  assert.equal(await ctx.engine.decide(await request(ctx, 'alice', { code: { text: code(ctx), how: 'challenge' } })), { kind: 'reject', reason: 'totp_replayed', details: { factor: 'totp' } });
  ctx.store.sqlite.transaction(() => (ok as { commit: () => void }).commit())();
  assert.equal(await ctx.engine.decide(await request(ctx, 'ALICE', { code: { text: code(ctx), how: 'appended' } })), { kind: 'reject', reason: 'totp_replayed', details: { factor: 'totp', appendedCode: true } });
});

E('TOTP: 200 parallel wrong codes lock the user; the right code sent after them is refused, and one lockout record is written', async (ctx) => {
  await replaceTotpAccount(ctx.store, ctx.sealer, 'alice', SEED, DEFAULT_TOTP);
  const wrong = Array.from({ length: 200 }, async () => ctx.engine.decide(await request(ctx, 'alice', { code: { text: wrongCode(ctx), how: 'challenge' } })));
  const right = ctx.engine.decide(await request(ctx, 'alice', { code: { text: code(ctx), how: 'challenge' } }));
  const verdicts = await Promise.all(wrong);
  assert.is(verdicts.filter((v) => v.reason === 'totp_wrong').length, 5, 'five wrong codes counted (TOTP_MAX_FAILURES), the rest refused as locked');
  assert.is(verdicts.filter((v) => v.reason === 'locked').length, 195);
  assert.equal(await right, { kind: 'reject', reason: 'locked', details: { factor: 'totp' } });
  assert.equal(auditOf(ctx.store, 'user.lockout'), [{ username: 'alice', reason: 'too_many_wrong_codes' }]);
});

E('TOTP: a challenge answer for a user whose account was removed meanwhile is a wrong code, never a push', async (ctx) => {
  assert.equal(await ctx.engine.decide(await request(ctx, 'nobody', { code: { text: '123456', how: 'challenge' } })), { kind: 'reject', reason: 'totp_wrong', details: { factor: 'totp' } });
  assert.is(ctx.held.length, 0);
});

// --- push --------------------------------------------------------------------------------------

E('push: each outcome becomes its verdict; unknown to the service follows --unenrolled-users', async (ctx) => {
  const cases: [FactorOutcome, Verdict][] = [
    [{ kind: 'approved' }, { kind: 'accept', reason: 'push_approved', details: { factor: 'push' } }],
    [{ kind: 'denied' }, { kind: 'reject', reason: 'push_denied', details: { factor: 'push' } }],
    [{ kind: 'expired' }, { kind: 'reject', reason: 'push_expired', details: { factor: 'push' } }],
    [{ kind: 'unknown_user' }, { kind: 'reject', reason: 'unenrolled', details: { factor: 'none' } }],
    [{ kind: 'unreachable', cause: 'timeout', detail: 'create: timed out' }, { kind: 'reject', reason: 'failmode_secure', details: { factor: 'push', message: 'create: timed out' } }],
  ];
  for (const [outcome, expected] of cases) {
    const v = ctx.engine.decide(await request(ctx, 'bob'));
    await tick();
    ctx.held.shift()!.decide(outcome);
    assert.equal(await v, expected, outcome.kind);
  }
  assert.is(ctx.engine.pushHealth(), 'timeout', 'the last call timed out');
});

E('number matching: a challenge with a ticket at once, the number on the push; in by the approval and the right number only (one try per ticket)', async (ctx) => {
  const first = await ctx.engine.decide(await request(ctx, 'bob', { numberMatching: 'type' }));
  assert.is(first.kind, 'code_required');
  if (first.kind !== 'code_required' || first.reason !== 'push_number_challenge') throw new Error('a number challenge');
  const held = ctx.held.shift()!;
  const n = held.req.number!;
  assert.ok(n >= 10 && n <= 99, `two digits: ${n}`);
  assert.is(ctx.engine.pendingCounts().pushes, 1, 'listed as pending');
  // The right number before the phone decides: the login waits for the approval.
  const answer = ctx.engine.decide(await request(ctx, 'bob', { numberAnswer: { ticket: first.ticket, text: ` ${n} ` } }));
  await tick();
  held.decide({ kind: 'approved' });
  assert.equal(await answer, { kind: 'accept', reason: 'push_approved', details: { factor: 'push' } });
  // The ticket is used: the same answer again is refused.
  assert.equal((await ctx.engine.decide(await request(ctx, 'bob', { numberAnswer: { ticket: first.ticket, text: String(n) } }))).reason, 'push_expired');

  // A wrong number is refused at once, even when the phone approves; the ticket is gone with it.
  const second = await ctx.engine.decide(await request(ctx, 'bob', { numberMatching: 'type' }));
  if (second.kind !== 'code_required' || second.reason !== 'push_number_challenge') throw new Error('a number challenge');
  const h2 = ctx.held.shift()!;
  const wrong = String(h2.req.number! === 99 ? 10 : h2.req.number! + 1);
  h2.decide({ kind: 'approved' });
  assert.equal(await ctx.engine.decide(await request(ctx, 'bob', { numberAnswer: { ticket: second.ticket, text: wrong } })), { kind: 'reject', reason: 'push_number_wrong', details: { factor: 'push' } });
  assert.is((await ctx.engine.decide(await request(ctx, 'bob', { numberAnswer: { ticket: second.ticket, text: String(h2.req.number) } }))).reason, 'push_expired');

  // The right number and a denial: denied. Another user's ticket: refused.
  const third = await ctx.engine.decide(await request(ctx, 'bob', { numberMatching: 'type' }));
  if (third.kind !== 'code_required' || third.reason !== 'push_number_challenge') throw new Error('a number challenge');
  const h3 = ctx.held.shift()!;
  assert.is((await ctx.engine.decide(await request(ctx, 'carol', { numberAnswer: { ticket: third.ticket, text: String(h3.req.number) } }))).reason, 'push_expired');
  const fourth = await ctx.engine.decide(await request(ctx, 'bob', { numberMatching: 'type' }));
  if (fourth.kind !== 'code_required' || fourth.reason !== 'push_number_challenge') throw new Error('a number challenge');
  const h4 = ctx.held.shift()!;
  h4.decide({ kind: 'denied' });
  assert.is((await ctx.engine.decide(await request(ctx, 'bob', { numberAnswer: { ticket: fourth.ticket, matches: (c) => c === String(h4.req.number) } }))).reason, 'push_denied');
});

E('number matching the Windows way: the number goes to the login at once, the phone offers it to pick; in only by an approval that picked it; a login that cannot show it is refused', async (ctx) => {
  const shown: number[] = [];
  const windows = async (extra: Partial<DecideRequest> = {}) => await request(ctx, 'bob', { origin: { ...RADIUS, door: 'windows' }, numberMatching: (n) => shown.push(n), ...extra });
  const right = ctx.engine.decide(await windows());
  await tick();
  const h1 = ctx.held.shift()!;
  assert.equal(shown, [h1.req.number], 'the login was told the push\'s number before any decision');
  assert.is(h1.req.numberMode, 'pick');
  assert.is(ctx.engine.pendingCounts().pushes, 1);
  h1.decide({ kind: 'approved', picked: h1.req.number! });
  assert.equal(await right, { kind: 'accept', reason: 'push_approved', details: { factor: 'push', numberMatching: 'picked' } });

  const wrong = ctx.engine.decide(await windows());
  await tick();
  const h2 = ctx.held.shift()!;
  h2.decide({ kind: 'approved', picked: h2.req.number! === 99 ? 10 : h2.req.number! + 1 });
  assert.equal(await wrong, { kind: 'reject', reason: 'push_number_wrong', details: { factor: 'push', numberMatching: 'picked' } });
  // An approval with no pick from a service that offers picking does not count either.
  const none = ctx.engine.decide(await windows());
  await tick();
  ctx.held.shift()!.decide({ kind: 'approved' });
  assert.is((await none).reason, 'push_number_wrong');
  // Two logins at once from the same place each get their own number and push: they never join.
  const a = ctx.engine.decide(await windows());
  const b = ctx.engine.decide(await windows());
  await tick();
  assert.is(ctx.held.length, 2);
  const [ha, hb] = ctx.held.splice(0, 2);
  ha!.decide({ kind: 'denied' });
  hb!.decide({ kind: 'approved', picked: hb!.req.number! });
  assert.is((await a).reason, 'push_denied');
  assert.is((await b).reason, 'push_approved');

  // Number matching asked for, but this login cannot show a number: refused, no push sent.
  assert.equal(await ctx.engine.decide(await windows({ numberMatching: 'unavailable' })), { kind: 'reject', reason: 'push_number_unsupported', details: { factor: 'push' } });
  assert.is(ctx.held.length, 0, 'no push for a login that cannot show the number');

  // A service that cannot offer a pick (a Notakey phone shows the number in its message): the
  // person compares, and the approval counts as given.
  ctx.picks = false;
  const compared = ctx.engine.decide(await windows());
  await tick();
  ctx.held.shift()!.decide({ kind: 'approved' });
  assert.equal(await compared, { kind: 'accept', reason: 'push_approved', details: { factor: 'push', numberMatching: 'compared' } });
});

E('push: failmode safe accepts when the service is unreachable; no push service and --unenrolled-users allow accepts without a factor', async (ctx) => {
  await build(ctx, { FAILMODE: 'safe' });
  const v = ctx.engine.decide(await request(ctx, 'bob'));
  await tick();
  ctx.held.shift()!.decide({ kind: 'unreachable', cause: 'unreachable', detail: 'create: unreachable: ECONNREFUSED' });
  assert.equal(await v, { kind: 'accept', reason: 'failmode_safe', details: { factor: 'push', message: 'create: unreachable: ECONNREFUSED' } });
  assert.is(ctx.engine.pushHealth(), 'failing');
  await build(ctx, { UNENROLLED_USERS: 'allow' }, false);
  assert.equal(await ctx.engine.decide(await request(ctx, 'bob')), { kind: 'accept', reason: 'unenrolled_allowed', details: { factor: 'none' } });
  assert.is(ctx.engine.pushHealth(), 'none');
});

E("push from Gatehouse's own approver: a user with no phone is unenrolled at once (no push, no limit counted); a local service is always healthy", async (ctx) => {
  const settings = resolveSettings(parseServeOptions([], { PUSH_MAX_PENDING_PER_USER: '1' }).fixed, new Map()).settings;
  const phones = new Set<string>(['alice']);
  const engine = createEngine({
    settings: () => settings,
    totp: createTotpFactor(createUserFactorQueries(ctx.store, ctx.sealer), () => ({ maxFailures: 5, lockoutMs: 60_000 }), () => ctx.t),
    push: { configured: () => true, local: true, enrolled: async (u) => phones.has(u), approve: (req) => new Promise<FactorOutcome>((resolve) => ctx.held.push({ req, decide: resolve })) },
    limits: createPushLimiter(() => ctx.t),
    pending: createPendingApprovals(),
    audit: (await openAuditLog(ctx.store, randomBytes(32), () => ctx.t)).auditor,
    counters: new Counters(),
    now: () => ctx.t,
  });
  assert.is(engine.pushHealth(), 'ok');
  for (let i = 0; i < 3; i++) assert.equal(await engine.decide({ ...(await request(ctx, 'bob')), subject: (await engine.subject('bob')) as KnownSubject }), { kind: 'reject', reason: 'unenrolled', details: { factor: 'none' } });
  assert.is(ctx.held.length, 0, 'no push for a user without a phone');
  const v = engine.decide({ ...(await request(ctx, 'alice')), subject: (await engine.subject('alice')) as KnownSubject });
  await tick();
  assert.is(ctx.held.length, 1);
  ctx.held.shift()!.decide({ kind: 'approved' });
  assert.is((await v).kind, 'accept');
});

E('push: a login from the same origin joins the waiting push; any difference in source, NAS, station or first factor sends its own', async (ctx) => {
  await build(ctx, { PUSH_MAX_PENDING_PER_USER: '0' });
  const first = ctx.engine.decide(await request(ctx, 'carol'));
  const joined = ctx.engine.decide(await request(ctx, 'Carol '));
  await tick();
  assert.is(ctx.held.length, 1, 'one push for the two logins');
  assert.equal(ctx.engine.pendingCounts(), { logins: 2, pushes: 1 });
  const others = (['source', 'nas', 'station', 'firstFactor'] as const).map(async (field) => ctx.engine.decide(await request(ctx, 'carol', { origin: { ...RADIUS, [field]: 'other' } })));
  await tick();
  assert.is(ctx.held.length, 5, 'one more push for each differing origin');
  assert.equal(ctx.engine.pendingCounts(), { logins: 6, pushes: 5 });
  for (const h of ctx.held) h.decide({ kind: 'approved' });
  assert.equal(await first, { kind: 'accept', reason: 'push_approved', details: { factor: 'push' } });
  assert.equal(await joined, { kind: 'accept', reason: 'push_approved', details: { factor: 'push', joined: true } });
  await Promise.all(others);
  assert.equal(ctx.engine.pendingCounts(), { logins: 0, pushes: 0 });
});

E('push: without a Calling-Station-Id logins never join (each is a new push within the limits)', async (ctx) => {
  const noStation = { ...RADIUS, station: '' };
  const a = ctx.engine.decide(await request(ctx, 'dave', { origin: noStation }));
  const b = ctx.engine.decide(await request(ctx, 'dave', { origin: noStation }));
  await tick();
  assert.is(ctx.held.length, 2);
  ctx.held[0]!.decide({ kind: 'approved' });
  ctx.held[1]!.decide({ kind: 'denied' });
  assert.is((await a).reason, 'push_approved');
  assert.is((await b).reason, 'push_denied', 'the second login got its own decision');
});

E('push limits and pending approvals are shared by the doors: Windows pushes are listed, counted and limited with RADIUS ones', async (ctx) => {
  const radius = [1, 2].map(async (i) => ctx.engine.decide(await request(ctx, 'erin', { origin: { ...RADIUS, station: `st-${i}` } })));
  const windowsOrigin: Origin = { door: 'windows', source: 'agent:PC-7', nas: 'PC-7', station: 'logon', firstFactor: 'CORP' };
  const windows = ctx.engine.decide(await request(ctx, 'ERIN', { origin: windowsOrigin, view: { client: 'agent:PC-7', station: 'PC-7' } }));
  await tick();
  assert.equal(
    ctx.engine.pendingApprovals().map((p) => [p.username, p.door, p.client, p.station]),
    [
      ['erin', 'radius', 'vpn', RADIUS.station],
      ['erin', 'radius', 'vpn', RADIUS.station],
      ['erin', 'windows', 'agent:PC-7', 'PC-7'],
    ],
  );
  // Another workstation is another origin: a new push, and erin already has three waiting.
  const other = ctx.engine.decide(await request(ctx, 'erin', { origin: { ...windowsOrigin, source: 'pipe', nas: 'PC-8' }, view: { client: 'pipe', station: 'PC-8' } }));
  assert.equal(await other, { kind: 'reject', reason: 'push_limited', details: { factor: 'push', limit: 'pending' } });
  // The same workstation and scenario again joins its push instead.
  const again = ctx.engine.decide(await request(ctx, 'erin', { origin: windowsOrigin, view: { client: 'agent:PC-7', station: 'PC-7' } }));
  await tick();
  assert.is(ctx.held.length, 3);
  assert.equal(ctx.engine.pendingCounts(), { logins: 4, pushes: 3 });
  for (const h of ctx.held) h.decide({ kind: 'denied' });
  assert.equal(await again, { kind: 'reject', reason: 'push_denied', details: { factor: 'push', joined: true } });
  await Promise.all([...radius, windows]);
});

E('shutdown: every waiting login is answered (rejected: shutdown), and new ones are refused', async (ctx) => {
  const waiting = [ctx.engine.decide(await request(ctx, 'fay')), ctx.engine.decide(await request(ctx, 'gus'))];
  await tick();
  // The push service answers aborted approvals as the real client does.
  const stopping = ctx.engine.shutdown();
  for (const h of ctx.held) h.decide({ kind: 'unreachable', cause: 'aborted', detail: 'aborted' });
  await stopping;
  for (const v of await Promise.all(waiting)) assert.is(v.reason, 'shutdown');
  assert.is((await ctx.engine.decide(await request(ctx, 'hal'))).reason, 'shutdown');
});

/** Two engines (appliances A and B) on one store, sharing pushes and their limits. */
async function twoAppliances(ctx: Ctx, env: Record<string, string>): Promise<{ a: Engine; b: Engine; close(): void }> {
  const settings = resolveSettings(parseServeOptions([], env).fixed, new Map()).settings;
  const log = createLogger('error', () => undefined);
  const closers: (() => void)[] = [];
  const key = randomBytes(32);
  const node = async (name: string) => {
    const shared = createSharedPushes({ store: ctx.store, node: name, now: () => ctx.t, log });
    const sharedLimits = createSharedPushLimiter({ store: ctx.store, node: name, now: () => ctx.t, log, settings: () => settings });
    closers.push(() => shared.close(), () => sharedLimits.close());
    await recordNode(ctx.store, { name, version: '1', startedAt: ctx.t, heartbeatAt: ctx.t, health: '{}' });
    return createEngine({
      settings: () => settings,
      totp: createTotpFactor(createUserFactorQueries(ctx.store, ctx.sealer), () => ({ maxFailures: 5, lockoutMs: 60_000 }), () => ctx.t),
      push: { configured: () => true, approve: (req) => new Promise<FactorOutcome>((resolve) => ctx.held.push({ req, decide: resolve })) },
      limits: createPushLimiter(() => ctx.t),
      shared,
      sharedLimits,
      pending: createPendingApprovals(),
      audit: (await openAuditLog(ctx.store, key, () => ctx.t)).auditor,
      counters: new Counters(),
      now: () => ctx.t,
    });
  };
  return { a: await node('a'), b: await node('b'), close: () => closers.forEach((c) => c()) };
}

E('two appliances: the round with the number may come to B; checked there (one try), then the approval A asked for', async (ctx) => {
  const { a, b, close } = await twoAppliances(ctx, {});
  try {
    const subject = async (e: Engine) => (await e.subject('jo')) as KnownSubject;
    const first = await a.decide({ ...(await request(ctx, 'jo')), subject: await subject(a), numberMatching: 'type' });
    assert.is(first.reason, 'push_number_challenge');
    const ticket = (first as { ticket: string }).ticket;
    const number = ctx.held[0]!.req.number!;
    const onB = b.decide({ ...(await request(ctx, 'jo')), subject: await subject(b), numberAnswer: { ticket, text: String(number) } });
    await new Promise((r) => setTimeout(r, 50));
    ctx.held[0]!.decide({ kind: 'approved' });
    assert.equal((await onB).reason, 'push_approved');
    // A wrong number on B: refused at once, without waiting for the phone.
    const again = await a.decide({ ...(await request(ctx, 'jo')), subject: await subject(a), numberMatching: 'type' });
    const wrong = String(((ctx.held[1]!.req.number! - 10 + 1) % 90) + 10);
    assert.equal((await b.decide({ ...(await request(ctx, 'jo')), subject: await subject(b), numberAnswer: { ticket: (again as { ticket: string }).ticket, text: wrong } })).reason, 'push_number_wrong');
    assert.equal((await b.decide({ ...(await request(ctx, 'jo')), subject: await subject(b), numberAnswer: { ticket: 'no-such-ticket', text: '42' } })).reason, 'push_expired');
    ctx.held[1]!.decide({ kind: 'denied' });
  } finally {
    close();
  }
});

E('two appliances on one store: a login on B joins the push A sent (one push, one decision); the pending limit counts both', async (ctx) => {
  const { a, b, close } = await twoAppliances(ctx, { PUSH_MAX_PENDING_PER_USER: '2' });
  try {
    const ask = async (engine: Engine, station: string) => engine.decide({ ...(await request(ctx, 'ivy', { origin: { ...RADIUS, station } })), subject: (await engine.subject('ivy')) as KnownSubject });
    const onA = ask(a, 'st-1');
    while (ctx.held.length < 1) await new Promise((r) => setTimeout(r, 5));
    const onB = ask(b, 'st-1');
    const second = ask(b, 'st-2');
    while (ctx.held.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.equal(await ask(a, 'st-3'), { kind: 'reject', reason: 'push_limited', details: { factor: 'push', limit: 'pending' } }, 'two pushes wait for ivy in the cluster: a third is refused on A');
    ctx.held[0]!.decide({ kind: 'approved' });
    ctx.held[1]!.decide({ kind: 'denied' });
    const [va, vb, v2] = await Promise.all([onA, onB, second]);
    assert.equal([va.reason, va.details], ['push_approved', { factor: 'push' }]);
    assert.equal([vb.reason, vb.details], ['push_approved', { factor: 'push', joined: true }], 'B joined the push A sent');
    assert.is(v2.reason, 'push_denied');
    assert.is(ctx.held.length, 2, 'two pushes in all');
  } finally {
    close();
  }
});

E.run();
