// RadSec: RADIUS over TLS (RFC 6614), in both directions. The transport only: packets are framed
// by their own Length field on the stream, and handed to the same proxy and accounting legs as
// UDP ones (as server), or matched to their requests by identifier (as client, towards a
// downstream server). Over TLS the shared secret is the fixed string "radsec" (RFC 6614 2.3):
// the certificates authenticate both ends.
//
// Server: clients present a certificate that chains to --radsec-ca (verified by TLS) and connect
// from an address of a configured RADIUS client, whose entry names them in the audit log and
// metrics. TLS 1.2 or newer. A stream that carries a malformed frame is closed: there is no way
// to find the next packet in it.
// Client: one connection per downstream server, opened when needed, its certificate verified
// against --radsec-ca and its name or address; a connection that drops fails its requests
// (the pool then tries the next server and marks this one) and the next request reconnects.
import type { Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import type { Logger } from '../lib/log.js';
import { normalizeAddress } from '../lib/cidr.js';
import type { ClientTable, RadiusClient } from './clients.js';
import { checkResponse, Code, decodePacket, encodeAccountingRequest, encodeRequest, HEADER_LEN, MAX_PACKET, type Attribute } from './codec.js';
import { ANSWER_CODES, DownstreamError, type DownstreamAnswer, type DownstreamTarget, type Exchange, type ExchangeKind } from './downstream.js';
import type { Via } from './proxy.js';

// node:tls is loaded when RadSec is first used, not with the module: it is about 7 ms of every
// start (issue 18's cold start), and most appliances do not use RadSec.
const tls = () => process.getBuiltinModule('node:tls');

export const RADSEC_SECRET = Buffer.from('radsec', 'utf8');
/** TLS 1.2 and 1.3 only, and for 1.2 only forward-secret AEAD suites. */
const TLS_OPTIONS = { minVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305' } as const;
/** Connections served at once, all clients together, and from one address. */
const MAX_CONNECTIONS = 1024;
const MAX_PER_ADDRESS = 32;
/** A TLS handshake must be done by then (Node's default is 120 s: long enough to hold slots). */
const HANDSHAKE_MS = 10_000;
/** A connection that carries nothing for this long is closed (clients reconnect when they need to). */
const IDLE_MS = 10 * 60_000;

export interface RadsecCredentials {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/**
 * Cut a stream into RADIUS packets by their Length field. Returns the packets complete so far and
 * what is left; `bad` when a frame's length cannot be a RADIUS packet.
 */
export function splitFrames(buf: Buffer): { packets: Buffer[]; rest: Buffer; bad: boolean } {
  const packets: Buffer[] = [];
  let off = 0;
  while (buf.length - off >= 4) {
    const len = buf.readUInt16BE(off + 2);
    if (len < HEADER_LEN || len > MAX_PACKET) return { packets, rest: Buffer.alloc(0), bad: true };
    if (buf.length - off < len) break;
    packets.push(buf.subarray(off, off + len));
    off += len;
  }
  return { packets, rest: off === 0 ? buf : buf.subarray(off), bad: false };
}

/** The client entry as seen over TLS: same name and counters, the RadSec secret, no MA needed. */
const views = new WeakMap<RadiusClient, RadiusClient>();
function radsecView(c: RadiusClient): RadiusClient {
  let v = views.get(c);
  if (v === undefined) {
    v = { ...c, secret: RADSEC_SECRET, requireMessageAuthenticator: 'no' };
    views.set(c, v);
  }
  return v;
}

export interface RadsecServerDeps {
  credentials: RadsecCredentials;
  clients(): ClientTable;
  /** Access-Request and Status-Server. */
  onAccess(buf: Buffer, address: string, port: number, via: Via): void;
  onAccounting(buf: Buffer, address: string, port: number, via: Via): void;
  /** A connection refused before any packet (unknown address) or closed for a broken frame. */
  onRefused(address: string, port: number, reason: 'unknown_client' | 'malformed' | 'tls', client: RadiusClient | undefined): void;
  log: Logger;
}

export interface RadsecServer {
  address: string;
  port: number;
  connections(): number;
  close(): Promise<void>;
}

export async function listenRadsec(address: string, port: number, deps: RadsecServerDeps): Promise<RadsecServer> {
  const sockets = new Set<TLSSocket>();
  /** Every TCP connection (in the handshake too), for the per-address cap and for shutdown. */
  const raw = new Map<string, Set<Socket>>();
  const server: TlsServer = tls().createServer({ ...TLS_OPTIONS, cert: deps.credentials.cert, key: deps.credentials.key, ca: deps.credentials.ca, requestCert: true, rejectUnauthorized: true, handshakeTimeout: HANDSHAKE_MS });
  server.maxConnections = MAX_CONNECTIONS;
  // Before any TLS work: only addresses of configured clients, and a bounded number from each, so
  // that a stranger cannot hold the listener's connection slots.
  server.on('connection', (socket: Socket) => {
    const peer = normalizeAddress(socket.remoteAddress ?? '');
    if (deps.clients().lookup(peer) === undefined) {
      deps.onRefused(peer, socket.remotePort ?? 0, 'unknown_client', undefined);
      socket.destroy();
      return;
    }
    let mine = raw.get(peer);
    if (mine === undefined) raw.set(peer, (mine = new Set()));
    if (mine.size >= MAX_PER_ADDRESS) {
      socket.destroy();
      return;
    }
    const set = mine;
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && raw.get(peer) === set) raw.delete(peer);
    });
  });
  server.on('secureConnection', (socket) => {
    const peer = normalizeAddress(socket.remoteAddress ?? '');
    const peerPort = socket.remotePort ?? 0;
    sockets.add(socket);
    socket.setKeepAlive(true, 30_000);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    const send = (buf: Buffer) => {
      if (!socket.destroyed && socket.writable) socket.write(buf);
    };
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      // The client entry as it is now: a client removed (or changed) while connected loses its
      // access with its next packet, not at its next connection.
      const entry = deps.clients().lookup(peer);
      if (entry === undefined) {
        deps.onRefused(peer, peerPort, 'unknown_client', undefined);
        socket.destroy();
        return;
      }
      const via: Via = { client: radsecView(entry), send };
      const { packets, rest, bad } = splitFrames(pending.length === 0 ? chunk : Buffer.concat([pending, chunk]));
      for (const p of packets) {
        // Copied: the proxy keeps views into the packet while the request is decided.
        const own = Buffer.from(p);
        if (own[0] === Code.AccountingRequest) deps.onAccounting(own, peer, peerPort, via);
        else deps.onAccess(own, peer, peerPort, via);
      }
      if (bad) {
        deps.onRefused(peer, peerPort, 'malformed', entry);
        socket.destroy();
        return;
      }
      pending = Buffer.from(rest);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  // A handshake that fails (no certificate, another CA, an old TLS version) never reaches the
  // proxy: the peer is named in the audit log, through the drop auditor's flood control.
  server.on('tlsClientError', (err, socket) => {
    deps.onRefused(normalizeAddress(socket.remoteAddress ?? ''), socket.remotePort ?? 0, 'tls', undefined);
    deps.log.debug('RadSec handshake refused', { source: socket.remoteAddress, error: err.message });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => deps.log.error('RadSec listener error', { error: e.message }));
  const bound = server.address();
  return {
    address: typeof bound === 'object' && bound !== null ? bound.address : address,
    port: typeof bound === 'object' && bound !== null ? bound.port : port,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        for (const set of raw.values()) for (const s of set) s.destroy();
        server.close(() => r());
      }),
  };
}

interface ClientPending {
  kind: ExchangeKind;
  authenticator: Buffer;
  resolve(a: DownstreamAnswer): void;
  reject(e: DownstreamError): void;
  timer: NodeJS.Timeout | undefined;
}

interface Connection {
  socket: TLSSocket;
  ready: Promise<void>;
  pending: (ClientPending | undefined)[];
  free: number[];
  buffer: Buffer;
  /** Identifiers given up to timeouts (never reused on this connection). */
  lost: number;
  /** Timeouts since the last answer. */
  silent: number;
}

/** Timeouts in a row after which a connection to a RadSec server is replaced. */
const SILENT_LIMIT = 8;

/** The client side: a transport for the downstream leg (createDownstreamLeg's `radsec`). */
export function createRadsecConnector(credentials: () => RadsecCredentials | undefined, log: Logger) {
  const connections = new Map<string, Connection>();
  let inFlight = 0;
  let closed = false;

  /** The connection is gone: its requests fail (`closed_by_peer` counts against the server, `closed`, a shutdown, does not). */
  function fail(conn: Connection, key: string, reason: string, why: 'closed_by_peer' | 'closed' = 'closed_by_peer'): void {
    if (connections.get(key) === conn) connections.delete(key);
    for (let id = 0; id < 256; id++) {
      const p = conn.pending[id];
      if (p === undefined) continue;
      conn.pending[id] = undefined;
      clearTimeout(p.timer);
      inFlight--;
      p.reject(new DownstreamError(why, reason));
    }
    conn.socket.destroy();
  }

  /**
   * A connection that keeps getting no answers is set aside: new requests open a fresh one (a
   * half-open TCP connection or a peer that lost its session looks like this), and the old one
   * is closed once its requests have had their time.
   */
  function retire(conn: Connection, key: string, graceMs: number): void {
    if (connections.get(key) === conn) connections.delete(key);
    setTimeout(() => fail(conn, key, 'RadSec connection retired', 'closed'), graceMs).unref();
  }

  function open(target: DownstreamTarget, key: string): Connection {
    const creds = credentials();
    if (creds === undefined) throw new DownstreamError('send_error', 'RadSec needs --radsec-cert, --radsec-key and --radsec-ca');
    const socket = tls().connect({ ...TLS_OPTIONS, host: target.host, port: target.port, cert: creds.cert, key: creds.key, ca: creds.ca, rejectUnauthorized: true });
    const conn: Connection = { socket, ready: Promise.resolve(), pending: new Array<ClientPending | undefined>(256), free: Array.from({ length: 256 }, (_, i) => i), buffer: Buffer.alloc(0), lost: 0, silent: 0 };
    conn.ready = new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', (e) => reject(e));
    });
    conn.ready.catch(() => undefined);
    socket.setKeepAlive(true, 30_000);
    // A handshake that hangs is a server that does not answer.
    socket.setTimeout(HANDSHAKE_MS, () => fail(conn, key, `RadSec connection to ${target.host}:${target.port}: no TLS handshake within ${HANDSHAKE_MS} ms`));
    socket.once('secureConnect', () => socket.setTimeout(0));
    socket.on('data', (chunk: Buffer) => {
      const { packets, rest, bad } = splitFrames(conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]));
      for (const p of packets) onAnswer(conn, Buffer.from(p), target);
      if (bad) return fail(conn, key, `malformed frame from ${target.host}:${target.port}`);
      conn.buffer = Buffer.from(rest);
    });
    socket.on('error', (e) => fail(conn, key, `RadSec connection to ${target.host}:${target.port}: ${e.message}`));
    socket.on('close', () => fail(conn, key, `RadSec connection to ${target.host}:${target.port} closed`));
    connections.set(key, conn);
    return conn;
  }

  function onAnswer(conn: Connection, buf: Buffer, target: DownstreamTarget): void {
    const p = conn.pending[buf[1]!];
    if (p === undefined) return;
    let packet;
    try {
      packet = decodePacket(buf);
    } catch {
      return;
    }
    const check = checkResponse(buf, packet, p.authenticator, RADSEC_SECRET);
    if (!check.authentic || check.ma === 'invalid' || !ANSWER_CODES[p.kind].includes(packet.code)) {
      log.warn('RadSec answer ignored', { server: target.name, code: packet.code });
      return;
    }
    conn.pending[packet.identifier] = undefined;
    conn.free.push(packet.identifier);
    conn.silent = 0;
    clearTimeout(p.timer);
    inFlight--;
    p.resolve({ packet, requestAuthenticator: p.authenticator });
  }

  function exchange(target: DownstreamTarget, attributes: readonly Attribute[], authenticator: Buffer, timeouts: { sendMs: number; receiveMs: number }, kind: ExchangeKind = 'access'): Exchange {
    const answer = new Promise<DownstreamAnswer>((resolve, reject) => {
      if (closed) return reject(new DownstreamError('closed', 'shutting down'));
      const key = `${target.host}|${target.port}`;
      let conn: Connection;
      try {
        conn = connections.get(key) ?? open(target, key);
      } catch (e) {
        return reject(e instanceof DownstreamError ? e : new DownstreamError('send_error', (e as Error).message));
      }
      const id = conn.free.shift();
      if (id === undefined) return reject(new DownstreamError('overloaded', `256 requests in flight to ${target.name}`));
      const wire = kind === 'accounting' ? encodeAccountingRequest(id, attributes, RADSEC_SECRET) : encodeRequest(kind === 'status' ? Code.StatusServer : Code.AccessRequest, id, authenticator, attributes, RADSEC_SECRET, true);
      const p: ClientPending = { kind, authenticator: kind === 'accounting' ? wire.subarray(4, 20) : authenticator, resolve, reject, timer: undefined };
      conn.pending[id] = p;
      inFlight++;
      // The receive window starts now and covers the handshake of a new connection.
      p.timer = setTimeout(() => {
        if (conn.pending[id] !== p) return;
        conn.pending[id] = undefined;
        inFlight--;
        // The identifier is not reused on this connection: a late answer must not match another
        // request. A connection with many timeouts in a row, or few identifiers left, is replaced.
        conn.lost++;
        if (++conn.silent >= SILENT_LIMIT || conn.lost >= 128) retire(conn, key, timeouts.receiveMs);
        reject(new DownstreamError('timeout', `no answer from ${target.host}:${target.port} (RadSec) within ${timeouts.receiveMs} ms`));
      }, timeouts.receiveMs);
      conn.ready.then(
        () => {
          if (conn.pending[id] === p) conn.socket.write(wire);
        },
        () => undefined,
      );
    });
    // RFC 6614 2.2: over a reliable transport a request is never retransmitted.
    return { answer, retransmit() {} };
  }

  return {
    exchange,
    stats: () => ({ connections: connections.size, inFlight }),
    async close() {
      closed = true;
      for (const [key, conn] of connections) fail(conn, key, 'shutting down', 'closed');
    },
  };
}
