// gatehouse admin add NAME (password on standard input) | admin list | admin remove NAME |
// admin reset-totp NAME | admin password NAME; gatehouse token create|list|revoke NAME.
import { ConfigError } from '../config.js';
import { deleteAdmin, deleteApiToken, deleteSessionsOfAdmin, DuplicateAdminError, DuplicateTokenError, findAdminByName, insertAdmin, insertApiToken, listAdmins, listApiTokens, setAdminSeed, updateAdminPassword } from '../db/queries/admins.js';
import { hashPassword, passwordProblem } from '../lib/password.js';
import { newToken, tokenHash } from '../lib/tokens.js';
import { openContext, parseCommand, type CliIo } from './context.js';

const ADMIN_USAGE = 'usage: gatehouse admin add|remove|reset-totp|password NAME | admin list   (add and password read the password from standard input)';
const TOKEN_USAGE = 'usage: gatehouse token create|revoke NAME | token list';

function adminName(raw: string | undefined): string {
  if (raw === undefined || !/^[A-Za-z0-9._@-]{1,64}$/.test(raw)) throw new ConfigError(`NAME: '${raw ?? ''}' is not an admin name (1-64 letters, digits, . _ @ -)`);
  return raw;
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
  const hash = verb === 'add' || verb === 'password' ? await hashPassword(await readPassword(io)) : undefined;
  const ctx = openContext(dataDir, env);
  try {
    if (verb === 'add') {
      try {
        insertAdmin(ctx.store, name, hash!);
      } catch (e) {
        if (!(e instanceof DuplicateAdminError)) throw e;
        io.err(`gatehouse: ${e.message}\n`);
        return 1;
      }
      ctx.audit.record({ event: 'admin.add', outcome: 'ok', actor: ctx.actor, details: { name } });
      io.out(`added admin ${name}: sign in at the web UI, where you will set up a TOTP code\n`);
      return 0;
    }
    const admin = findAdminByName(ctx.store, name);
    if (admin === undefined) {
      io.err(`gatehouse: no admin ${name}\n`);
      return 1;
    }
    if (verb === 'remove') deleteAdmin(ctx.store, name);
    else if (verb === 'reset-totp') {
      setAdminSeed(ctx.store, ctx.sealer, admin.id, null);
      deleteSessionsOfAdmin(ctx.store, admin.id);
    } else {
      updateAdminPassword(ctx.store, name, hash!);
      deleteSessionsOfAdmin(ctx.store, admin.id);
    }
    ctx.audit.record({ event: `admin.${verb}`, outcome: 'ok', actor: ctx.actor, details: { name } });
    io.out(`${verb === 'remove' ? 'removed admin' : verb === 'reset-totp' ? 'reset the TOTP of' : 'changed the password of'} ${name}\n`);
    return 0;
  } finally {
    ctx.close();
  }
}

export async function tokenCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { positionals, dataDir } = parseCommand(args, {}, env);
  const [verb, ...rest] = positionals;
  const ctx = () => openContext(dataDir, env);
  if (verb === 'list' && rest.length === 0) {
    const c = ctx();
    try {
      io.out(['NAME\tCREATED\tLAST USED', ...listApiTokens(c.store).map((t) => `${t.name}\t${new Date(t.createdAt).toISOString()}\t${t.lastUsedAt ? new Date(t.lastUsedAt).toISOString() : 'never'}`)].join('\n') + '\n');
    } finally {
      c.close();
    }
    return 0;
  }
  if ((verb !== 'create' && verb !== 'revoke') || rest.length !== 1) throw new ConfigError(TOKEN_USAGE);
  const name = adminName(rest[0]);
  const c = ctx();
  try {
    if (verb === 'create') {
      const token = newToken('gh_');
      try {
        insertApiToken(c.store, name, tokenHash(token), c.actor);
      } catch (e) {
        if (!(e instanceof DuplicateTokenError)) throw e;
        io.err(`gatehouse: ${e.message}\n`);
        return 1;
      }
      c.audit.record({ event: 'token.create', outcome: 'ok', actor: c.actor, details: { name } });
      // Shown once: only its hash is stored.
      io.out(`${token}\n`);
      return 0;
    }
    if (!deleteApiToken(c.store, name)) {
      io.err(`gatehouse: no token ${name}\n`);
      return 1;
    }
    c.audit.record({ event: 'token.revoke', outcome: 'ok', actor: c.actor, details: { name } });
    io.out(`revoked token ${name}\n`);
    return 0;
  } finally {
    c.close();
  }
}
