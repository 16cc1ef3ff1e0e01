// Windows logon (pipe and agent API) goes through the same engine as RADIUS, so the per-user push
// limits apply to it too: a workstation, or a stolen password used at many of them, cannot flood a
// phone. createPipeHandler over the real engine and an in-memory store; the push service is a
// function that holds every request until told.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openAuditLog } from '../../app/audit/log.js';
import { parseServeOptions, resolveSettings } from '../../app/config.js';
import { openStore, type Store } from '../../app/db/open.js';
import { createUserFactorQueries } from '../../app/db/queries/users.js';
import { createSealer } from '../../app/db/secrets.js';
import { Counters } from '../../app/lib/metrics.js';
import { createEngine } from '../../app/mfa/engine.js';
import type { FactorOutcome } from '../../app/mfa/factor.js';
import { createPendingApprovals } from '../../app/mfa/pending.js';
import { createPushLimiter } from '../../app/mfa/push-limits.js';
import { createTotpFactor } from '../../app/mfa/totp.js';
import { createPipeHandler } from '../../app/pipe/ops.js';
import type { Request } from '../../app/pipe/frame.js';

interface Ctx {
  store: Store;
  handle: ReturnType<typeof createPipeHandler>;
  limiter: ReturnType<typeof createPushLimiter>;
  held: ((o: FactorOutcome) => void)[];
  pushes: string[];
}

const L = suite<Ctx>('pipe: per-user push limits', {} as Ctx);

async function setup(ctx: Ctx, env: NodeJS.ProcessEnv): Promise<void> {
  ctx.store = openStore(':memory:');
  const sealer = createSealer(randomBytes(32));
  const { fixed } = parseServeOptions([], { NOTAKEY_HOST: 'http://127.0.0.1:9/api/', NOTAKEY_ACCESS_ID: 'app', ...env });
  const settings = resolveSettings(fixed, new Map()).settings;
  ctx.held = [];
  ctx.pushes = [];
  ctx.limiter = createPushLimiter(Date.now);
  const audit = (await openAuditLog(ctx.store, randomBytes(32))).auditor;
  const engine = createEngine({
    settings: () => settings,
    totp: createTotpFactor(createUserFactorQueries(ctx.store, sealer), () => ({ maxFailures: 5, lockoutMs: 60_000 }), Date.now),
    push: {
      configured: () => true,
      approve: (req) => {
        ctx.pushes.push(req.username);
        return new Promise<FactorOutcome>((resolve) => ctx.held.push(resolve));
      },
    },
    limits: ctx.limiter,
    pending: createPendingApprovals(),
    audit,
    counters: new Counters(),
    now: Date.now,
  });
  ctx.handle = createPipeHandler({ engine, audit, settings: () => ({ windowsNumberMatching: 'no', windowsMessage: undefined }) });
}
L.after.each((ctx) => ctx.store.close());

const logon = (user: string, id: number): Request => ({ id, op: 'authenticate', username: user, domain: 'CORP', workstation: `PC-${id}`, scenario: 'logon', code: undefined });
const tick = () => new Promise((r) => setImmediate(r));
const auditRows = (store: Store) => store.sqlite.prepare("SELECT reason, details FROM audit_log WHERE event = 'windows.auth' ORDER BY id").all() as { reason: string; details: string }[];

L('a fourth waiting push for one user is refused at once; other users and, once one ends, the user again are served', async (ctx) => {
  await setup(ctx, {});
  const waiting = [1, 2, 3].map((i) => ctx.handle(logon('alice', i)));
  await tick();
  assert.is(ctx.pushes.length, 3);
  const refused = await ctx.handle(logon('ALICE', 4));
  assert.equal(refused, { result: 'denied', message: 'Too many approval requests; wait a few minutes.' });
  assert.is(ctx.pushes.length, 3, 'no push was sent for the refused logon');
  const row = auditRows(ctx.store).at(-1)!;
  assert.is(row.reason, 'push_limited');
  assert.match(row.details, /"limit":"pending"/);
  const bob = ctx.handle(logon('bob', 5));
  await tick();
  assert.is(ctx.pushes.length, 4, 'another user is not limited');
  ctx.held[0]!({ kind: 'approved' });
  assert.is((await waiting[0]!).result, 'approved');
  const again = ctx.handle(logon('alice', 6));
  await tick();
  assert.is(ctx.pushes.length, 5, 'a slot freed by a decision is usable again');
  for (const r of ctx.held.slice(1)) r({ kind: 'denied' });
  await Promise.all([...waiting, bob, again]);
});

L('the rate limit counts pushes per user across workstations; 0 turns both limits off', async (ctx) => {
  await setup(ctx, { PUSH_RATE_PER_USER: '2', PUSH_MAX_PENDING_PER_USER: '0' });
  const first = [1, 2].map((i) => ctx.handle(logon('carol', i)));
  await tick();
  for (const r of ctx.held) r({ kind: 'expired' });
  await Promise.all(first);
  assert.equal(await ctx.handle(logon('carol', 3)), { result: 'denied', message: 'Too many approval requests; wait a few minutes.' });
  assert.match(auditRows(ctx.store).at(-1)!.details, /"limit":"rate"/);
  ctx.store.close();

  await setup(ctx, { PUSH_RATE_PER_USER: '0', PUSH_MAX_PENDING_PER_USER: '0' });
  const many = Array.from({ length: 12 }, (_, i) => ctx.handle(logon('dave', i)));
  await tick();
  assert.is(ctx.pushes.length, 12, 'no limit when both are 0');
  for (const r of ctx.held) r({ kind: 'approved' });
  for (const r of await Promise.all(many)) assert.is(r.result, 'approved');
});

L('the audit says whether the provider enforces the second factor (hides other sign-in options), and keeps the name as sent', async (ctx) => {
  await setup(ctx, {});
  const base = (id: number, extra: Record<string, unknown>): Request => ({ ...logon('Gina ', id), ...extra }) as Request;
  const answers = [ctx.handle(base(1, { enforced: true })), ctx.handle(base(2, { enforced: false, scenario: 'unlock' })), ctx.handle(base(3, { scenario: 'rdp' }))];
  await tick();
  for (const r of ctx.held) r({ kind: 'denied' });
  await Promise.all(answers);
  const rows = ctx.store.sqlite.prepare("SELECT username, details FROM audit_log WHERE event = 'windows.auth' ORDER BY id").all() as { username: string; details: string }[];
  assert.equal(rows.map((r) => r.username), ['gina', 'gina', 'gina']);
  const d = rows.map((r) => JSON.parse(r.details) as Record<string, unknown>);
  assert.equal(d.map((x) => x['enforcement']), ['enforced', 'not enforced', undefined]);
  assert.equal(d.map((x) => x['sentUsername']), ['Gina ', 'Gina ', 'Gina ']);
});

L('a repeated console logon of one workstation joins its push; remote desktop and credential prompts never join', async (ctx) => {
  await setup(ctx, { PUSH_MAX_PENDING_PER_USER: '0' });
  const at = (scenario: string, id: number): Request => ({ ...logon('hank', id), workstation: 'RDS-1', scenario }) as Request;
  const console = [ctx.handle(at('logon', 1)), ctx.handle(at('logon', 2))];
  await tick();
  assert.is(ctx.pushes.length, 1, 'the console logon joined');
  const remote = [ctx.handle(at('rdp', 3)), ctx.handle(at('rdp', 4)), ctx.handle(at('credui', 5)), ctx.handle(at('credui', 6))];
  await tick();
  assert.is(ctx.pushes.length, 5, 'each remote desktop or credential prompt logon has its own push');
  for (const r of ctx.held) r({ kind: 'approved' });
  await Promise.all([...console, ...remote]);
});

L.run();
