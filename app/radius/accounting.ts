// The accounting leg (RFC 2866): Accounting-Requests from configured clients on --port-acct (or
// over RadSec), checked, forwarded to the pool's accounting port (the realm decides the pool, as
// for authentication), and the Accounting-Response re-signed for the client. A retransmission is
// absorbed like an Access-Request's. From Start, Interim-Update and Stop records Gatehouse keeps
// who is connected right now (app/db/queries/sessions.ts).
//
// Accounting never needs a second factor and never waits for one: it has its own socket, its own
// request cache, and nothing here touches the engine. A request is answered only once the
// downstream server answered it (RFC 2866 2: a proxy must not acknowledge what was not recorded);
// with no server in the pool, Gatehouse records it itself and answers.
import type { Auditor } from '../audit/audit.js';
import type { Settings } from '../config.js';
import type { SessionRow } from '../db/queries/sessions.js';
import { normalizeAddress } from '../lib/cidr.js';
import type { Logger } from '../lib/log.js';
import { reasons, type CounterFamily, type Counters } from '../lib/metrics.js';
import type { ClientTable, RadiusClient } from './clients.js';
import { Attr, checkAccountingRequest, checkRequestMa, Code, decodePacket, encodeResponse, getAttr, getString, RadiusDecodeError, type Attribute, type RadiusPacket } from './codec.js';
import { DOWNSTREAM_FAILURES, DownstreamError } from './downstream.js';
import { backgroundRecorder, createDropAuditor } from './drops.js';
import type { Pools, PoolSpec } from './pools.js';
import { RequestCache } from './request-cache.js';
import { clientResponseAttributes, proxyStateOf, saltSource } from './rewrite.js';
import type { Via } from './proxy.js';

export const ACCT_DROP_REASONS = ['unknown_client', 'malformed', 'bad_authenticator', 'unsupported_code'] as const;

export const ACCOUNTING_COUNTERS: readonly CounterFamily[] = [
  { name: 'accounting_requests', help: 'RADIUS Accounting-Requests taken (not retransmissions, not dropped ones), by Acct-Status-Type.', series: reasons(['start', 'stop', 'interim', 'on', 'off', 'other']) },
  { name: 'accounting_responses', help: 'RADIUS Accounting-Responses sent (downstream: after the pool acknowledged; local: no server in the pool).', series: reasons(['downstream', 'local']) },
  { name: 'accounting_drops', help: 'RADIUS accounting packets dropped without an answer, by reason.', series: reasons(ACCT_DROP_REASONS) },
  { name: 'accounting_errors', help: 'RADIUS Accounting-Requests left unanswered, by reason (downstream_*: no server answered; no_pool: the realm routes to a pool without servers).', series: reasons(['no_pool', ...DOWNSTREAM_FAILURES.map((f) => `downstream_${f}`)]) },
];

const STATUS: Record<number, 'start' | 'stop' | 'interim' | 'on' | 'off'> = { 1: 'start', 2: 'stop', 3: 'interim', 7: 'on', 8: 'off' };

/** What accounting records change in the table of sessions. */
export interface SessionSink {
  upsert(s: SessionRow): Promise<void>;
  end(client: string, nas: string, sessionId: string): Promise<void>;
  endNas(client: string, nas: string): Promise<void>;
  /** Forget sessions with no record since then. */
  prune(before: number): Promise<void>;
}

/**
 * A session with no Start, Interim-Update or Stop for this long is forgotten: its NAS went away
 * without saying so (no Stop, no Accounting-On after its restart). NAS send interim updates every
 * few minutes to hours; a week without one is no session.
 */
export const SESSION_STALE_MS = 7 * 24 * 3600_000;
const PRUNE_EVERY_TICKS = 3600;

export interface AccountingDeps {
  settings(): Readonly<Settings>;
  clients(): ClientTable;
  route(userName: string): { pool: PoolSpec | undefined; realm: string | undefined; rewrite: string | undefined };
  pools: Pools;
  sessions: SessionSink;
  send(buf: Buffer, port: number, address: string): void;
  audit: Auditor;
  counters: Counters;
  random(size: number): Buffer;
  now(): number;
  log: Logger;
}

export interface Accounting {
  handle(buf: Buffer, address: string, port: number, via?: Via): void;
  sizes(): { requests: number };
  shutdown(): void;
}

const u32 = (attrs: readonly Attribute[], type: number): number | undefined => {
  const v = getAttr(attrs, type);
  return v !== undefined && v.length === 4 ? v.readUInt32BE(0) : undefined;
};

/** The NAS as it names itself: NAS-Identifier, else NAS-IP-Address, else the client's address. */
function nasOf(attrs: readonly Attribute[], fallback: string): string {
  const id = getString(attrs, Attr.NasIdentifier);
  if (id !== undefined && id !== '') return id;
  const ip = getAttr(attrs, Attr.NasIpAddress);
  if (ip !== undefined && ip.length === 4) return [...ip].join('.');
  return fallback;
}

/** The session a record describes (its counters with their gigawords, RFC 2869 5.1). */
export function sessionOf(client: string, address: string, attrs: readonly Attribute[], now: number): SessionRow | undefined {
  const sessionId = getString(attrs, Attr.AcctSessionId);
  if (sessionId === undefined || sessionId === '') return undefined;
  const framed = getAttr(attrs, Attr.FramedIpAddress);
  const port = u32(attrs, Attr.NasPort);
  const portId = getString(attrs, Attr.NasPortId);
  const octets = (low: number, high: number) => (u32(attrs, high) ?? 0) * 2 ** 32 + (u32(attrs, low) ?? 0);
  const time = u32(attrs, Attr.AcctSessionTime);
  return {
    client,
    nas: nasOf(attrs, address),
    sessionId,
    username: getString(attrs, Attr.UserName) ?? '',
    nasPort: portId ?? (port !== undefined ? String(port) : null),
    framedIp: framed !== undefined && framed.length === 4 ? [...framed].join('.') : null,
    callingStationId: getString(attrs, Attr.CallingStationId) ?? null,
    startedAt: now - (time ?? 0) * 1000,
    updatedAt: now,
    inputBytes: octets(Attr.AcctInputOctets, Attr.AcctInputGigawords),
    outputBytes: octets(Attr.AcctOutputOctets, Attr.AcctOutputGigawords),
  };
}

export function createAccounting(deps: AccountingDeps): Accounting {
  const cache = new RequestCache();
  const drops = createDropAuditor();
  let closing = false;
  let ticks = 0;
  const sweep = setInterval(() => {
    const now = deps.now();
    cache.sweep(now);
    if (++ticks % PRUNE_EVERY_TICKS === 1) deps.sessions.prune(now - SESSION_STALE_MS).catch((e: unknown) => deps.log.warn('pruning stale sessions failed', { error: (e as Error).message }));
    const summary = drops.tick(now);
    if (summary !== undefined) void recordSafely(summary);
  }, 1000);
  sweep.unref();
  const salt = saltSource(deps.random);
  const recordSafely = backgroundRecorder(deps.audit, deps.log);

  function drop(address: string, port: number, reason: (typeof ACCT_DROP_REASONS)[number], client: RadiusClient | undefined, username?: string): void {
    deps.counters.inc('accounting_drops', reason);
    for (const e of drops.drop(address, port, `accounting_${reason}`, client?.name ?? null, username ?? null, deps.now())) void recordSafely(e);
  }

  function handle(buf: Buffer, rawAddress: string, port: number, via?: Via): void {
    const address = normalizeAddress(rawAddress);
    const client = via !== undefined ? via.client : deps.clients().lookup(address);
    if (client === undefined) return drop(address, port, 'unknown_client', undefined);
    if (closing) return;
    const send = via !== undefined ? (b: Buffer) => via.send(b) : (b: Buffer) => deps.send(b, port, address);
    let packet: RadiusPacket;
    try {
      packet = decodePacket(buf);
    } catch (e) {
      if (e instanceof RadiusDecodeError) return drop(address, port, 'malformed', client);
      throw e;
    }
    if (packet.code === Code.StatusServer) {
      // RFC 5997 3: on an accounting port, Status-Server is answered with an Accounting-Response.
      if (checkRequestMa(buf, packet, client.secret) === 'valid') send(encodeResponse(Code.AccountingResponse, packet.identifier, packet.authenticator, [], client.secret));
      else drop(address, port, 'bad_authenticator', client);
      return;
    }
    if (packet.code !== Code.AccountingRequest) return drop(address, port, 'unsupported_code', client);
    if (!checkAccountingRequest(buf, packet, client.secret)) return drop(address, port, 'bad_authenticator', client, getString(packet.attributes, Attr.UserName));
    const key = RequestCache.key(address, port, packet.identifier, packet.authenticator);
    if (cache.retransmitted(key, send)) return;
    const entry = cache.add(key);
    const status = STATUS[u32(packet.attributes, Attr.AcctStatusType) ?? 0] ?? 'other';
    deps.counters.inc('accounting_requests', status);
    const failed = (e: unknown) => {
      cache.forget(key);
      deps.log.error('accounting request failed', { error: (e as Error).message, source: `${address}:${port}` });
    };
    account(client, packet, address, status).then((answer) => {
      if (answer === undefined) return cache.forget(key);
      // Encoding can refuse (the server's attributes and the client's Proxy-State over 4096 bytes).
      try {
        const response = encodeResponse(Code.AccountingResponse, packet.identifier, packet.authenticator, answer.attributes, client.secret, false);
        cache.answered(key, entry, response, deps.now());
        deps.counters.inc('accounting_responses', answer.how);
        send(response);
        if (entry.repeat) send(response);
      } catch (e) {
        failed(e);
      }
    }, failed);
  }

  /** Forward (or record locally), then keep the sessions table; the answer's attributes, or undefined when no server answered. */
  async function account(client: RadiusClient, packet: RadiusPacket, address: string, status: string): Promise<{ attributes: Attribute[]; how: 'downstream' | 'local' } | undefined> {
    const proxyState = proxyStateOf(packet.attributes);
    const name = getString(packet.attributes, Attr.UserName) ?? '';
    const route = deps.route(name);
    let answer: { attributes: Attribute[]; how: 'downstream' | 'local' } | undefined;
    if (route.pool === undefined || route.pool.servers.length === 0) {
      // A configured realm whose pool has no server: nothing can record it, so nothing is
      // acknowledged (the NAS keeps it and retries). Without realms or servers at all (the
      // directory checks the passwords) Gatehouse is the accounting server itself.
      if (route.realm !== undefined) {
        deps.counters.inc('accounting_errors', 'no_pool');
        deps.log.warn('an Accounting-Request routes to a pool with no server; not acknowledged', { realm: route.realm });
        return undefined;
      }
      answer = { attributes: [...proxyState], how: 'local' };
    } else {
      const forwarded = packet.attributes.filter((a) => a.type !== Attr.ProxyState && a.type !== Attr.MessageAuthenticator).map((a) => (a.type === Attr.UserName && route.rewrite !== undefined ? { type: a.type, value: Buffer.from(route.rewrite, 'utf8') } : a));
      const settings = deps.settings();
      const plan = deps.pools.plan(route.pool);
      let failure: DownstreamError | undefined;
      for (let i = 0; i < plan.length && answer === undefined; i++) {
        const server = plan[i]!;
        const last = i === plan.length - 1;
        const receiveMs = last ? settings.proxyReceiveTimeout * 1000 : Math.min(route.pool.responseWindowMs, settings.proxyReceiveTimeout * 1000);
        try {
          const got = await deps.pools.send(route.pool, server, 'accounting', forwarded, Buffer.alloc(16), { sendMs: settings.proxySendTimeout * 1000, receiveMs }).answer;
          answer = { attributes: clientResponseAttributes(got.packet.attributes, { secret: server.secret, authenticator: got.requestAuthenticator }, { secret: client.secret, authenticator: packet.authenticator }, proxyState, salt), how: 'downstream' };
        } catch (e) {
          if (!(e instanceof DownstreamError)) throw e;
          failure = e;
          if (e.reason === 'closed') break;
        }
      }
      if (answer === undefined) {
        deps.counters.inc('accounting_errors', `downstream_${failure?.reason ?? 'closed'}`);
        deps.log.warn('no downstream server answered an Accounting-Request; the client will retry', { pool: route.pool.name, reason: failure?.message });
        return undefined;
      }
    }
    await keepSessions(client, packet, address, status).catch((e: unknown) => deps.log.error('recording an accounting session failed', { error: (e as Error).message }));
    return answer;
  }

  async function keepSessions(client: RadiusClient, packet: RadiusPacket, address: string, status: string): Promise<void> {
    const attrs = packet.attributes;
    if (status === 'on' || status === 'off') return deps.sessions.endNas(client.name, nasOf(attrs, address));
    const s = sessionOf(client.name, address, attrs, deps.now());
    if (s === undefined) return;
    if (status === 'stop') return deps.sessions.end(s.client, s.nas, s.sessionId);
    if (status === 'start' || status === 'interim') return deps.sessions.upsert(s);
  }

  return {
    handle,
    sizes: () => ({ requests: cache.size }),
    shutdown() {
      closing = true;
      clearInterval(sweep);
    },
  };
}
