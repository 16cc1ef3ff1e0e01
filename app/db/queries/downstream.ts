import { asc } from 'drizzle-orm';
import type { Store } from '../open.js';
import { downstreamServers } from '../schema.js';
import type { Sealer } from '../secrets.js';

const PURPOSE = 'downstream_servers.secret';

export interface StoredDownstream {
  id: number;
  name: string;
  host: string;
  port: number;
  secret: Buffer;
  requireMessageAuthenticator: boolean;
}

export function listDownstreams(store: Store, sealer: Sealer): StoredDownstream[] {
  return store.db
    .select()
    .from(downstreamServers)
    .orderBy(asc(downstreamServers.id))
    .all()
    .map((r) => ({ id: r.id, name: r.name, host: r.host, port: r.port, requireMessageAuthenticator: r.requireMessageAuthenticator, secret: sealer.open(r.secretSealed, PURPOSE) }));
}

/** Gatehouse proxies to one downstream server for now: setting it replaces what was stored. */
export function replaceDownstream(store: Store, sealer: Sealer, d: { name: string; host: string; port: number; secret: string; requireMessageAuthenticator: boolean }): void {
  store.sqlite.transaction(() => {
    store.db.delete(downstreamServers).run();
    store.db
      .insert(downstreamServers)
      .values({ name: d.name, host: d.host, port: d.port, requireMessageAuthenticator: d.requireMessageAuthenticator, secretSealed: sealer.seal(Buffer.from(d.secret, 'utf8'), PURPOSE) })
      .run();
  })();
}

export function deleteDownstreams(store: Store): number {
  return store.db.delete(downstreamServers).run().changes;
}
