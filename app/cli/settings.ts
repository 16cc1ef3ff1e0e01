// gatehouse settings list | settings set KEY VALUE | settings unset KEY: thin over
// app/admin/settings.ts. Stored settings apply to a running appliance within a second; flags and
// environment variables still win over them.
import { setSetting } from '../admin/settings.js';
import { ConfigError, OPTIONS, parseServeOptions, resolveSettings } from '../config.js';
import { readStoredSettings } from '../db/queries/settings.js';
import { openContext, parseCommand, report, type CliIo } from './context.js';

const USAGE = 'usage: gatehouse settings list | settings set KEY VALUE | settings unset KEY';

export async function settingsCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { positionals, dataDir } = parseCommand(args, {}, env);
  const [verb, ...rest] = positionals;
  if (verb === 'list' && rest.length === 0) {
    const ctx = openContext(dataDir, env);
    try {
      const { settings, sources } = resolveSettings(parseServeOptions([], env).fixed, readStoredSettings(ctx.store));
      const lines = OPTIONS.filter((o) => o.storable).map((o) => {
        const v = settings[o.key];
        const shown = v === undefined ? '' : String(v);
        return `${o.flag}\t${shown}\t${sources[o.key]}`;
      });
      io.out(['KEY\tVALUE\tFROM', ...lines].join('\n') + '\n');
    } finally {
      ctx.close();
    }
    return 0;
  }
  if ((verb === 'set' && rest.length === 2) || (verb === 'unset' && rest.length === 1)) {
    const [key, value] = rest as [string, string | undefined];
    if (verb === 'set' && value === '') throw new ConfigError(`${key}: an empty value is written \`gatehouse settings unset ${key}\``);
    const ctx = openContext(dataDir, env);
    try {
      const r = setSetting(ctx.admin, ctx.actor, key, verb === 'set' ? value! : '');
      if (r.ok && r.value === 'unchanged') {
        io.err(`gatehouse: ${key} is not stored\n`);
        return 1;
      }
      return report(io, r, (v) => (v === 'stored' ? `${key} stored` : `${key} removed; the default applies`));
    } finally {
      ctx.close();
    }
  }
  throw new ConfigError(USAGE);
}
