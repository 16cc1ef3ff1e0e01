// The VM appliance's one-time setup code: DATA_DIR/setup-code, one line `XXXX-XXXX-XXXX-XXXX`
// written at first boot (mode 0600, owned by the service user) and shown on the console. Whoever
// holds it creates the first admin in the browser; the file is removed once it has been used.
import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, openSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

export const SETUP_CODE_FILE = 'setup-code';

/** Longer than any code: more than this in the file makes it unusable, not a longer read. */
const MAX_READ = 256;

export function setupCodePath(dataDir: string): string {
  return join(dataDir, SETUP_CODE_FILE);
}

/** As typed or as stored: trimmed, upper-case, without dashes and white space. */
export function normalizeSetupCode(raw: string): string {
  return raw.slice(0, MAX_READ).trim().toUpperCase().replace(/[\s-]+/g, '');
}

export type SetupCodeFile = { state: 'absent' } | { state: 'unusable'; problem: string } | { state: 'present'; code: string };

/** Read the setup code file (its first line), without following a symbolic link. */
export function readSetupCode(dataDir: string): SetupCodeFile {
  let fd: number;
  try {
    fd = openSync(setupCodePath(dataDir), constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? { state: 'absent' } : { state: 'unusable', problem: (e as Error).message };
  }
  const buf = Buffer.alloc(MAX_READ + 1);
  let n: number;
  try {
    n = readSync(fd, buf, 0, buf.length, null);
  } catch (e) {
    return { state: 'unusable', problem: (e as Error).message };
  } finally {
    closeSync(fd);
  }
  if (n > MAX_READ) return { state: 'unusable', problem: `${SETUP_CODE_FILE} is longer than a setup code` };
  const code = normalizeSetupCode(buf.subarray(0, n).toString('utf8').split(/\r?\n/)[0] ?? '');
  // Never an empty or short code: that would let an empty or guessable entry through.
  if (!/^[A-Z0-9]{12,64}$/.test(code)) return { state: 'unusable', problem: `${SETUP_CODE_FILE} does not hold a setup code (XXXX-XXXX-XXXX-XXXX)` };
  return { state: 'present', code };
}

/** Whether the entered code is the stored one, in constant time (the digests are compared). */
export function setupCodeMatches(entered: string, stored: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const ok = timingSafeEqual(digest(normalizeSetupCode(entered)), digest(stored));
  return ok && stored !== '';
}

/** Remove the file once the code is used; a file already gone is fine, other errors throw. */
export function removeSetupCode(dataDir: string): void {
  try {
    unlinkSync(setupCodePath(dataDir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
