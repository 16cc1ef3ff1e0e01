// gatehouse user add|remove|lock|unlock NAME | user list [--json], and gatehouse totp enroll|remove NAME: thin
// over the admin operations (app/admin/users.ts), as the web UI and the API are.
import qrcode from 'qrcode-generator';
import { addUser, changeUser, enrolUserTotp, type UserAction } from '../admin/users.js';
import { ConfigError } from '../config.js';
import { listUsers, type OtpAlgorithm, type TotpParams } from '../db/queries/users.js';
import { isoTime, jsonList, openContext, parseCommand, report, type CliIo } from './context.js';
import { jsonOption, usageError, type CommandHelp } from './help.js';

export const USER_HELP: CommandHelp = {
  usage: ['gatehouse user add|remove|lock|unlock NAME', 'gatehouse user list [--json]'],
  about:
    'People who log in through RADIUS or Windows logon. Names are stored in canonical form, as logins are matched.\nlock refuses the user until unlock; unlock also ends a lockout after wrong codes.',
  options: [jsonOption('user list', ['name', 'totp', 'locked', 'lockedOutUntil', 'failedAttempts', 'createdAt'])],
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
  const { values, positionals, dataDir } = parseCommand(args, { json: { type: 'boolean' } }, env);
  const [verb, ...rest] = positionals;
  const json = values['json'] === true;
  if (json && verb !== 'list') throw new ConfigError('--json: only `user list` prints JSON');
  if (verb === 'list' && rest.length === 0) {
    const ctx = openContext(dataDir, env);
    try {
      const now = Date.now();
      const users = listUsers(ctx.store).map((u) => ({ ...u, lockedOutUntil: u.lockedUntil !== null && u.lockedUntil > now ? u.lockedUntil : null }));
      if (json) {
        io.out(jsonList(users.map((u) => ({ name: u.username, totp: u.hasTotp, locked: u.locked, lockedOutUntil: isoTime(u.lockedOutUntil), failedAttempts: u.failedAttempts, createdAt: isoTime(u.createdAt) }))));
        return 0;
      }
      const rows = users.map((u) => {
        const lock = u.locked ? 'locked' : u.lockedOutUntil !== null ? `locked out until ${new Date(u.lockedOutUntil).toISOString()}` : 'active';
        return `${u.username}\t${u.hasTotp ? 'totp' : '-'}\t${lock}\t${u.failedAttempts}`;
      });
      io.out(['NAME\tFACTOR\tSTATE\tFAILED', ...rows].join('\n') + '\n');
    } finally {
      ctx.close();
    }
    return 0;
  }
  if (verb === undefined || !['add', 'remove', 'lock', 'unlock'].includes(verb) || rest.length !== 1) throw usageError('user', USER_HELP);
  const ctx = openContext(dataDir, env);
  try {
    if (verb === 'add') return report(io, addUser(ctx.admin, ctx.actor, rest[0]), (name) => `added user ${name}`);
    return report(io, changeUser(ctx.admin, ctx.actor, rest[0]!, verb as UserAction), (name) => `${verb === 'remove' ? 'removed' : `${verb}ed`} user ${name}`);
  } finally {
    ctx.close();
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
    const ctx = openContext(dataDir, env);
    try {
      return report(io, changeUser(ctx.admin, ctx.actor, rest[0]!, 'reset-totp'), (name) => `removed the TOTP account of ${name}`);
    } finally {
      ctx.close();
    }
  }
  const algorithm = ((values['algorithm'] as string | undefined) ?? 'SHA1').toUpperCase();
  if (!['SHA1', 'SHA256', 'SHA512'].includes(algorithm)) throw new ConfigError(`--algorithm: '${algorithm}' must be one of SHA1, SHA256, SHA512`);
  const digits = (values['digits'] as string | undefined) ?? '6';
  if (digits !== '6' && digits !== '8') throw new ConfigError(`--digits: '${digits}' must be 6 or 8`);
  const params: TotpParams = { algorithm: algorithm as OtpAlgorithm, digits: digits === '8' ? 8 : 6, period: 30 };
  const ctx = openContext(dataDir, env);
  let r;
  try {
    r = enrolUserTotp(ctx.admin, ctx.actor, rest[0]!, params);
  } finally {
    ctx.close();
  }
  if (!r.ok) return report(io, r, () => '');
  if (io.isTty) io.out(`${terminalQr(r.value.uri)}\n\nScan the code with an authenticator app, or enter this URI:\n`);
  io.out(`${r.value.uri}\n`);
  return 0;
}
