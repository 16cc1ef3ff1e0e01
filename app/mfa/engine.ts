// The second-factor engine: the one place that decides whether a person whose password (or
// Windows logon) was accepted may in. Every front door (RADIUS, the Windows pipe and agent API,
// later the self-service portal and the push API served to others) asks it and only translates
// its verdict into its own reply. In order:
//
//   1. the user name's canonical form (app/lib/username.ts): one user, whatever the spelling;
//   2. the user's lock (by an admin, or after too many wrong codes) or a directory account the
//      directory disabled or no longer has (app/directory/sync.ts): refused before any factor;
//   3. a TOTP account: the code, if one came, checked once with replay protection and lockout
//      (app/mfa/totp.ts); without one, `code_required` (RADIUS answers with a challenge);
//   4. otherwise push, when a push service is configured: a login from the same origin joins the
//      push already waiting (app/mfa/pending.ts); a new push is subject to the per-user limits
//      (app/mfa/push-limits.ts); an unreachable service falls to --failmode. With number matching
//      (a door that asks for it: RADIUS with --push-number-matching) the push carries a two-digit
//      number the phone shows; the login is answered at once with a challenge, and its next round
//      must bring that number: accepted only with the approval and the right number (one try).
//      The Windows way round (--windows-number-matching): the logon screen shows the number as
//      soon as the push is out and the person picks it among three on the phone; accepted only
//      with the approval of the right pick;
//   5. no factor at all: --unenrolled-users.
//
// Before all of it, the policy rule for the user and the door (app/mfa/policy.ts), when one
// matches: deny refuses; password only lets in on the first factor; require limits the factors
// (TOTP only, push only). Its name goes into the audit record of the decision.
//
// The check-then-write steps (code claim, failure count, push limit) each run in one synchronous
// turn. Lockouts are audited here; the door writes the one record of the request itself, with
// the verdict's reason and details (and commits the verdict's `commit` write with it).
import type { Auditor } from '../audit/audit.js';
import { randomInt } from 'node:crypto';
import type { AuditDetails } from '../audit/chain.js';
import type { Settings } from '../config.js';
import { reasons, type CounterFamily, type Counters } from '../lib/metrics.js';
import { canonicalUsername } from '../lib/username.js';
import { randomId } from '../lib/tokens.js';
import type { ApprovalRequest, FactorOutcome, PushProvider } from './factor.js';
import { failmodeVerdict } from './failmode.js';
import { codeEquals } from './otp.js';
import type { Door, PendingApproval, PendingApprovals, PushOutcome, SharedPushes, SharedPushWays } from './pending.js';
import type { PushLimit, PushLimiter, SharedPushLimiter } from './push-limits.js';
import type { PolicyRule, PolicyTable } from './policy.js';
import type { TotpFactor } from './totp.js';

export interface EngineDeps {
  settings(): Readonly<Settings>;
  totp: TotpFactor;
  push: PushProvider;
  limits: PushLimiter;
  /** The per-user push limits counted across the appliances on the store; absent: alone. */
  sharedLimits?: SharedPushLimiter;
  /** The policy rules in force (app/mfa/policy.ts); absent: none. */
  policy?(): PolicyTable;
  pending: PendingApprovals;
  /** Pushes shared with the other appliances on the store (several on PostgreSQL); absent: alone. */
  shared?: SharedPushes;
  audit: Auditor;
  /** `push_limited` by limit is counted here, for every door. */
  counters: Counters;
  now(): number;
}

/** Who is asking, by the name they sent; what the engine knows of them before the password check. */
export type Subject =
  | {
      ok: true;
      /** Canonical user name. */
      name: string;
      /** The name as sent. */
      sent: string;
      /** Whether the store knows the user (otherwise nothing about them is re-read later). */
      known: boolean;
      /** Digits of the user's TOTP codes, when they have an account (a code may come appended). */
      codeDigits: number | undefined;
    }
  | { ok: false; sent: string; problem: string };

export type KnownSubject = Extract<Subject, { ok: true }>;

/** Where a login comes from. A push is joined only by a login whose origin matches in every field. */
export interface Origin {
  door: Door;
  /** The address the request came from (RADIUS: the client's IP address; Windows: `pipe` or `agent:NAME`). */
  source: string;
  /** The NAS (NAS-IP-Address / NAS-Identifier) or the Windows workstation. */
  nas: string;
  /** The calling station (RADIUS Calling-Station-Id; Windows: the logon scenario). Empty: never joins. */
  station: string;
  /** What the first factor answered (which server accepted, and with what). */
  firstFactor: string;
}

export interface DecideRequest {
  subject: KnownSubject;
  /**
   * A code that came with the request: as text, or as a matcher where the protocol carries it
   * hashed (RADIUS CHAP over the code).
   */
  code?: { how: 'appended' | 'typed' | 'challenge' } & ({ text: string } | { matches(candidate: string): boolean });
  origin: Origin;
  /** `ttlSeconds`: how long this push waits (the push API's callers choose); default the setting. */
  push: { title: string; description: string; fingerprint: string; ttlSeconds?: number };
  /**
   * Push and nothing else (the push API served to others): no TOTP step, and neither
   * --unenrolled-users nor --failmode lets anyone in, since no password was checked here: a user
   * who cannot be asked is `unenrolled`, an unreachable service `failmode_secure` (the caller
   * applies its own failmode).
   */
  pushOnly?: boolean;
  /**
   * Number matching for a new push.
   * - `type`: answered at once `code_required` (push_number_challenge) with a ticket the door
   *   keeps for the login's next round, which brings the number the phone showed (RADIUS).
   * - a function: the login's own screen shows the number (called with it as soon as the push
   *   is out) and the person picks it on the phone; the approval counts only with the right
   *   pick (Windows).
   * - `unavailable`: number matching is asked for but this login cannot show a number (an older
   *   Windows credential provider): refused (push_number_unsupported) rather than weakened.
   */
  numberMatching?: 'type' | 'unavailable' | ((number: number) => void);
  /** The next round of a number-matched login: its ticket and the number the person typed. */
  numberAnswer?: { ticket: string } & ({ text: string } | { matches(candidate: string): boolean });
  /** How /approvals shows a push this login starts. */
  view: { client: string; station: string | undefined };
  /** For the lockout record this request may cause. */
  audit: { source: string; client: string | null };
}

export type AcceptReason = 'totp_ok' | 'push_approved' | 'unenrolled_allowed' | 'failmode_safe' | 'policy_password_only';
export type RejectReason = 'policy_deny' | 'locked' | 'directory_gone' | 'totp_wrong' | 'totp_replayed' | 'push_denied' | 'push_expired' | 'push_limited' | 'push_number_wrong' | 'push_number_unsupported' | 'unenrolled' | 'failmode_secure' | 'shutdown';
/** Every reason, for counters shown at zero (the compiler checks that none is missing). */
export const ACCEPT_REASONS = Object.keys({ totp_ok: 1, push_approved: 1, unenrolled_allowed: 1, failmode_safe: 1, policy_password_only: 1 } satisfies Record<AcceptReason, 1>) as AcceptReason[];
export const REJECT_REASONS = Object.keys({ policy_deny: 1, locked: 1, directory_gone: 1, totp_wrong: 1, totp_replayed: 1, push_denied: 1, push_expired: 1, push_limited: 1, push_number_wrong: 1, push_number_unsupported: 1, unenrolled: 1, failmode_secure: 1, shutdown: 1 } satisfies Record<RejectReason, 1>) as RejectReason[];
/** The counters this engine counts in (for /metrics). */
export const ENGINE_COUNTERS: readonly CounterFamily[] = [
  { name: 'push_limited', help: 'Logins refused by a per-user push limit (every front door), by the limit: pending (too many waiting) or rate (too many in the window).', series: reasons(Object.keys({ pending: 1, rate: 1 } satisfies Record<PushLimit, 1>)) },
];

export type Verdict =
  /**
   * `commit`: a store write to commit in the same transaction as the request's audit record;
   * `rule`: the policy rule that applied (its reply attributes go into a RADIUS accept).
   */
  | { kind: 'accept'; reason: AcceptReason; details: AuditDetails; commit?: () => void; rule?: PolicyRule }
  | { kind: 'reject'; reason: RejectReason; details: AuditDetails }
  | { kind: 'code_required'; reason: 'totp_challenge'; details: AuditDetails }
  /** Number matching: the push is on its way; `ticket` names it in the login's next round. */
  | { kind: 'code_required'; reason: 'push_number_challenge'; details: AuditDetails; ticket: string };

/** The push service as last seen: `none` when none is configured. */
export type PushHealth = 'none' | 'unknown' | 'ok' | 'failing' | 'timeout';

export interface Engine {
  /** The canonical name and what the store knows of the user (one lookup). */
  subject(sentName: string): Promise<Subject>;
  decide(req: DecideRequest): Promise<Verdict>;
  /** Whether a push can be sent to this user at all (a service is configured and knows them). */
  pushable(name: string): Promise<boolean>;
  pushHealth(): PushHealth;
  pendingApprovals(): PendingApproval[];
  pendingCounts(): { logins: number; pushes: number };
  /** Answer every waiting login (rejected: `shutdown`) and stop sending pushes. */
  shutdown(): Promise<void>;
}

/** How often the push rate limiter forgets users whose pushes left its window. */
const LIMITER_SWEEP_MS = 10_000;
/** Number-matched pushes waiting for their login's next round, at most (the oldest go first). */
const MAX_TICKETS = 100_000;

/** A number-matched push waiting for its login's next round. */
interface Ticket {
  username: string;
  number: number;
  outcome: Promise<PushOutcome>;
  expires: number;
}

/** The shared key of a number-matched push: its ticket (nobody else joins it). */
const ticketKey = (ticket: string) => `ticket\n${ticket}`;

/** A number for number matching: two digits, 10-99 (none a person could take for a single digit). */
export function matchNumber(): number {
  return randomInt(10, 100);
}

export function createEngine(d: EngineDeps): Engine {
  const abort = new AbortController();
  let closing = false;
  let health: Exclude<PushHealth, 'none'> = 'unknown';
  // Names that once got a push are forgotten once their window has passed: the memory stays
  // bounded by the users active in one window, whatever names the doors are sent.
  /** Number-matched pushes by ticket, until the login's next round takes them (once) or they expire. */
  const tickets = new Map<string, Ticket>();
  const sweep = setInterval(() => {
    const now = d.now();
    for (const [k, t] of tickets) if (t.expires <= now) tickets.delete(k);
    try {
      d.limits.sweep(d.settings());
    } catch {
      // The settings could not be read (the store is closing): the next sweep forgets them.
    }
  }, LIMITER_SWEEP_MS);
  sweep.unref();

  const accept = (reason: AcceptReason, details: AuditDetails, commit?: () => void): Verdict => (commit === undefined ? { kind: 'accept', reason, details } : { kind: 'accept', reason, details, commit });
  const reject = (reason: RejectReason, details: AuditDetails): Verdict => ({ kind: 'reject', reason, details });
  const unenrolled = (s: Readonly<Settings>): Verdict => (s.unenrolledUsers === 'allow' ? accept('unenrolled_allowed', { factor: 'none' }) : reject('unenrolled', { factor: 'none' }));

  const pushable = async (name: string): Promise<boolean> => d.push.configured() && (await d.push.enrolled?.(name)) !== false;

  async function checkCode(req: DecideRequest, matches: (c: string) => boolean, details: AuditDetails): Promise<Verdict> {
    let commit: (() => void) | undefined;
    const r = await d.totp.verify(req.subject.name, matches, (w) => (commit = w));
    if (r.ok) return accept('totp_ok', details, commit);
    if (r.reason === 'no_totp') return reject('totp_wrong', details);
    if (r.reason === 'locked') return reject('locked', details);
    if (r.lockedNow) await d.audit.record({ event: 'user.lockout', outcome: 'ok', username: req.subject.name, source: req.audit.source, client: req.audit.client, reason: 'too_many_wrong_codes' });
    return reject(r.reason, details);
  }

  /**
   * Push: a new one, or the one a login from the same origin already waits on. Not an async
   * function, and it holds nothing once the push is out: a waiting login keeps the outcome and a
   * continuation with two flags, not a suspended frame with the whole request (with 10,000
   * logins waiting on phones, about 0.5 KB each).
   */
  function push(req: DecideRequest, s: Readonly<Settings>): Promise<Verdict> {
    const o = req.origin;
    // Joined, not a template literal: a flat string, not a rope of pieces kept while the push
    // waits (as in app/radius/request-cache.ts).
    const joinKey = o.station === '' ? undefined : [o.door, req.subject.name, o.source, o.nas, o.station, o.firstFactor].join('\n');
    // Number matching: every login gets its own number (and so its own push); it never joins.
    if (req.numberMatching === 'unavailable') return Promise.resolve(reject('push_number_unsupported', { factor: 'push' }));
    if (req.numberMatching === 'type') return numberChallenge(req, s);
    if (req.numberMatching !== undefined) return numberShown(req, s, req.numberMatching);
    let outcome = joinKey === undefined ? undefined : d.pending.find(joinKey);
    let joined: boolean | Promise<boolean> = outcome !== undefined;
    if (outcome === undefined) {
      // A new push here (a join is not one): the per-user limits apply, checked and counted at once.
      const admitted = d.limits.admit(req.subject.name, s);
      if (admitted.refused !== undefined) {
        d.counters.inc('push_limited', admitted.refused);
        return Promise.resolve(reject('push_limited', { factor: 'push', limit: admitted.refused }));
      }
      const ttlSeconds = req.push.ttlSeconds ?? s.messageTtlSeconds;
      const approval = { username: req.subject.name, fingerprint: req.push.fingerprint, title: req.push.title, description: req.push.description, ttlSeconds };
      if (d.shared !== undefined || d.sharedLimits !== undefined) {
        // Several appliances: the limits are counted across them, and the push may already be
        // waiting on another one (a client that failed over): then this login joins it. Listed
        // here at once, so that logins here join this one meanwhile.
        const begun = begin(joinKey, approval, s);
        joined = begun.then((b) => b.joined);
        outcome = begun.then((b) => b.outcome);
      } else outcome = d.push.approve(approval, abort.signal);
      d.pending.add(joinKey, { username: req.subject.name, door: o.door, client: req.view.client, station: req.view.station, startedAt: d.now(), ttlSeconds }, outcome, (r) => {
        admitted.release();
        noteHealth(r);
      });
    }
    const waiting = d.pending.wait(joinKey, outcome);
    const pushOnly = req.pushOnly === true;
    return typeof joined === 'boolean' ? settle(waiting, joined, pushOnly) : joined.then((j) => settle(waiting, j, pushOnly));
  }

  /** A push's verdict once its outcome is known. */
  function settle(waiting: Promise<PushOutcome>, joined: boolean, pushOnly: boolean): Promise<Verdict> {
    return waiting.then((result) => {
      const details: AuditDetails = joined ? { factor: 'push', joined: true } : { factor: 'push' };
      return closing ? reject('shutdown', details) : afterPush(result, details, pushOnly);
    });
  }

  /**
   * A push where several appliances share the store: admitted by the limits counted across them
   * (only a new push counts: an admission whose login joined another appliance's push is
   * cancelled), then joined to the one waiting for the same login anywhere, or sent from here.
   */
  async function begin(joinKey: string | undefined, approval: ApprovalRequest, s: Readonly<Settings>): Promise<{ joined: boolean; outcome: Promise<PushOutcome> }> {
    const limits = d.sharedLimits;
    const admit = limits === undefined ? undefined : () => limits.admit(approval.username, s);
    if (joinKey !== undefined && d.shared !== undefined) {
      const ways = sharedWays(approval);
      return d.shared.join(joinKey, approval.username, approval.ttlSeconds ?? s.messageTtlSeconds, admit === undefined ? ways : { ...ways, admit }, abort.signal, approval.number);
    }
    const gate = await admit?.();
    if (gate?.ok === false) return { joined: false, outcome: Promise.resolve({ kind: 'limited', limit: gate.limit }) };
    const outcome = d.push.approve(approval, abort.signal);
    void outcome.then(() => gate?.release());
    return { joined: false, outcome };
  }

  /** How a push shared with other appliances is sent here, or carried on when its appliance is gone. */
  function sharedWays(approval: ApprovalRequest): SharedPushWays {
    return {
      start: (started) => d.push.approve(approval, abort.signal, started),
      resume(ref, ttlMs, started) {
        if (ref !== undefined && d.push.follow !== undefined) return d.push.follow(ref, ttlMs, abort.signal);
        return d.push.approve({ ...approval, ttlSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) }, abort.signal, started);
      },
    };
  }

  /**
   * A new push carrying a number (never joined), within the per-user limits; or the refusal. With
   * a `ticket` and several appliances, the push is shared under the ticket's key with its number,
   * so that the login's next round may come to another appliance (numberAnswer).
   */
  async function numberedPush(req: DecideRequest, s: Readonly<Settings>, numberMode: 'show' | 'pick', ticket?: string): Promise<{ number: number; outcome: Promise<PushOutcome>; ttlSeconds: number } | Verdict> {
    const admitted = d.limits.admit(req.subject.name, s);
    if (admitted.refused !== undefined) {
      d.counters.inc('push_limited', admitted.refused);
      return reject('push_limited', { factor: 'push', limit: admitted.refused });
    }
    const ttlSeconds = req.push.ttlSeconds ?? s.messageTtlSeconds;
    const number = matchNumber();
    const approval: ApprovalRequest = { username: req.subject.name, fingerprint: req.push.fingerprint, title: req.push.title, description: req.push.description, ttlSeconds, number, numberMode };
    const outcome = d.shared !== undefined || d.sharedLimits !== undefined ? (await begin(ticket === undefined ? undefined : ticketKey(ticket), approval, s)).outcome : d.push.approve(approval, abort.signal);
    d.pending.add(undefined, { username: req.subject.name, door: req.origin.door, client: req.view.client, station: req.view.station, startedAt: d.now(), ttlSeconds }, outcome, (r) => {
      admitted.release();
      noteHealth(r);
    });
    return { number, outcome, ttlSeconds };
  }

  /** A new push with a number; the login is answered at once with a challenge for that number. */
  async function numberChallenge(req: DecideRequest, s: Readonly<Settings>): Promise<Verdict> {
    const ticket = randomId();
    const p = await numberedPush(req, s, 'show', ticket);
    if ('kind' in p) return p;
    const { number, outcome, ttlSeconds } = p;
    if (tickets.size >= MAX_TICKETS) tickets.delete(tickets.keys().next().value!);
    tickets.set(ticket, { username: req.subject.name, number, outcome, expires: d.now() + ttlSeconds * 1000 });
    return { kind: 'code_required', reason: 'push_number_challenge', details: { factor: 'push' }, ticket };
  }

  /**
   * A new push whose number the login's screen shows (`show` is told it at once); the person
   * picks it among others on the phone. An approval counts only with the right pick, where the
   * service lets the person pick; a Notakey phone can only show the number in its message, so
   * there the person compares, and the approval counts as given.
   */
  async function numberShown(req: DecideRequest, s: Readonly<Settings>, show: (n: number) => void): Promise<Verdict> {
    const details: AuditDetails = { factor: 'push', numberMatching: d.push.picks === true ? 'picked' : 'compared' };
    const p = await numberedPush(req, s, 'pick');
    if ('kind' in p) return p;
    show(p.number);
    const r = await d.pending.wait(undefined, p.outcome);
    if (closing) return reject('shutdown', details);
    if (r.kind === 'approved' && d.push.picks === true && r.picked !== p.number) return reject('push_number_wrong', details);
    return afterPush(r, details, false);
  }

  /**
   * A ticket this appliance does not hold: another appliance's number-matched push (the client
   * failed over between the rounds), as the store has it; its outcome followed from here.
   */
  async function remoteTicket(req: DecideRequest, ticket: string): Promise<Ticket | undefined> {
    if (d.shared === undefined) return undefined;
    const s = d.settings();
    const base = { username: req.subject.name, fingerprint: req.push.fingerprint, title: req.push.title, description: req.push.description, ttlSeconds: req.push.ttlSeconds ?? s.messageTtlSeconds, numberMode: 'show' as const };
    const t = await d.shared.ticket(ticketKey(ticket), (number) => sharedWays({ ...base, number }), abort.signal);
    return t === undefined ? undefined : { username: t.username, number: t.number, outcome: t.outcome, expires: t.expiresAt };
  }

  /** The next round of a number-matched login: the number first (one try), then the approval. */
  async function numberAnswer(req: DecideRequest, answer: NonNullable<DecideRequest['numberAnswer']>): Promise<Verdict> {
    const details: AuditDetails = { factor: 'push' };
    let t = tickets.get(answer.ticket);
    tickets.delete(answer.ticket);
    t ??= await remoteTicket(req, answer.ticket);
    if (t === undefined || t.username !== req.subject.name || t.expires <= d.now()) return reject('push_expired', details);
    const typed = 'text' in answer ? codeEquals(answer.text.trim())(String(t.number)) : answer.matches(String(t.number));
    if (!typed) return reject('push_number_wrong', details);
    const r = await d.pending.wait(undefined, t.outcome);
    if (closing) return reject('shutdown', details);
    return afterPush(r, details, false);
  }

  function noteHealth(r: PushOutcome): void {
    if (r.kind === 'limited') return;
    if (r.kind !== 'unreachable') health = 'ok';
    else if (r.cause === 'timeout') health = 'timeout';
    else if (r.cause === 'unreachable') health = 'failing';
  }

  function afterPush(r: PushOutcome, details: AuditDetails, pushOnly: boolean): Verdict {
    switch (r.kind) {
      case 'limited':
        d.counters.inc('push_limited', r.limit);
        return reject('push_limited', { factor: 'push', limit: r.limit });
      case 'approved':
        return accept('push_approved', details);
      case 'denied':
        return reject('push_denied', details);
      case 'expired':
        return reject('push_expired', details);
      case 'unknown_user':
        return pushOnly ? reject('unenrolled', { factor: 'none' }) : unenrolled(d.settings());
      case 'unreachable': {
        if (r.cause === 'aborted') return reject('shutdown', details);
        const fm = pushOnly ? { accept: false } : failmodeVerdict(d.settings().failmode);
        const withDetail = { ...details, message: r.detail };
        return fm.accept ? accept('failmode_safe', withDetail) : reject('failmode_secure', withDetail);
      }
    }
  }

  /** The policy rule for this user at this door decides first (and is named in the record). */
  async function decideByPolicy(req: DecideRequest, policy: PolicyTable): Promise<Verdict> {
    const rule = await policy.match(req.subject.name, req.origin.door === 'radius' ? req.view.client : undefined);
    // Returned, not awaited, when no rule matched: a login waiting on a phone holds no frame here.
    if (rule === undefined) return decideUnder(req, undefined);
    const v = await decideUnder(req, rule);
    v.details = { ...v.details, policy: rule.name };
    return v.kind === 'accept' ? { ...v, rule } : v;
  }

  /** The decision under the policy rule that matched (undefined: none did). */
  async function decideUnder(req: DecideRequest, rule: PolicyRule | undefined): Promise<Verdict> {
    const s = d.settings();
    if (closing) return reject('shutdown', {});
    // Known users are read again: their lock or factor may have changed while the password was
    // checked. For the many users the store does not know, the first lookup stands.
    const status = req.subject.known ? await d.totp.status(req.subject.name) : { known: false as const };
    if (status.known && status.lock.locked) return reject(status.lock.reason === 'directory_gone' ? 'directory_gone' : 'locked', { factor: status.totp !== null && req.pushOnly !== true && req.numberAnswer === undefined ? 'totp' : 'push' });
    if (rule?.action === 'deny') return reject('policy_deny', { factor: 'none' });
    if (req.numberAnswer !== undefined) return numberAnswer(req, req.numberAnswer);
    if (req.pushOnly === true) return (await pushable(req.subject.name)) ? push(req, s) : reject('unenrolled', { factor: 'none' });
    // "Password only" applies at the doors that checked a password (the served push API did not).
    if (rule?.action === 'password_only') return accept('policy_password_only', { factor: 'none' });
    const totpAllowed = rule === undefined || rule.factors !== 'push';
    const pushAllowed = rule === undefined || rule.factors !== 'totp';
    if (totpAllowed && status.known && status.totp !== null) {
      const details: AuditDetails = req.code?.how === 'appended' ? { factor: 'totp', appendedCode: true } : { factor: 'totp' };
      if (req.code === undefined) return { kind: 'code_required', reason: 'totp_challenge', details };
      return checkCode(req, 'text' in req.code ? codeEquals(req.code.text) : req.code.matches, details);
    }
    // The answer to a code challenge, but the user no longer has a TOTP account.
    if (req.code?.how === 'challenge') return reject('totp_wrong', { factor: 'totp' });
    // A user with no factor the rule allows counts as not enrolled (--unenrolled-users).
    if (!pushAllowed || !d.push.configured() || (await d.push.enrolled?.(req.subject.name, req.subject.known)) === false) return unenrolled(s);
    return push(req, s);
  }

  return {
    async subject(sentName) {
      const c = canonicalUsername(sentName, { stripRealm: d.settings().stripRealm === 'yes' });
      if (!c.ok) return { ok: false, sent: sentName, problem: c.problem };
      const status = await d.totp.status(c.name);
      return { ok: true, name: c.name, sent: sentName, known: status.known, codeDigits: status.known && status.totp !== null ? status.totp.digits : undefined };
    },

    decide(req) {
      // No policy rules (the usual case): straight on, returned as it is, so that a login waiting
      // on a phone holds no frame or promise here.
      const policy = d.policy?.();
      if (policy === undefined || policy.rules.length === 0) return decideUnder(req, undefined);
      return decideByPolicy(req, policy);
    },

    pushable,
    pushHealth: () => (!d.push.configured() ? 'none' : d.push.local === true ? 'ok' : health),
    pendingApprovals: () => d.pending.list(),
    pendingCounts: () => d.pending.counts(),

    async shutdown() {
      closing = true;
      clearInterval(sweep);
      abort.abort();
      await Promise.allSettled(d.pending.outcomes());
      // Let the logins that were waiting write their answers.
      await new Promise((r) => setImmediate(r));
    },
  };
}
