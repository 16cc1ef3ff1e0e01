// Phones that approve a user's logins in Gatehouse's own approver: a one-time enrolment link (a QR
// code for the phone, valid 15 minutes) and removal, which revokes the phone at once (its device
// cookie and passkey stop counting with the row).
import { deletePushDevice, insertPushEnrolment, listPushDevices, prunePushEnrolments, type PushDeviceRow } from '../db/queries/push.js';
import { newToken, tokenHash } from '../lib/tokens.js';
import { missing, ok, type AdminDeps, type Result } from './deps.js';
import { cleanUserName } from './users.js';

export const ENROL_LINK_MS = 15 * 60_000;

/** A one-time link that enrols a phone for `raw`; the token is in the fragment (never in a server log). */
export async function phoneEnrolmentLink(d: AdminDeps, actor: string, raw: string): Promise<Result<{ username: string; url: string; expiresAt: number }>> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const token = newToken('ghe_');
  const expiresAt = d.now() + ENROL_LINK_MS;
  await prunePushEnrolments(d.store, d.now());
  if (!await insertPushEnrolment(d.store, name.value, tokenHash(token), actor, expiresAt)) return missing(`no user ${name.value}`);
  await d.audit.record({ event: 'push.device.link', outcome: 'ok', actor, username: name.value });
  return ok({ username: name.value, url: `${d.publicOrigin()}/approve#t=${token}`, expiresAt });
}

export async function userPhones(d: AdminDeps, username: string): Promise<PushDeviceRow[]> {
  return await listPushDevices(d.store, username);
}

/** Remove one of the user's phones (by its id); it cannot approve from then on. */
export async function removePhone(d: AdminDeps, actor: string, raw: string, deviceId: number): Promise<Result<string>> {
  const name = cleanUserName(d, raw);
  if (!name.ok) return name;
  const phone = (await listPushDevices(d.store, name.value)).find((p) => p.id === deviceId);
  if (phone === undefined || !await deletePushDevice(d.store, phone.id)) return missing(`${name.value} has no such phone`);
  await d.audit.record({ event: 'push.device.remove', outcome: 'ok', actor, username: name.value, details: { name: phone.name } });
  return ok(phone.name);
}
