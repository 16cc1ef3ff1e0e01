// The audit feed to ops tools: every audit record, once committed, also goes to standard output
// as a JSON line (--audit-stdout yes) and/or to a syslog collector as an RFC 5424 message
// (--audit-syslog udp://HOST:PORT or tcp://HOST:PORT). Off by default.
//
// - After the commit, never before, and never in the way of it: the auditor hands the committed
//   records over (AuditLog.follow); they are put in a bounded queue per destination, and written
//   from there on a later turn of the event loop. The store stays the complete log.
// - A destination that is slow or down lets its queue fill; beyond QUEUE_CAPACITY records, new
//   ones are dropped and counted (audit_feed_dropped_total{sink,reason="queue_full"}). Each record
//   carries its id, so a collector can see a gap, and `gatehouse audit export --since` fills it.
// - Records committed by other processes on the same store (the `gatehouse` commands) are picked
//   up too, in id order: when the next record committed here does not follow the last one fed,
//   and every CHECK_MS.
// - The options are read again every CHECK_MS (they can be stored settings): a changed
//   destination is taken up without a restart.
import { parseSyslogTarget } from '../config.js';
import type { Logger } from '../lib/log.js';
import type { CounterFamily, Counters } from '../lib/metrics.js';
import type { AuditRecord } from './chain.js';
import { jsonLine } from './export.js';
import { DEFAULT_BACKOFF, streamTransport, tcpTransport, udpTransport, type Backoff, type Transport } from './feed-transports.js';
import type { AuditLog } from './log.js';
import { octetCounted, syslogMessage, type SyslogOrigin } from './syslog.js';

/** Records waiting per destination, at most. */
export const QUEUE_CAPACITY = 10_000;
/** Messages per write. */
const BATCH = 256;
/** How often the options and other processes' records are looked at. */
const CHECK_MS = 1000;

export const SINKS = ['stdout', 'syslog'] as const;
export type SinkName = (typeof SINKS)[number];
const DROP_REASONS = ['queue_full', 'send_failed'] as const;

export const FEED_COUNTERS: readonly CounterFamily[] = [
  { name: 'audit_feed_sent', help: 'Audit records written to each feed destination (stdout: JSON lines; syslog: RFC 5424 messages handed to the network).', series: SINKS.map((s) => `sink="${s}"`) },
  {
    name: 'audit_feed_dropped',
    help: 'Audit records a feed destination did not get, by reason: queue_full (it was slow or down and its queue was full), send_failed (a write failed, a connection broke under it, or the collector host refused a datagram).',
    series: SINKS.flatMap((s) => DROP_REASONS.map((r) => `sink="${s}",reason="${r}"`)),
  },
];

export const FEED_GAUGES: Readonly<Record<string, string>> = {
  audit_feed_queued: 'Audit records waiting for each feed destination.',
  audit_feed_connected: '1 when a feed destination is configured and can be written to now (syslog over TCP: connected), else 0.',
};

export interface FeedSettings {
  auditStdout: 'yes' | 'no';
  auditSyslog: string | undefined;
}

export interface FeedDeps {
  settings(): FeedSettings;
  audit: Pick<AuditLog, 'follow' | 'store'>;
  counters: Counters;
  stdout: NodeJS.WritableStream;
  origin: SyslogOrigin;
  log: Logger;
  capacity?: number;
  checkMs?: number;
  backoff?: Backoff;
}

export interface AuditFeed {
  /** Take up changed options and records other processes committed (also runs every CHECK_MS). */
  check(): Promise<void>;
  gauges(): Record<string, number>;
  /** Stop following; write what is queued for up to `ms`, then close the destinations. */
  close(ms?: number): Promise<void>;
}

/** One destination: a ring of records waiting, written a batch at a time. */
class Sink {
  private readonly ring: (AuditRecord | undefined)[];
  private head = 0;
  private size = 0;
  private busy = false;
  private scheduled = false;
  private closed = false;

  constructor(
    readonly name: SinkName,
    private readonly format: (r: AuditRecord) => string,
    readonly transport: Transport,
    private readonly capacity: number,
    private readonly counters: Counters,
  ) {
    this.ring = new Array<AuditRecord | undefined>(capacity);
    transport.onReady = () => this.schedule();
    transport.onLost = (n) => this.count('dropped', n, 'send_failed');
  }

  count(what: 'sent' | 'dropped', n: number, reason?: string): void {
    if (n > 0) this.counters.add(`audit_feed_${what}`, reason === undefined ? `sink="${this.name}"` : `sink="${this.name}",reason="${reason}"`, n);
  }

  offer(r: AuditRecord): void {
    if (this.size >= this.capacity) return this.count('dropped', 1, 'queue_full');
    this.ring[(this.head + this.size) % this.capacity] = r;
    this.size++;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy || this.size === 0 || this.closed || !this.transport.ready()) return;
    const n = Math.min(this.size, BATCH);
    const messages: string[] = [];
    let unformatted = 0;
    for (let i = 0; i < n; i++) {
      const r = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
      try {
        messages.push(this.format(r));
      } catch {
        unformatted++;
      }
    }
    this.count('dropped', unformatted, 'send_failed');
    if (messages.length === 0) return this.schedule();
    this.busy = true;
    this.transport.write(messages, (failed) => {
      this.busy = false;
      this.count('sent', messages.length - failed);
      this.count('dropped', failed, 'send_failed');
      this.schedule();
    });
  }

  queued(): number {
    return this.size;
  }

  /** Whether it is writing, or has records to write and can. */
  draining(): boolean {
    return this.busy || (this.size > 0 && this.transport.ready());
  }

  close(): void {
    this.closed = true;
    this.transport.close();
  }
}

export function createAuditFeed(d: FeedDeps): AuditFeed {
  const capacity = d.capacity ?? QUEUE_CAPACITY;
  const store = d.audit.store;
  let stdout: Sink | undefined;
  let syslog: Sink | undefined;
  let syslogUrl: string | undefined;
  let following = false;
  /** The id of the last record fed (or skipped when the feed started). */
  let lastId = 0;
  /** Records committed here that wait for earlier ones from other processes to be read first. */
  let held: AuditRecord[] = [];
  /** Following has begun, but where the store ended then is not known yet: commits are held. */
  let starting = false;

  const offer = (r: AuditRecord) => {
    stdout?.offer(r);
    syslog?.offer(r);
  };

  /** Feed the records other processes committed, up to id `until`; at most `capacity` per call. */
  const fill = async (until: number): Promise<void> => {
    let budget = capacity;
    while (lastId < until) {
      if (budget <= 0) {
        // More than a queue's worth at once: counted as dropped rather than read.
        for (const s of [stdout, syslog]) s?.count('dropped', until - lastId, 'queue_full');
        lastId = until;
        return;
      }
      const rows = await store.after(lastId, Math.min(BATCH * 4, budget, until - lastId));
      if (rows.length === 0) return;
      for (const r of rows) {
        // Records committed here may have been offered while this read was under way.
        if (r.id <= lastId) continue;
        lastId = r.id;
        offer(r);
      }
      budget -= rows.length;
    }
  };

  // What reads the store runs one at a time, in order (a record is offered once, in id order).
  let lane: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => (lane = lane.then(fn, fn));

  const release = async (): Promise<void> => {
    const waiting = held;
    held = [];
    try {
      if (waiting[0] !== undefined) await fill(waiting[0].id - 1);
    } catch (e) {
      d.log.error('audit feed: reading records of other processes failed', { error: (e as Error).message });
    }
    for (const r of waiting) {
      if (r.id <= lastId) continue;
      lastId = r.id;
      offer(r);
    }
  };

  /** Called by the auditor right after a commit: only queues (or holds) the records. */
  const committed = (records: readonly AuditRecord[]) => {
    const first = records[0];
    if (first === undefined) return;
    if (starting || held.length > 0 || first.id > lastId + 1) {
      if (!starting && held.length === 0) setImmediate(() => void serial(release));
      held.push(...records);
      return;
    }
    for (const r of records) {
      lastId = r.id;
      offer(r);
    }
  };

  const configure = (): void => {
    const s = d.settings();
    if ((s.auditStdout === 'yes') !== (stdout !== undefined)) {
      stdout?.close();
      stdout = s.auditStdout === 'yes' ? new Sink('stdout', (r) => `${jsonLine(r)}\n`, streamTransport(d.stdout, d.log), capacity, d.counters) : undefined;
    }
    if (s.auditSyslog !== syslogUrl) {
      syslog?.close();
      syslog = undefined;
      syslogUrl = s.auditSyslog;
      if (syslogUrl !== undefined) {
        const target = parseSyslogTarget(syslogUrl, '--audit-syslog');
        const transport = target.transport === 'udp' ? udpTransport(target, d.log, d.backoff ?? DEFAULT_BACKOFF) : tcpTransport(target, d.log, d.backoff ?? DEFAULT_BACKOFF);
        const frame = target.transport === 'tcp' ? (r: AuditRecord) => octetCounted(syslogMessage(r, d.origin)) : (r: AuditRecord) => syslogMessage(r, d.origin);
        syslog = new Sink('syslog', frame, transport, capacity, d.counters);
      }
    }
    const active = stdout !== undefined || syslog !== undefined;
    if (active && !following) {
      // From now on: records already in the store are not replayed. Following starts before the
      // store is asked where it ends, so that what is committed meanwhile is held, not missed.
      held = [];
      starting = true;
      d.audit.follow(committed);
      following = true;
      d.log.info('audit feed on', { stdout: stdout !== undefined, syslog: syslogUrl ?? null });
    } else if (!active && following) {
      d.audit.follow(undefined);
      following = false;
      d.log.info('audit feed off');
    }
  };

  const check = (): Promise<void> => {
    try {
      configure();
    } catch (e) {
      d.log.error('audit feed: check failed; trying again', { error: (e as Error).message });
    }
    return serial(async () => {
      try {
        if (starting) {
          // Where the store ended when following began (records committed since are held).
          const end = (await store.last())?.id ?? 0;
          lastId = held[0] === undefined ? end : Math.min(end, held[0].id - 1);
          starting = false;
          if (held.length > 0) await release();
        }
        if (following && held.length === 0) {
          const last = await store.last();
          if (last !== undefined && last.id > lastId) await fill(last.id);
        }
      } catch (e) {
        d.log.error('audit feed: check failed; trying again', { error: (e as Error).message });
      }
    });
  };

  void check();
  const timer = setInterval(() => void check(), d.checkMs ?? CHECK_MS);
  timer.unref();

  return {
    check,
    gauges() {
      const g: Record<string, number> = {};
      for (const [name, s] of [['stdout', stdout], ['syslog', syslog]] as const) g[`audit_feed_queued{sink="${name}"}`] = s?.queued() ?? 0;
      for (const [name, s] of [['stdout', stdout], ['syslog', syslog]] as const) g[`audit_feed_connected{sink="${name}"}`] = s?.transport.connected() === true ? 1 : 0;
      return g;
    },
    async close(ms = 2000) {
      clearInterval(timer);
      if (following) {
        if (held.length > 0) await serial(release);
        await check();
        d.audit.follow(undefined);
        following = false;
      }
      const end = Date.now() + ms;
      while ([stdout, syslog].some((s) => s?.draining() === true) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      stdout?.close();
      syslog?.close();
      stdout = undefined;
      syslog = undefined;
    },
  };
}
