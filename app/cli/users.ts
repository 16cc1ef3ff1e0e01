// gatehouse user add|remove|lock|unlock NAME | user list [--json] | user import FILE [--dry-run] |
// user export, and gatehouse totp enroll|remove NAME: thin over the admin operations
// (app/admin/users.ts, app/admin/user-import.ts), as the web UI and the API are.
import qrcode from 'qrcode-generator';
import { readFileSync } from 'node:fs';
import { exportUsersCsv, importUsers, IMPORT_MAX_BYTES, planImport, type ImportPlan } from '../admin/user-import.js';
import { addUser, changeUser, enrolUserTotp, type UserAction } from '../admin/users.js';
import { ConfigError } from '../config.js';
import { listUsers, type OtpAlgorithm, type TotpParams } from '../db/queries/users.js';
import { createEnrolmentCode } from '../admin/enrolment.js';
import { isoTime, jsonList, openContext, parseCommand, report, type CliIo } from './context.js';
import { jsonOption, usageError, type CommandHelp } from './help.js';

export const USER_HELP: CommandHelp = {
  usage: ['gatehouse user add|remove|lock|unlock NAME', 'gatehouse user enrol-code NAME', 'gatehouse user list [--json]', 'gatehouse user import FILE [--dry-run]', 'gatehouse user export'],
  about: [
    'People who log in through RADIUS or Windows logon. Names are stored in canonical form, as logins are matched.',
    'lock refuses the user until unlock; unlock also ends a lockout after wrong codes.',
    'import reads a CSV file whose first line names its columns: username, display_name, email, groups (groups',
    'separated by ;). It creates the users that do not exist and sets the columns given for those that do (an',
    'empty cell clears); users not in the file are left alone. Any bad line stops the whole import, naming the',
    'line. --dry-run says what would change and changes nothing. export prints every user as CSV with the same',
    'columns first, then totp, locked and created_at. enrol-code prints a one-time code (valid 7 days) that lets the',
    'user enrol a first factor at /my after their self-enrolment window (--enrol-window); a new one replaces the last.',
  ].join('\n'),
  options: [['--dry-run', 'user import: check the file and say what would change, change nothing'], jsonOption('user list', ['name', 'totp', 'locked', 'lockedOutUntil', 'failedAttempts', 'displayName', 'email', 'upn', 'groups', 'source', 'directory', 'createdAt'])],
  store: true,
};
export const TOTP_HELP: CommandHelp = {
  usage: ['gatehouse totp enroll NAME [--algorithm SHA1|SHA256|SHA512] [--digits 6|8]', 'gatehouse totp remove NAME'],
  about:
    "enroll creates or replaces the user's TOTP account (adding the user if needed) and prints its otpauth:// URI\non a line of its own (after a QR code when standard output is a terminal). remove deletes it.",
  options: [
    ['--algorithm A', 'totp enroll: SHA1 (default; what most apps support), SHA256 or SHA512'],
    ['--digits N', 'totp enroll: 6 (default) or 8'],
  ],
  store: true,
};

export async function userCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { json: { type: 'boolean' }, 'dry-run': { type: 'boolean' } }, env);
  const [verb, ...rest] = positionals;
  const json = values['json'] === true;
  if (json && verb !== 'list') throw new ConfigError('--json: only `user list` prints JSON');
  const dryRun = values['dry-run'] === true;
  if (dryRun && verb !== 'import') throw new ConfigError('--dry-run: only `user import` takes it');
  if (verb === 'import' && rest.length === 1) return importCommand(rest[0]!, dryRun, dataDir, env, io);
  if (verb === 'export' && rest.length === 0) {
    const ctx = await openContext(dataDir, env);
    try {
      for await (const chunk of exportUsersCsv(ctx.admin)) io.out(chunk);
    } finally {
      await ctx.close();
    }
    return 0;
  }
  if (verb === 'list' && rest.length === 0) {
    const ctx = await openContext(dataDir, env);
    try {
      const now = Date.now();
      const users = (await listUsers(ctx.store)).map((u) => ({ ...u, lockedOutUntil: u.lockedUntil !== null && u.lockedUntil > now ? u.lockedUntil : null }));
      if (json) {
        io.out(jsonList(users.map((u) => ({ name: u.username, totp: u.hasTotp, locked: u.locked, lockedOutUntil: isoTime(u.lockedOutUntil), failedAttempts: u.failedAttempts, displayName: u.displayName, email: u.email, upn: u.upn, groups: u.groups, source: u.source, directory: u.directoryState, createdAt: isoTime(u.createdAt) }))));
        return 0;
      }
      const rows = users.map((u) => {
        const lock = u.locked ? 'locked' : u.lockedOutUntil !== null ? `locked out until ${new Date(u.lockedOutUntil).toISOString()}` : 'active';
        return `${u.username}\t${u.hasTotp ? 'totp' : '-'}\t${lock}\t${u.failedAttempts}`;
      });
      io.out(['NAME\tFACTOR\tSTATE\tFAILED', ...rows].join('\n') + '\n');
    } finally {
      await ctx.close();
    }
    return 0;
  }
  if (verb === undefined || !['add', 'remove', 'lock', 'unlock', 'enrol-code'].includes(verb) || rest.length !== 1) throw usageError('user', USER_HELP);
  const ctx = await openContext(dataDir, env);
  try {
    if (verb === 'enrol-code') return report(io, await createEnrolmentCode(ctx.admin, ctx.actor, rest[0]!), (r) => `${r.code}\n(one-time enrolment code for ${r.username} at /my, valid until ${new Date(r.expiresAt).toISOString()})`);
    if (verb === 'add') return report(io, await addUser(ctx.admin, ctx.actor, rest[0]), (name) => `added user ${name}`);
    return report(io, await changeUser(ctx.admin, ctx.actor, rest[0]!, verb as UserAction), (name) => `${verb === 'remove' ? 'removed' : `${verb}ed`} user ${name}`);
  } finally {
    await ctx.close();
  }
}

/** A QR code for a terminal: two modules per character cell, using half blocks. */
export function terminalQr(text: string): string {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const dark = (r: number, c: number) => r >= 0 && c >= 0 && r < n && c < n && qr.isDark(r, c);
  const lines: string[] = [];
  // Light on dark terminals and dark on light ones alike: draw the light modules, with a quiet zone.
  for (let r = -2; r < n + 2; r += 2) {
    let line = '';
    for (let c = -2; c < n + 2; c++) {
      const top = !dark(r, c);
      const bottom = !dark(r + 1, c);
      line += top && bottom ? '\u2588' : top ? '\u2580' : bottom ? '\u2584' : ' ';
    }
    lines.push(line);
  }
  return lines.join('\n');
}

export async function totpCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { algorithm: { type: 'string' }, digits: { type: 'string' } }, env);
  const [verb, ...rest] = positionals;
  if (rest.length !== 1 || (verb !== 'enroll' && verb !== 'remove')) throw usageError('totp', TOTP_HELP);
  if (verb === 'remove') {
    const ctx = await openContext(dataDir, env);
    try {
      return report(io, await changeUser(ctx.admin, ctx.actor, rest[0]!, 'reset-totp'), (name) => `removed the TOTP account of ${name}`);
    } finally {
      await ctx.close();
    }
  }
  const algorithm = ((values['algorithm'] as string | undefined) ?? 'SHA1').toUpperCase();
  if (!['SHA1', 'SHA256', 'SHA512'].includes(algorithm)) throw new ConfigError(`--algorithm: '${algorithm}' must be one of SHA1, SHA256, SHA512`);
  const digits = (values['digits'] as string | undefined) ?? '6';
  if (digits !== '6' && digits !== '8') throw new ConfigError(`--digits: '${digits}' must be 6 or 8`);
  const params: TotpParams = { algorithm: algorithm as OtpAlgorithm, digits: digits === '8' ? 8 : 6, period: 30 };
  const ctx = await openContext(dataDir, env);
  let r;
  try {
    // At once, as DESIGN.md has it: the person at the shell is provisioning (the web UI and the
    // API wait for a code from the user's app instead).
    r = await enrolUserTotp(ctx.admin, ctx.actor, rest[0]!, { activate: 'now', params });
  } finally {
    await ctx.close();
  }
  if (!r.ok) return report(io, r, () => '');
  if (io.isTty) io.out(`${terminalQr(r.value.uri)}\n\nScan the code with an authenticator app, or enter this URI:\n`);
  io.out(`${r.value.uri}\n`);
  return 0;
}

/** What a plan or an import did, in lines for a terminal (the errors first, each naming its line). */
function describePlan(p: ImportPlan, done: boolean): string {
  const lines = p.errors.map((e) => `line ${e.line}: ${e.message}`);
  if (p.ignored.length > 0) lines.push(`columns not imported: ${p.ignored.join(', ')}`);
  const verb = done ? ['created', 'changed', 'unchanged'] : ['to create', 'to change', 'unchanged'];
  lines.push(`${p.rows} users in the file: ${p.creates} ${verb[0]}, ${p.updates} ${verb[1]}, ${p.unchanged} ${verb[2]}`);
  if (!done) for (const u of p.sample.updates.slice(0, 20)) lines.push(`  ${u.username} (line ${u.line}): ${u.fields.join(', ')}`);
  return lines.join('\n') + '\n';
}

async function importCommand(file: string, dryRun: boolean, dataDir: string, env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > IMPORT_MAX_BYTES) throw new ConfigError(`FILE: ${file} is larger than ${IMPORT_MAX_BYTES / 1024 / 1024} MiB: split it`);
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`FILE: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const ctx = await openContext(dataDir, env);
  try {
    const plan = await planImport(ctx.admin, text);
    if (!plan.ok) return report(io, plan, () => '');
    if (dryRun || plan.value.errors.length > 0) {
      (plan.value.errors.length > 0 ? io.err : io.out)(describePlan(plan.value, false) + (plan.value.errors.length > 0 ? 'nothing was imported: fix the lines above\n' : ''));
      return plan.value.errors.length > 0 ? 2 : 0;
    }
    const done = await importUsers(ctx.admin, ctx.actor, text);
    if (!done.ok) return report(io, done, () => '');
    io.out(describePlan(done.value, true));
    return 0;
  } finally {
    await ctx.close();
  }
}
