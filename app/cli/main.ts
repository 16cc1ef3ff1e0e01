// Entry point of the `gatehouse` command: dispatch to a sub-command, or its --help.
import type { ReadStream } from 'node:tty';
import { setFlagsFromString } from 'node:v8';
import { ConfigError, parseServeOptions, usage } from '../config.js';
import { startAppliance } from '../main.js';
import { createLogger } from '../lib/log.js';
import { packageVersion } from '../lib/package-root.js';
import { exitOnFatal } from '../lib/process-events.js';
import type { CliIo } from './context.js';
import { renderHelp, wantsHelp } from './help.js';
import { openHiddenPrompt, PromptCancelled } from './prompt.js';

/**
 * The sub-commands but serve (./commands.js) are loaded only when one is asked for: `serve` then
 * compiles none of them, which is part of issue 18's cold start. They load as one module, so the
 * bundle keeps few files (each file the loader reads costs the start too).
 */
const subcommands = async () => (await import('./commands.js')).SUBCOMMANDS;

const COMMANDS = `Commands:
  gatehouse [serve] [flags]            start the appliance
  gatehouse client add|list|remove     RADIUS clients stored in the data directory
  gatehouse downstream set|show|remove the downstream RADIUS server stored in the data directory
  gatehouse user add|list|remove|lock|unlock   people who log in
  gatehouse totp enroll|remove NAME    a user's TOTP authenticator (prints the otpauth:// URI)
  gatehouse settings list|set|unset    settings stored in the data directory
  gatehouse directory test|sync        check the directory (LDAP, AD); read its users in now
  gatehouse policy list|add|remove|move   rules: who needs which second factor
  gatehouse admin add|list|remove|reset-totp|password   admins of the web UI
  gatehouse token create|list|revoke   bearer tokens for the JSON API
  gatehouse agent-token create|list|revoke   tokens of Windows agents
  gatehouse agent --appliance URL --agent-token TOKEN [--pipe-path P]
                                       serve the Windows logon pipe, forwarding to an appliance
  gatehouse audit export|verify        read and check the audit log
  gatehouse backup FILE                encrypted online backup of the store and master key
  gatehouse restore FILE [--force]     restore a backup into a (fresh) data directory
                                       (backup and restore read the passphrase from
                                       GATEHOUSE_BACKUP_PASSPHRASE, the terminal or standard input)
  gatehouse store migrate --to URL     copy the SQLite store into an empty PostgreSQL database
  gatehouse --version                  the version of Gatehouse
Every command takes --data-dir (GATEHOUSE_DATA_DIR, default ./data); \`gatehouse COMMAND --help\`
shows its usage; list commands take --json.`;

function processIo(): CliIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    isTty: process.stdout.isTTY === true,
    // Prompts go to standard error: standard output stays what a script reads.
    openPrompt: process.stdin.isTTY === true ? () => openHiddenPrompt(process.stdin as unknown as ReadStream, (t) => void process.stderr.write(t)) : null,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/**
 * How much V8 lets the old generation grow past what the last full collection kept, in percent.
 * Left to itself, V8 picks this factor from the host's memory and its own measurements: on a
 * machine with more than about 8 GB it lets the heap reach up to four times its live size before
 * collecting (measured: 512 MB of RSS for 115 MB of live objects, 10,000 logins waiting on phones),
 * on the 2 GB VM image about 1.4 at most. The appliance wants the same footprint on every host, so
 * `serve` fixes the factor at 1.4 here, before the heap has grown (V8 reads this flag at every
 * collection; it is not one of those fixed when the heap is made). It also replaces the lower
 * factors V8 uses when idle (down to 1.1), a few MB on an idle appliance. The cost under load is
 * more frequent, shorter full collections: BENCHMARKS.md has the figures. A value given on node's
 * command line wins (NODE_OPTIONS cannot carry this flag).
 */
const HEAP_GROWING_PERCENT = 40;

async function serveCommand(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { fixed } = parseServeOptions(args, env);
  if (!process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  // Fatal errors and signals are logged as JSON lines, like everything the appliance logs.
  const level = env['LOG_LEVEL'] === 'debug' ? 'debug' : 'info';
  exitOnFatal({ level });
  const log = createLogger(level);
  const running = await startAppliance(fixed, env);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal} received, stopping`, { signal });
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
    if (first === '--version' || first === '-V') {
      io.out(`gatehouse ${packageVersion()}\n`);
      return 0;
    }
    if (first === '--help' || first === '-h' || (first === 'help' && rest.length === 0)) {
      io.out(`${usage()}\n\n${COMMANDS}\n`);
      return 0;
    }
    if (first === 'help') {
      // gatehouse help COMMAND, as gatehouse COMMAND --help.
      const [name, ...more] = rest;
      if (name === 'serve' && more.length === 0) {
        io.out(`${usage()}\n`);
        return 0;
      }
      const all = await subcommands();
      const command = name === undefined || more.length > 0 || !Object.hasOwn(all, name) ? undefined : all[name];
      if (command === undefined) throw new ConfigError(`help: '${rest.join(' ')}' is not a command (see gatehouse --help)`);
      io.out(renderHelp(command.help));
      return 0;
    }
    if (first === undefined || first.startsWith('-') || first === 'serve') {
      const args = first === 'serve' ? rest : argv;
      if (wantsHelp(args)) {
        io.out(`${usage()}\n`);
        return 0;
      }
      return await serveCommand(args, env);
    }
    const all = await subcommands();
    const command = Object.hasOwn(all, first) ? all[first] : undefined;
    if (command === undefined) throw new ConfigError(`unknown command '${first}' (see gatehouse --help)`);
    if (wantsHelp(rest)) {
      io.out(renderHelp(command.help));
      return 0;
    }
    return await command.run(rest, env, io);
  } catch (e) {
    if (e instanceof PromptCancelled) {
      io.err(`gatehouse: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof ConfigError) {
      io.err(`gatehouse: ${e.message}\n`);
      return 2;
    }
    io.err(`gatehouse: ${(e as Error).message}\n`);
    return 1;
  }
}
