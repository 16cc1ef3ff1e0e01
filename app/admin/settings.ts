// Stored settings: every option but the data directory, the clients and the downstream server,
// under its flag name. A value set by a flag or the environment cannot be changed here.
import { OPTIONS, validateStoredSetting } from '../config.js';
import { deleteStoredSetting, writeStoredSetting } from '../db/queries/settings.js';
import { bad, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

/** Store a setting; an empty value removes it (the default applies). */
export function setSetting(d: AdminDeps, actor: string, flag: string, value: string): Result<'stored' | 'removed' | 'unchanged'> {
  const o = OPTIONS.find((x) => x.flag === flag);
  if (o === undefined || !o.storable) return missing(`${flag} is not a stored setting`);
  const fixed = d.fixedSources()[o.key];
  if (fixed !== undefined) return conflict(`${flag} is set by ${fixed === 'flag' ? `--${o.flag}` : o.env} and cannot be changed here`, flag);
  if (value === '') {
    const removed = deleteStoredSetting(d.store, flag);
    if (removed) d.audit.record({ event: 'settings.unset', outcome: 'ok', actor, details: { setting: flag } });
    d.afterChange();
    return ok(removed ? 'removed' : 'unchanged');
  }
  const problem = validateStoredSetting(flag, value);
  if (problem !== null) return bad(problem, flag);
  writeStoredSetting(d.store, flag, value);
  d.audit.record({ event: 'settings.set', outcome: 'ok', actor, details: { setting: flag } });
  d.afterChange();
  return ok('stored');
}
