// Gatehouse's own push service in the store: phones (WebAuthn credentials and Web Push
// subscriptions), one-time enrolment links, the VAPID key pair. No policy here: what a device may
// do is decided in app/push/. Written once for both engines (app/db/store.ts).
import { sql } from 'drizzle-orm';
import type { Runner, SharedStore } from '../store.js';
import type { Sealer } from '../secrets.js';

export interface PushDeviceRow {
  id: number;
  userId: number;
  username: string;
  name: string;
  credentialId: string;
  publicKey: Buffer;
  signCount: number;
  transports: string[];
  subscription: string | null;
  createdAt: number;
  lastUsedAt: number | null;
}

interface RawDevice {
  id: number;
  user_id: number;
  username: string;
  name: string;
  credential_id: string;
  public_key: Buffer;
  sign_count: number;
  transports: string;
  subscription: string | null;
  created_at: number;
  last_used_at: number | null;
}

const DEVICE_COLUMNS = sql.raw('d.id, d.user_id, u.username, d.name, d.credential_id, d.public_key, d.sign_count, d.transports, d.subscription, d.created_at, d.last_used_at');
const toDevice = (r: RawDevice): PushDeviceRow => ({
  id: r.id,
  userId: r.user_id,
  username: r.username,
  name: r.name,
  credentialId: r.credential_id,
  publicKey: r.public_key,
  signCount: r.sign_count,
  transports: r.transports === '' ? [] : r.transports.split(','),
  subscription: r.subscription,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

/** A user's devices, oldest first. */
export async function listPushDevices(r: Runner, username: string): Promise<PushDeviceRow[]> {
  return (await r.all<RawDevice>(sql`SELECT ${DEVICE_COLUMNS} FROM push_devices d JOIN users u ON u.id = d.user_id WHERE u.username = ${username} ORDER BY d.id`)).map(toDevice);
}

/** A user's phones as a login needs them: which there are, and where to send their Web Push messages. */
export interface PushTarget {
  id: number;
  name: string;
  subscription: string | null;
}

export async function listPushTargets(r: Runner, username: string): Promise<PushTarget[]> {
  return r.all<PushTarget>(sql`SELECT d.id, d.name, d.subscription FROM push_devices d JOIN users u ON u.id = d.user_id WHERE u.username = ${username} ORDER BY d.id`);
}

export async function countPushDevices(r: Runner, username: string): Promise<number> {
  return Number((await r.get<{ n: number }>(sql`SELECT count(*) AS n FROM push_devices d JOIN users u ON u.id = d.user_id WHERE u.username = ${username}`))?.n ?? 0);
}

export async function findPushDeviceByToken(r: Runner, tokenHash: string): Promise<PushDeviceRow | undefined> {
  const row = await r.get<RawDevice>(sql`SELECT ${DEVICE_COLUMNS} FROM push_devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ${tokenHash}`);
  return row === undefined ? undefined : toDevice(row);
}

export async function findPushDeviceByCredential(r: Runner, credentialId: string): Promise<PushDeviceRow | undefined> {
  const row = await r.get<RawDevice>(sql`SELECT ${DEVICE_COLUMNS} FROM push_devices d JOIN users u ON u.id = d.user_id WHERE d.credential_id = ${credentialId}`);
  return row === undefined ? undefined : toDevice(row);
}

/**
 * Record a verified signature: the counter moves forward (or both stay 0, for authenticators that
 * keep none) and the device is marked used, in one statement; false when the counter did not
 * move forward (a cloned credential, or a replay) or the device is gone.
 */
export async function recordPushSignature(r: Runner, deviceId: number, signCount: number, now: number): Promise<boolean> {
  return (await r.run(sql`UPDATE push_devices SET sign_count = ${signCount}, last_used_at = ${now} WHERE id = ${deviceId} AND (sign_count < ${signCount} OR (sign_count = 0 AND CAST(${signCount} AS bigint) = 0))`)) === 1;
}

export async function setPushSubscription(r: Runner, deviceId: number, subscription: string | null): Promise<boolean> {
  return (await r.run(sql`UPDATE push_devices SET subscription = ${subscription} WHERE id = ${deviceId}`)) === 1;
}

export async function deletePushDevice(r: Runner, deviceId: number): Promise<boolean> {
  return (await r.run(sql`DELETE FROM push_devices WHERE id = ${deviceId}`)) === 1;
}

/** A one-time enrolment link for an existing user; false when there is no such user. */
export async function insertPushEnrolment(r: Runner, username: string, tokenHash: string, createdBy: string, expiresAt: number): Promise<boolean> {
  return (await r.run(sql`INSERT INTO push_enrolments (token_hash, user_id, created_by, expires_at) SELECT ${tokenHash}, id, ${createdBy}, ${expiresAt} FROM users WHERE username = ${username}`)) === 1;
}

/** The user an unused, unexpired enrolment link is for (it stays usable). */
export async function findPushEnrolment(r: Runner, tokenHash: string, now: number): Promise<{ userId: number; username: string } | undefined> {
  return r.get(sql`SELECT e.user_id AS "userId", u.username FROM push_enrolments e JOIN users u ON u.id = e.user_id WHERE e.token_hash = ${tokenHash} AND e.used_at IS NULL AND e.expires_at > ${now}`);
}

/** Hand out a registration challenge for an open link (replacing an earlier one): false when the link is used or expired. */
export async function setEnrolmentChallenge(r: Runner, tokenHash: string, challenge: string, until: number, now: number): Promise<boolean> {
  return (await r.run(sql`UPDATE push_enrolments SET challenge = ${challenge}, challenge_until = ${until} WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > ${now}`)) > 0;
}

/** The registration challenge of an open link, if one was handed out and may still be answered. */
export async function enrolmentChallenge(r: Runner, tokenHash: string, now: number): Promise<string | undefined> {
  const row = await r.get<{ challenge: string | null }>(sql`SELECT challenge FROM push_enrolments WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > ${now} AND challenge_until > ${now}`);
  return row?.challenge ?? undefined;
}

export interface NewPushDevice {
  name: string;
  credentialId: string;
  publicKey: Buffer;
  signCount: number;
  transports: string[];
  tokenHash: string;
}

/**
 * Use the enrolment link and add the device, in one transaction: the link is claimed only if it is
 * unused and unexpired (one statement), so one link enrols one phone. Returns the device id, or
 * undefined when the link was used, expired or never existed.
 */
export async function enrolPushDevice(store: SharedStore, tokenHash: string, now: number, d: NewPushDevice): Promise<{ deviceId: number; username: string } | undefined> {
  return store.transaction(async (tx) => {
    const claimed = await tx.get<{ userId: number }>(sql`UPDATE push_enrolments SET used_at = ${now} WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > ${now} RETURNING user_id AS "userId"`);
    if (claimed === undefined) return undefined;
    const device = await tx.get<{ id: number }>(sql`INSERT INTO push_devices (user_id, name, credential_id, public_key, sign_count, transports, token_hash, created_at)
      VALUES (${claimed.userId}, ${d.name}, ${d.credentialId}, ${d.publicKey}, ${d.signCount}, ${d.transports.join(',')}, ${d.tokenHash}, ${now}) RETURNING id`);
    const user = await tx.get<{ username: string }>(sql`SELECT username FROM users WHERE id = ${claimed.userId}`);
    return { deviceId: device!.id, username: user!.username };
  });
}

/** Remove expired and used links (housekeeping). */
export async function prunePushEnrolments(r: Runner, now: number): Promise<number> {
  return r.run(sql`DELETE FROM push_enrolments WHERE used_at IS NOT NULL OR expires_at <= ${now}`);
}

const VAPID_PURPOSE = 'push-vapid-private-key';

/** The VAPID key pair, made by `generate` and stored (private key sealed) the first time. */
export async function vapidKeys(r: Runner, sealer: Sealer, generate: () => { publicKey: string; privateKey: string } | Promise<{ publicKey: string; privateKey: string }>): Promise<{ publicKey: string; privateKey: string }> {
  const read = () => r.get<{ publicKey: string; privateKeySealed: Buffer }>(sql`SELECT public_key AS "publicKey", private_key_sealed AS "privateKeySealed" FROM push_keys WHERE id = 1`);
  let row = await read();
  if (row === undefined) {
    const k = await generate();
    // Another process (or node) may have made them meanwhile: the first pair stored is the pair.
    await r.run(sql`INSERT INTO push_keys (id, public_key, private_key_sealed, created_at) VALUES (1, ${k.publicKey}, ${sealer.seal(Buffer.from(k.privateKey, 'utf8'), VAPID_PURPOSE)}, ${Date.now()}) ON CONFLICT DO NOTHING`);
    row = (await read())!;
  }
  return { publicKey: row.publicKey, privateKey: sealer.open(row.privateKeySealed, VAPID_PURPOSE).toString('utf8') };
}
