// Admins of the web UI. The last admin cannot be removed (that would reopen /setup, or leave the
// appliance without anyone to run it), and adding an admin retires the VM's one-time setup code.
import { deleteAdmin, deleteSessionsOfAdmin, findAdminByName, insertAdmin, listAdmins, setAdminSeed, updateAdminPassword } from '../db/queries/admins.js';
import { hashPassword, passwordProblem } from '../lib/password.js';
import { readSetupCode, removeSetupCode } from '../lib/setup-code.js';
import { bad, cleanTokenName, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

/** A new admin's name and password checked (before anything is asked of the acting admin or changed). */
export function checkNewAdmin(d: AdminDeps, rawName: string | undefined, password: string | undefined): Result<string> {
  const name = cleanTokenName(rawName, 'name');
  if (!name.ok) return name;
  const problem = passwordProblem(password ?? '');
  if (problem !== null) return bad(problem, 'password');
  if (findAdminByName(d.store, name.value)) return conflict(`admin ${name.value} already exists`, 'name');
  return name;
}

/** `source` (where the request came from, e.g. `http:ADDRESS`) goes into the audit record when given. */
export async function addAdmin(d: AdminDeps, actor: string, rawName: string | undefined, password: string | undefined, source?: string): Promise<Result<string>> {
  const name = checkNewAdmin(d, rawName, password);
  if (!name.ok) return name;
  const hash = await hashPassword(password!);
  // Checked again after the hashing (an await): two requests for one name must not both insert.
  if (findAdminByName(d.store, name.value)) return conflict(`admin ${name.value} already exists`, 'name');
  insertAdmin(d.store, name.value, hash);
  // Once an admin exists the setup code has no use left; a leftover file must not reopen /setup
  // should the admins ever be removed by hand.
  let setupCode: string | undefined;
  if (readSetupCode(d.dataDir).state !== 'absent') {
    try {
      removeSetupCode(d.dataDir);
      setupCode = 'setup code removed';
    } catch (e) {
      setupCode = `setup code file not removed: ${(e as Error).message}`;
    }
  }
  d.audit.record({ event: 'admin.add', outcome: 'ok', actor, ...(source !== undefined ? { source } : {}), details: setupCode !== undefined ? { name: name.value, message: setupCode } : { name: name.value } });
  return ok(name.value);
}

export type AdminAction = 'remove' | 'reset-totp';

/** `self`: the admin acting (who cannot remove themselves); undefined from the command line. */
export function changeAdmin(d: AdminDeps, actor: string, self: string | undefined, name: string, action: AdminAction): Result<string> {
  const admin = findAdminByName(d.store, name);
  if (admin === undefined) return missing(`no admin ${name}`);
  if (action === 'remove') {
    if (name === self) return conflict('you cannot remove yourself');
    if (listAdmins(d.store).length <= 1) return conflict('the last admin cannot be removed (add another first)');
    deleteAdmin(d.store, name);
  } else {
    setAdminSeed(d.store, d.sealer, admin.id, null);
    deleteSessionsOfAdmin(d.store, admin.id);
  }
  d.audit.record({ event: `admin.${action}`, outcome: 'ok', actor, details: { name } });
  return ok(name);
}

/** A new password; every session of that admin ends. */
export async function setAdminPassword(d: AdminDeps, actor: string, name: string, password: string): Promise<Result<string>> {
  const problem = passwordProblem(password);
  if (problem !== null) return bad(problem, 'password');
  const hash = await hashPassword(password);
  const admin = findAdminByName(d.store, name);
  if (admin === undefined || !updateAdminPassword(d.store, name, hash)) return missing(`no admin ${name}`);
  deleteSessionsOfAdmin(d.store, admin.id);
  d.audit.record({ event: 'admin.password', outcome: 'ok', actor, details: { name } });
  return ok(name);
}
