// TOTP codes as an authenticator app would show them, for tests that log users in.
import { base32Decode, hotp, totpStep } from '../../app/mfa/otp.js';

/** The code for `offset` steps from now (30 s steps, SHA1, 6 digits: the enrolment defaults). */
export function totpCode(seed: Buffer, offset = 0): string {
  return hotp(seed, totpStep(Date.now(), 30) + offset, 6);
}

/** A 6-digit string that is none of the codes the server would accept right now. */
export function wrongTotpCode(seed: Buffer): string {
  const valid = new Set([-1, 0, 1].map((o) => totpCode(seed, o)));
  for (let i = 0; ; i++) {
    const c = String(i).padStart(6, '0');
    if (!valid.has(c)) return c;
  }
}

/** The seed inside the otpauth:// URI that `gatehouse totp enroll` printed (its last such line). */
export function seedFromEnrolment(stdout: string): Buffer {
  const uri = stdout.split('\n').find((l) => l.startsWith('otpauth://totp/'));
  if (uri === undefined) throw new Error(`no otpauth:// URI in:\n${stdout}`);
  return base32Decode(new URL(uri).searchParams.get('secret')!);
}
