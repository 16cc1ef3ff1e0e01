// The server leg: sends Access-Requests to the downstream RADIUS server and matches answers.
// Identifiers are 8 bits, so each socket carries at most 256 requests; more sockets are opened
// as needed. Identifiers are recycled FIFO (FreeRADIUS logs "conflicting packet" when one is
// reused right after its answer). An answer is taken only from the server's address and port
// and only when its Response Authenticator (and Message-Authenticator) check out.
import type dgram from 'node:dgram';
import { isIP } from 'node:net';
import { udpSocket } from '../lib/udp.js';
import { checkResponse, Code, decodePacket, encodeAccountingRequest, encodeRequest, type Attribute, type RadiusPacket } from './codec.js';

export interface DownstreamTarget {
  name: string;
  host: string;
  port: number;
  secret: Buffer;
  requireMessageAuthenticator: boolean;
  /** The stored row's id (undefined: given by flag or environment). */
  id?: number;
  /** Accounting port (default 1813). */
  acctPort?: number;
  /** `radsec`: RADIUS over TLS (RFC 6614) to `port` (default 2083), secret `radsec`. */
  transport?: 'udp' | 'radsec';
}

/** What is sent: an Access-Request, an Accounting-Request (to the accounting port), or a Status-Server probe. */
export type ExchangeKind = 'access' | 'accounting' | 'status';

/** The answers each kind of request takes (RFC 2865, RFC 2866, RFC 5997). */
export const ANSWER_CODES: Readonly<Record<ExchangeKind, readonly number[]>> = {
  access: [Code.AccessAccept, Code.AccessReject, Code.AccessChallenge],
  accounting: [Code.AccountingResponse],
  status: [Code.AccessAccept, Code.AccountingResponse],
};

export interface DownstreamAnswer {
  packet: RadiusPacket;
  /** Request Authenticator of the request this answers (needed to decrypt its attributes). */
  requestAuthenticator: Buffer;
}

export type DownstreamFailure = 'timeout' | 'send_timeout' | 'send_error' | 'resolve_error' | 'overloaded' | 'closed' | 'closed_by_peer';
export const DOWNSTREAM_FAILURES = Object.keys({ timeout: 1, send_timeout: 1, send_error: 1, resolve_error: 1, overloaded: 1, closed: 1, closed_by_peer: 1 } satisfies Record<DownstreamFailure, 1>) as DownstreamFailure[];

export class DownstreamError extends Error {
  constructor(
    readonly reason: DownstreamFailure,
    message: string,
  ) {
    super(message);
    this.name = 'DownstreamError';
  }
}

export interface Exchange {
  answer: Promise<DownstreamAnswer>;
  /** Send the same bytes again (the client retransmitted while we wait). */
  retransmit(): void;
}

export interface DownstreamStats {
  inFlight: number;
  sockets: number;
  /** Answers ignored: wrong source, unknown id, bad authenticator, missing Message-Authenticator. */
  ignored: Record<string, number>;
}

export interface DownstreamLeg {
  /** `authenticator` is the Request Authenticator (ignored for accounting, whose authenticator is computed). */
  exchange(target: DownstreamTarget, attributes: readonly Attribute[], authenticator: Buffer, timeouts: { sendMs: number; receiveMs: number }, kind?: ExchangeKind): Exchange;
  stats(): DownstreamStats;
  close(): Promise<void>;
}

interface Pending {
  target: DownstreamTarget;
  kind: ExchangeKind;
  address: string;
  port: number;
  authenticator: Buffer;
  wire: Buffer;
  resolve(a: DownstreamAnswer): void;
  reject(e: DownstreamError): void;
  timer: NodeJS.Timeout | undefined;
}

interface Slot {
  sock: dgram.Socket;
  /** Free identifiers, oldest-released first. */
  free: Uint8Array;
  head: number;
  count: number;
  pending: (Pending | undefined)[];
}

const MAX_SOCKETS = 256;
const RESOLVE_TTL_MS = 60_000;

export interface DownstreamOptions {
  recvBufferBytes?: number;
  /** The TLS transport for servers whose transport is `radsec` (app/radius/radsec.ts). */
  radsec?: Pick<DownstreamLeg, 'exchange'> & { close(): Promise<void>; stats(): { connections: number; inFlight: number } };
}

export function createDownstreamLeg(opts: DownstreamOptions = {}): DownstreamLeg {
  const pools: Record<4 | 6, Slot[]> = { 4: [], 6: [] };
  const resolved = new Map<string, { address: string; family: 4 | 6; until: number }>();
  const ignored: Record<string, number> = {};
  let inFlight = 0;
  let closed = false;
  const ignore = (why: string) => {
    ignored[why] = (ignored[why] ?? 0) + 1;
  };

  function openSlot(family: 4 | 6): Slot {
    const sock = udpSocket(family === 4 ? 'udp4' : 'udp6');
    const free = new Uint8Array(256);
    for (let i = 0; i < 256; i++) free[i] = i;
    const slot: Slot = { sock, free, head: 0, count: 256, pending: new Array<Pending | undefined>(256) };
    sock.on('message', (buf, rinfo) => onMessage(slot, buf, rinfo));
    sock.on('error', () => ignore('socket_error'));
    sock.bind(0, () => {
      try {
        sock.setRecvBufferSize(opts.recvBufferBytes ?? 4 * 1024 * 1024);
      } catch {
        // The kernel caps it at net.core.rmem_max; the default still works, with smaller bursts.
      }
    });
    pools[family].push(slot);
    return slot;
  }

  function takeId(slot: Slot): number {
    const id = slot.free[slot.head]!;
    slot.head = (slot.head + 1) & 255;
    slot.count--;
    return id;
  }
  function releaseId(slot: Slot, id: number): void {
    slot.pending[id] = undefined;
    slot.free[(slot.head + slot.count) & 255] = id;
    slot.count++;
    inFlight--;
  }

  function onMessage(slot: Slot, buf: Buffer, rinfo: dgram.RemoteInfo): void {
    if (buf.length < 20) return ignore('malformed');
    const p = slot.pending[buf[1]!];
    if (p === undefined) return ignore('unknown_id');
    if (rinfo.port !== p.port || rinfo.address !== p.address) return ignore('wrong_source');
    let packet: RadiusPacket;
    try {
      packet = decodePacket(buf);
    } catch {
      return ignore('malformed');
    }
    const check = checkResponse(buf, packet, p.authenticator, p.target.secret);
    if (!check.authentic || check.ma === 'invalid') return ignore('bad_authenticator');
    if (check.ma === 'absent' && p.target.requireMessageAuthenticator) return ignore('missing_message_authenticator');
    if (!ANSWER_CODES[p.kind].includes(packet.code)) return ignore('unexpected_code');
    clearTimeout(p.timer);
    releaseId(slot, packet.identifier);
    p.resolve({ packet, requestAuthenticator: p.authenticator });
  }

  async function resolve(host: string): Promise<{ address: string; family: 4 | 6 }> {
    const hit = resolved.get(host);
    if (hit && hit.until > Date.now()) return hit;
    const r = await process.getBuiltinModule('node:dns/promises').lookup(host);
    const entry = { address: r.address, family: r.family as 4 | 6, until: Date.now() + RESOLVE_TTL_MS };
    resolved.set(host, entry);
    return entry;
  }

  function exchange(target: DownstreamTarget, attributes: readonly Attribute[], authenticator: Buffer, timeouts: { sendMs: number; receiveMs: number }, kind: ExchangeKind = 'access'): Exchange {
    if (target.transport === 'radsec') {
      if (opts.radsec === undefined) return { answer: Promise.reject(new DownstreamError('send_error', `${target.name} is a RadSec server but no --radsec-cert/--radsec-key/--radsec-ca are configured`)), retransmit() {} };
      return opts.radsec.exchange(target, attributes, authenticator, timeouts, kind);
    }
    const destPort = kind === 'accounting' ? (target.acctPort ?? 1813) : target.port;
    let wire: Buffer | undefined;
    let slotRef: Slot | undefined;
    let pendingRef: Pending | undefined;
    const answer = new Promise<DownstreamAnswer>((resolveAnswer, rejectAnswer) => {
      if (closed) return rejectAnswer(new DownstreamError('closed', 'shutting down'));
      const send = (address: string, family: 4 | 6, sendTimer: NodeJS.Timeout | undefined): void => {
        const pool = pools[family];
        let slot = pool.find((s) => s.count > 0);
        if (slot === undefined) {
          if (pool.length >= MAX_SOCKETS) {
            clearTimeout(sendTimer);
            return rejectAnswer(new DownstreamError('overloaded', 'too many requests in flight to the downstream server'));
          }
          slot = openSlot(family);
        }
        const id = takeId(slot);
        inFlight++;
        wire = kind === 'accounting' ? encodeAccountingRequest(id, attributes, target.secret) : encodeRequest(kind === 'status' ? Code.StatusServer : Code.AccessRequest, id, authenticator, attributes, target.secret, true);
        const p: Pending = {
          target,
          kind,
          address,
          port: destPort,
          authenticator: kind === 'accounting' ? wire.subarray(4, 20) : authenticator,
          wire,
          timer: undefined,
          resolve: resolveAnswer,
          reject: rejectAnswer,
        };
        slot.pending[id] = p;
        slotRef = slot;
        pendingRef = p;
        const s = slot;
        s.sock.send(wire, destPort, address, (err) => {
          clearTimeout(sendTimer);
          if (s.pending[id] !== p) return;
          if (err) {
            releaseId(s, id);
            return rejectAnswer(new DownstreamError('send_error', `send to ${target.host}:${destPort} failed: ${err.message}`));
          }
          p.timer = setTimeout(() => {
            if (s.pending[id] !== p) return;
            releaseId(s, id);
            rejectAnswer(new DownstreamError('timeout', `no answer from ${target.host}:${destPort} within ${timeouts.receiveMs} ms`));
          }, timeouts.receiveMs);
        });
      };
      // The usual case, a server given by its address, goes out in this turn; a name is resolved
      // first (cached), and the send timeout covers the resolution and the hand-over to the kernel.
      const fam = isIP(target.host);
      if (fam !== 0) return send(target.host, fam as 4 | 6, undefined);
      const sendTimer = setTimeout(() => rejectAnswer(new DownstreamError('send_timeout', `could not send to ${target.host}:${target.port} within ${timeouts.sendMs} ms`)), timeouts.sendMs);
      resolve(target.host).then(
        ({ address, family }) => send(address, family, sendTimer),
        (err: Error) => {
          clearTimeout(sendTimer);
          rejectAnswer(new DownstreamError('resolve_error', `cannot resolve ${target.host}: ${err.message}`));
        },
      );
    });
    return {
      answer,
      retransmit() {
        if (wire !== undefined && slotRef !== undefined && pendingRef !== undefined && slotRef.pending.includes(pendingRef)) {
          slotRef.sock.send(wire, pendingRef.port, pendingRef.address);
        }
      },
    };
  }

  return {
    exchange,
    stats: () => ({ inFlight: inFlight + (opts.radsec?.stats().inFlight ?? 0), sockets: pools[4].length + pools[6].length, ignored: { ...ignored } }),
    async close() {
      closed = true;
      await opts.radsec?.close();
      for (const slot of [...pools[4], ...pools[6]]) {
        for (let id = 0; id < 256; id++) {
          const p = slot.pending[id];
          if (p === undefined) continue;
          clearTimeout(p.timer);
          releaseId(slot, id);
          p.reject(new DownstreamError('closed', 'shutting down'));
        }
        await new Promise<void>((r) => slot.sock.close(() => r()));
      }
      pools[4] = [];
      pools[6] = [];
    },
  };
}
