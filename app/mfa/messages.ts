// Every text a person trying to sign in is shown, by the reason of the decision: the RADIUS
// Reply-Message, the Windows logon screen's status line. One table, so that the same decision
// reads the same at every front door.
export const MESSAGES = {
  approved: 'Approved.',
  code_required: 'Enter the code from your authenticator app',
  number_required: 'Approve the sign-in on your phone, then enter the number it shows',
  push_number_wrong: 'The number does not match the one on your phone; sign in again.',
  // The Windows way round: the person picked a number on the phone, not the one on the screen.
  number_picked_wrong: 'The number picked on the phone is not the one shown here; sign in again.',
  push_number_unsupported: 'This sign-in needs number matching, which the Gatehouse software on this computer cannot show; ask your administrator to update it.',
  push_denied: 'The sign-in was denied on the phone.',
  push_expired: 'The sign-in was not approved in time.',
  unenrolled: 'No second factor is set up for this account; ask your administrator.',
  failmode_secure: 'The approval service cannot be reached; try again later.',
  locked: 'This account is locked; ask your administrator.',
  policy_deny: 'Sign-in is not allowed for this account here; ask your administrator.',
  directory_gone: 'This account is disabled in the directory; ask your administrator.',
  totp_wrong: 'The code is not correct.',
  totp_replayed: 'That code was already used; wait for the next one.',
  push_limited: 'Too many approval requests; wait a few minutes.',
  shutdown: 'The authentication service is restarting; try again.',
  bad_user_name: 'The user name is not valid.',
  // Reasons a front door decides before the second factor is asked.
  no_user_name: 'The request has no user name.',
  no_downstream: 'No RADIUS server is configured to check passwords.',
  // EAP (802.1X): no text prompt, so push only; the person is the inner identity.
  eap_no_identity: 'The RADIUS server did not name the user; sign-in cannot be approved.',
  eap_needs_push: 'Wi-Fi and 802.1X sign-in needs push approval on your phone; ask your administrator to enrol one.',
  state_expired: 'The code request has expired; log in again.',
  state_mismatch: 'The code request does not belong to this login; log in again.',
  // The directory as the first factor. Whether the name exists, or the account is disabled,
  // locked or expired, reads the same as a wrong password: the audit record tells them apart.
  directory_needs_pap: 'This server checks passwords against the directory, which needs PAP; CHAP and MS-CHAP cannot be checked that way.',
  no_directory: 'No directory is configured to check passwords.',
  directory_refused: 'The user name or password is not correct.',
  directory_unavailable: 'The directory cannot be reached right now; try again later.',
} as const;

export type MessageKey = keyof typeof MESSAGES;
