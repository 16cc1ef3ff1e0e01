// One-time self-enrolment codes (only their hashes): made by an admin, claimed once at /my.
// Written once for both engines (app/db/store.ts).
import { sql } from 'drizzle-orm';
import { lockForWrite, type Runner, type SharedStore } from '../store.js';

/** Replace the user's code (one at a time); false when there is no such user. */
export async function putEnrolmentCode(store: SharedStore, username: string, codeHash: string, expiresAt: number, createdBy: string): Promise<boolean> {
  return store.transaction(async (tx) => {
    const u = await tx.get<{ id: number }>(sql`SELECT id FROM users WHERE username = ${username}`);
    if (u === undefined) return false;
    // One code per user, also when two admins (on two nodes) make one at once.
    await lockForWrite(tx, 'enrolment_codes');
    await tx.run(sql`DELETE FROM enrolment_codes WHERE user_id = ${u.id} OR expires_at <= ${Date.now()}`);
    await tx.run(sql`INSERT INTO enrolment_codes (code_hash, user_id, expires_at, created_by, created_at) VALUES (${codeHash}, ${u.id}, ${expiresAt}, ${createdBy}, ${Date.now()})`);
    return true;
  });
}

/** The stored hash of the user's live code, if they have one. */
export async function findEnrolmentCode(r: Runner, username: string, now: number): Promise<string | undefined> {
  const row = await r.get<{ codeHash: string }>(sql`SELECT code_hash AS "codeHash" FROM enrolment_codes WHERE user_id = (SELECT id FROM users WHERE username = ${username}) AND expires_at > ${now}`);
  return row?.codeHash;
}

/** Claim the user's code (by its stored hash, once it was checked): true once, by one statement. */
export async function claimEnrolmentCode(r: Runner, username: string, codeHash: string, now: number): Promise<boolean> {
  return (await r.run(sql`DELETE FROM enrolment_codes WHERE code_hash = ${codeHash} AND user_id = (SELECT id FROM users WHERE username = ${username}) AND expires_at > ${now}`)) === 1;
}
