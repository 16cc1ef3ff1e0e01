// What a push approval reports, whatever service delivers it (the Notakey-compatible API today,
// Gatehouse's own approver later).
export type FactorOutcome =
  | { kind: 'approved' }
  | { kind: 'denied' }
  | { kind: 'expired' }
  | { kind: 'unknown_user' }
  /**
   * The service could not be reached or answered nonsense: failmode decides. `cause` says how,
   * for the health shown to admins and Windows logon screens: a call that timed out, one that
   * failed otherwise, or an approval abandoned because Gatehouse is stopping.
   */
  | { kind: 'unreachable'; cause: 'timeout' | 'unreachable' | 'aborted'; detail: string };

export interface ApprovalRequest {
  /** Canonical user name. */
  username: string;
  /** Short, non-secret text identifying the login (client, calling station), sent as fingerprint. */
  fingerprint: string;
  title: string;
  /** `{0}` is replaced by the user name. */
  description: string;
  /** How long the person has; absent: the configured TTL. */
  ttlSeconds?: number;
  /** Number matching: the two-digit number the phone shows (and the login asks for). */
  number?: number;
}

/** A push service as the engine uses it. */
export interface PushProvider {
  /** Whether a push service is configured at all (otherwise users without TOTP are unenrolled). */
  configured(): boolean;
  /**
   * Whether this user can be asked at all (Gatehouse's own approver: the user has a phone);
   * absent: the service decides (a user it does not know answers unknown_user).
   */
  enrolled?(username: string): boolean;
  /** The service is this process (Gatehouse's own): reachable whenever Gatehouse is. */
  local?: boolean;
  /** Ask the person to approve; resolves with the decision, never rejects. */
  approve(req: ApprovalRequest, signal: AbortSignal): Promise<FactorOutcome>;
}
