// gatehouse settings list | settings set KEY VALUE | settings unset KEY
// Stored settings apply to a running appliance within a second; flags and environment
// variables still win over them.
import { ConfigError, OPTIONS, parseServeOptions, resolveSettings, validateStoredSetting } from '../config.js';
import { deleteStoredSetting, readStoredSettings, writeStoredSetting } from '../db/queries/settings.js';
import { openContext, parseCommand, type CliIo } from './context.js';

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
  if (verb === 'set' && rest.length === 2) {
    const [key, value] = rest as [string, string];
    const problem = validateStoredSetting(key, value);
    if (problem !== null) throw new ConfigError(problem);
    const ctx = openContext(dataDir, env);
    try {
      writeStoredSetting(ctx.store, key, value);
      ctx.audit.record({ event: 'settings.set', outcome: 'ok', actor: ctx.actor, details: { setting: key } });
    } finally {
      ctx.close();
    }
    io.out(`${key} stored\n`);
    return 0;
  }
  if (verb === 'unset' && rest.length === 1) {
    const key = rest[0]!;
    const ctx = openContext(dataDir, env);
    try {
      if (!deleteStoredSetting(ctx.store, key)) {
        io.err(`gatehouse: ${key} is not stored\n`);
        return 1;
      }
      ctx.audit.record({ event: 'settings.unset', outcome: 'ok', actor: ctx.actor, details: { setting: key } });
    } finally {
      ctx.close();
    }
    io.out(`${key} removed; the default applies\n`);
    return 0;
  }
  throw new ConfigError(USAGE);
}
