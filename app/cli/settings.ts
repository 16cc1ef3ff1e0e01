// gatehouse settings list [--json] | settings set KEY VALUE | settings unset KEY: thin over
// app/admin/settings.ts. Stored settings apply to a running appliance within a second; flags and
// environment variables still win over them.
import { setSetting } from '../admin/settings.js';
import { ConfigError, OPTIONS, parseServeOptions, resolveSettings } from '../config.js';
import { readStoredSettings } from '../db/queries/settings.js';
import { jsonList, openContext, parseCommand, report, type CliIo } from './context.js';
import { jsonOption, usageError, type CommandHelp } from './help.js';

export const SETTINGS_HELP: CommandHelp = {
  usage: ['gatehouse settings list [--json]', 'gatehouse settings set KEY VALUE', 'gatehouse settings unset KEY'],
  about:
    'Settings stored in the data directory, under their flag names (gatehouse --help lists them), e.g.\n`gatehouse settings set totp-max-failures 3`. A running appliance applies them within a second; flags and\nenvironment variables still win. list shows every storable setting, its value and where it comes from.',
  options: [jsonOption('settings list', ['key', 'value', 'source'])],
  store: true,
};
const usage = () => usageError('settings', SETTINGS_HELP);

export async function settingsCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { json: { type: 'boolean' } }, env);
  const [verb, ...rest] = positionals;
  const json = values['json'] === true;
  if (json && verb !== 'list') throw new ConfigError('--json: only `settings list` prints JSON');
  if (verb === 'list' && rest.length === 0) {
    const ctx = await openContext(dataDir, env);
    try {
      const { settings, sources } = resolveSettings(parseServeOptions([], env).fixed, await readStoredSettings(ctx.store));
      const rows = OPTIONS.filter((o) => o.storable).map((o) => {
        const v = settings[o.key];
        // As `settings set` takes it: a string, or null when the setting has no value.
        return { key: o.flag, value: v === undefined ? null : String(v), source: sources[o.key] };
      });
      if (json) io.out(jsonList(rows));
      else io.out(['KEY\tVALUE\tFROM', ...rows.map((r) => `${r.key}\t${r.value ?? ''}\t${r.source}`)].join('\n') + '\n');
    } finally {
      await ctx.close();
    }
    return 0;
  }
  if ((verb === 'set' && rest.length === 2) || (verb === 'unset' && rest.length === 1)) {
    const [key, value] = rest as [string, string | undefined];
    if (verb === 'set' && value === '') throw new ConfigError(`${key}: an empty value is written \`gatehouse settings unset ${key}\``);
    const ctx = await openContext(dataDir, env);
    try {
      const r = await setSetting(ctx.admin, ctx.actor, key, verb === 'set' ? value! : '');
      if (r.ok && r.value === 'unchanged') {
        io.err(`gatehouse: ${key} is not stored\n`);
        return 1;
      }
      return report(io, r, (v) => (v === 'stored' ? `${key} stored` : `${key} removed; the default applies`));
    } finally {
      await ctx.close();
    }
  }
  throw usage();
}
