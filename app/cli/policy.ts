// gatehouse policy list [--json] | policy add NAME --action A [...] | policy remove NAME |
// policy move NAME up|down: thin over app/admin/policy.ts.
import { addRule, moveRuleBy, removeRule } from '../admin/policy.js';
import { ConfigError } from '../config.js';
import { listRules } from '../db/queries/policy.js';
import { jsonList, openContext, parseCommand, report, type CliIo } from './context.js';
import { jsonOption, usageError, type CommandHelp } from './help.js';

export const POLICY_HELP: CommandHelp = {
  usage: [
    'gatehouse policy list [--json]',
    'gatehouse policy add NAME --action require|password_only|deny [--groups "G1; G2"] [--client NAME] [--factors any|totp|push] [--reply "Name = value"]...',
    'gatehouse policy remove NAME',
    'gatehouse policy move NAME up|down',
  ],
  about:
    'Policy rules, tried in order; the first whose groups (any of them; none: everyone) and RADIUS client (none: any door)\nmatch a login decides: require a second factor (any, TOTP only, push only), password only (no second factor), or deny.\n--reply adds an attribute to the RADIUS Access-Accept (repeatable). New rules go last. A running appliance applies\nchanges within a second.',
  options: [
    ['--action A', 'policy add: require, password_only or deny'],
    ['--groups G', 'policy add: group names, separated by semicolons'],
    ['--client NAME', "policy add: only logins through this RADIUS client (its name)"],
    ['--factors F', 'policy add: with require: any (default), totp or push'],
    ['--reply LINE', 'policy add: a reply attribute, e.g. "Class = vpn-users" (repeatable)'],
    jsonOption('policy list', ['position', 'name', 'groups', 'client', 'action', 'factors', 'replyAttributes']),
  ],
  store: true,
};
const usage = () => usageError('policy', POLICY_HELP);

export async function policyCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(
    args,
    { action: { type: 'string' }, groups: { type: 'string' }, client: { type: 'string' }, factors: { type: 'string' }, reply: { type: 'string', multiple: true }, json: { type: 'boolean' } },
    env,
  );
  const [verb, ...rest] = positionals;
  if (values['json'] === true && verb !== 'list') throw new ConfigError('--json: only `policy list` prints JSON');
  if (verb !== 'add' && ['action', 'groups', 'client', 'factors', 'reply'].some((k) => values[k] !== undefined)) throw new ConfigError(`only \`policy add\` takes --action, --groups, --client, --factors and --reply`);
  const ctx = await openContext(dataDir, env);
  try {
    const byName = async (name: string) => (await listRules(ctx.store)).find((r) => r.name.toLowerCase() === name.toLowerCase());
    if (verb === 'list' && rest.length === 0) {
      const rules = await listRules(ctx.store);
      if (values['json'] === true) io.out(jsonList(rules.map((r, i) => ({ position: i + 1, name: r.name, groups: r.groups, client: r.client ?? null, action: r.action, factors: r.factors, replyAttributes: r.replyAttributes === '' ? [] : r.replyAttributes.split('\n') }))));
      else io.out(['#\tNAME\tGROUPS\tCLIENT\tDECISION', ...rules.map((r, i) => `${i + 1}\t${r.name}\t${r.groups.join('; ') || '*'}\t${r.client ?? '*'}\t${r.action}${r.action === 'require' ? ` (${r.factors})` : ''}`)].join('\n') + '\n');
      return 0;
    }
    if (verb === 'add' && rest.length === 1) {
      const reply = (values['reply'] as string[] | undefined) ?? [];
      return report(io, await addRule(ctx.admin, ctx.actor, { name: rest[0], action: values['action'] as string | undefined, groups: values['groups'] as string | undefined, client: values['client'] as string | undefined, factors: values['factors'] as string | undefined, replyAttributes: reply.join('\n') }), (r) => `added rule ${r.name}`);
    }
    if (verb === 'remove' && rest.length === 1) {
      const rule = await byName(rest[0]!);
      if (rule === undefined) return report(io, { ok: false, status: 404, error: `no rule ${rest[0]}` }, () => '');
      return report(io, await removeRule(ctx.admin, ctx.actor, rule.id), (r) => `removed rule ${r.name}`);
    }
    if (verb === 'move' && rest.length === 2 && (rest[1] === 'up' || rest[1] === 'down')) {
      const rule = await byName(rest[0]!);
      if (rule === undefined) return report(io, { ok: false, status: 404, error: `no rule ${rest[0]}` }, () => '');
      return report(io, await moveRuleBy(ctx.admin, ctx.actor, rule.id, rest[1] === 'up' ? -1 : 1), (r) => `moved rule ${r.name} ${rest[1]}`);
    }
    throw usage();
  } finally {
    await ctx.close();
  }
}
