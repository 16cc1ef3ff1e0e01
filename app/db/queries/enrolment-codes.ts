// One-time self-enrolment codes (only their hashes): made by an admin, claimed once at /my.
import type { Store } from '../open.js';

/** Replace the user's code (one at a time); false when there is no such user. */
export function putEnrolmentCode(store: Store, username: string, codeHash: string, expiresAt: number, createdBy: string): boolean {
  return store.sqlite
    .transaction(() => {
      const u = store.sqlite.prepare<[string], { id: number }>('SELECT id FROM users WHERE username = ?').get(username);
      if (u === undefined) return false;
      store.sqlite.prepare<[number, number]>('DELETE FROM enrolment_codes WHERE user_id = ? OR expires_at <= ?').run(u.id, Date.now());
      store.sqlite.prepare<[string, number, number, string]>('INSERT INTO enrolment_codes (code_hash, user_id, expires_at, created_by) VALUES (?, ?, ?, ?)').run(codeHash, u.id, expiresAt, createdBy);
      return true;
    })
    .immediate();
}

/** The stored hash of the user's live code, if they have one. */
export function findEnrolmentCode(store: Store, username: string, now: number): string | undefined {
  return store.sqlite.prepare<[string, number], { code_hash: string }>('SELECT code_hash FROM enrolment_codes WHERE user_id = (SELECT id FROM users WHERE username = ?) AND expires_at > ?').get(username, now)?.code_hash;
}

/** Claim the user's code (by its stored hash, once it was checked): true once, by one statement. */
export function claimEnrolmentCode(store: Store, username: string, codeHash: string, now: number): boolean {
  return store.sqlite.prepare<[string, string, number]>('DELETE FROM enrolment_codes WHERE code_hash = ? AND user_id = (SELECT id FROM users WHERE username = ?) AND expires_at > ?').run(codeHash, username, now).changes === 1;
}
