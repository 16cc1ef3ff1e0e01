// gatehouse downstream set HOST SECRET [--port N] [--name N] [--require-message-authenticator]
// gatehouse downstream show | downstream remove
// The downstream server given by --downstream-address/--secret-out wins over the stored one.
import { ConfigError } from '../config.js';
import { deleteDownstreams, listDownstreams, replaceDownstream } from '../db/queries/downstream.js';
import { openContext, parseCommand, type CliIo } from './context.js';

const USAGE = 'usage: gatehouse downstream set HOST SECRET [--port N] [--name N] [--require-message-authenticator] | downstream show | downstream remove';

export async function downstreamCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { port: { type: 'string' }, name: { type: 'string' }, 'require-message-authenticator': { type: 'boolean' } }, env);
  const [verb, ...rest] = positionals;
  if (verb === 'set') {
    if (rest.length !== 2) throw new ConfigError(USAGE);
    const [host, secret] = rest as [string, string];
    const portRaw = (values['port'] as string | undefined) ?? '1812';
    if (!/^\d{1,5}$/.test(portRaw) || Number(portRaw) < 1 || Number(portRaw) > 65535) throw new ConfigError(`--port: '${portRaw}' is not a port number (1-65535)`);
    if (secret === '') throw new ConfigError('SECRET: must not be empty');
    const name = (values['name'] as string | undefined) ?? `${host}:${portRaw}`;
    const ctx = openContext(dataDir, env);
    try {
      replaceDownstream(ctx.store, ctx.sealer, { name, host, port: Number(portRaw), secret, requireMessageAuthenticator: values['require-message-authenticator'] === true });
      ctx.audit.record({ event: 'downstream.set', outcome: 'ok', actor: ctx.actor, details: { name, address: `${host}:${portRaw}` } });
    } finally {
      ctx.close();
    }
    io.out(`downstream RADIUS server set to ${host}:${portRaw}\n`);
    return 0;
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
      const n = deleteDownstreams(ctx.store);
      if (n > 0) ctx.audit.record({ event: 'downstream.remove', outcome: 'ok', actor: ctx.actor });
      io.out(n > 0 ? 'downstream RADIUS server removed\n' : 'no stored downstream server\n');
    } finally {
      ctx.close();
    }
    return 0;
  }
  throw new ConfigError(USAGE);
}
