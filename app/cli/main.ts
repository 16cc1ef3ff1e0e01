// Entry point of the `gatehouse` command: dispatch to a sub-command.
import { ConfigError, parseServeOptions, usage } from '../config.js';
import { startAppliance } from '../main.js';
import { adminCommand, tokenCommand } from './admins.js';
import { agentCommand, agentTokenCommand } from './agent.js';
import { auditCommand } from './audit.js';
import { backupCommand, restoreCommand } from './backup.js';
import { clientCommand } from './clients.js';
import type { CliIo } from './context.js';
import { downstreamCommand } from './downstream.js';
import { settingsCommand } from './settings.js';
import { totpCommand, userCommand } from './users.js';

const COMMANDS = `Commands:
  gatehouse [serve] [flags]            start the appliance
  gatehouse client add|list|remove     RADIUS clients stored in the data directory
  gatehouse downstream set|show|remove the downstream RADIUS server stored in the data directory
  gatehouse user add|list|remove|lock|unlock   people who log in
  gatehouse totp enroll|remove NAME    a user's TOTP authenticator (prints the otpauth:// URI)
  gatehouse settings list|set|unset    settings stored in the data directory
  gatehouse admin add|list|remove|reset-totp|password   admins of the web UI
  gatehouse token create|list|revoke   bearer tokens for the JSON API
  gatehouse agent-token create|list|revoke   tokens of Windows agents
  gatehouse agent --appliance URL --agent-token TOKEN [--pipe-path P]
                                       serve the Windows logon pipe, forwarding to an appliance
  gatehouse audit export|verify        read and check the audit log
  gatehouse backup FILE                encrypted online backup of the store and master key
  gatehouse restore FILE [--force]     restore a backup into a (fresh) data directory
                                       (backup and restore read the passphrase from
                                       GATEHOUSE_BACKUP_PASSPHRASE or standard input)
Every command takes --data-dir (GATEHOUSE_DATA_DIR, default ./data).`;

function processIo(): CliIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    isTty: process.stdout.isTTY === true,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

async function serveCommand(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { fixed } = parseServeOptions(args, env);
  const running = await startAppliance(fixed, env);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`gatehouse: ${signal} received, stopping\n`);
      running.stop().then(resolve, resolve);
    };
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      stop(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo = processIo()): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === '--help' || first === '-h' || first === 'help') {
      io.out(`${usage()}\n\n${COMMANDS}\n`);
      return 0;
    }
    if (first === undefined || first.startsWith('-')) return await serveCommand(argv, env);
    switch (first) {
      case 'serve':
        if (rest.includes('--help') || rest.includes('-h')) {
          io.out(`${usage()}\n`);
          return 0;
        }
        return await serveCommand(rest, env);
      case 'client':
        return await clientCommand(rest, env, io);
      case 'downstream':
        return await downstreamCommand(rest, env, io);
      case 'audit':
        return await auditCommand(rest, env, io);
      case 'user':
        return await userCommand(rest, env, io);
      case 'totp':
        return await totpCommand(rest, env, io);
      case 'settings':
        return await settingsCommand(rest, env, io);
      case 'admin':
        return await adminCommand(rest, env, io);
      case 'token':
        return await tokenCommand(rest, env, io);
      case 'agent':
        return await agentCommand(rest, env);
      case 'agent-token':
        return await agentTokenCommand(rest, env, io);
      case 'backup':
        return await backupCommand(rest, env, io);
      case 'restore':
        return await restoreCommand(rest, env, io);
      default:
        throw new ConfigError(`unknown command '${first}' (see gatehouse --help)`);
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`gatehouse: ${e.message}\n`);
      return 2;
    }
    io.err(`gatehouse: ${(e as Error).message}\n`);
    return 1;
  }
}
