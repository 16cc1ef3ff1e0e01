// The downstream RADIUS server stored from the UI or CLI. Written once for both engines.
import { sql } from 'drizzle-orm';
import type { Sealer } from '../secrets.js';
import { bool, lockForWrite, type Runner, type SharedStore } from '../store.js';

const PURPOSE = 'downstream_servers.secret';

export interface StoredDownstream {
  id: number;
  name: string;
  host: string;
  port: number;
  secret: Buffer;
  requireMessageAuthenticator: boolean;
}

export async function listDownstreams(r: Runner, sealer: Sealer): Promise<StoredDownstream[]> {
  const rows = await r.all<Omit<StoredDownstream, 'secret' | 'requireMessageAuthenticator'> & { secretSealed: Buffer; requireMessageAuthenticator: number | boolean }>(sql`
    SELECT id, name, host, port, secret_sealed AS "secretSealed", require_message_authenticator AS "requireMessageAuthenticator"
    FROM downstream_servers ORDER BY id`);
  return rows.map(({ secretSealed, ...d }) => ({ ...d, requireMessageAuthenticator: Boolean(d.requireMessageAuthenticator), secret: sealer.open(secretSealed, PURPOSE) }));
}

/** Gatehouse proxies to one downstream server for now: setting it replaces what was stored. */
export async function replaceDownstream(store: SharedStore, sealer: Sealer, d: { name: string; host: string; port: number; secret: string; requireMessageAuthenticator: boolean }): Promise<void> {
  const sealed = sealer.seal(Buffer.from(d.secret, 'utf8'), PURPOSE);
  await store.transaction(async (tx) => {
    await lockForWrite(tx, 'downstream_servers');
    await tx.run(sql`DELETE FROM downstream_servers`);
    await tx.run(sql`INSERT INTO downstream_servers (name, host, port, require_message_authenticator, secret_sealed, created_at)
      VALUES (${d.name}, ${d.host}, ${d.port}, ${bool(d.requireMessageAuthenticator)}, ${sealed}, ${Date.now()})`);
  });
}

export async function deleteDownstreams(r: Runner): Promise<number> {
  return r.run(sql`DELETE FROM downstream_servers`);
}
