// What the Windows logon endpoint answers: health, and authenticate backed by the same factors
// as RADIUS (TOTP with replay protection and lockout, push, --unenrolled-users, failmode).
// The password never crosses the pipe: the credential provider checks it on the machine.
import type { Auditor } from '../audit/audit.js';
import type { AuditDetails } from '../audit/chain.js';
import type { Settings } from '../config.js';
import { failmodeVerdict } from '../mfa/failmode.js';
import type { ApprovalRequest, FactorOutcome } from '../mfa/factor.js';
import { codeEquals } from '../mfa/otp.js';
import type { TotpFactor } from '../mfa/totp.js';
import type { PushLimiter } from '../mfa/push-limits.js';
import type { Request, Scenario } from './frame.js';
import type { Reply } from './endpoint.js';

export interface PipeDeps {
  settings(): Readonly<Settings>;
  totp: TotpFactor;
  approve(req: ApprovalRequest, settings: Readonly<Settings>, signal: AbortSignal, text?: { title: string; description: string }): Promise<FactorOutcome>;
  /** Per-user push limits, shared with RADIUS: a workstation cannot flood a phone either. */
  pushLimits: PushLimiter;
  audit: Auditor;
  /** How the path to the factor service looks: 'ok', or why not. */
  health(): { status: 'ok' | 'api_unreachable' | 'api_timeout' | 'error'; message: string };
  signal: AbortSignal;
}

const SCENARIO_TEXT: Record<Scenario, string> = { logon: 'sign-in', unlock: 'unlock', rdp: 'remote desktop sign-in', credui: 'credential prompt' };

const MESSAGES = {
  approved: 'Approved.',
  denied: 'The sign-in was denied on the phone.',
  expired: 'The sign-in was not approved in time.',
  unknown_user: 'No second factor is set up for this account. Ask your administrator.',
  code_required: 'Enter the code from your authenticator app.',
  locked: 'This account is locked. Ask your administrator.',
  totp_wrong: 'The code is not correct.',
  totp_replayed: 'That code was already used; wait for the next one.',
  failmode_secure: 'The approval service cannot be reached; try again later.',
  push_limited: 'Too many approval requests; wait a few minutes.',
} as const;

type Result = 'approved' | 'denied' | 'expired' | 'unknown_user' | 'code_required' | 'locked' | 'error';

/** `via` names the path in the audit source: `pipe` locally, `agent:NAME` through the agent API. */
export function createPipeHandler(d: PipeDeps): (req: Request, via?: string) => Promise<Reply> {
  return async (req, via = 'pipe') => {
    if (req.op === 'health') return { ...d.health() };
    const settings = d.settings();
    const who = req.username.trim();
    const details: AuditDetails = { scenario: req.scenario, workstation: req.workstation, domain: req.domain };
    const answer = (result: Result, reason: string, message: string, extra?: AuditDetails): Reply => {
      d.audit.record({
        event: 'windows.auth',
        outcome: result === 'approved' ? 'accept' : result === 'code_required' ? 'challenge' : result === 'error' ? 'error' : 'reject',
        reason,
        username: who,
        source: `${via}:${req.workstation || 'unknown'}`,
        details: { ...details, ...extra },
      });
      return { result, message };
    };
    const status = d.totp.status(who);
    if (status.known && status.lock.locked) return answer('locked', 'locked', MESSAGES.locked);
    if (status.known && status.totp !== null) {
      if (req.code === undefined || req.code.trim() === '') return answer('code_required', 'totp_challenge', MESSAGES.code_required, { factor: 'totp' });
      const r = d.totp.verify(who, codeEquals(req.code.trim()));
      if (r.ok) return answer('approved', 'totp_ok', MESSAGES.approved, { factor: 'totp' });
      if (r.reason === 'locked') return answer('locked', 'locked', MESSAGES.locked, { factor: 'totp' });
      if (r.reason !== 'no_totp' && r.lockedNow) d.audit.record({ event: 'user.lockout', outcome: 'ok', username: who, source: `${via}:${req.workstation}`, reason: 'too_many_wrong_codes' });
      const reason = r.reason === 'totp_replayed' ? 'totp_replayed' : 'totp_wrong';
      return answer('denied', reason, MESSAGES[reason], { factor: 'totp' });
    }
    const unenrolled = () => (settings.unenrolledUsers === 'allow' ? answer('approved', 'unenrolled_allowed', MESSAGES.approved, { factor: 'none' }) : answer('unknown_user', 'unenrolled', MESSAGES.unknown_user, { factor: 'none' }));
    if (settings.notakeyHost === undefined || settings.notakeyAccessId === undefined) return unenrolled();
    // Braces are dropped from the workstation name: `{0}` in it must not become the user name.
    const workstation = req.workstation.replace(/[{}]/g, '') || 'a Windows computer';
    const text = { title: `Windows ${SCENARIO_TEXT[req.scenario]}`, description: `Do you want to allow ${SCENARIO_TEXT[req.scenario]} to ${workstation} for user {0}?` };
    const fingerprint = `${req.domain ? `${req.domain}\\` : ''}${who} on ${req.workstation}`;
    const admitted = d.pushLimits.admit(who, settings);
    if (admitted.refused !== undefined) return answer('denied', 'push_limited', MESSAGES.push_limited, { factor: 'push', limit: admitted.refused });
    let outcome: FactorOutcome;
    try {
      outcome = await d.approve({ username: who, fingerprint }, settings, d.signal, text);
    } finally {
      admitted.release();
    }
    const push: AuditDetails = { factor: 'push' };
    switch (outcome.kind) {
      case 'approved':
        return answer('approved', 'push_approved', MESSAGES.approved, push);
      case 'denied':
        return answer('denied', 'push_denied', MESSAGES.denied, push);
      case 'expired':
        return answer('expired', 'push_expired', MESSAGES.expired, push);
      case 'unknown_user':
        return unenrolled();
      case 'unreachable': {
        const fm = failmodeVerdict(settings.failmode);
        return fm.accept ? answer('approved', fm.reason, MESSAGES.approved, { ...push, message: outcome.detail }) : answer('error', 'failmode_secure', MESSAGES.failmode_secure, { ...push, message: outcome.detail });
      }
    }
  };
}
