// Stored settings: every option but the data directory, the clients and the downstream server,
// under its flag name. A value set by a flag or the environment cannot be changed here.
import { OPTIONS, validateStoredSetting } from '../config.js';
import { deleteStoredSetting, writeStoredSetting } from '../db/queries/settings.js';
import { bad, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

/**
 * Settings that decide who gets in or how hard guessing is: the web UI asks for the admin's
 * password and a fresh code again before changing them (a session alone could otherwise point
 * the push service elsewhere or turn the second factor off).
 */
export const SECURITY_SETTINGS: ReadonlySet<string> = new Set(['notakey-host', 'notakey-access-id', 'failmode', 'unenrolled-users', 'strip-realm', 'totp-max-failures', 'totp-lockout-minutes', 'push-max-pending-per-user', 'push-rate-per-user', 'push-rate-window']);

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
export function setSetting(d: AdminDeps, actor: string, flag: string, value: string): Result<'stored' | 'removed' | 'unchanged'> {
  const checked = checkSetting(d, flag, value);
  if (!checked.ok) return checked;
  if (value === '') {
    const removed = deleteStoredSetting(d.store, flag);
    if (removed) d.audit.record({ event: 'settings.unset', outcome: 'ok', actor, details: { setting: flag } });
    d.afterChange();
    return ok(removed ? 'removed' : 'unchanged');
  }
  writeStoredSetting(d.store, flag, value);
  d.audit.record({ event: 'settings.set', outcome: 'ok', actor, details: { setting: flag } });
  d.afterChange();
  return ok('stored');
}
