// Pushes admitted by the per-user limits, counted across the appliances of a cluster (schema:
// push_admissions). What the limits are is app/mfa/push-limits.ts's; here, one transaction per
// admission, holding the user's lock, so that two appliances asked at once count each other.
import { sql } from 'drizzle-orm';
import { lockKey, type Runner, type SharedStore } from '../store.js';

export interface AdmissionAsk {
  id: string;
  username: string;
  node: string;
  now: number;
  /** Open pushes of the user at most (0: no limit). */
  maxPending: number;
  /** New pushes in the window at most (0: no limit). */
  maxInWindow: number;
  windowMs: number;
  /** Open rows started before this are of an appliance that died with them: not counted. */
  openSince: number;
}

/** Admit a push (its row is written) or say which limit refuses it. */
export async function admitPush(store: SharedStore, a: AdmissionAsk): Promise<'pending' | 'rate' | undefined> {
  return store.transaction(async (tx) => {
    await lockKey(tx, `push-admission:${a.username}`);
    const c = await tx.get<{ open: number | string | null; recent: number | string | null }>(sql`SELECT
        sum(CASE WHEN ended_at IS NULL AND started_at >= ${a.openSince} THEN 1 ELSE 0 END) AS "open",
        sum(CASE WHEN started_at > ${a.now - a.windowMs} THEN 1 ELSE 0 END) AS "recent"
      FROM push_admissions WHERE username = ${a.username} AND started_at >= ${Math.min(a.openSince, a.now - a.windowMs)}`);
    if (a.maxPending > 0 && Number(c?.open ?? 0) >= a.maxPending) return 'pending';
    if (a.maxInWindow > 0 && Number(c?.recent ?? 0) >= a.maxInWindow) return 'rate';
    await tx.run(sql`INSERT INTO push_admissions (id, username, node, started_at) VALUES (${a.id}, ${a.username}, ${a.node}, ${a.now})`);
    return undefined;
  });
}

/** The push has ended (whatever its outcome): no longer open. */
export async function endPush(r: Runner, id: string, now: number): Promise<void> {
  await r.run(sql`UPDATE push_admissions SET ended_at = ${now} WHERE id = ${id}`);
}

/** Forget an admission as if never made (its login joined a push sent before). */
export async function cancelPush(r: Runner, id: string): Promise<void> {
  await r.run(sql`DELETE FROM push_admissions WHERE id = ${id}`);
}

/** Forget admissions that no limit looks at any more. */
export async function sweepPushAdmissions(r: Runner, before: number): Promise<number> {
  return r.run(sql`DELETE FROM push_admissions WHERE started_at < ${before}`);
}
