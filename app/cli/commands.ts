// The sub-commands but serve, loaded by ./main.js only when one of them is asked for.
import type { CliIo } from './context.js';
import type { CommandHelp } from './help.js';
import { ADMIN_HELP, adminCommand, TOKEN_HELP, tokenCommand } from './admins.js';
import { AGENT_HELP, AGENT_TOKEN_HELP, agentCommand, agentTokenCommand } from './agent.js';
import { AUDIT_HELP, auditCommand } from './audit.js';
import { BACKUP_HELP, backupCommand, RESTORE_HELP, restoreCommand } from './backup.js';
import { CLIENT_HELP, clientCommand } from './clients.js';
import { DIRECTORY_HELP, directoryCommand } from './directory.js';
import { POLICY_HELP, policyCommand } from './policy.js';
import { DOWNSTREAM_HELP, downstreamCommand } from './downstream.js';
import { SETTINGS_HELP, settingsCommand } from './settings.js';
import { STORE_HELP, storeCommand } from './store.js';
import { TOTP_HELP, totpCommand, USER_HELP, userCommand } from './users.js';

type Run = (args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo) => Promise<number>;

/** Every sub-command but serve: how it runs and what its --help says. */
export const SUBCOMMANDS: Readonly<Record<string, { run: Run; help: CommandHelp }>> = {
  client: { run: clientCommand, help: CLIENT_HELP },
  downstream: { run: downstreamCommand, help: DOWNSTREAM_HELP },
  user: { run: userCommand, help: USER_HELP },
  totp: { run: totpCommand, help: TOTP_HELP },
  settings: { run: settingsCommand, help: SETTINGS_HELP },
  directory: { run: directoryCommand, help: DIRECTORY_HELP },
  policy: { run: policyCommand, help: POLICY_HELP },
  admin: { run: adminCommand, help: ADMIN_HELP },
  token: { run: tokenCommand, help: TOKEN_HELP },
  agent: { run: (args, env) => agentCommand(args, env), help: AGENT_HELP },
  'agent-token': { run: agentTokenCommand, help: AGENT_TOKEN_HELP },
  audit: { run: auditCommand, help: AUDIT_HELP },
  backup: { run: backupCommand, help: BACKUP_HELP },
  restore: { run: restoreCommand, help: RESTORE_HELP },
  store: { run: storeCommand, help: STORE_HELP },
};
