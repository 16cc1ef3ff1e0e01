// Policy rules as stored (app/mfa/policy.ts says what they mean): in order, added at the end,
// moved one place at a time, removed. Written once for both engines (app/db/store.ts), but for
// the group reader, still SQLite's own (the login path moves with the users' queries).
import { sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { policyRules } from '../schema.js';
import { lockForWrite, type Runner, type SharedStore } from '../store.js';

/** A rule as stored: groups lower case (empty: anyone), client a RADIUS client's name (undefined: any door). */
export interface StoredRule {
  id: number;
  name: string;
  groups: readonly string[];
  client: string | undefined;
  action: (typeof policyRules.$inferSelect)['action'];
  factors: (typeof policyRules.$inferSelect)['factors'];
  /** `Name = value` lines for a RADIUS Access-Accept. */
  replyAttributes: string;
}
export type RuleInput = Omit<StoredRule, 'id'>;

export async function listRules(r: Runner): Promise<StoredRule[]> {
  const rows = await r.all<{ id: number; name: string; groups: string; client: string | null; action: StoredRule['action']; factors: StoredRule['factors']; replyAttributes: string }>(sql`
    SELECT id, name, groups, client, action, factors, reply_attributes AS "replyAttributes" FROM policy_rules ORDER BY position, id`);
  return rows.map((row) => ({ id: row.id, name: row.name, groups: row.groups === '' ? [] : row.groups.split('\n'), client: row.client ?? undefined, action: row.action, factors: row.factors, replyAttributes: row.replyAttributes }));
}

/**
 * Add a rule at the end: two adds at once get different positions (one statement on SQLite, where
 * writes are serialised; on PostgreSQL the table is locked first, as two nodes may add at once).
 */
export async function insertRule(store: SharedStore, rule: RuleInput, actor: string): Promise<number> {
  return store.transaction(async (tx) => {
    await lockForWrite(tx, 'policy_rules');
    const row = await tx.get<{ id: number }>(sql`
    INSERT INTO policy_rules (position, name, groups, client, action, factors, reply_attributes, created_by, created_at)
    SELECT coalesce(max(position), 0) + 1, ${rule.name}, ${rule.groups.join('\n')}, ${rule.client ?? null}, ${rule.action}, ${rule.factors}, ${rule.replyAttributes}, ${actor}, ${Date.now()}
    FROM policy_rules RETURNING id`);
    return row!.id;
  });
}

export async function deleteRule(r: Runner, id: number): Promise<boolean> {
  return (await r.run(sql`DELETE FROM policy_rules WHERE id = ${id}`)) > 0;
}

/** Swap a rule with its neighbour above (`-1`) or below (`1`); false when it is already at that end. */
export async function moveRule(store: SharedStore, id: number, by: -1 | 1): Promise<boolean> {
  return store.transaction(async (tx) => {
    // Read and rewritten in one transaction: two moves at once (from two nodes) run one after the other.
    await lockForWrite(tx, 'policy_rules');
    const rules = await listRules(tx);
    const i = rules.findIndex((r) => r.id === id);
    const j = i + by;
    if (i < 0 || j < 0 || j >= rules.length) return false;
    // Positions are rewritten 1..n in the new order (they may have gaps after removals).
    const order = rules.map((r) => r.id);
    [order[i], order[j]] = [order[j]!, order[i]!];
    for (const [k, rid] of order.entries()) await tx.run(sql`UPDATE policy_rules SET position = ${k + 1} WHERE id = ${rid}`);
    return true;
  });
}

/** The groups of one user (lower-case names), for rule matching. */
export function createGroupReader(store: SharedStore): (username: string) => Promise<ReadonlySet<string>> {
  return async (username) => new Set((await store.all<{ name: string }>(sql`SELECT g.name FROM user_groups g JOIN users u ON u.id = g.user_id WHERE u.username = ${username}`)).map((r) => r.name));
}
