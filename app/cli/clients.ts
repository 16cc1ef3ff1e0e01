// gatehouse client add ADDRESS SECRET [--name N] [--require-message-authenticator yes|no|auto]
// gatehouse client list | client remove ADDRESS: thin over app/admin/clients.ts.
import { addClient, removeClient } from '../admin/clients.js';
import { ConfigError } from '../config.js';
import { listClients } from '../db/queries/clients.js';
import { openContext, parseCommand, report, type CliIo } from './context.js';

const USAGE = 'usage: gatehouse client add ADDRESS SECRET [--name N] [--require-message-authenticator yes|no|auto] | client list | client remove ADDRESS';

export async function clientCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { name: { type: 'string' }, 'require-message-authenticator': { type: 'string' } }, env);
  const [verb, ...rest] = positionals;
  switch (verb) {
    case 'add': {
      if (rest.length !== 2) throw new ConfigError(USAGE);
      // An empty SECRET would make the operation generate one; on the command line it is an error.
      if (rest[1] === '') throw new ConfigError('SECRET: must not be empty');
      const ctx = openContext(dataDir, env);
      try {
        const r = addClient(ctx.admin, ctx.actor, { address: rest[0], secret: rest[1], name: values['name'] as string | undefined, requireMessageAuthenticator: values['require-message-authenticator'] as string | undefined });
        return report(io, r, (c) => `added RADIUS client ${c.name} (${c.address})`);
      } finally {
        ctx.close();
      }
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
      const ctx = openContext(dataDir, env);
      try {
        return report(io, removeClient(ctx.admin, ctx.actor, rest[0]!), (c) => `removed RADIUS client ${c.address}`);
      } finally {
        ctx.close();
      }
    }
    default:
      throw new ConfigError(USAGE);
  }
}
