// gatehouse client add ADDRESS SECRET [--name N] [--require-message-authenticator yes|no|auto]
// gatehouse client list | client remove ADDRESS
import { ConfigError } from '../config.js';
import { deleteClientByAddress, DuplicateClientError, insertClient, listClients, type RequireMa } from '../db/queries/clients.js';
import { parseCidr } from '../lib/cidr.js';
import { openContext, parseCommand, type CliIo } from './context.js';

const USAGE = 'usage: gatehouse client add ADDRESS SECRET [--name N] [--require-message-authenticator yes|no|auto] | client list | client remove ADDRESS';

export async function clientCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { name: { type: 'string' }, 'require-message-authenticator': { type: 'string' } }, env);
  const [verb, ...rest] = positionals;
  const normalize = (raw: string | undefined): string => {
    if (raw === undefined) throw new ConfigError(USAGE);
    const cidr = parseCidr(raw);
    if (cidr === null) throw new ConfigError(`ADDRESS: '${raw}' is not an IP address or CIDR`);
    return cidr.text;
  };
  switch (verb) {
    case 'add': {
      if (rest.length !== 2) throw new ConfigError(USAGE);
      const address = normalize(rest[0]);
      const secret = rest[1]!;
      if (secret === '') throw new ConfigError('SECRET: must not be empty');
      const req = (values['require-message-authenticator'] as string | undefined) ?? 'auto';
      if (!['yes', 'no', 'auto'].includes(req)) throw new ConfigError(`--require-message-authenticator: '${req}' must be one of yes, no, auto`);
      const name = (values['name'] as string | undefined) ?? address;
      const ctx = openContext(dataDir, env);
      try {
        insertClient(ctx.store, ctx.sealer, { name, address, secret, requireMessageAuthenticator: req as RequireMa });
        ctx.audit.record({ event: 'client.add', outcome: 'ok', actor: ctx.actor, client: name, details: { address } });
      } catch (e) {
        if (e instanceof DuplicateClientError) {
          io.err(`gatehouse: ${e.message} (remove it first)\n`);
          return 1;
        }
        throw e;
      } finally {
        ctx.close();
      }
      io.out(`added RADIUS client ${name} (${address})\n`);
      return 0;
    }
    case 'list': {
      if (rest.length !== 0) throw new ConfigError(USAGE);
      const ctx = openContext(dataDir, env);
      try {
        const rows = listClients(ctx.store, ctx.sealer);
        io.out(['ADDRESS\tNAME\tMESSAGE-AUTHENTICATOR\tSEEN', ...rows.map((r) => `${r.address}\t${r.name}\t${r.requireMessageAuthenticator}\t${r.messageAuthenticatorSeen ? 'yes' : 'no'}`)].join('\n') + '\n');
      } finally {
        ctx.close();
      }
      return 0;
    }
    case 'remove': {
      if (rest.length !== 1) throw new ConfigError(USAGE);
      const address = normalize(rest[0]);
      const ctx = openContext(dataDir, env);
      try {
        if (!deleteClientByAddress(ctx.store, address)) {
          io.err(`gatehouse: no stored client with address ${address}\n`);
          return 1;
        }
        ctx.audit.record({ event: 'client.remove', outcome: 'ok', actor: ctx.actor, details: { address } });
      } finally {
        ctx.close();
      }
      io.out(`removed RADIUS client ${address}\n`);
      return 0;
    }
    default:
      throw new ConfigError(USAGE);
  }
}
