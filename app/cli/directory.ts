// gatehouse directory test [USER] | directory sync: the directory as the settings here describe
// it (environment, then stored; the appliance's own flags are not known to a command), for a
// script or cron job, or an admin at the console. Thin over app/directory/.
import { ConfigError, parseServeOptions, resolveSettings } from '../config.js';
import { createDirectoryUserStore } from '../db/queries/directory-users.js';
import { readStoredSettings } from '../db/queries/settings.js';
import { bindPasswordOf, directoryFromSettings, fixedBindPassword } from '../directory/settings.js';
import { createDirectorySync, syncSettingsOf } from '../directory/sync.js';
import { createLogger } from '../lib/log.js';
import { openContext, parseCommand, type CliIo } from './context.js';
import { usageError, type CommandHelp } from './help.js';

export const DIRECTORY_HELP: CommandHelp = {
  usage: ['gatehouse directory test [USER]', 'gatehouse directory sync'],
  about:
    'The directory (Active Directory or OpenLDAP) as configured by the environment (LDAP_URL, LDAP_BIND_PASSWORD, ...) and the\nstored settings. test connects as the service account and, given a USER, looks them up (entry, groups). sync reads the\nusers into Gatehouse now, as the appliance does on its schedule, and prints what changed. Exit 1 when it fails.',
  options: [],
  store: true,
};
const usage = () => usageError('directory', DIRECTORY_HELP);

export async function directoryCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { positionals, dataDir } = parseCommand(args, {}, env);
  const [verb, ...rest] = positionals;
  if (!((verb === 'test' && rest.length <= 1) || (verb === 'sync' && rest.length === 0))) throw usage();
  const ctx = await openContext(dataDir, env);
  try {
    const fixed = parseServeOptions([], env).fixed;
    const stored = await readStoredSettings(ctx.store);
    const settings = () => resolveSettings(fixed, stored).settings;
    let password;
    try {
      password = fixedBindPassword(env, fixed.values.ldapBindPasswordFile);
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
    const state = directoryFromSettings(settings(), await bindPasswordOf(password, ctx.store, ctx.sealer));
    if (!state.ok) throw new ConfigError(state.problem);
    if (verb === 'sync') {
      const sync = createDirectorySync({ directory: () => state, settings: () => syncSettingsOf(settings()), users: createDirectoryUserStore(ctx.store), audit: ctx.audit, log: createLogger('error'), now: Date.now });
      const r = await sync.run(ctx.actor);
      const line = `${r.seen} in scope, ${r.added} added, ${r.updated} updated, ${r.disabled} disabled, ${r.removed} removed, ${r.restored} restored, ${r.deleted} deleted, ${r.skipped} skipped (${r.finished - r.started} ms)`;
      if (!r.ok) {
        io.err(`gatehouse: directory sync failed: ${r.error ?? 'unknown error'}\n  ${line}\n`);
        return 1;
      }
      io.out(`${line}\n`);
      return 0;
    }
    const conn = await state.directory.test();
    if (!conn.ok) {
      io.err(`gatehouse: the connection failed (${conn.reason}): ${conn.detail}\n`);
      return 1;
    }
    io.out(`connected to ${conn.url}\n`);
    if (rest[0] === undefined) return 0;
    const found = await state.directory.findUser(rest[0]);
    if (!found.ok) {
      io.err(`gatehouse: ${rest[0]}: ${found.reason}: ${found.detail}\n`);
      return 1;
    }
    const u = found.user;
    io.out([`dn\t${u.dn}`, `name\t${u.username}`, `display name\t${u.displayName ?? ''}`, `email\t${u.email ?? ''}`, `upn\t${u.upn ?? ''}`, `account\t${u.disabled ? 'disabled' : u.locked ? 'locked' : 'enabled'}`, ...u.groups.map((g) => `group\t${g}`)].join('\n') + '\n');
    return 0;
  } finally {
    await ctx.close();
  }
}
