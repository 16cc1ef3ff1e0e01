// What the Windows logon endpoint answers: health, and authenticate translated to and from the
// second-factor engine (app/mfa/engine.ts), which decides. The password never crosses the pipe:
// the credential provider checks it on the machine.
import type { Auditor } from '../audit/audit.js';
import type { AuditDetails, Outcome } from '../audit/chain.js';
import type { Settings } from '../config.js';
import type { DecideRequest, Engine, Verdict } from '../mfa/engine.js';
import { MESSAGES, type MessageKey } from '../mfa/messages.js';
import { canonicalUsername } from '../lib/username.js';
import type { Request, Scenario } from './frame.js';
import type { Reply } from './endpoint.js';

export interface PipeDeps {
  engine: Engine;
  audit: Auditor;
  settings(): Readonly<Pick<Settings, 'windowsNumberMatching' | 'windowsMessage'>>;
}

/** Who forwarded the request: `pipe` locally, `agent:NAME` through the agent API. */
export interface Caller {
  via: string;
  /**
   * The workstation this caller is bound to (an agent token names its machine). When set, it is
   * what the push shows and the audit records, whatever the request claims.
   */
  workstation?: string;
  /** Told of an accepted sign-in: who, as Gatehouse knows them, and with which factor (offline logon). */
  onAccepted?: (who: { username: string; factor: unknown }) => void;
}

const SCENARIO_TEXT: Record<Scenario, string> = { logon: 'sign-in', unlock: 'unlock', rdp: 'remote desktop sign-in', credui: 'credential prompt' };

type Result = 'approved' | 'denied' | 'expired' | 'unknown_user' | 'code_required' | 'locked' | 'error';

/** The protocol's result for each verdict. */
function resultOf(v: Verdict): Result {
  if (v.kind === 'accept') return 'approved';
  if (v.kind === 'code_required') return 'code_required';
  switch (v.reason) {
    case 'locked':
      return 'locked';
    case 'push_expired':
      return 'expired';
    case 'unenrolled':
      return 'unknown_user';
    case 'failmode_secure':
    case 'shutdown':
      return 'error';
    default:
      return 'denied';
  }
}

const OUTCOME: Record<Result, Outcome> = { approved: 'accept', code_required: 'challenge', error: 'error', denied: 'reject', expired: 'reject', unknown_user: 'reject', locked: 'reject' };

/** The endpoint's health as protocol v1 words it, from what the engine saw of the push service. */
export function pipeHealth(engine: Engine): Reply {
  switch (engine.pushHealth()) {
    case 'timeout':
      return { status: 'api_timeout', message: 'API call timed out.' };
    case 'failing':
      return { status: 'api_unreachable', message: 'service can not connect to API. Check network connectivity and API parameters.' };
    default:
      return { status: 'ok', message: 'Service Status: OK' };
  }
}

/** The interim reply of a number-matched logon: the number the logon screen shows. */
export function numberReply(n: number): Reply {
  return { result: 'number', number: n, message: `On your phone, pick ${n} to approve this sign-in.` };
}

/**
 * Answer one request. `interim` sends a reply before the final one; a caller that cannot pass
 * one on (or a request that did not ask for it) gets none, and a number-matched logon is then
 * refused as unsupported.
 */
export function createPipeHandler(d: PipeDeps): (req: Request, caller?: Caller, interim?: (reply: Reply) => void) => Promise<Reply> {
  return async (req, caller = { via: 'pipe' }, interim) => {
    if (req.op === 'health') return pipeHealth(d.engine);
    const workstation = caller.workstation ?? req.workstation;
    const details: AuditDetails = { scenario: req.scenario, workstation, domain: req.domain };
    if (caller.workstation !== undefined && req.workstation !== caller.workstation) details.claimedWorkstation = req.workstation;
    if (req.enforced !== undefined) details.enforcement = req.enforced ? 'enforced' : 'not enforced';
    const source = `${caller.via}:${workstation || 'unknown'}`;
    const subject = await d.engine.subject(req.username);
    const answer = async (result: Result, reason: string, key: MessageKey, username: string, extra: AuditDetails, commit?: () => void): Promise<Reply> => {
      await d.audit.commit({ event: 'windows.auth', outcome: OUTCOME[result], reason, username, source, details: { ...details, ...extra } }, commit);
      return { result, message: MESSAGES[key] };
    };
    if (!subject.ok) return answer('denied', 'bad_user_name', 'bad_user_name', req.username, { message: subject.problem });
    if (subject.sent !== subject.name) details.sentUsername = subject.sent;
    // Braces are dropped from the workstation name: `{0}` in it must not become the user name.
    const shown = workstation.replace(/[{}]/g, '') || 'a Windows computer';
    const windowsMessage = d.settings().windowsMessage;
    const code = req.code?.trim();
    // Number matching (--windows-number-matching): the number goes to the logon screen in an
    // interim reply, as soon as the push is out. A provider that did not say it can show one is
    // refused by the engine rather than approved without the number.
    let numberMatching: DecideRequest['numberMatching'];
    if (d.settings().windowsNumberMatching === 'yes') numberMatching = req.numberMatching === true && interim !== undefined ? (n) => interim(numberReply(n)) : 'unavailable';
    const verdict = await d.engine.decide({
      ...(numberMatching !== undefined ? { numberMatching } : {}),
      subject,
      ...(code !== undefined && code !== '' ? { code: { text: code, how: 'typed' as const } } : {}),
      // The domain is where the password was checked; the scenario stands for the calling
      // station. Only the console (logon, unlock) has one session at a time: a repeated console
      // logon of the same machine may join its push. Remote desktop and credential prompts can
      // be several sessions at once, and the protocol names none of them, so they never join
      // (someone else's RDP logon as the same user must not ride on the user's own approval).
      origin: { door: 'windows', source: caller.via, nas: workstation, station: req.scenario === 'logon' || req.scenario === 'unlock' ? req.scenario : '', firstFactor: req.domain },
      push: {
        title: `Windows ${SCENARIO_TEXT[req.scenario]}`,
        // --windows-message: {1} is the workstation here; {0}, the user, is filled in by the push layer.
        description: windowsMessage !== undefined ? windowsMessage.split('{1}').join(shown) : `Do you want to allow ${SCENARIO_TEXT[req.scenario]} to ${shown} for user {0}?`,
        fingerprint: `${req.domain ? `${req.domain}\\` : ''}${subject.name} on ${workstation}`,
      },
      view: { client: caller.via, station: workstation || undefined },
      audit: { source, client: null },
    });
    const result = resultOf(verdict);
    if (verdict.kind === 'accept') caller.onAccepted?.({ username: subject.name, factor: verdict.details.factor });
    const key: MessageKey = verdict.kind === 'accept' ? 'approved' : verdict.kind === 'code_required' ? 'code_required' : verdict.reason === 'push_number_wrong' ? 'number_picked_wrong' : verdict.reason;
    return answer(result, verdict.reason, key, subject.name, verdict.details, verdict.kind === 'accept' ? verdict.commit : undefined);
  };
}

/** One sign-in a workstation decided on its own while it could not reach Gatehouse. */
export interface OfflineLogon {
  username: string;
  domain: string;
  scenario: Scenario;
  /** When it happened (ms since 1970, the workstation's clock). */
  at: number;
  result: 'approved' | 'denied' | 'locked';
}

const OFFLINE_REASON = { approved: 'offline_code', denied: 'offline_code_wrong', locked: 'offline_locked' } as const;

/**
 * The audit records of offline sign-ins a workstation reports once it is back online: the
 * outcome it decided, with `offline: true` and when (`at`); the record's own time is when it
 * was learnt. The workstation is the agent token's, as for online sign-ins.
 */
export async function recordOfflineLogons(audit: Auditor, caller: Caller & { workstation: string }, logons: readonly OfflineLogon[], rules: { stripRealm: boolean }): Promise<void> {
  // Queued together: one transaction for the whole report, in the order the workstation sent it.
  await Promise.all(
    logons.map((l) => {
      const c = canonicalUsername(l.username, rules);
      return audit.commit({
        event: 'windows.auth',
        outcome: l.result === 'approved' ? 'accept' : 'reject',
        reason: OFFLINE_REASON[l.result],
        username: c.ok ? c.name : l.username.slice(0, 256),
        source: `${caller.via}:${caller.workstation}`,
        details: { scenario: l.scenario, workstation: caller.workstation, domain: l.domain, factor: 'totp' as const, offline: true, at: new Date(l.at).toISOString() },
      });
    }),
  );
}
