// The directory connection as the settings describe it (flags > environment > stored, like every
// option), rebuilt whenever they change. Building one opens no connection: a server that is down
// shows at the first use ("Test connection", a login) with its own reason.
import { readFileSync } from 'node:fs';
import type { Settings } from '../config.js';
import type { Runner } from '../db/store.js';
import { readSealedSetting } from '../db/queries/settings.js';
import type { Sealer } from '../db/secrets.js';
import { createDirectory, directoryProblem, type Directory, type DirectoryOptions } from './ldap.js';

/** Where the bind password typed on the Directory page is kept (sealed, beside the settings). */
export const BIND_PASSWORD_KEY = 'ldap-bind-password';

/** Where the service account's password came from (the UI says it; the value never leaves). */
export type BindPasswordSource = 'env' | 'file' | 'stored';

/**
 * The service account's password given at start: LDAP_BIND_PASSWORD, else the file (read now,
 * once; one trailing newline dropped). Throws when the file cannot be read.
 */
export function fixedBindPassword(env: NodeJS.ProcessEnv, file: string | undefined): { value: string; source: BindPasswordSource } | undefined {
  const fromEnv = env['LDAP_BIND_PASSWORD'];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: 'env' };
  if (file === undefined) return undefined;
  try {
    return { value: readFileSync(file, 'utf8').replace(/\r?\n$/, ''), source: 'file' };
  } catch (e) {
    throw new Error(`cannot read --ldap-bind-password-file ${file}: ${(e as Error).message}`);
  }
}

/** The password in force: the one given at start, else the one stored from the Directory page. */
export async function bindPasswordOf(fixed: { value: string; source: BindPasswordSource } | undefined, store: Runner, sealer: Sealer): Promise<{ value: string; source: BindPasswordSource } | undefined> {
  if (fixed !== undefined) return fixed;
  const stored = await readSealedSetting(store, sealer, BIND_PASSWORD_KEY);
  return stored === undefined ? undefined : { value: stored, source: 'stored' };
}

export type DirectoryState = { ok: true; directory: Directory; options: Readonly<DirectoryOptions> } | { ok: false; problem: string };

export function directoryFromSettings(s: Readonly<Settings>, bindPassword: { value: string; source: BindPasswordSource } | undefined): DirectoryState {
  if (s.ldapUrl === undefined) return { ok: false, problem: 'no directory is configured (--ldap-url, or the Directory page)' };
  let ca: Buffer | undefined;
  if (s.ldapCa !== undefined) {
    try {
      ca = readFileSync(s.ldapCa);
    } catch (e) {
      return { ok: false, problem: `cannot read --ldap-ca ${s.ldapCa}: ${(e as Error).message}` };
    }
  }
  const options: DirectoryOptions = {
    urls: s.ldapUrl.split(','),
    bindDn: s.ldapBindDn,
    bindPassword: bindPassword?.value,
    baseDn: s.ldapBaseDn ?? '',
    userFilter: s.ldapUserFilter,
    preset: s.ldapPreset,
    ca,
    startTls: s.ldapStarttls === 'yes',
    allowPlain: s.ldapAllowPlain === 'yes',
    timeoutMs: s.ldapTimeout * 1000,
  };
  // A password with no account to use it (or the other way round) is a mistake worth a line,
  // unless the password is only the stored one left from an earlier setup.
  if (options.bindDn === undefined && bindPassword?.source === 'stored') options.bindPassword = undefined;
  const problem = directoryProblem(options);
  if (problem !== undefined) return { ok: false, problem };
  return { ok: true, directory: createDirectory(options), options };
}
