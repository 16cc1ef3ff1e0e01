// How an admin proves who they are to the web UI: at sign-in (password, then TOTP code) and again
// before a sensitive operation (downloading a backup, which holds the master key; creating an API
// token). One place for the checks and for what a failure costs:
//   - Each admin account: ten wrong passwords or codes in a row lock it for 15 minutes. The count
//     and the lock are written in one transaction after the check, with no await between reading
//     the lock and deciding, so parallel wrong attempts all count (40 at once lock the account).
//   - Each source address (IPv6: its /64): ten failures in a row lock the address out of sign-in
//     for 15 minutes, before any account is touched, so one address cannot guess at, or lock out,
//     every admin in turn. An attempt takes its place before anything is awaited (begin()): a
//     source may have at most as many attempts in flight as it has failures left, so parallel
//     requests cannot get past the throttle while the first ones are still being checked.
//     Refusals are audited once a minute per source, with the number of the others.
//   - A TOTP step is claimed in one statement: a code signs in once, however many requests carry it.
// Each failure slows the next answer (failureDelayMs).
import type { Auditor } from '../audit/audit.js';
import type { AdminRow } from '../db/queries/admins.js';
import { changeAdminLockState, claimAdminTotpStep, findAdminById, openAdminSeed } from '../db/queries/admins.js';
import type { SharedStore } from '../db/store.js';
import type { Sealer } from '../db/secrets.js';
import { DUMMY_HASH, verifyPassword } from '../lib/password.js';
import { afterFailure, lockVerdict } from '../mfa/lockout.js';
import { checkTotp, codeEquals, DEFAULT_TOTP } from '../mfa/otp.js';
import { ADMIN_LOCKOUT, createSourceFailures } from './signin-limits.js';

export interface AdminAuthDeps {
  store: SharedStore;
  sealer: Sealer;
  audit: Auditor;
  now(): number;
}

export type Check = { ok: true } | { ok: false; reason: 'unknown_admin' | 'bad_password' | 'locked' | 'totp_wrong' | 'totp_replayed' | 'no_totp'; failures: number };

export type Attempt = { ok: true; end(): void } | { ok: false; retryAfterMs: number };

export interface AdminAuth {
  /**
   * Take a place for one attempt from `source` (`http:ADDRESS`), synchronously, before anything
   * is awaited; call end() when the attempt has been decided. Refused while the source is locked
   * out, or when its attempts in flight would exceed the failures it has left. A refusal is
   * audited (as `event`), once a minute per source.
   */
  begin(source: string, event: string): Attempt;
  /**
   * The password of `admin` (undefined: no such admin; a dummy hash is checked so timing does not
   * tell). A failure is counted against the account and the source.
   */
  password(admin: AdminRow | undefined, password: string, source: string, event: string): Promise<Check>;
  /** The current TOTP code of admin `id`, its step claimed; a failure is counted. Synchronous. */
  code(id: number, code: string, source: string, event: string): Promise<Check>;
}

/**
 * The throttle key of a source: the address, or for IPv6 its /64 (one host usually has a whole
 * /64). IPv4 peers of a dual-stack listener (`::ffff:a.b.c.d`) are their IPv4 address.
 */
export function throttleKey(source: string): string {
  const addr = source.replace(/^http:/, '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  if (!addr.includes(':')) return addr;
  const groups = addr.split('::');
  const head = (groups[0] ?? '').split(':').filter((g) => g !== '');
  const tail = groups.length > 1 ? (groups[1] ?? '').split(':').filter((g) => g !== '') : [];
  const full = [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  return `${full.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** Refusals of throttled sources are audited once per window, with how many were not. */
const REFUSAL_AUDIT_MS = 60_000;
const MAX_REFUSAL_WINDOWS = 10_000;

export function createAdminAuth(d: AdminAuthDeps): AdminAuth {
  const sources = createSourceFailures(ADMIN_LOCKOUT);
  const inFlight = new Map<string, number>();
  const refusals = new Map<string, { since: number; suppressed: number }>();

  function refuse(key: string, source: string, event: string, retryAfterMs: number): Attempt {
    const now = d.now();
    const w = refusals.get(key);
    if (w !== undefined && now - w.since < REFUSAL_AUDIT_MS) w.suppressed++;
    else {
      refusals.delete(key);
      if (refusals.size >= MAX_REFUSAL_WINDOWS) refusals.delete(refusals.keys().next().value!);
      refusals.set(key, { since: now, suppressed: 0 });
      // Written in the background: the refusal is decided (begin() must not wait). If the store
      // cannot take it, the refused request is answered all the same, and the attempts that
      // follow fail at their own records.
      d.audit.record({ event, outcome: 'reject', reason: 'source_throttled', source, ...(w !== undefined && w.suppressed > 0 ? { details: { suppressed: w.suppressed } } : {}) }).catch(() => undefined);
    }
    return { ok: false, retryAfterMs };
  }

  /** Count one failure against the account (if any: in one transaction, atomic across nodes) and the source; audit it. */
  async function fail(adminId: number | undefined, actor: string | null, reason: Exclude<Check, { ok: true }>['reason'], source: string, event: string): Promise<Check> {
    const now = d.now();
    // An unknown name is slowed like the source's other failures, so that the delay does not tell
    // which names are admins.
    let failures = 0;
    if (adminId !== undefined) {
      const r = await changeAdminLockState(d.store, adminId, (s) => afterFailure({ locked: false, lockedUntil: s.lockedUntil, failedAttempts: s.failedAttempts }, now, ADMIN_LOCKOUT));
      if (r !== undefined) {
        failures = r.lockedNow ? ADMIN_LOCKOUT.maxFailures : r.failedAttempts;
        if (r.lockedNow) await d.audit.record({ event: 'admin.lockout', outcome: 'ok', actor, source, reason: 'too_many_failures' });
      }
    }
    const s = sources.fail(throttleKey(source), now);
    if (s.lockedNow) await d.audit.record({ event: 'admin.throttle', outcome: 'ok', source, reason: 'too_many_failures_from_source', details: { count: s.failures } });
    await d.audit.record({ event, outcome: 'reject', actor, reason, source });
    return { ok: false, reason, failures: Math.max(failures, s.failures) };
  }

  const lockedNow = (a: AdminRow) => lockVerdict({ locked: false, lockedUntil: a.lockedUntil, failedAttempts: a.failedAttempts }, d.now()).locked;

  return {
    begin(source, event) {
      const key = throttleKey(source);
      const now = d.now();
      const until = sources.lockedUntil(key, now);
      if (until !== undefined) return refuse(key, source, event, until - now);
      const busy = inFlight.get(key) ?? 0;
      // Attempts already in flight may all fail: together they must stay below the lockout.
      if (sources.failures(key, now) + busy >= ADMIN_LOCKOUT.maxFailures) return refuse(key, source, event, 1000);
      inFlight.set(key, busy + 1);
      let ended = false;
      return {
        ok: true,
        end() {
          if (ended) return;
          ended = true;
          const left = (inFlight.get(key) ?? 1) - 1;
          if (left > 0) inFlight.set(key, left);
          else inFlight.delete(key);
        },
      };
    },

    async password(admin, password, source, event) {
      const ok = await verifyPassword(password, admin?.passwordHash ?? DUMMY_HASH);
      // From here to the verdict: one synchronous turn. The row is read again, since other
      // attempts may have locked the account while the password was hashed.
      const fresh = admin === undefined ? undefined : await findAdminById(d.store, admin.id);
      if (fresh === undefined) return await fail(undefined, null, 'unknown_admin', source, event);
      const actor = `admin:${fresh.name}`;
      if (lockedNow(fresh)) return await fail(fresh.id, actor, 'locked', source, event);
      if (!ok) return await fail(fresh.id, actor, 'bad_password', source, event);
      // The source's count is cleared only by a whole sign-in (the code too).
      return { ok: true };
    },

    async code(id, code, source, event) {
      const admin = await findAdminById(d.store, id);
      if (admin === undefined) return await fail(undefined, null, 'unknown_admin', source, event);
      const actor = `admin:${admin.name}`;
      if (lockedNow(admin)) return await fail(admin.id, actor, 'locked', source, event);
      const seed = await openAdminSeed(d.store, d.sealer, admin.id);
      if (seed === undefined) return await fail(admin.id, actor, 'no_totp', source, event);
      const check = checkTotp(seed, codeEquals(code.trim()), d.now(), DEFAULT_TOTP, admin.totpLastUsedStep);
      seed.fill(0);
      if (!check.ok) return await fail(admin.id, actor, check.reason === 'replayed' ? 'totp_replayed' : 'totp_wrong', source, event);
      // Claimed in one statement, which also finds no lockout: a second request with the same
      // code (here, in another process or on another node) finds the step taken, and a lockout
      // made by failures meanwhile holds.
      if (!(await claimAdminTotpStep(d.store, admin.id, check.step, d.now()))) return await fail(admin.id, actor, 'totp_replayed', source, event);
      sources.clear(throttleKey(source));
      return { ok: true };
    },
  };
}
