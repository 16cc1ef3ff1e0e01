// gatehouse downstream set HOST SECRET [--port N] [--name N] [--require-message-authenticator]
// gatehouse downstream show [--json] | downstream remove: thin over app/admin/downstream.ts.
// The downstream server given by --downstream-address/--secret-out wins over the stored one.
import { removeDownstream, setDownstream } from '../admin/downstream.js';
import { ConfigError } from '../config.js';
import { listDownstreams } from '../db/queries/downstream.js';
import { jsonList, openContext, parseCommand, report, type CliIo } from './context.js';
import { jsonOption, usageError, type CommandHelp } from './help.js';

export const DOWNSTREAM_HELP: CommandHelp = {
  usage: ['gatehouse downstream set HOST SECRET [--port N] [--name N] [--require-message-authenticator]', 'gatehouse downstream show [--json]', 'gatehouse downstream remove'],
  about:
    'The downstream RADIUS server stored in the data directory, which checks the passwords (its secret is sealed at\nrest and never printed): `set` makes it the only server of the pool "default". One given by\n--downstream-address/--secret-out wins over the stored one. `show` lists every pool\'s servers; pools and realms\nare managed on the Downstream page and in the API (/api/v1/pools, /api/v1/realms).',
  options: [
    ['--port N', 'downstream set: its RADIUS port (default 1812)'],
    ['--name N', 'downstream set: a name to show'],
    ['--require-message-authenticator', 'downstream set: drop its answers that carry no valid Message-Authenticator'],
    jsonOption('downstream show', ['name', 'host', 'port', 'acctPort', 'transport', 'pool', 'requireMessageAuthenticator']),
  ],
  store: true,
};
const usage = () => usageError('downstream', DOWNSTREAM_HELP);

export async function downstreamCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { port: { type: 'string' }, name: { type: 'string' }, 'require-message-authenticator': { type: 'boolean' }, json: { type: 'boolean' } }, env);
  const [verb, ...rest] = positionals;
  const json = values['json'] === true;
  if (json && verb !== 'show') throw new ConfigError('--json: only `downstream show` prints JSON');
  if (verb === 'set') {
    if (rest.length !== 2) throw usage();
    const [host, secret] = rest as [string, string];
    const ctx = await openContext(dataDir, env);
    try {
      const r = await setDownstream(ctx.admin, ctx.actor, { host, secret, port: values['port'] as string | undefined, name: values['name'] as string | undefined, requireMessageAuthenticator: values['require-message-authenticator'] === true });
      return report(io, r, (v) => `downstream RADIUS server set to ${v.address}`);
    } finally {
      await ctx.close();
    }
  }
  if (verb === 'show' && rest.length === 0) {
    const ctx = await openContext(dataDir, env);
    try {
      const rows = await listDownstreams(ctx.store, ctx.sealer);
      // Never the secret: listDownstreams opens it, and only these fields leave.
      if (json) io.out(jsonList(rows.map((d) => ({ name: d.name, host: d.host, port: d.port, acctPort: d.acctPort, transport: d.transport, pool: d.pool, requireMessageAuthenticator: d.requireMessageAuthenticator }))));
      else for (const d of rows) io.out(`${d.name}\t${d.host}:${d.port}\tpool ${d.pool}\t${d.transport}\taccounting ${d.acctPort}\tmessage-authenticator ${d.requireMessageAuthenticator ? 'required' : 'optional'}\n`);
    } finally {
      await ctx.close();
    }
    return 0;
  }
  if (verb === 'remove' && rest.length === 0) {
    const ctx = await openContext(dataDir, env);
    try {
      const r = await removeDownstream(ctx.admin, ctx.actor);
      // Nothing stored is not a failure here: the command's result is the same.
      io.out(r.ok ? 'downstream RADIUS server removed\n' : 'no stored downstream server\n');
    } finally {
      await ctx.close();
    }
    return 0;
  }
  throw usage();
}
