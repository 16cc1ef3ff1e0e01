// Push approvals shared by the appliances on one store (PostgreSQL), so that a RADIUS client that
// fails over from one appliance to another mid-login gets one push and one decision:
//   - the first appliance asked for a join key inserts the live row (one statement decides between
//     two asked at once) and sends the push; it records the service's name for it (the push
//     API's uuid) and, once known, the decision;
//   - any other appliance asked for the same join key follows that row: the decision is read from
//     the store (every FOLLOW_MS for all the pushes followed here, in one query);
//   - when the appliance following the push service for a row is gone (its heartbeat stale, or it
//     stopped and let go of the row), one of the others moves the row to itself (one statement)
//     and carries on: it polls the same uuid, or sends the push anew where the service cannot be
//     followed (Gatehouse's own approver keeps its requests in the process that made them).
// Nobody gets in on a row: a login is accepted only on an approval read from the row or from the
// push service itself, and a row whose time is up without a decision answers `expired`.
import { createHash } from 'node:crypto';
import { randomId } from '../lib/tokens.js';
import { insertSharedPush, latestSharedPush, liveSharedPush, moveSharedPush, readSharedPushes, setSharedPushRef, settleSharedPush, sweepSharedPushes, type SharedPushRow } from '../db/queries/pending-pushes.js';
import type { Runner } from '../db/store.js';
import type { Logger } from '../lib/log.js';
import { quietStore } from './quiet.js';
import type { FactorOutcome } from '../mfa/factor.js';
import type { SharedPushes, SharedPushWays } from '../mfa/pending.js';
import type { Admission } from '../mfa/push-limits.js';
import { STALE_MS } from './nodes.js';

/** How often the pushes followed here are read from the store. */
export const FOLLOW_MS = 400;
/** How long after its time a row is kept for the logins still reading it. */
const KEEP_MS = 60_000;
const SWEEP_MS = 60_000;
/** Ids read in one query. */
const READ_CHUNK = 500;

const ABORTED: FactorOutcome = { kind: 'unreachable', cause: 'aborted', detail: 'aborted' };
const OPEN: Admission = { ok: true, release: () => undefined, cancel: () => undefined };
const EXPIRED: FactorOutcome = { kind: 'expired' };

interface Follower {
  resolve(o: FactorOutcome): void;
  ways: SharedPushWays;
  signal: AbortSignal;
  /** This appliance has taken the push over and follows the service itself. */
  taking: boolean;
}

export interface SharedPushDeps {
  store: Runner;
  /** This appliance's node name (as in its heartbeat). */
  node: string;
  now(): number;
  log: Logger;
}

/** The outcome a row records; anything unreadable counts as no approval. */
function parseOutcome(raw: string): FactorOutcome {
  try {
    const o = JSON.parse(raw) as { kind?: unknown; picked?: unknown };
    if (o.kind === 'approved') return typeof o.picked === 'number' ? { kind: 'approved', picked: o.picked } : { kind: 'approved' };
    if (o.kind === 'denied' || o.kind === 'expired' || o.kind === 'unknown_user') return { kind: o.kind };
    if (o.kind === 'unreachable') return { kind: 'unreachable', cause: 'unreachable', detail: 'push service unreachable (another appliance)' };
  } catch {
    // Fall through.
  }
  return EXPIRED;
}

/** A join key as stored: a digest (what it is made of names the user's source and station). */
const digest = (joinKey: string) => createHash('sha256').update(joinKey).digest('base64url');

export function createSharedPushes(d: SharedPushDeps): SharedPushes & { close(): void } {
  const followed = new Map<string, Follower>();
  const watchedSignals = new WeakSet<AbortSignal>();
  let timer: NodeJS.Timeout | undefined;
  let reading = false;
  const quiet = quietStore(d.log, 'shared push');
  const quietly = (what: string, p: Promise<unknown>) => void quiet.run(what, p);

  /** Record what a push sent or carried on here came to; an abort lets go of it instead. */
  const settle = (id: string, outcome: FactorOutcome) => {
    if (outcome.kind === 'unreachable' && outcome.cause === 'aborted') quietly('letting go', moveSharedPush(d.store, id, d.node, ''));
    else quietly('recording the decision', settleSharedPush(d.store, id, JSON.stringify(outcome)));
  };
  const noteRef = (id: string) => (ref: string) => quietly('recording the reference', setSharedPushRef(d.store, id, ref));

  const done = (id: string, outcome: FactorOutcome) => {
    const f = followed.get(id);
    if (f === undefined) return;
    followed.delete(id);
    f.resolve(outcome);
    if (followed.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  const gone = (row: SharedPushRow, now: number): boolean => {
    if (row.node === '' || row.heartbeatAt === null) return true;
    if (row.node === d.node) return false;
    if (now - row.heartbeatAt > STALE_MS) return true;
    return row.health?.includes('"stopped":true') === true;
  };

  async function takeOver(id: string, f: Follower, row: SharedPushRow): Promise<void> {
    f.taking = true;
    let moved = false;
    try {
      moved = await moveSharedPush(d.store, id, row.node, d.node);
    } catch {
      // Asked again at the next read.
    }
    if (!moved) {
      f.taking = false;
      return;
    }
    d.log.info('took over a push whose appliance is gone', { from: row.node === '' ? '(let go)' : row.node, ref: row.ref ?? '(none yet)' });
    const outcome = await f.ways.resume(row.ref ?? undefined, row.expiresAt - d.now(), noteRef(id));
    settle(id, outcome);
    done(id, outcome);
  }

  async function read(): Promise<void> {
    if (reading) return;
    reading = true;
    try {
      const ids = [...followed.entries()].filter(([, f]) => !f.taking).map(([id]) => id);
      const rows = new Map<string, SharedPushRow>();
      for (let i = 0; i < ids.length; i += READ_CHUNK) for (const r of await readSharedPushes(d.store, ids.slice(i, i + READ_CHUNK))) rows.set(r.id, r);
      quiet.ok();
      const now = d.now();
      for (const id of ids) {
        const f = followed.get(id);
        if (f === undefined || f.taking) continue;
        const row = rows.get(id);
        if (row === undefined) done(id, EXPIRED);
        else if (row.outcome !== null) done(id, parseOutcome(row.outcome));
        else if (now >= row.expiresAt) done(id, EXPIRED);
        else if (gone(row, now)) void takeOver(id, f, row);
      }
    } catch (e) {
      // The store unreachable: the decision cannot be read, nobody is let in; read again later
      // (rows whose time passes meanwhile answer `expired` once read).
      quiet.failed('reading the pushes followed', e);
    } finally {
      reading = false;
    }
  }

  const watchSignal = (signal: AbortSignal) => {
    if (watchedSignals.has(signal)) return;
    watchedSignals.add(signal);
    signal.addEventListener(
      'abort',
      () => {
        for (const [id, f] of [...followed]) if (f.signal === signal && !f.taking) done(id, ABORTED);
      },
      { once: true },
    );
  };

  function follow(id: string, ways: SharedPushWays, signal: AbortSignal): Promise<FactorOutcome> {
    if (signal.aborted) return Promise.resolve(ABORTED);
    watchSignal(signal);
    return new Promise<FactorOutcome>((resolve) => {
      followed.set(id, { resolve, ways, signal, taking: false });
      // Kept referenced: a login waits on it (it stops with the last push followed).
      timer ??= setInterval(() => void read(), FOLLOW_MS);
    });
  }

  function startHere(id: string, ways: SharedPushWays): Promise<FactorOutcome> {
    const outcome = ways.start(noteRef(id));
    void outcome.then((o) => settle(id, o));
    return outcome;
  }

  const sweeper = setInterval(() => quietly('sweeping', sweepSharedPushes(d.store, d.now() - KEEP_MS)), SWEEP_MS);
  sweeper.unref();

  return {
    async join(joinKey, username, ttlSeconds, ways, signal, number) {
      const key = digest(joinKey);
      try {
        // Joined if one is live; else admitted by the limits and inserted. Of two appliances asked
        // at once one inserts; the other's admission is cancelled and it joins that row.
        for (let tries = 0; tries < 3; tries++) {
          const live = await liveSharedPush(d.store, key);
          if (live !== undefined) return { joined: true, outcome: follow(live.id, ways, signal) };
          const gate = (await ways.admit?.()) ?? OPEN;
          if (!gate.ok) return { joined: false, outcome: Promise.resolve({ kind: 'limited', limit: gate.limit }) };
          const id = randomId();
          const now = d.now();
          let inserted: boolean;
          try {
            inserted = await insertSharedPush(d.store, { id, joinKey: key, username, node: d.node, startedAt: now, expiresAt: now + ttlSeconds * 1000, number });
          } catch (e) {
            gate.cancel();
            throw e;
          }
          if (inserted) {
            const outcome = startHere(id, ways);
            void outcome.then(() => gate.release());
            return { joined: false, outcome };
          }
          gate.cancel();
        }
      } catch (e) {
        // The store unreachable: this appliance sends its own push (its answer still needs the
        // audit record, which needs the store: nobody gets in without it).
        d.log.warn('shared push: the store could not be asked; push sent unshared', { error: (e as Error).message });
      }
      return { joined: false, outcome: ways.start(() => undefined) };
    },
    async ticket(joinKey, ways, signal) {
      const row = await latestSharedPush(d.store, digest(joinKey));
      if (row === undefined || row.number === null) return undefined;
      const number = Number(row.number);
      const outcome = row.outcome !== null ? Promise.resolve(parseOutcome(row.outcome)) : follow(row.id, ways(number), signal);
      return { username: row.username, number, expiresAt: Number(row.expiresAt), outcome };
    },
    close() {
      clearInterval(sweeper);
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      for (const id of [...followed.keys()]) done(id, ABORTED);
    },
  };
}
