// RADIUS challenges shared by the appliances of a cluster (schema: radius_challenges). Sealing
// and what the payload means are the RADIUS module's (app/radius/challenges.ts).
import { sql } from 'drizzle-orm';
import type { Runner } from '../store.js';

export async function putChallenge(r: Runner, state: string, payloadSealed: Buffer, expiresAt: number): Promise<void> {
  await r.run(sql`INSERT INTO radius_challenges (state, payload_sealed, expires_at) VALUES (${state}, ${payloadSealed}, ${expiresAt})`);
}

/** Take the challenge behind a State: one statement, so of two appliances asked at once one gets it. */
export async function takeChallenge(r: Runner, state: string): Promise<{ payloadSealed: Buffer; expiresAt: number } | undefined> {
  return r.get(sql`DELETE FROM radius_challenges WHERE state = ${state} RETURNING payload_sealed AS "payloadSealed", expires_at AS "expiresAt"`);
}

/** Forget challenges whose time is up (nobody answered them). */
export async function sweepChallenges(r: Runner, now: number): Promise<number> {
  return r.run(sql`DELETE FROM radius_challenges WHERE expires_at <= ${now}`);
}
