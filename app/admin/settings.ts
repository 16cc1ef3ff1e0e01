// Stored settings: every option but the data directory, the clients and the downstream server,
// under its flag name. A value set by a flag or the environment cannot be changed here.
import { OPTIONS, validateStoredSetting, type Settings } from '../config.js';
import { deleteStoredSetting, writeStoredSetting } from '../db/queries/settings.js';
import { bad, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

/**
 * Settings that decide who gets in or how hard guessing is: the web UI asks for the admin's
 * password and a fresh code again before changing them (a session alone could otherwise point
 * the push service elsewhere or turn the second factor off).
 */
export const SECURITY_SETTINGS: ReadonlySet<string> = new Set(['notakey-host', 'notakey-access-id', 'failmode', 'unenrolled-users', 'strip-realm', 'totp-max-failures', 'totp-lockout-minutes', 'push-max-pending-per-user', 'push-rate-per-user', 'push-rate-window', 'push-number-matching', 'windows-number-matching', 'enrol-window', 'first-factor', 'ldap-url', 'ldap-bind-dn', 'ldap-base-dn', 'ldap-user-filter', 'ldap-preset', 'ldap-ca', 'ldap-starttls', 'ldap-allow-plain', 'ldap-sync-groups', 'ldap-sync-filter', 'ldap-grace-days']);

/**
 * Settings that let people in on their password alone, as one line each for the banner the web UI
 * shows on every page while they are on.
 */
export function failOpenWarnings(s: Readonly<Settings>): string[] {
  const out: string[] = [];
  if (s.failmode === 'safe') out.push('Fail-open: failmode is safe. When the push service cannot be reached, logins are accepted on the password alone.');
  if (s.unenrolledUsers === 'allow') out.push('Fail-open: unenrolled-users is allow. People without a second factor are let in on their password alone.');
  return out;
}

/** Whether the setting may be changed to `value` here (before anything is asked or changed). */
export function checkSetting(d: AdminDeps, flag: string, value: string): Result<null> {
  const o = OPTIONS.find((x) => x.flag === flag);
  if (o === undefined || !o.storable) return missing(`${flag} is not a stored setting`);
  const fixed = d.fixedSources()[o.key];
  if (fixed !== undefined) return conflict(`${flag} is set by ${fixed === 'flag' ? `--${o.flag}` : o.env} and cannot be changed here`, flag);
  if (value === '') return ok(null);
  const problem = validateStoredSetting(flag, value);
  return problem === null ? ok(null) : bad(problem, flag);
}

/** Store a setting; an empty value removes it (the default applies). */
export async function setSetting(d: AdminDeps, actor: string, flag: string, value: string): Promise<Result<'stored' | 'removed' | 'unchanged'>> {
  const checked = checkSetting(d, flag, value);
  if (!checked.ok) return checked;
  if (value === '') {
    const removed = await deleteStoredSetting(d.store, flag);
    if (removed) await d.audit.record({ event: 'settings.unset', outcome: 'ok', actor, details: { setting: flag } });
    await d.afterChange();
    return ok(removed ? 'removed' : 'unchanged');
  }
  await writeStoredSetting(d.store, flag, value);
  await d.audit.record({ event: 'settings.set', outcome: 'ok', actor, details: { setting: flag } });
  await d.afterChange();
  return ok('stored');
}

/** How a setting is edited in the web UI. */
export type SettingControl = { kind: 'text' } | { kind: 'select'; choices: readonly string[] } | { kind: 'number'; min: number; max: number; step: number | 'any' };

const SECONDS: SettingControl = { kind: 'number', min: 0.001, max: 86400, step: 'any' };
const PORT: SettingControl = { kind: 'number', min: 1, max: 65535, step: 1 };
const LIMIT: SettingControl = { kind: 'number', min: 0, max: 999, step: 1 };

/** Typed controls for the settings that have a closed set of values or a range (others: text). */
export const SETTING_CONTROLS: Readonly<Record<string, SettingControl>> = {
  failmode: { kind: 'select', choices: ['secure', 'safe'] },
  'unenrolled-users': { kind: 'select', choices: ['reject', 'allow'] },
  'strip-realm': { kind: 'select', choices: ['no', 'yes'] },
  'push-number-matching': { kind: 'select', choices: ['no', 'yes'] },
  'windows-number-matching': { kind: 'select', choices: ['no', 'yes'] },
  'audit-stdout': { kind: 'select', choices: ['no', 'yes'] },
  'first-factor': { kind: 'select', choices: ['downstream', 'directory'] },
  'ldap-preset': { kind: 'select', choices: ['ad', 'openldap'] },
  'ldap-starttls': { kind: 'select', choices: ['no', 'yes'] },
  'ldap-allow-plain': { kind: 'select', choices: ['no', 'yes'] },
  'ldap-timeout': SECONDS,
  'ldap-sync-interval': { kind: 'number', min: 0, max: 10080, step: 1 },
  'ldap-grace-days': { kind: 'number', min: 0, max: 3650, step: 1 },
  'notakey-timeout': SECONDS,
  'message-ttl-seconds': SECONDS,
  'proxy-receive-timeout': SECONDS,
  'proxy-send-timeout': SECONDS,
  'totp-challenge-ttl': SECONDS,
  'push-rate-window': SECONDS,
  'port-in': PORT,
  'http-port': PORT,
  'totp-max-failures': { kind: 'number', min: 1, max: 999, step: 1 },
  'totp-lockout-minutes': { kind: 'number', min: 0.1, max: 525600, step: 'any' },
  'push-max-pending-per-user': LIMIT,
  'push-rate-per-user': LIMIT,
  'client-rate-limit': { kind: 'number', min: 0, max: 1_000_000, step: 'any' },
};

/** The settings page's groups, in order; a stored setting in none of them is listed under "Other". */
export const SETTING_GROUPS: readonly { title: string; flags: readonly string[] }[] = [
  { title: 'Second factor', flags: ['unenrolled-users', 'enrol-window', 'strip-realm', 'totp-max-failures', 'totp-lockout-minutes', 'totp-challenge-ttl', 'totp-issuer', 'otp-delimiter'] },
  { title: 'Push service', flags: ['push-provider', 'public-url', 'push-number-matching', 'windows-number-matching', 'notakey-host', 'notakey-access-id', 'notakey-timeout', 'message-ttl-seconds', 'message-title', 'message-description', 'push-max-pending-per-user', 'push-rate-per-user', 'push-rate-window'] },
  { title: 'Security', flags: ['failmode', 'client-rate-limit', 'http-address', 'http-port'] },
  { title: 'RADIUS', flags: ['listen-address', 'port-in', 'port-acct', 'proxy-receive-timeout', 'proxy-send-timeout', 'eap-inner-identity'] },
  { title: 'Directory', flags: ['first-factor', 'ldap-url', 'ldap-preset', 'ldap-base-dn', 'ldap-bind-dn', 'ldap-user-filter', 'ldap-starttls', 'ldap-ca', 'ldap-allow-plain', 'ldap-timeout', 'ldap-sync-interval', 'ldap-sync-groups', 'ldap-sync-filter', 'ldap-grace-days'] },
  { title: 'Windows logon', flags: ['pipe-path', 'windows-message', 'windows-offline-days'] },
  { title: 'Logging', flags: ['audit-stdout', 'audit-syslog'] },
];
