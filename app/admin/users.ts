// People who log in through Gatehouse: add, remove, lock, unlock, TOTP enrolment. Names are made
// canonical (app/lib/username.ts) the same way the engine does for every login.
import { randomBytes } from 'node:crypto';
import { deleteTotpAccount, deleteUser, insertUser, listUsers, replaceTotpAccount, setUserLocked, type TotpParams } from '../db/queries/users.js';
import { canonicalUsername } from '../lib/username.js';
import { DEFAULT_TOTP, otpauthUri } from '../mfa/otp.js';
import { bad, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

/** 160 bits, the size RFC 4226 recommends and every authenticator app accepts. */
const SEED_BYTES = 20;

export function cleanUserName(d: AdminDeps, raw: string | undefined): Result<string> {
  const c = canonicalUsername(raw ?? '', d.nameRules());
  return c.ok ? ok(c.name) : bad(`user name: ${c.problem}`, 'username');
}

export function searchUsers(d: AdminDeps, query: string, limit = 200) {
  const q = query.normalize('NFKC').trim().toLowerCase();
  return listUsers(d.store)
    .filter((u) => q === '' || u.username.includes(q))
    .slice(0, limit);
}

export function addUser(d: AdminDeps, actor: string, raw: string | undefined): Result<string> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  if (listUsers(d.store).some((u) => u.username === name.value)) return conflict(`user ${name.value} already exists`, 'username');
  insertUser(d.store, name.value);
  d.audit.record({ event: 'user.add', outcome: 'ok', actor, username: name.value });
  return ok(name.value);
}

export type UserAction = 'remove' | 'lock' | 'unlock' | 'reset-totp';

export function changeUser(d: AdminDeps, actor: string, raw: string, action: UserAction): Result<string> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const done = action === 'remove' ? deleteUser(d.store, name.value) : action === 'reset-totp' ? deleteTotpAccount(d.store, name.value) : setUserLocked(d.store, name.value, action === 'lock');
  if (!done) return missing(action === 'reset-totp' ? `${name.value} has no TOTP account` : `no user ${name.value}`);
  d.audit.record({ event: action === 'reset-totp' ? 'totp.remove' : `user.${action}`, outcome: 'ok', actor, username: name.value });
  return ok(name.value);
}

/** Create or replace the user's TOTP account (creating the user if needed); the URI is shown once. */
export function enrolUserTotp(d: AdminDeps, actor: string, raw: string, params: TotpParams = DEFAULT_TOTP): Result<{ username: string; uri: string }> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const seed = randomBytes(SEED_BYTES);
  const { userCreated } = replaceTotpAccount(d.store, d.sealer, name.value, seed, params);
  d.audit.record({ event: 'totp.enroll', outcome: 'ok', actor, username: name.value, details: { name: userCreated ? 'user created' : 'account replaced' } });
  const uri = otpauthUri(d.totpIssuer(), name.value, seed, params);
  seed.fill(0);
  return ok({ username: name.value, uri });
}
