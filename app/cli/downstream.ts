// gatehouse downstream set HOST SECRET [--port N] [--name N] [--require-message-authenticator]
// gatehouse downstream show | downstream remove: thin over app/admin/downstream.ts.
// The downstream server given by --downstream-address/--secret-out wins over the stored one.
import { removeDownstream, setDownstream } from '../admin/downstream.js';
import { ConfigError } from '../config.js';
import { listDownstreams } from '../db/queries/downstream.js';
import { openContext, parseCommand, report, type CliIo } from './context.js';

const USAGE = 'usage: gatehouse downstream set HOST SECRET [--port N] [--name N] [--require-message-authenticator] | downstream show | downstream remove';

export async function downstreamCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { port: { type: 'string' }, name: { type: 'string' }, 'require-message-authenticator': { type: 'boolean' } }, env);
  const [verb, ...rest] = positionals;
  if (verb === 'set') {
    if (rest.length !== 2) throw new ConfigError(USAGE);
    const [host, secret] = rest as [string, string];
    const ctx = openContext(dataDir, env);
    try {
      const r = setDownstream(ctx.admin, ctx.actor, { host, secret, port: values['port'] as string | undefined, name: values['name'] as string | undefined, requireMessageAuthenticator: values['require-message-authenticator'] === true });
      return report(io, r, (v) => `downstream RADIUS server set to ${v.address}`);
    } finally {
      ctx.close();
    }
  }
  if (verb === 'show' && rest.length === 0) {
    const ctx = openContext(dataDir, env);
    try {
      for (const d of listDownstreams(ctx.store, ctx.sealer)) io.out(`${d.name}\t${d.host}:${d.port}\tmessage-authenticator ${d.requireMessageAuthenticator ? 'required' : 'optional'}\n`);
    } finally {
      ctx.close();
    }
    return 0;
  }
  if (verb === 'remove' && rest.length === 0) {
    const ctx = openContext(dataDir, env);
    try {
      const r = removeDownstream(ctx.admin, ctx.actor);
      // Nothing stored is not a failure here: the command's result is the same.
      io.out(r.ok ? 'downstream RADIUS server removed\n' : 'no stored downstream server\n');
    } finally {
      ctx.close();
    }
    return 0;
  }
  throw new ConfigError(USAGE);
}
