// gatehouse client add ADDRESS SECRET [--name N] [--require-message-authenticator yes|no|auto] [--first-factor F]
// gatehouse client list [--json] | client remove ADDRESS: thin over app/admin/clients.ts.
import { addClient, removeClient } from '../admin/clients.js';
import { ConfigError } from '../config.js';
import { listClients } from '../db/queries/clients.js';
import { isoTime, jsonList, openContext, parseCommand, report, type CliIo } from './context.js';
import { jsonOption, usageError, type CommandHelp } from './help.js';

export const CLIENT_HELP: CommandHelp = {
  usage: ['gatehouse client add ADDRESS SECRET [--name N] [--require-message-authenticator yes|no|auto] [--first-factor downstream|directory|default]', 'gatehouse client list [--json]', 'gatehouse client remove ADDRESS'],
  about:
    'RADIUS clients stored in the data directory: an address or CIDR and its shared secret (at least 8 characters,\nsealed at rest, never printed). Clients given by --address-secret-in are not stored and not listed.',
  options: [
    ['--name N', 'client add: a name to show (default: the address)'],
    ['--require-message-authenticator M', 'client add: yes, no, or auto (required once the client has sent one; default)'],
    ['--first-factor F', "client add: who checks its passwords: downstream (the RADIUS server), directory (LDAP bind; PAP only), or default (--first-factor's)"],
    jsonOption('client list', ['address', 'name', 'requireMessageAuthenticator', 'messageAuthenticatorSeen', 'firstFactor', 'createdAt']),
  ],
  store: true,
};
const usage = () => usageError('client', CLIENT_HELP);

export async function clientCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { name: { type: 'string' }, 'require-message-authenticator': { type: 'string' }, 'first-factor': { type: 'string' }, json: { type: 'boolean' } }, env);
  const [verb, ...rest] = positionals;
  const json = values['json'] === true;
  if (json && verb !== 'list') throw new ConfigError('--json: only `client list` prints JSON');
  switch (verb) {
    case 'add': {
      if (rest.length !== 2) throw usage();
      // An empty SECRET would make the operation generate one; on the command line it is an error.
      if (rest[1] === '') throw new ConfigError('SECRET: must not be empty');
      const ctx = await openContext(dataDir, env);
      try {
        const r = await addClient(ctx.admin, ctx.actor, { address: rest[0], secret: rest[1], name: values['name'] as string | undefined, requireMessageAuthenticator: values['require-message-authenticator'] as string | undefined, firstFactor: values['first-factor'] as string | undefined });
        return report(io, r, (c) => `added RADIUS client ${c.name} (${c.address})`);
      } finally {
        await ctx.close();
      }
    }
    case 'list': {
      if (rest.length !== 0) throw usage();
      const ctx = await openContext(dataDir, env);
      try {
        const rows = await listClients(ctx.store, ctx.sealer);
        // Never the secret: listClients opens it, and only these fields leave.
        if (json) io.out(jsonList(rows.map((r) => ({ address: r.address, name: r.name, requireMessageAuthenticator: r.requireMessageAuthenticator, messageAuthenticatorSeen: r.messageAuthenticatorSeen, firstFactor: r.firstFactor ?? 'default', createdAt: isoTime(r.createdAt) }))));
        // The tab-separated columns stay as they were (scripts parse them); --json has them all.
        else io.out(['ADDRESS\tNAME\tMESSAGE-AUTHENTICATOR\tSEEN', ...rows.map((r) => `${r.address}\t${r.name}\t${r.requireMessageAuthenticator}\t${r.messageAuthenticatorSeen ? 'yes' : 'no'}`)].join('\n') + '\n');
      } finally {
        await ctx.close();
      }
      return 0;
    }
    case 'remove': {
      if (rest.length !== 1) throw usage();
      const ctx = await openContext(dataDir, env);
      try {
        return report(io, await removeClient(ctx.admin, ctx.actor, rest[0]!), (c) => `removed RADIUS client ${c.address}`);
      } finally {
        await ctx.close();
      }
    }
    default:
      throw usage();
  }
}
