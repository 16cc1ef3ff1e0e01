// Gatehouse's own push service in the store: phones (WebAuthn credentials and Web Push
// subscriptions), one-time enrolment links, the VAPID key pair. No policy here: what a device may
// do is decided in app/push/.
import { statement, type Store } from '../open.js';
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

const DEVICE_COLUMNS = 'd.id, d.user_id, u.username, d.name, d.credential_id, d.public_key, d.sign_count, d.transports, d.subscription, d.created_at, d.last_used_at';
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
export function listPushDevices(store: Store, username: string): PushDeviceRow[] {
  return statement<[string], RawDevice>(store, `SELECT ${DEVICE_COLUMNS} FROM push_devices d JOIN users u ON u.id = d.user_id WHERE u.username = ? ORDER BY d.id`)
    .all(username)
    .map(toDevice);
}

export function countPushDevices(store: Store, username: string): number {
  return statement<[string], number>(store, 'SELECT count(*) FROM push_devices d JOIN users u ON u.id = d.user_id WHERE u.username = ?').pluck().get(username) ?? 0;
}

export function findPushDeviceByToken(store: Store, tokenHash: string): PushDeviceRow | undefined {
  const r = statement<[string], RawDevice>(store, `SELECT ${DEVICE_COLUMNS} FROM push_devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?`).get(tokenHash);
  return r === undefined ? undefined : toDevice(r);
}

export function findPushDeviceByCredential(store: Store, credentialId: string): PushDeviceRow | undefined {
  const r = statement<[string], RawDevice>(store, `SELECT ${DEVICE_COLUMNS} FROM push_devices d JOIN users u ON u.id = d.user_id WHERE d.credential_id = ?`).get(credentialId);
  return r === undefined ? undefined : toDevice(r);
}

/**
 * Record a verified signature: the counter moves forward (or both stay 0, for authenticators that
 * keep none) and the device is marked used, in one statement; false when the counter did not
 * move forward (a cloned credential, or a replay) or the device is gone.
 */
export function recordPushSignature(store: Store, deviceId: number, signCount: number, now: number): boolean {
  return statement(store, 'UPDATE push_devices SET sign_count = ?, last_used_at = ? WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))').run(signCount, now, deviceId, signCount, signCount).changes === 1;
}

export function setPushSubscription(store: Store, deviceId: number, subscription: string | null): boolean {
  return statement(store, 'UPDATE push_devices SET subscription = ? WHERE id = ?').run(subscription, deviceId).changes === 1;
}

export function deletePushDevice(store: Store, deviceId: number): boolean {
  return statement(store, 'DELETE FROM push_devices WHERE id = ?').run(deviceId).changes === 1;
}

/** A one-time enrolment link for an existing user; false when there is no such user. */
export function insertPushEnrolment(store: Store, username: string, tokenHash: string, createdBy: string, expiresAt: number): boolean {
  return statement(store, 'INSERT INTO push_enrolments (token_hash, user_id, created_by, expires_at) SELECT ?, id, ?, ? FROM users WHERE username = ?').run(tokenHash, createdBy, expiresAt, username).changes === 1;
}

/** The user an unused, unexpired enrolment link is for (it stays usable). */
export function findPushEnrolment(store: Store, tokenHash: string, now: number): { userId: number; username: string } | undefined {
  return statement<[string, number], { userId: number; username: string }>(store, 'SELECT e.user_id AS userId, u.username FROM push_enrolments e JOIN users u ON u.id = e.user_id WHERE e.token_hash = ? AND e.used_at IS NULL AND e.expires_at > ?')
    .get(tokenHash, now);
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
 * unused and unexpired, so one link enrols one phone. Returns the device id, or undefined when the
 * link was used, expired or never existed.
 */
export function enrolPushDevice(store: Store, tokenHash: string, now: number, d: NewPushDevice): { deviceId: number; username: string } | undefined {
  return store.sqlite.transaction(() => {
    const claimed = statement<[number, string, number], { user_id: number }>(store, 'UPDATE push_enrolments SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id')
      .get(now, tokenHash, now);
    if (claimed === undefined) return undefined;
    const id = statement(store, 'INSERT INTO push_devices (user_id, name, credential_id, public_key, sign_count, transports, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(claimed.user_id, d.name, d.credentialId, d.publicKey, d.signCount, d.transports.join(','), d.tokenHash, now).lastInsertRowid;
    const username = statement<[number], string>(store, 'SELECT username FROM users WHERE id = ?').pluck().get(claimed.user_id)!;
    return { deviceId: Number(id), username };
  }).immediate();
}

/** Remove expired and used links (housekeeping). */
export function prunePushEnrolments(store: Store, now: number): number {
  return statement(store, 'DELETE FROM push_enrolments WHERE used_at IS NOT NULL OR expires_at <= ?').run(now).changes;
}

const VAPID_PURPOSE = 'push-vapid-private-key';

/** The VAPID key pair, made by `generate` and stored (private key sealed) the first time. */
export function vapidKeys(store: Store, sealer: Sealer, generate: () => { publicKey: string; privateKey: string }): { publicKey: string; privateKey: string } {
  const read = () => statement<[], { public_key: string; private_key_sealed: Buffer }>(store, 'SELECT public_key, private_key_sealed FROM push_keys WHERE id = 1').get();
  let row = read();
  if (row === undefined) {
    const k = generate();
    // Another process may have made them meanwhile: the first pair stored is the pair.
    statement(store, 'INSERT OR IGNORE INTO push_keys (id, public_key, private_key_sealed) VALUES (1, ?, ?)').run(k.publicKey, sealer.seal(Buffer.from(k.privateKey, 'utf8'), VAPID_PURPOSE));
    row = read()!;
  }
  return { publicKey: row.public_key, privateKey: sealer.open(row.private_key_sealed, VAPID_PURPOSE).toString('utf8') };
}
