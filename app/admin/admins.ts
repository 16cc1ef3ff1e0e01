// Admins of the web UI. The last full admin cannot be removed or given a lesser role (that would
// leave the appliance without anyone to run it, or reopen /setup), and adding an admin retires
// the VM's one-time setup code. What each role may do is decided in ./roles.ts.
import { changeAdminCounted, deleteSessionsOfAdmin, findAdminByName, insertAdmin, setAdminSeed, updateAdminPassword } from '../db/queries/admins.js';
import { hashPassword, passwordProblem } from '../lib/password.js';
import { readSetupCode, removeSetupCode } from '../lib/setup-code.js';
import { bad, cleanTokenName, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';
import { isRole, ROLES, type Role } from './roles.js';

/** A role named in a form, a request or a flag; absent means a full admin. */
export function checkRole(raw: string | undefined, field = 'role'): Result<Role> {
  if (raw === undefined || raw === '') return ok('admin');
  return isRole(raw) ? ok(raw) : bad(`role must be one of ${ROLES.join(', ')}`, field);
}

/** A new admin's name and password checked (before anything is asked of the acting admin or changed). */
export async function checkNewAdmin(d: AdminDeps, rawName: string | undefined, password: string | undefined, rawRole?: string): Promise<Result<string>> {
  const name = cleanTokenName(rawName, 'name');
  if (!name.ok) return name;
  const role = checkRole(rawRole);
  if (!role.ok) return role;
  const problem = passwordProblem(password ?? '');
  if (problem !== null) return bad(problem, 'password');
  if (await findAdminByName(d.store, name.value)) return conflict(`admin ${name.value} already exists`, 'name');
  return name;
}

/** `source` (where the request came from, e.g. `http:ADDRESS`) goes into the audit record when given. */
export async function addAdmin(d: AdminDeps, actor: string, rawName: string | undefined, password: string | undefined, source?: string, rawRole?: string): Promise<Result<string>> {
  const name = await checkNewAdmin(d, rawName, password, rawRole);
  if (!name.ok) return name;
  const role = checkRole(rawRole);
  if (!role.ok) return role;
  const hash = await hashPassword(password!);
  // Checked again after the hashing (an await): two requests for one name must not both insert.
  if (await findAdminByName(d.store, name.value)) return conflict(`admin ${name.value} already exists`, 'name');
  await insertAdmin(d.store, name.value, hash, role.value);
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
  await d.audit.record({ event: 'admin.add', outcome: 'ok', actor, ...(source !== undefined ? { source } : {}), details: setupCode !== undefined ? { name: name.value, role: role.value, message: setupCode } : { name: name.value, role: role.value } });
  return ok(name.value);
}

export type AdminAction = 'remove' | 'reset-totp';

/** `self`: the admin acting (who cannot remove themselves); undefined from the command line. */
export async function changeAdmin(d: AdminDeps, actor: string, self: string | undefined, name: string, action: AdminAction): Promise<Result<string>> {
  const admin = await findAdminByName(d.store, name);
  if (admin === undefined) return missing(`no admin ${name}`);
  if (action === 'remove') {
    if (name === self) return conflict('you cannot remove yourself');
    // Counted and removed in one transaction (two removals at once cannot leave no full admin).
    const r = await changeAdminCounted(d.store, name, (role, counts) => (role === 'admin' && counts.admin <= 1 ? { change: null, last: true } : { change: 'delete' as const, last: false }));
    if (r === undefined) return missing(`no admin ${name}`);
    if (r.last) return conflict('the last full admin cannot be removed (add another first)');
  } else {
    await setAdminSeed(d.store, d.sealer, admin.id, null);
    await deleteSessionsOfAdmin(d.store, admin.id);
  }
  await d.audit.record({ event: `admin.${action}`, outcome: 'ok', actor, details: { name } });
  return ok(name);
}

/**
 * Give an admin another role; it applies from their next request (sessions read the role).
 * `self`: the admin acting, who cannot change their own role (another admin must).
 */
export async function setAdminRole(d: AdminDeps, actor: string, self: string | undefined, name: string, rawRole: string | undefined): Promise<Result<{ name: string; role: Role }>> {
  const role = checkRole(rawRole === undefined || rawRole === '' ? '-' : rawRole);
  if (!role.ok) return role;
  if (name === self) return conflict('you cannot change your own role (another full admin can)');
  const r = await changeAdminCounted(d.store, name, (current, counts) => (current === 'admin' && role.value !== 'admin' && counts.admin <= 1 ? { change: null, last: true, from: current } : { change: role.value, last: false, from: current }));
  if (r === undefined) return missing(`no admin ${name}`);
  if (r.last) return conflict('the last full admin must stay one (make another admin a full admin first)');
  if (r.from !== role.value) await d.audit.record({ event: 'admin.role', outcome: 'ok', actor, details: { name, role: role.value, previous: r.from } });
  return ok({ name, role: role.value });
}

/** A new password; every session of that admin ends. */
export async function setAdminPassword(d: AdminDeps, actor: string, name: string, password: string): Promise<Result<string>> {
  const problem = passwordProblem(password);
  if (problem !== null) return bad(problem, 'password');
  const hash = await hashPassword(password);
  const admin = await findAdminByName(d.store, name);
  if (admin === undefined || !await updateAdminPassword(d.store, name, hash)) return missing(`no admin ${name}`);
  await deleteSessionsOfAdmin(d.store, admin.id);
  await d.audit.record({ event: 'admin.password', outcome: 'ok', actor, details: { name } });
  return ok(name);
}
