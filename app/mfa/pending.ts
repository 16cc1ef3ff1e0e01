// Push approvals waiting for a person, from every front door (RADIUS, Windows logon through the
// pipe or the agent API): what /approvals lists and /metrics counts, and what a new login may
// join instead of sending another push. Only the engine (app/mfa/engine.ts) adds to it.
import type { FactorOutcome } from './factor.js';
import type { Admission, PushLimit } from './push-limits.js';

/** What a waiting login learns: the push's outcome, or that a limit counted across the cluster refused it. */
export type PushOutcome = FactorOutcome | { kind: 'limited'; limit: PushLimit };

/** `api`: the push API Gatehouse serves to other systems (app/push/served.ts). */
/** Where a login comes from: RADIUS, Windows logon, the push API served to others, the self-service portal. */
export type Door = 'radius' | 'windows' | 'api' | 'portal';

/** One push waiting for a decision, as the admin UI shows it. */
export interface PendingApproval {
  /** Canonical user name. */
  username: string;
  door: Door;
  /** Where the login came from: the RADIUS client's name, `pipe`, or `agent:NAME`. */
  client: string;
  /** The calling station (RADIUS Calling-Station-Id) or the Windows workstation, when known. */
  station: string | undefined;
  startedAt: number;
  ttlSeconds: number;
  /** Logins (the first and any that joined it) waiting on this push. */
  waiting: number;
}

interface Entry {
  view: PendingApproval;
  outcome: Promise<PushOutcome>;
}

export interface PendingApprovals {
  /** The push a login with this join key may wait on, if one is waiting. */
  find(joinKey: string): Promise<PushOutcome> | undefined;
  /**
   * Register a push that has just been sent. `joinKey` undefined: it is listed and counted but
   * no other login can join it. It is forgotten once its outcome is known, and `settled` (if
   * given) is told the outcome then.
   */
  add(joinKey: string | undefined, view: Omit<PendingApproval, 'waiting'>, outcome: Promise<PushOutcome>, settled?: (o: PushOutcome) => void): void;
  /** Wait for a push's outcome, counted as one waiting login meanwhile. */
  wait(joinKey: string | undefined, outcome: Promise<PushOutcome>): Promise<PushOutcome>;
  list(): PendingApproval[];
  counts(): { logins: number; pushes: number };
  /** Every outcome still awaited (for shutdown). */
  outcomes(): Promise<PushOutcome>[];
}

export function createPendingApprovals(): PendingApprovals {
  const entries = new Map<string, Entry>();
  /** Entries no login may join, keyed by their outcome. */
  const unjoinable = new Map<Promise<PushOutcome>, Entry>();
  let logins = 0;
  const entryOf = (joinKey: string | undefined, outcome: Promise<PushOutcome>): Entry | undefined => {
    const e = joinKey === undefined ? unjoinable.get(outcome) : entries.get(joinKey);
    return e !== undefined && e.outcome === outcome ? e : undefined;
  };
  return {
    find: (joinKey) => entries.get(joinKey)?.outcome,
    add(joinKey, view, outcome, settled) {
      // Field by field, not `{ ...view, waiting: 0 }`: V8 gives each object made by a spread and
      // then extended a hidden class of its own (measured: 10,000 pending pushes, 10,000 classes).
      const entry: Entry = { view: { username: view.username, door: view.door, client: view.client, station: view.station, startedAt: view.startedAt, ttlSeconds: view.ttlSeconds, waiting: 0 }, outcome };
      if (joinKey === undefined) unjoinable.set(outcome, entry);
      else entries.set(joinKey, entry);
      const forget = () => {
        if (joinKey === undefined) unjoinable.delete(outcome);
        else if (entries.get(joinKey) === entry) entries.delete(joinKey);
        // Its waiting logins are answered in this same turn (their reactions come after this one).
        logins -= entry.view.waiting;
        entry.view.waiting = 0;
      };
      void outcome.then(
        (o) => {
          forget();
          settled?.(o);
        },
        forget,
      );
    },
    wait(joinKey, outcome) {
      const entry = entryOf(joinKey, outcome);
      logins++;
      if (entry !== undefined) {
        // Counted down when the outcome is known (add): the login waits on the outcome itself,
        // with no promise or suspended frame of its own (10,000 waiting logins: about 0.4 KB each).
        entry.view.waiting++;
        return outcome;
      }
      // An outcome not listed here (already known, or another appliance's push followed from here).
      return outcome.finally(() => {
        logins--;
      });
    },
    list: () => [...entries.values(), ...unjoinable.values()].map((e) => ({ ...e.view })).sort((a, b) => a.startedAt - b.startedAt),
    counts: () => ({ logins, pushes: entries.size + unjoinable.size }),
    outcomes: () => [...entries.values(), ...unjoinable.values()].map((e) => e.outcome),
  };
}

/** How a push shared with other appliances is sent or resumed here (the engine's push provider). */
export interface SharedPushWays {
  /** Send it from here; `started` is told the service's name for it once known. */
  start(started: (ref: string) => void): Promise<FactorOutcome>;
  /**
   * Carry on one another appliance started and can no longer follow: by the service's name when
   * it gave one and the service can follow it, else sent anew; for at most `ttlMs`.
   */
  resume(ref: string | undefined, ttlMs: number, started: (ref: string) => void): Promise<FactorOutcome>;
  /** The per-user limits counted across the cluster, asked only before a new push (a join is none). */
  admit?(): Promise<Admission>;
}

/**
 * Pushes shared by the appliances on one store (app/cluster/shared-pushes.ts): a login joins the
 * push any of them started for the same join key. Absent: this appliance is alone.
 */
export interface SharedPushes {
  /**
   * The push for this join key across the appliances: started here (`joined` false) or the one
   * another appliance started (`joined` true), whose outcome comes from the store and, if that
   * appliance goes away before the decision, from taking it over. An aborted `signal` answers
   * every push followed here as aborted, leaving the push to the others.
   */
  join(joinKey: string, username: string, ttlSeconds: number, ways: SharedPushWays, signal: AbortSignal, number?: number): Promise<{ joined: boolean; outcome: Promise<PushOutcome> }>;
  /**
   * A number-matched push another appliance started under this key (its ticket's), for the
   * login's round that brings the number: whose it is, its number, until when, and its outcome
   * (from the store, or by taking it over with the ways made for its number).
   */
  ticket(joinKey: string, ways: (number: number) => SharedPushWays, signal: AbortSignal): Promise<{ username: string; number: number; expiresAt: number; outcome: Promise<PushOutcome> } | undefined>;
}
