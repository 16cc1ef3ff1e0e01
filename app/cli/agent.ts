// gatehouse agent --appliance URL [--ca FILE] [--pipe-path P]   (token: GATEHOUSE_AGENT_TOKEN)
// gatehouse agent-token create|revoke NAME | agent-token list [--json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startAgent } from '../agent.js';
import { ConfigError, flagErrorMessage } from '../config.js';
import { createAgentToken, revokeAgentToken } from '../admin/tokens.js';
import { listAgents } from '../db/queries/admins.js';
import { createLogger } from '../lib/log.js';
import { secureUrlProblem } from '../lib/loopback.js';
import { isoTime, jsonList, openContext, parseCommand, report, type CliIo } from './context.js';
import { jsonOption, usageError, type CommandHelp } from './help.js';

export const DEFAULT_WINDOWS_PIPE = '\\\\.\\pipe\\gatehouse';

export const AGENT_TOKEN_HELP: CommandHelp = {
  usage: ['gatehouse agent-token create|revoke MACHINE', 'gatehouse agent-token list [--json]'],
  about: 'Tokens of Windows agents (`gatehouse agent`), one per MACHINE (the Windows computer the token is for).\ncreate prints the new token once (only its hash is stored); revoke ends it.',
  options: [jsonOption('agent-token list', ['name', 'createdBy', 'createdAt', 'lastSeenAt'])],
  store: true,
};
export const AGENT_HELP: CommandHelp = {
  usage: ['gatehouse agent --appliance URL [--ca FILE] [--pipe-path P] [--request-timeout S]'],
  about:
    "Runs on a Windows computer: serves the logon pipe there and forwards each logon to the appliance over HTTPS.\nThe token (from `gatehouse agent-token create MACHINE` on the appliance) is best given as GATEHOUSE_AGENT_TOKEN:\nother users can read a command line.",
  options: [
    ['--appliance URL', 'the appliance: https:// (http:// only to this machine) (GATEHOUSE_APPLIANCE)'],
    ['--agent-token T', "this machine's agent token (GATEHOUSE_AGENT_TOKEN)"],
    ['--ca FILE', "PEM certificate(s) to trust for the appliance instead of the system's CAs (GATEHOUSE_CA)"],
    ['--pipe-path P', `the logon pipe (PIPE_PATH; default ${DEFAULT_WINDOWS_PIPE} on Windows)`],
    ['--request-timeout S', 'seconds one logon may wait for the appliance (default 90, at most 600)'],
  ],
  store: false,
};

export async function agentTokenCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { json: { type: 'boolean' } }, env);
  const [verb, ...rest] = positionals;
  const json = values['json'] === true;
  if (json && verb !== 'list') throw new ConfigError('--json: only `agent-token list` prints JSON');
  if (!(verb === 'list' && rest.length === 0) && ((verb !== 'create' && verb !== 'revoke') || rest.length !== 1)) throw usageError('agent-token', AGENT_TOKEN_HELP);
  const ctx = await openContext(dataDir, env);
  try {
    if (verb === 'list') {
      // Never the token nor its hash.
      if (json) {
        io.out(jsonList((await listAgents(ctx.store)).map((a) => ({ name: a.name, createdBy: a.createdBy, createdAt: isoTime(a.createdAt), lastSeenAt: isoTime(a.lastSeenAt) }))));
        return 0;
      }
      io.out(['NAME\tCREATED\tLAST SEEN', ...(await listAgents(ctx.store)).map((a) => `${a.name}\t${new Date(a.createdAt).toISOString()}\t${a.lastSeenAt ? new Date(a.lastSeenAt).toISOString() : 'never'}`)].join('\n') + '\n');
      return 0;
    }
    // Shown once: only its hash is stored.
    if (verb === 'create') return report(io, await createAgentToken(ctx.admin, ctx.actor, rest[0]), (t) => t.token);
    return report(io, await revokeAgentToken(ctx.admin, ctx.actor, rest[0]!), (n) => `revoked agent token ${n}`);
  } finally {
    await ctx.close();
  }
}

export async function agentCommand(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: [...args], options: { appliance: { type: 'string' }, 'agent-token': { type: 'string' }, 'pipe-path': { type: 'string' }, 'request-timeout': { type: 'string' }, ca: { type: 'string' } }, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (e) {
    throw new ConfigError(flagErrorMessage(e));
  }
  const appliance = values['appliance'] ?? env['GATEHOUSE_APPLIANCE'];
  // The token is better given in the environment (GATEHOUSE_AGENT_TOKEN): other users can read argv.
  const token = values['agent-token'] ?? env['GATEHOUSE_AGENT_TOKEN'];
  const pipePath = values['pipe-path'] ?? env['PIPE_PATH'] ?? (process.platform === 'win32' ? DEFAULT_WINDOWS_PIPE : undefined);
  if (appliance === undefined) throw new ConfigError('--appliance (GATEHOUSE_APPLIANCE) is required: the appliance URL, e.g. https://gatehouse.example/');
  let url: URL;
  try {
    url = new URL(appliance);
  } catch {
    throw new ConfigError(`--appliance: '${appliance}' is not a URL`);
  }
  // The token and every logon decision cross this connection: never in clear text over a network.
  const problem = secureUrlProblem(url);
  if (problem !== undefined) throw new ConfigError(`--appliance: '${appliance}' ${problem}`);
  // The appliance's certificate may be self-signed (the VM makes one at first boot): --ca pins it
  // (or its CA) instead of trusting the system's CAs.
  const caPath = values['ca'] ?? env['GATEHOUSE_CA'];
  let ca: Buffer | undefined;
  if (caPath !== undefined) {
    try {
      ca = readFileSync(caPath);
    } catch (e) {
      throw new ConfigError(`--ca: cannot read ${caPath}: ${(e as Error).message}`);
    }
  }
  if (token === undefined || !/^[A-Za-z0-9_-]{10,200}$/.test(token)) throw new ConfigError('--agent-token (GATEHOUSE_AGENT_TOKEN) is required: create one with `gatehouse agent-token create NAME` on the appliance');
  if (pipePath === undefined) throw new ConfigError('--pipe-path (PIPE_PATH) is required on this system (a Unix socket path)');
  const timeoutRaw = values['request-timeout'] ?? '90';
  const requestTimeout = Number(timeoutRaw);
  if (!Number.isFinite(requestTimeout) || requestTimeout <= 0 || requestTimeout > 600) throw new ConfigError(`--request-timeout: '${timeoutRaw}' is not a number of seconds (0-600)`);
  const log = createLogger(env['LOG_LEVEL'] === 'debug' ? 'debug' : 'info');
  let endpoint;
  try {
    endpoint = await startAgent({ appliance: url.toString(), token, pipePath, healthTimeout: 5, requestTimeout, log, ...(ca !== undefined ? { ca } : {}) });
  } catch (e) {
    throw new ConfigError(`cannot serve ${pipePath}: ${(e as Error).message}`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      void endpoint.close().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}
