// Gatehouse's own approver where several appliances share the store (PostgreSQL): the login waits
// on the appliance that opened the request, but the phone may reach any of them (a load balancer,
// a fail-over, another address).
//   - Every request opened here is also a row (push_requests) holding what the phone is shown and
//     signs over; it is removed once the request ends here.
//   - The board the phones use (app/push/approver.ts) lists this appliance's requests and the
//     others' rows, and follows both: the others' every WATCH_MS while a phone listens.
//   - A decision on a request of another appliance is verified here (the passkey, its counter:
//     both in the store) and written to the row once (`UPDATE ... WHERE decision IS NULL`); the
//     appliance that opened it takes it every TAKE_MS and decides its request as if the phone had
//     reached it, in the same turn as the login's answer.
import { decidePushRequest, decisionsFor, deletePushRequest, insertPushRequest, openPushRequest, othersOpenPushRequests, sweepPushRequests, type PushRequestRow } from '../db/queries/push-requests.js';
import type { Runner } from '../db/store.js';
import type { Logger } from '../lib/log.js';
import { quietStore } from './quiet.js';
import type { Listener, PushRequest, PushRequests, RequestBoard } from '../push/requests.js';

/** How often this appliance takes the decisions others wrote for its requests. */
export const TAKE_MS = 400;
/** How often the others' requests are read for the phones listening here. */
export const WATCH_MS = 1000;
const SWEEP_MS = 60_000;

/** What a row holds of a request beyond its columns. */
interface Shown {
  title: string;
  description: string;
  fingerprint: string;
  nonce: string;
  number?: number;
  choices?: number[];
}

function fromRow(row: PushRequestRow): PushRequest | undefined {
  try {
    const s = JSON.parse(row.request) as Shown;
    return {
      id: row.id,
      username: row.username,
      title: s.title,
      description: s.description,
      fingerprint: s.fingerprint,
      createdAt: Number(row.createdAt),
      expiresAt: Number(row.expiresAt),
      nonce: s.nonce,
      number: s.number,
      choices: s.choices,
    };
  } catch {
    return undefined;
  }
}

function toRow(r: PushRequest, node: string): PushRequestRow {
  const shown: Shown = { title: r.title, description: r.description, fingerprint: r.fingerprint, nonce: r.nonce, ...(r.number !== undefined ? { number: r.number } : {}), ...(r.choices !== undefined ? { choices: r.choices } : {}) };
  return { id: r.id, username: r.username, node, createdAt: r.createdAt, expiresAt: r.expiresAt, request: JSON.stringify(shown) };
}

export interface ClusterPushRequests {
  /** The requests the engine opens (through Gatehouse's push provider): this appliance's, shared. */
  requests: PushRequests;
  /** What the phones reaching this appliance see and decide. */
  board: RequestBoard;
  close(): void;
}

export function createClusterPushRequests(d: { local: PushRequests; store: Runner; node: string; now(): number; log: Logger }): ClusterPushRequests {
  const { local, store, node } = d;
  const quiet = quietStore(d.log, 'shared push requests');
  const quietly = (what: string, p: Promise<unknown>): Promise<void> => quiet.run(what, p);

  // This appliance's requests in the store, until they end here.
  const mine = new Set<string>();
  let takeTimer: NodeJS.Timeout | undefined;
  let taking = false;
  const take = async () => {
    if (taking) return;
    taking = true;
    try {
      for (const x of await decisionsFor(store, node)) {
        // Decided as if the phone had reached this appliance (false: it ended here meanwhile).
        if (mine.has(x.id)) local.decide(x.id, x.decision, x.picked ?? undefined);
        else await deletePushRequest(store, x.id);
      }
      quiet.ok();
    } catch (e) {
      quiet.failed('reading decisions', e);
    } finally {
      taking = false;
    }
  };

  const requests: PushRequests = {
    open(username, req, ttlMs, signal) {
      const opened = local.open(username, req, ttlMs, signal);
      const { request } = opened;
      mine.add(request.id);
      const inserted = quietly('sharing a request', insertPushRequest(store, toRow(request, node)));
      takeTimer ??= setInterval(() => void take(), TAKE_MS);
      void opened.outcome.then(async () => {
        mine.delete(request.id);
        if (mine.size === 0 && takeTimer !== undefined) {
          clearInterval(takeTimer);
          takeTimer = undefined;
        }
        await inserted;
        await quietly('removing a request', deletePushRequest(store, request.id));
      });
      return opened;
    },
    get: (id) => local.get(id),
    forUser: (username) => local.forUser(username),
    decide: (id, decision, picked) => local.decide(id, decision, picked),
    watch: (username, listener) => local.watch(username, listener),
    size: () => local.size(),
  };

  // Phones listening here, by user, with the others' requests each was told of.
  const watching = new Map<string, { listeners: Set<Listener>; known: Map<string, PushRequest> }>();
  let watchTimer: NodeJS.Timeout | undefined;
  let reading = false;
  const readOthers = async () => {
    if (reading || watching.size === 0) return;
    reading = true;
    try {
      const rows = await othersOpenPushRequests(store, [...watching.keys()], node, d.now());
      const byUser = new Map<string, PushRequest[]>();
      for (const row of rows) {
        const r = fromRow(row);
        if (r === undefined) continue;
        const list = byUser.get(r.username) ?? [];
        list.push(r);
        byUser.set(r.username, list);
      }
      for (const [username, w] of watching) {
        const now = new Map((byUser.get(username) ?? []).map((r) => [r.id, r]));
        const tell = (e: Parameters<Listener>[0]) => {
          for (const l of w.listeners) {
            try {
              l(e);
            } catch {
              // a listener that fails (a closed stream) must not stop the others
            }
          }
        };
        for (const [id, r] of now) if (!w.known.has(id)) tell({ kind: 'new', request: r });
        for (const id of w.known.keys()) if (!now.has(id)) tell({ kind: 'gone', id });
        w.known = now;
      }
      quiet.ok();
    } catch (e) {
      quiet.failed("reading the other appliances' requests", e);
    } finally {
      reading = false;
    }
  };

  const board: RequestBoard = {
    async get(id) {
      const here = local.get(id);
      if (here !== undefined) return here;
      const row = await openPushRequest(store, id, d.now());
      return row === undefined || row.node === node ? undefined : fromRow(row);
    },
    async forUser(username) {
      const others = (await othersOpenPushRequests(store, [username], node, d.now())).map(fromRow).filter((r): r is PushRequest => r !== undefined);
      return [...local.forUser(username), ...others].sort((a, b) => a.createdAt - b.createdAt);
    },
    async decide(id, decision, picked) {
      // This appliance's own: decided in this turn. Another's: in one statement, taken by it.
      if (local.get(id) !== undefined) return local.decide(id, decision, picked);
      return decidePushRequest(store, id, decision, picked ?? null, node, d.now());
    },
    watch(username, listener) {
      const stopLocal = local.watch(username, listener);
      let w = watching.get(username);
      if (w === undefined) watching.set(username, (w = { listeners: new Set(), known: new Map() }));
      w.listeners.add(listener);
      if (watchTimer === undefined) {
        watchTimer = setInterval(() => void readOthers(), WATCH_MS);
        watchTimer.unref();
      }
      void readOthers();
      return () => {
        stopLocal();
        const cur = watching.get(username);
        cur?.listeners.delete(listener);
        if (cur?.listeners.size === 0) watching.delete(username);
        if (watching.size === 0 && watchTimer !== undefined) {
          clearInterval(watchTimer);
          watchTimer = undefined;
        }
      };
    },
  };

  const sweeper = setInterval(() => void quietly('sweeping', sweepPushRequests(store, d.now() - SWEEP_MS)), SWEEP_MS);
  sweeper.unref();

  return {
    requests,
    board,
    close() {
      clearInterval(sweeper);
      if (takeTimer !== undefined) clearInterval(takeTimer);
      if (watchTimer !== undefined) clearInterval(watchTimer);
      takeTimer = watchTimer = undefined;
      watching.clear();
    },
  };
}
