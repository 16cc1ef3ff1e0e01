// Policy rules: add, move, remove (app/mfa/policy.ts says what they mean). Reply attributes are
// checked against the RADIUS dictionary here, so a rule that is stored always encodes.
import { deleteRule, insertRule, listRules, moveRule, type RuleInput } from '../db/queries/policy.js';
import type { PolicyAction, PolicyFactors, PolicyRule } from '../mfa/policy.js';
import { parseReplyAttributes } from '../radius/dictionary.js';
import { bad, cleanName, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

const ACTIONS: readonly PolicyAction[] = ['require', 'password_only', 'deny'];
const FACTORS: readonly PolicyFactors[] = ['any', 'totp', 'push'];

export interface RuleForm {
  name?: string | undefined;
  /** Group names separated by semicolons or new lines. */
  groups?: string | undefined;
  client?: string | undefined;
  action?: string | undefined;
  factors?: string | undefined;
  replyAttributes?: string | undefined;
}

/** The rule as it would be stored, or why it cannot be (nothing is changed). */
export async function checkRule(d: AdminDeps, f: RuleForm): Promise<Result<RuleInput>> {
  const name = cleanName(f.name, 'name');
  if (!name.ok) return name;
  const groups = [...new Set((f.groups ?? '').split(/[;\n]/).map((g) => g.trim().normalize('NFKC').toLowerCase()).filter((g) => g !== ''))];
  if (groups.some((g) => g.length > 256 || /[\u0000-\u001f]/.test(g))) return bad('a group name must be at most 256 printable characters', 'groups');
  const clientText = (f.client ?? '').trim();
  const client = clientText === '' ? ok(undefined) : cleanName(clientText, 'client');
  if (!client.ok) return client;
  const action = f.action ?? '';
  if (!(ACTIONS as readonly string[]).includes(action)) return bad('action must be require, password_only or deny', 'action');
  const factors = f.factors === undefined || f.factors === '' ? 'any' : f.factors;
  if (!(FACTORS as readonly string[]).includes(factors)) return bad('factors must be any, totp or push', 'factors');
  const reply = (f.replyAttributes ?? '').trim();
  if (reply !== '' && action === 'deny') return bad('a deny rule sends no Access-Accept, so it has no reply attributes', 'replyAttributes');
  const parsed = parseReplyAttributes(reply);
  if (!parsed.ok) return bad(parsed.problem, 'replyAttributes');
  if ((await listRules(d.store)).some((r) => r.name.toLowerCase() === name.value.toLowerCase())) return conflict(`a rule named ${name.value} already exists`, 'name');
  return ok({ name: name.value, groups, client: client.value, action: action as PolicyAction, factors: factors as PolicyFactors, replyAttributes: reply });
}

export async function addRule(d: AdminDeps, actor: string, f: RuleForm): Promise<Result<{ id: number; name: string }>> {
  const checked = await checkRule(d, f);
  if (!checked.ok) return checked;
  const r = checked.value;
  const id = await insertRule(d.store, r, actor);
  await d.audit.record({ event: 'policy.add', outcome: 'ok', actor, details: { name: r.name, setting: `${r.action}${r.action === 'require' ? ` (${r.factors})` : ''}${r.groups.length > 0 ? ` for ${r.groups.join('; ')}` : ''}${r.client !== undefined ? ` via ${r.client}` : ''}` } });
  await d.afterChange();
  return ok({ id, name: r.name });
}

/** One line per rule that lets people in on the password alone, for the banner on every page. */
export function policyWarnings(rules: readonly PolicyRule[]): string[] {
  return rules.filter((r) => r.action === 'password_only').map((r) => `Password only: the policy rule "${r.name}" lets ${r.groups.length === 0 ? 'everyone' : `members of ${r.groups.join(', ')}`}${r.client !== undefined ? ` (via ${r.client})` : ''} in without a second factor.`);
}

export async function removeRule(d: AdminDeps, actor: string, id: number): Promise<Result<{ name: string }>> {
  const rule = (await listRules(d.store)).find((r) => r.id === id);
  if (rule === undefined || !(await deleteRule(d.store, id))) return missing('no such rule');
  await d.audit.record({ event: 'policy.remove', outcome: 'ok', actor, details: { name: rule.name } });
  await d.afterChange();
  return ok({ name: rule.name });
}

export async function moveRuleBy(d: AdminDeps, actor: string, id: number, by: -1 | 1): Promise<Result<{ name: string }>> {
  const rule = (await listRules(d.store)).find((r) => r.id === id);
  if (rule === undefined) return missing('no such rule');
  if (!(await moveRule(d.store, id, by))) return bad(`${rule.name} is already ${by < 0 ? 'first' : 'last'}`, 'id');
  await d.audit.record({ event: 'policy.move', outcome: 'ok', actor, details: { name: rule.name, setting: by < 0 ? 'up' : 'down' } });
  await d.afterChange();
  return ok({ name: rule.name });
}
