// Policy rules: who needs which second factor, by group and RADIUS client (issue 14). Rules are
// tried in order; the first whose groups (any of them; none: anyone) and client (none: any door)
// match decides:
//   require        the second factor as usual, limited to `factors` (any, totp, push);
//   password_only  in on the first factor alone (break-glass or service accounts: the UI warns);
//   deny           refused, whatever the password.
// No rule matching: the usual path (a user's factor, else --unenrolled-users). The engine
// (app/mfa/engine.ts) asks here and records the rule's name in the audit record of each decision;
// a RADIUS accept carries the rule's reply attributes (app/radius/dictionary.ts).

import type { StoredRule } from '../db/queries/policy.js';

export type PolicyRule = StoredRule;
export type PolicyAction = PolicyRule['action'];
export type PolicyFactors = PolicyRule['factors'];

export interface PolicyTable {
  readonly rules: readonly PolicyRule[];
  /** The rule for this user at this door (`client`: the RADIUS client's name; undefined elsewhere). */
  match(username: string, client: string | undefined): Promise<PolicyRule | undefined>;
}

/** `groupsOf` is asked only when some rule names groups (one indexed read per decision). */
export function createPolicyTable(rules: readonly PolicyRule[], groupsOf: (username: string) => Promise<ReadonlySet<string>>): PolicyTable {
  const needsGroups = rules.some((r) => r.groups.length > 0);
  return {
    rules,
    async match(username, client) {
      if (rules.length === 0) return undefined;
      const groups = needsGroups ? await groupsOf(username) : new Set<string>();
      return rules.find((r) => (r.client === undefined || r.client === client) && (r.groups.length === 0 || r.groups.some((g) => groups.has(g))));
    },
  };
}

export const NO_POLICY: PolicyTable = createPolicyTable([], async () => new Set());
