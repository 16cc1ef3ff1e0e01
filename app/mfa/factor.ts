// The outcome every second factor reports, whatever it is (push today, TOTP and others later).
export type FactorOutcome =
  | { kind: 'approved' }
  | { kind: 'denied' }
  | { kind: 'expired' }
  | { kind: 'unknown_user' }
  /** The factor's service could not be reached or answered nonsense: failmode decides. */
  | { kind: 'unreachable'; detail: string };

export interface ApprovalRequest {
  username: string;
  /** Short, non-secret text identifying the login (client, calling station), sent as fingerprint. */
  fingerprint: string;
}
