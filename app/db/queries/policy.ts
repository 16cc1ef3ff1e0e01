// Policy rules as stored (app/mfa/policy.ts says what they mean): in order, added at the end,
// moved one place at a time, removed.
import { asc, eq, sql } from 'drizzle-orm';
import type { Store } from '../open.js';
import { policyRules } from '../schema.js';

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

export function listRules(store: Store): StoredRule[] {
  return store.db
    .select()
    .from(policyRules)
    .orderBy(asc(policyRules.position), asc(policyRules.id))
    .all()
    .map((r) => ({ id: r.id, name: r.name, groups: r.groups === '' ? [] : r.groups.split('\n'), client: r.client ?? undefined, action: r.action, factors: r.factors, replyAttributes: r.replyAttributes }));
}

export function insertRule(store: Store, r: RuleInput, actor: string): number {
  return store.sqlite
    .transaction(() => {
      const last = store.db.select({ p: sql<number | null>`max(${policyRules.position})` }).from(policyRules).get()?.p ?? 0;
      return store.db
        .insert(policyRules)
        .values({ position: last + 1, name: r.name, groups: r.groups.join('\n'), client: r.client ?? null, action: r.action, factors: r.factors, replyAttributes: r.replyAttributes, createdBy: actor })
        .returning({ id: policyRules.id })
        .get().id;
    })
    .immediate();
}

export function deleteRule(store: Store, id: number): boolean {
  return store.db.delete(policyRules).where(eq(policyRules.id, id)).run().changes > 0;
}

/** Swap a rule with its neighbour above (`-1`) or below (`1`); false when it is already at that end. */
export function moveRule(store: Store, id: number, by: -1 | 1): boolean {
  return store.sqlite
    .transaction(() => {
      const rules = listRules(store);
      const i = rules.findIndex((r) => r.id === id);
      const j = i + by;
      if (i < 0 || j < 0 || j >= rules.length) return false;
      // Positions are rewritten 1..n in the new order (they may have gaps after removals).
      const order = rules.map((r) => r.id);
      [order[i], order[j]] = [order[j]!, order[i]!];
      order.forEach((rid, k) => store.db.update(policyRules).set({ position: k + 1 }).where(eq(policyRules.id, rid)).run());
      return true;
    })
    .immediate();
}

/** The groups of one user (lower-case names), for rule matching. */
export function createGroupReader(store: Store): (username: string) => ReadonlySet<string> {
  const q = store.sqlite.prepare<[string], { name: string }>('SELECT g.name FROM user_groups g JOIN users u ON u.id = g.user_id WHERE u.username = ?');
  return (username) => new Set(q.all(username).map((r) => r.name));
}
