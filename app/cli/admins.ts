// gatehouse admin add NAME (password on standard input) | admin list | admin remove NAME |
// admin reset-totp NAME | admin password NAME; gatehouse token create|list|revoke NAME.
// Thin over the admin operations (app/admin/admins.ts, app/admin/tokens.ts).
import { addAdmin, changeAdmin, setAdminPassword } from '../admin/admins.js';
import { cleanTokenName } from '../admin/deps.js';
import { createApiToken, revokeApiToken } from '../admin/tokens.js';
import { ConfigError } from '../config.js';
import { listAdmins, listApiTokens } from '../db/queries/admins.js';
import { passwordProblem } from '../lib/password.js';
import { openContext, parseCommand, report, type CliIo } from './context.js';

const ADMIN_USAGE = 'usage: gatehouse admin add|remove|reset-totp|password NAME | admin list   (add and password read the password from standard input)';
const TOKEN_USAGE = 'usage: gatehouse token create|revoke NAME | token list';

function adminName(raw: string | undefined): string {
  const r = cleanTokenName(raw, 'NAME');
  if (!r.ok) throw new ConfigError(`NAME: '${raw ?? ''}' is not an admin name (1-64 letters, digits, . _ @ -)`);
  return r.value;
}

async function readPassword(io: CliIo): Promise<string> {
  // One line from standard input (the first line, without its line ending): never from argv,
  // where other users of the machine could read it.
  const text = await io.readStdin();
  const password = text.split(/\r?\n/)[0] ?? '';
  const problem = passwordProblem(password);
  if (problem !== null) throw new ConfigError(`password on standard input: ${problem}`);
  return password;
}

export async function adminCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { positionals, dataDir } = parseCommand(args, {}, env);
  const [verb, ...rest] = positionals;
  if (verb === 'list' && rest.length === 0) {
    const ctx = openContext(dataDir, env);
    try {
      io.out(['NAME\tTOTP', ...listAdmins(ctx.store).map((a) => `${a.name}\t${a.hasTotp ? 'enrolled' : 'enrols at next sign-in'}`)].join('\n') + '\n');
    } finally {
      ctx.close();
    }
    return 0;
  }
  if (verb === undefined || !['add', 'remove', 'reset-totp', 'password'].includes(verb) || rest.length !== 1) throw new ConfigError(ADMIN_USAGE);
  const name = adminName(rest[0]);
  const password = verb === 'add' || verb === 'password' ? await readPassword(io) : undefined;
  const ctx = openContext(dataDir, env);
  try {
    switch (verb) {
      case 'add':
        return report(io, await addAdmin(ctx.admin, ctx.actor, name, password), (n) => `added admin ${n}: sign in at the web UI, where you will set up a TOTP code`);
      case 'password':
        return report(io, await setAdminPassword(ctx.admin, ctx.actor, name, password!), (n) => `changed the password of ${n}`);
      case 'remove':
        return report(io, changeAdmin(ctx.admin, ctx.actor, undefined, name, 'remove'), (n) => `removed admin ${n}`);
      default:
        return report(io, changeAdmin(ctx.admin, ctx.actor, undefined, name, 'reset-totp'), (n) => `reset the TOTP of ${n}`);
    }
  } finally {
    ctx.close();
  }
}

export async function tokenCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { positionals, dataDir } = parseCommand(args, {}, env);
  const [verb, ...rest] = positionals;
  if (verb === 'list' && rest.length === 0) {
    const c = openContext(dataDir, env);
    try {
      io.out(['NAME\tCREATED\tLAST USED', ...listApiTokens(c.store).map((t) => `${t.name}\t${new Date(t.createdAt).toISOString()}\t${t.lastUsedAt ? new Date(t.lastUsedAt).toISOString() : 'never'}`)].join('\n') + '\n');
    } finally {
      c.close();
    }
    return 0;
  }
  if ((verb !== 'create' && verb !== 'revoke') || rest.length !== 1) throw new ConfigError(TOKEN_USAGE);
  const name = adminName(rest[0]);
  const c = openContext(dataDir, env);
  try {
    // Shown once: only its hash is stored.
    if (verb === 'create') return report(io, createApiToken(c.admin, c.actor, name), (t) => t.token);
    return report(io, revokeApiToken(c.admin, c.actor, name), (n) => `revoked token ${n}`);
  } finally {
    c.close();
  }
}
