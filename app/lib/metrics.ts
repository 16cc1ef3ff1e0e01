// In-process metrics for the dashboard and /metrics (Prometheus text format 0.0.4): counters by
// reason, request latency histograms per front door, per-RADIUS-client counters (a bounded number
// of clients labelled, the rest as "other"), and the help text of each. A declared counter family
// is shown from the start, at zero, with every label value it is declared with.
//
// The hot path (a RADIUS request) costs a few number increments, two Map lookups by client name
// and one monotonic clock read: no allocation per request.

/** A family of counters; rendered as `PREFIX<name>_total`. */
export interface CounterFamily {
  /** Without the prefix and without `_total`, e.g. `drops`. */
  name: string;
  help: string;
  /** The label sets known in advance, pre-rendered (`reason="malformed"`); omitted: one series without labels. */
  series?: readonly string[];
}

/** `reason="..."` label sets, for a family's `series`. */
export const reasons = (values: readonly string[]): string[] => values.map((v) => `reason="${v}"`);

/** A label value as the exposition format wants it: backslash, double quote and newline escaped. */
export function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escaping (backslash and newline). */
function helpText(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A metric's number as text: integers as they are, others with up to 9 decimals. */
function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(9)));
}

/** The front doors whose request latency is measured (RADIUS, the local Windows logon pipe, the agent API). */
export const FRONT_DOORS = ['radius', 'pipe', 'agent'] as const;
export type FrontDoor = (typeof FRONT_DOORS)[number];

/**
 * Upper bounds (seconds) of the latency buckets: from a password-only answer (a millisecond or
 * two) to a push the user approves late (up to the push TTL, 60 s by default).
 */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;

interface DoorHistogram {
  /** Per bucket (not cumulative), the last one +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** Request latency per front door: from the request received to its answer sent. */
export class Latency {
  private readonly doors: Record<FrontDoor, DoorHistogram>;

  /** `now`: a monotonic clock in milliseconds (performance.now). */
  constructor(readonly now: () => number) {
    const h = (): DoorHistogram => ({ counts: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 });
    this.doors = { radius: h(), pipe: h(), agent: h() };
  }

  /** An answer went out for a request received at `startedMs` (a reading of `now`). */
  observe(door: FrontDoor, startedMs: number): void {
    const h = this.doors[door];
    const seconds = Math.max(0, this.now() - startedMs) / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  count(door: FrontDoor): number {
    return this.doors[door].count;
  }

  render(prefix: string): string {
    const name = `${prefix}request_duration_seconds`;
    const lines = [
      `# HELP ${name} Time from a request received to its answer sent, per front door (radius: RADIUS Access-Request; pipe: Windows logon pipe; agent: Windows agent API). Requests left unanswered (dropped, downstream silent) are not counted.`,
      `# TYPE ${name} histogram`,
    ];
    for (const door of FRONT_DOORS) {
      const h = this.doors[door];
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += h.counts[i]!;
        lines.push(`${name}_bucket{door="${door}",le="${le}"} ${cumulative}`);
      });
      lines.push(`${name}_bucket{door="${door}",le="+Inf"} ${h.count}`, `${name}_sum{door="${door}"} ${num(h.sum)}`, `${name}_count{door="${door}"} ${h.count}`);
    }
    return lines.join('\n') + '\n';
  }
}

/** What one RADIUS client (or "other") did; the proxy keeps it for the request's life. */
export interface ClientSlot {
  readonly label: string;
  requests: number;
  accept: number;
  reject: number;
  challenge: number;
}

/** The label of the clients beyond the bound. */
export const OTHER_CLIENTS = 'other';
/** How many RADIUS clients get a label of their own (the first seen, or configured, first). */
export const MAX_CLIENT_LABELS = 100;

/** Requests and answers per RADIUS client, by its name; at most `max` names, the rest as "other". */
export class ClientCounters {
  private readonly slots = new Map<string, ClientSlot>();
  private readonly other: ClientSlot;

  constructor(private readonly max: number = MAX_CLIENT_LABELS) {
    this.other = ClientCounters.slot(OTHER_CLIENTS);
  }

  private static slot(name: string): ClientSlot {
    return { label: labelValue(name), requests: 0, accept: 0, reject: 0, challenge: 0 };
  }

  /** The slot of a client name: its own while fewer than `max` have one, otherwise "other". */
  of(name: string): ClientSlot {
    const s = this.slots.get(name);
    if (s !== undefined) return s;
    if (this.slots.size >= this.max || name === OTHER_CLIENTS) return this.other;
    const fresh = ClientCounters.slot(name);
    this.slots.set(name, fresh);
    return fresh;
  }

  /** A request from this client was taken; its slot, to count the answer in. */
  request(name: string): ClientSlot {
    const s = this.of(name);
    s.requests++;
    return s;
  }

  answered(slot: ClientSlot, outcome: string): void {
    if (outcome === 'accept') slot.accept++;
    else if (outcome === 'reject') slot.reject++;
    else if (outcome === 'challenge') slot.challenge++;
  }

  /** `known`: the configured clients' names, shown at zero before their first request. */
  render(prefix: string, known: readonly string[] = []): string {
    for (const name of known) this.of(name);
    const all = [...this.slots.values(), this.other];
    const req = `${prefix}radius_client_requests_total`;
    const ans = `${prefix}radius_client_answers_total`;
    const lines = [
      `# HELP ${req} RADIUS Access-Requests taken from each client, by the client's name (at most ${this.max} clients by name, the rest as client="${OTHER_CLIENTS}").`,
      `# TYPE ${req} counter`,
      ...all.map((s) => `${req}{client="${s.label}"} ${s.requests}`),
      `# HELP ${ans} RADIUS answers sent to each client, by outcome (accept, reject, challenge).`,
      `# TYPE ${ans} counter`,
    ];
    for (const s of all) for (const o of ['accept', 'reject', 'challenge'] as const) lines.push(`${ans}{client="${s.label}",outcome="${o}"} ${s[o]}`);
    return lines.join('\n') + '\n';
  }
}

export interface CountersOptions {
  /** Monotonic milliseconds for latency (performance.now). */
  now?: () => number;
  /** How many RADIUS clients are labelled by name. */
  maxClients?: number;
}

/** The counters, gauges' help, latency and per-client counters of one appliance. */
export class Counters {
  private readonly values = new Map<string, number>();
  private readonly families = new Map<string, CounterFamily>();
  private readonly gaugeHelp = new Map<string, string>();
  readonly latency: Latency;
  readonly clients: ClientCounters;

  constructor(opts: CountersOptions = {}) {
    this.latency = new Latency(opts.now ?? (() => performance.now()));
    this.clients = new ClientCounters(opts.maxClients);
  }

  /** Counter families with their help and known label sets: shown at zero until counted. */
  declare(families: readonly CounterFamily[]): this {
    for (const f of families) this.families.set(f.name, f);
    return this;
  }

  /** Help text of gauges, by name without the prefix. */
  describeGauges(help: Readonly<Record<string, string>>): this {
    for (const [k, v] of Object.entries(help)) this.gaugeHelp.set(k, v);
    return this;
  }

  inc(name: string, reason?: string, by = 1): void {
    const key = reason === undefined ? name : `${name}{reason="${reason}"}`;
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /** Count in a series with labels other than `reason`, given pre-rendered (`sink="syslog"`). */
  add(name: string, labels: string, by = 1): void {
    const key = `${name}{${labels}}`;
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(name: string, reason?: string): number {
    return this.values.get(reason === undefined ? name : `${name}{reason="${reason}"}`) ?? 0;
  }

  /** Sum over every reason of a counter (and its unlabelled value). */
  total(name: string): number {
    let sum = 0;
    for (const [k, v] of this.values) if (k === name || k.startsWith(`${name}{`)) sum += v;
    return sum;
  }

  /** What was counted (declared series that are still zero are left out). */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values].sort(([a], [b]) => a.localeCompare(b)));
  }

  /**
   * Prometheus exposition: every counter family (declared or counted) with HELP and TYPE, then the
   * per-client counters, the latency histograms, and the gauges passed in (`name` or
   * `name{label="v"}` keys), each family with HELP and TYPE. `clients`: the configured RADIUS
   * clients' names, shown at zero from the start.
   */
  render(gauges: Readonly<Record<string, number>> = {}, prefix = 'gatehouse_', clients: readonly string[] = []): string {
    const byFamily = new Map<string, Map<string, number>>();
    const series = (base: string) => {
      let m = byFamily.get(base);
      if (m === undefined) byFamily.set(base, (m = new Map()));
      return m;
    };
    for (const f of this.families.values()) {
      const m = series(f.name);
      for (const labels of f.series ?? ['']) m.set(labels, 0);
    }
    for (const [key, v] of this.values) {
      const brace = key.indexOf('{');
      const base = brace < 0 ? key : key.slice(0, brace);
      series(base).set(brace < 0 ? '' : key.slice(brace + 1, -1), v);
    }
    const lines: string[] = [];
    for (const base of [...byFamily.keys()].sort()) {
      const name = `${prefix}${base}_total`;
      lines.push(`# HELP ${name} ${helpText(this.families.get(base)?.help ?? `Count of ${base.replace(/_/g, ' ')}.`)}`, `# TYPE ${name} counter`);
      for (const [labels, v] of [...byFamily.get(base)!].sort(([a], [b]) => a.localeCompare(b))) lines.push(`${name}${labels === '' ? '' : `{${labels}}`} ${num(v)}`);
    }
    let out = lines.length > 0 ? lines.join('\n') + '\n' : '';
    out += this.clients.render(prefix, clients);
    out += this.latency.render(prefix);
    const gaugeFamilies = new Map<string, [string, number][]>();
    for (const [key, v] of Object.entries(gauges)) {
      const brace = key.indexOf('{');
      const base = brace < 0 ? key : key.slice(0, brace);
      let list = gaugeFamilies.get(base);
      if (list === undefined) gaugeFamilies.set(base, (list = []));
      list.push([key.slice(base.length), v]);
    }
    for (const [base, list] of gaugeFamilies) {
      const name = `${prefix}${base}`;
      out += `# HELP ${name} ${helpText(this.gaugeHelp.get(base) ?? base.replace(/_/g, ' '))}\n# TYPE ${name} gauge\n`;
      for (const [labels, v] of list) out += `${name}${labels} ${num(v)}\n`;
    }
    return out;
  }
}
