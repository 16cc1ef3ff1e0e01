// Transports of the audit feed (app/audit/feed.ts): standard output, and a syslog collector over
// UDP (one datagram per message, on a connected socket) or TCP (octet-counted frames, reconnected
// with backoff). No decisions here: each takes a batch of formatted messages and says how many
// were lost. A write completes when the data is handed to the kernel; what a TCP connection loses
// when it breaks, or a UDP datagram the network loses, cannot be known (RFC 6587 and 5426 say so).
import dgram from 'node:dgram';
import { connect, isIP, type Socket } from 'node:net';
import type { SyslogTarget } from '../config.js';
import type { Logger } from '../lib/log.js';

export interface Transport {
  /** Whether a batch may be written now (connected; standard output always, a broken one fails the batch). */
  ready(): boolean;
  /** Whether the destination is there (standard output not broken; the collector connected). */
  connected(): boolean;
  /** Write a batch; `done(failed)` is called once, with how many of them were lost. */
  write(messages: readonly string[], done: (failed: number) => void): void;
  close(): void;
  /** Set by the feed: called whenever the transport becomes ready. */
  onReady: () => void;
  /** Set by the feed: messages lost after they were written (a UDP datagram refused by the collector's host). */
  onLost: (n: number) => void;
}

export interface Backoff {
  minMs: number;
  maxMs: number;
}

/** Reconnecting (TCP) and re-resolving (UDP) waits: 0.5 s, doubling up to 30 s. */
export const DEFAULT_BACKOFF: Backoff = { minMs: 500, maxMs: 30_000 };

/** Standard output (JSON lines). A write error (a closed pipe) loses that batch and every later one. */
export function streamTransport(stream: NodeJS.WritableStream, log: Logger): Transport {
  let broken = false;
  const onError = (e: Error) => {
    if (!broken) log.error('audit feed: standard output failed; records for it are dropped from now on', { error: e.message });
    broken = true;
  };
  stream.on('error', onError);
  const t: Transport = {
    ready: () => true,
    connected: () => !broken,
    write(messages, done) {
      if (broken) return done(messages.length);
      try {
        stream.write(messages.join(''), (e?: Error | null) => done(e ? messages.length : 0));
      } catch (e) {
        onError(e as Error);
        done(messages.length);
      }
    },
    close() {
      stream.off('error', onError);
    },
    onReady: () => {},
    onLost: () => {},
  };
  return t;
}

/** `host:port` for log lines. */
const where = (t: SyslogTarget) => `${t.transport}://${isIP(t.host) === 6 ? `[${t.host}]` : t.host}:${t.port}`;

/**
 * UDP: the host name is resolved once, then each message is one datagram on a connected socket.
 * A collector that is down loses the datagrams unnoticed, unless its host answers "port
 * unreachable" (counted as lost). A failed resolution is retried with backoff.
 */
export function udpTransport(target: SyslogTarget, log: Logger, backoff: Backoff = DEFAULT_BACKOFF): Transport {
  let sock: dgram.Socket | undefined;
  let up = false;
  let closed = false;
  let delay = backoff.minMs;
  let timer: NodeJS.Timeout | undefined;
  let complained = false;
  const t: Transport = {
    ready: () => up,
    connected: () => up,
    write(messages, done) {
      const s = sock;
      if (s === undefined) return done(messages.length);
      let pending = messages.length;
      let failed = 0;
      for (const m of messages) {
        try {
          s.send(m, (e) => {
            if (e) failed++;
            if (--pending === 0) done(failed);
          });
        } catch {
          failed++;
          if (--pending === 0) done(failed);
        }
      }
    },
    close() {
      closed = true;
      up = false;
      if (timer !== undefined) clearTimeout(timer);
      try {
        sock?.close();
      } catch {
        // already closed
      }
      sock = undefined;
    },
    onReady: () => {},
    onLost: () => {},
  };
  const retry = (why: string) => {
    if (!complained) log.warn('audit feed: cannot reach the syslog collector; retrying', { collector: where(target), error: why });
    complained = true;
    timer = setTimeout(open, delay);
    timer.unref();
    delay = Math.min(delay * 2, backoff.maxMs);
  };
  async function open(): Promise<void> {
    let address: string;
    let family: number;
    try {
      if (isIP(target.host) !== 0) [address, family] = [target.host, isIP(target.host)];
      else ({ address, family } = await process.getBuiltinModule('node:dns/promises').lookup(target.host));
    } catch (e) {
      if (!closed) retry((e as Error).message);
      return;
    }
    if (closed) return;
    const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    // On a connected socket, the collector host's "port unreachable" comes back as an error event,
    // one per datagram refused.
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') t.onLost(1);
      else log.warn('audit feed: syslog socket error', { collector: where(target), error: e.message });
    });
    s.connect(target.port, address, () => {
      if (closed) return s.close();
      sock = s;
      up = true;
      delay = backoff.minMs;
      if (complained) log.info('audit feed: syslog collector reachable again', { collector: where(target) });
      complained = false;
      t.onReady();
    });
  }
  void open();
  return t;
}

/**
 * TCP: RFC 6587 octet-counted frames on one connection. When it cannot be made or breaks, it is
 * made again after a wait that doubles from backoff.minMs to backoff.maxMs (reset once connected);
 * meanwhile records wait in the feed's queue. Anything the collector sends is read and ignored.
 */
export function tcpTransport(target: SyslogTarget, log: Logger, backoff: Backoff = DEFAULT_BACKOFF): Transport {
  let sock: Socket | undefined;
  let up = false;
  let closed = false;
  let delay = backoff.minMs;
  let timer: NodeJS.Timeout | undefined;
  let outage: string | undefined;
  let connectedOnce = false;
  /** The batch being written: its `done`, called once whatever happens to the connection. */
  let inFlight: { done: (failed: number) => void; n: number } | undefined;
  const finish = (failed: boolean) => {
    const f = inFlight;
    inFlight = undefined;
    f?.done(failed ? f.n : 0);
  };
  const t: Transport = {
    ready: () => up,
    connected: () => up,
    write(messages, done) {
      const s = sock;
      if (s === undefined || !up) return done(messages.length);
      inFlight = { done, n: messages.length };
      s.write(messages.join(''), (e) => finish(e !== null && e !== undefined));
    },
    close() {
      closed = true;
      up = false;
      if (timer !== undefined) clearTimeout(timer);
      sock?.destroy();
      sock = undefined;
      finish(true);
    },
    onReady: () => {},
    onLost: () => {},
  };
  function open(): void {
    let lastError = 'connection closed';
    const s = connect({ host: target.host, port: target.port });
    sock = s;
    s.setNoDelay(true);
    s.setKeepAlive(true, 30_000);
    s.on('connect', () => {
      up = true;
      delay = backoff.minMs;
      if (outage !== undefined || !connectedOnce) log.info(connectedOnce ? 'audit feed: syslog collector reconnected' : 'audit feed: syslog collector connected', { collector: where(target) });
      connectedOnce = true;
      outage = undefined;
      t.onReady();
    });
    s.on('data', () => {});
    s.on('error', (e) => {
      lastError = e.message;
    });
    s.on('close', () => {
      up = false;
      if (sock === s) sock = undefined;
      // A batch on a connection that broke is counted as lost (part of it may have arrived).
      finish(true);
      if (closed) return;
      if (outage === undefined) log.warn('audit feed: syslog collector unreachable; records wait in the queue (dropped when it is full) while reconnecting', { collector: where(target), error: lastError });
      outage = lastError;
      timer = setTimeout(open, delay);
      timer.unref();
      delay = Math.min(delay * 2, backoff.maxMs);
    });
  }
  open();
  return t;
}
