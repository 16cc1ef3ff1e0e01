// gatehouse admin add NAME [--role ROLE] | admin password NAME (the password asked for on a
// terminal, else read from standard input) | admin role NAME ROLE | admin list [--json] |
// admin remove NAME | admin reset-totp NAME; gatehouse token create NAME [--role ROLE] |
// token revoke NAME | token list [--json]. Roles: app/admin/roles.ts.
// Thin over the admin operations (app/admin/admins.ts, app/admin/tokens.ts).
import { addAdmin, changeAdmin, checkRole, setAdminPassword, setAdminRole } from '../admin/admins.js';
import { cleanTokenName } from '../admin/deps.js';
import { createApiToken, revokeApiToken } from '../admin/tokens.js';
import { ConfigError } from '../config.js';
import { listAdmins, listApiTokens } from '../db/queries/admins.js';
import { passwordProblem } from '../lib/password.js';
import { isoTime, jsonList, openContext, parseCommand, report, type CliIo } from './context.js';
import { jsonOption, usageError, type CommandHelp } from './help.js';
import { readSecret } from './prompt.js';

export const ADMIN_HELP: CommandHelp = {
  usage: ['gatehouse admin add NAME [--role admin|helpdesk|readonly]', 'gatehouse admin password NAME', 'gatehouse admin role NAME admin|helpdesk|readonly', 'gatehouse admin remove|reset-totp NAME', 'gatehouse admin list [--json]'],
  about: [
    'Admins of the web UI. add and password take the password (at least 12 characters) from the person at the',
    'terminal, asked twice without echo ("Password for admin NAME: ", "Again: "); when standard input is not a',
    "terminal, its first line is the password: printf '%s\\n' 'a long passphrase' | gatehouse admin add alice",
    'A new admin sets up a TOTP code at the first sign-in; reset-totp makes them do it again.',
    'Roles: admin (everything, the default), helpdesk (users, locks, enrolment, approvals, the audit log),',
    'readonly (every page, no change). role applies from the admin\'s next request. The last full admin cannot be',
    'removed or given another role.',
  ].join('\n'),
  options: [['--role ROLE', 'admin add: the new admin\'s role (admin, helpdesk or readonly; default admin)'], jsonOption('admin list', ['name', 'role', 'totpEnrolled', 'createdAt'])],
  store: true,
};
export const TOKEN_HELP: CommandHelp = {
  usage: ['gatehouse token create NAME [--role admin|helpdesk|readonly]', 'gatehouse token revoke NAME', 'gatehouse token list [--json]'],
  about: 'Bearer tokens for the JSON API. create prints the new token once (only its hash is stored); revoke ends it. A token acts with its role, as an admin of that role would (default admin).',
  options: [['--role ROLE', 'token create: what the token may do (admin, helpdesk or readonly; default admin)'], jsonOption('token list', ['name', 'role', 'createdBy', 'createdAt', 'lastUsedAt'])],
  store: true,
};

/** --role, checked (a bad one is a usage error); only where `allowed` (admin add, token create). */
function flagRole(raw: unknown, allowed: boolean, where: string): string | undefined {
  if (raw === undefined) return undefined;
  if (!allowed) throw new ConfigError(`--role: only \`${where}\` takes a role`);
  const r = checkRole(typeof raw === 'string' && raw !== '' ? raw : '-');
  if (!r.ok) throw new ConfigError(`--role: ${r.error}`);
  return r.value;
}

function adminName(raw: string | undefined): string {
  const r = cleanTokenName(raw, 'NAME');
  if (!r.ok) throw new ConfigError(`NAME: '${raw ?? ''}' is not an admin name (1-64 letters, digits, . _ @ -)`);
  return r.value;
}

export async function adminCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { json: { type: 'boolean' }, role: { type: 'string' } }, env);
  const [verb, ...rest] = positionals;
  const json = values['json'] === true;
  if (json && verb !== 'list') throw new ConfigError('--json: only `admin list` prints JSON');
  const role = flagRole(values['role'], verb === 'add', 'admin add');
  if (verb === 'list' && rest.length === 0) {
    const ctx = await openContext(dataDir, env);
    try {
      // Never the password hash nor the TOTP seed.
      if (json) io.out(jsonList((await listAdmins(ctx.store)).map((a) => ({ name: a.name, role: a.role, totpEnrolled: a.hasTotp, createdAt: isoTime(a.createdAt) }))));
      // ROLE is the last column, so scripts reading the first two read what they always did.
      else io.out(['NAME\tTOTP\tROLE', ...(await listAdmins(ctx.store)).map((a) => `${a.name}\t${a.hasTotp ? 'enrolled' : 'enrols at next sign-in'}\t${a.role}`)].join('\n') + '\n');
    } finally {
      await ctx.close();
    }
    return 0;
  }
  if (verb === 'role' && rest.length === 2) {
    const name = adminName(rest[0]);
    const newRole = checkRole(rest[1] || '-');
    if (!newRole.ok) throw new ConfigError(`ROLE: ${newRole.error}`);
    const ctx = await openContext(dataDir, env);
    try {
      return report(io, await setAdminRole(ctx.admin, ctx.actor, undefined, name, newRole.value), (r) => `${r.name} is now ${r.role}`);
    } finally {
      await ctx.close();
    }
  }
  if (verb === undefined || !['add', 'remove', 'reset-totp', 'password'].includes(verb) || rest.length !== 1) throw usageError('admin', ADMIN_HELP);
  const name = adminName(rest[0]);
  const password =
    verb === 'add' || verb === 'password'
      ? await readSecret(io, { prompt: `Password for admin ${name}: `, confirm: true, name: 'password', stdinName: 'password on standard input', problem: passwordProblem })
      : undefined;
  const ctx = await openContext(dataDir, env);
  try {
    switch (verb) {
      case 'add':
        return report(io, await addAdmin(ctx.admin, ctx.actor, name, password, undefined, role), (n) => `added admin ${n}: sign in at the web UI, where you will set up a TOTP code`);
      case 'password':
        return report(io, await setAdminPassword(ctx.admin, ctx.actor, name, password!), (n) => `changed the password of ${n}`);
      case 'remove':
        return report(io, await changeAdmin(ctx.admin, ctx.actor, undefined, name, 'remove'), (n) => `removed admin ${n}`);
      default:
        return report(io, await changeAdmin(ctx.admin, ctx.actor, undefined, name, 'reset-totp'), (n) => `reset the TOTP of ${n}`);
    }
  } finally {
    await ctx.close();
  }
}

export async function tokenCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { json: { type: 'boolean' }, role: { type: 'string' } }, env);
  const [verb, ...rest] = positionals;
  const json = values['json'] === true;
  if (json && verb !== 'list') throw new ConfigError('--json: only `token list` prints JSON');
  const role = flagRole(values['role'], verb === 'create', 'token create');
  if (verb === 'list' && rest.length === 0) {
    const c = await openContext(dataDir, env);
    try {
      // Never the token nor its hash.
      if (json) io.out(jsonList((await listApiTokens(c.store)).map((t) => ({ name: t.name, role: t.role, createdBy: t.createdBy, createdAt: isoTime(t.createdAt), lastUsedAt: isoTime(t.lastUsedAt) }))));
      else io.out(['NAME\tCREATED\tLAST USED\tROLE', ...(await listApiTokens(c.store)).map((t) => `${t.name}\t${new Date(t.createdAt).toISOString()}\t${t.lastUsedAt ? new Date(t.lastUsedAt).toISOString() : 'never'}\t${t.role}`)].join('\n') + '\n');
    } finally {
      await c.close();
    }
    return 0;
  }
  if ((verb !== 'create' && verb !== 'revoke') || rest.length !== 1) throw usageError('token', TOKEN_HELP);
  const name = adminName(rest[0]);
  const c = await openContext(dataDir, env);
  try {
    // Shown once: only its hash is stored.
    if (verb === 'create') return report(io, await createApiToken(c.admin, c.actor, name, role), (t) => t.token);
    return report(io, await revokeApiToken(c.admin, c.actor, name), (n) => `revoked token ${n}`);
  } finally {
    await c.close();
  }
}
