// What a push approval reports, whatever service delivers it (the Notakey-compatible API today,
// Gatehouse's own approver later).
export type FactorOutcome =
  /** `picked`: the number the person picked on the phone (number matching the Windows way). */
  | { kind: 'approved'; picked?: number }
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
  /** Number matching: the login's two-digit number. */
  number?: number;
  /**
   * How the phone uses `number`: `show` it (the person types it at the login: RADIUS), or offer
   * it among others to `pick` the one the login's screen shows (Windows). Default `show`.
   */
  numberMode?: 'show' | 'pick';
}

/** A push service as the engine uses it. */
export interface PushProvider {
  /** Whether a push service is configured at all (otherwise users without TOTP are unenrolled). */
  configured(): boolean;
  /**
   * Whether this user can be asked at all (Gatehouse's own approver: the user has a phone);
   * absent: the service decides (a user it does not know answers unknown_user). `knownToStore`
   * false: the store has no such user, so Gatehouse's own approver knows without a query that
   * there is no phone (the RADIUS pass-through path asks this for every unknown user).
   */
  enrolled?(username: string, knownToStore?: boolean): Promise<boolean>;
  /** The service is this process (Gatehouse's own): reachable whenever Gatehouse is. */
  local?: boolean;
  /**
   * The service lets the person pick the number (numberMode `pick`) and reports the pick with the
   * approval. Absent: it can only show the number in the message (a Notakey phone).
   */
  picks?: boolean;
  /**
   * Ask the person to approve; resolves with the decision, never rejects. `started` is told the
   * service's name for the push (the push API's uuid) once known, for another appliance to follow.
   */
  approve(req: ApprovalRequest, signal: AbortSignal, started?: (ref: string) => void): Promise<FactorOutcome>;
  /**
   * Follow a push another appliance started and can no longer follow (it stopped or died), by the
   * name `started` gave, for at most `ttlMs`. Absent: the service cannot (a new push is sent).
   */
  follow?(ref: string, ttlMs: number, signal: AbortSignal): Promise<FactorOutcome>;
}
