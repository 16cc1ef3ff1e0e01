// gatehouse user add|list|remove|lock|unlock NAME, and gatehouse totp enroll|remove NAME.
import { randomBytes } from 'node:crypto';
import qrcode from 'qrcode-generator';
import { ConfigError, parseServeOptions, resolveSettings } from '../config.js';
import { readStoredSettings } from '../db/queries/settings.js';
import { deleteTotpAccount, deleteUser, DuplicateUserError, insertUser, listUsers, normalizeUsername, replaceTotpAccount, setUserLocked } from '../db/queries/users.js';
import { otpauthUri, type OtpAlgorithm, type TotpParams } from '../mfa/otp.js';
import { openContext, parseCommand, type CliIo } from './context.js';

const USER_USAGE = 'usage: gatehouse user add|remove|lock|unlock NAME | user list';
const TOTP_USAGE = 'usage: gatehouse totp enroll NAME [--algorithm SHA1|SHA256|SHA512] [--digits 6|8] | totp remove NAME';
/** 160 bits, the size RFC 4226 recommends and every authenticator app accepts. */
const SEED_BYTES = 20;

function userName(raw: string | undefined, usage: string): string {
  if (raw === undefined) throw new ConfigError(usage);
  const name = raw.trim();
  // RADIUS User-Name is at most 253 bytes; control characters have no place in a user name.
  if (name === '' || Buffer.byteLength(name) > 253 || /[\u0000-\u001f\u007f]/.test(name)) throw new ConfigError(`NAME: '${raw}' is not a user name (1-253 bytes, no control characters)`);
  return name;
}

export async function userCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { positionals, dataDir } = parseCommand(args, {}, env);
  const [verb, ...rest] = positionals;
  if (verb === 'list' && rest.length === 0) {
    const ctx = openContext(dataDir, env);
    try {
      const now = Date.now();
      const rows = listUsers(ctx.store).map((u) => {
        const lock = u.locked ? 'locked' : u.lockedUntil !== null && u.lockedUntil > now ? `locked out until ${new Date(u.lockedUntil).toISOString()}` : 'active';
        return `${u.username}\t${u.hasTotp ? 'totp' : '-'}\t${lock}\t${u.failedAttempts}`;
      });
      io.out(['NAME\tFACTOR\tSTATE\tFAILED', ...rows].join('\n') + '\n');
    } finally {
      ctx.close();
    }
    return 0;
  }
  if (verb === undefined || !['add', 'remove', 'lock', 'unlock'].includes(verb) || rest.length !== 1) throw new ConfigError(USER_USAGE);
  const name = userName(rest[0], USER_USAGE);
  const ctx = openContext(dataDir, env);
  try {
    let done: boolean;
    if (verb === 'add') {
      try {
        insertUser(ctx.store, name);
        done = true;
      } catch (e) {
        if (!(e instanceof DuplicateUserError)) throw e;
        io.err(`gatehouse: ${e.message}\n`);
        return 1;
      }
    } else if (verb === 'remove') done = deleteUser(ctx.store, name);
    else done = setUserLocked(ctx.store, name, verb === 'lock');
    if (!done) {
      io.err(`gatehouse: no user ${normalizeUsername(name)}\n`);
      return 1;
    }
    ctx.audit.record({ event: `user.${verb}`, outcome: 'ok', actor: ctx.actor, username: normalizeUsername(name) });
    io.out(`${verb === 'add' ? 'added' : verb === 'remove' ? 'removed' : `${verb}ed`} user ${normalizeUsername(name)}\n`);
    return 0;
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
  if (rest.length !== 1 || (verb !== 'enroll' && verb !== 'remove')) throw new ConfigError(TOTP_USAGE);
  const name = userName(rest[0], TOTP_USAGE);
  if (verb === 'remove') {
    const ctx = openContext(dataDir, env);
    try {
      if (!deleteTotpAccount(ctx.store, name)) {
        io.err(`gatehouse: ${normalizeUsername(name)} has no TOTP account\n`);
        return 1;
      }
      ctx.audit.record({ event: 'totp.remove', outcome: 'ok', actor: ctx.actor, username: normalizeUsername(name) });
    } finally {
      ctx.close();
    }
    io.out(`removed the TOTP account of ${normalizeUsername(name)}\n`);
    return 0;
  }
  const algorithm = ((values['algorithm'] as string | undefined) ?? 'SHA1').toUpperCase();
  if (!['SHA1', 'SHA256', 'SHA512'].includes(algorithm)) throw new ConfigError(`--algorithm: '${algorithm}' must be one of SHA1, SHA256, SHA512`);
  const digits = (values['digits'] as string | undefined) ?? '6';
  if (digits !== '6' && digits !== '8') throw new ConfigError(`--digits: '${digits}' must be 6 or 8`);
  const params: TotpParams = { algorithm: algorithm as OtpAlgorithm, digits: digits === '8' ? 8 : 6, period: 30 };
  const ctx = openContext(dataDir, env);
  let uri: string;
  try {
    // The issuer follows the same precedence as the appliance: environment, then stored setting.
    const issuer = resolveSettings(parseServeOptions([], env).fixed, readStoredSettings(ctx.store)).settings.totpIssuer;
    const seed = randomBytes(SEED_BYTES);
    const { userCreated } = replaceTotpAccount(ctx.store, ctx.sealer, name, seed, params);
    ctx.audit.record({ event: 'totp.enroll', outcome: 'ok', actor: ctx.actor, username: normalizeUsername(name), details: { name: userCreated ? 'user created' : 'account replaced' } });
    uri = otpauthUri(issuer, normalizeUsername(name), seed, params);
    seed.fill(0);
  } finally {
    ctx.close();
  }
  if (io.isTty) io.out(`${terminalQr(uri)}\n\nScan the code with an authenticator app, or enter this URI:\n`);
  io.out(`${uri}\n`);
  return 0;
}
