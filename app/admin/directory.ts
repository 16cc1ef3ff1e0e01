// The directory's service-account password typed in the admin UI: sealed with the master key
// beside the settings (app/db/queries/settings.ts), never shown again. LDAP_BIND_PASSWORD or
// --ldap-bind-password-file, when given, win and make it read-only here.
import { BIND_PASSWORD_KEY, type BindPasswordSource } from '../directory/settings.js';
import { deleteStoredSetting, writeSealedSetting } from '../db/queries/settings.js';
import { bad, conflict, ok, type AdminDeps, type Result } from './deps.js';

/** Store the password (an empty one removes it). `fixed`: where a password given at start came from. */
export async function setBindPassword(d: AdminDeps, actor: string, value: string, fixed: BindPasswordSource | undefined): Promise<Result<'stored' | 'removed' | 'unchanged'>> {
  if (fixed === 'env' || fixed === 'file') return conflict(`the bind password is set by ${fixed === 'env' ? 'LDAP_BIND_PASSWORD' : '--ldap-bind-password-file'} and cannot be changed here`, 'password');
  if (value.length > 1024) return bad('the bind password is longer than 1024 characters', 'password');
  if (value === '') {
    const removed = await deleteStoredSetting(d.store, BIND_PASSWORD_KEY);
    if (removed) await d.audit.record({ event: 'settings.unset', outcome: 'ok', actor, details: { setting: BIND_PASSWORD_KEY } });
    await d.afterChange();
    return ok(removed ? 'removed' : 'unchanged');
  }
  await writeSealedSetting(d.store, d.sealer, BIND_PASSWORD_KEY, value);
  // The record names the setting, never the value.
  await d.audit.record({ event: 'settings.set', outcome: 'ok', actor, details: { setting: BIND_PASSWORD_KEY } });
  await d.afterChange();
  return ok('stored');
}
