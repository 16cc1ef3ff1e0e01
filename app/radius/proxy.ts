// The per-request flow of the RADIUS proxy: check the client, forward to the downstream server,
// and only when it accepts ask the second-factor engine (app/mfa/engine.ts); translate its
// verdict into accept, reject or challenge. Retransmissions are absorbed by the request cache
// (request-cache.ts); drops are counted and audited without flooding (drops.ts). The only limit
// decided here is the optional request rate per RADIUS client (a transport concern); everything
// about the person (lock, factor, push limits, failmode) is the engine's.
import type { Auditor } from '../audit/audit.js';
import type { AuditDetails, Outcome } from '../audit/chain.js';
import type { Settings } from '../config.js';
import { normalizeAddress } from '../lib/cidr.js';
import type { Logger } from '../lib/log.js';
import { reasons, type ClientSlot, type CounterFamily, type Counters } from '../lib/metrics.js';
import { TokenBuckets } from '../lib/rate-limit.js';
import { ACCEPT_REASONS, REJECT_REASONS, type Engine, type KnownSubject, type Origin, type RejectReason, type Verdict as EngineVerdict } from '../mfa/engine.js';
import { MESSAGES, type MessageKey } from '../mfa/messages.js';
import { createHash } from 'node:crypto';
import type { Directory, PasswordResult } from '../directory/ldap.js';
import { createChallengeStore, splitAppendedCode, type ChallengeStore } from './challenges.js';
import { parseReplyAttributes } from './dictionary.js';
import { messageAuthenticatorVerdict, type ClientTable, type RadiusClient } from './clients.js';
import { Attr, checkRequestMa, Code, decodePacket, decodeVsa, encodeResponse, getAttr, getString, getVendorAttr, MsAttr, RadiusDecodeError, textAttributes, VENDOR_MICROSOFT, type Attribute, type RadiusPacket } from './codec.js';
import { chapResponse, CryptoError, safeEqual, unhidePassword } from './crypto.js';
import { DOWNSTREAM_FAILURES, DownstreamError, type DownstreamAnswer, type DownstreamTarget } from './downstream.js';
import type { Pools, PoolSpec } from './pools.js';
import { backgroundRecorder, createDropAuditor } from './drops.js';
import { RequestCache, type Entry } from './request-cache.js';
import { clientResponseAttributes, downstreamRequestAttributes, proxyStateOf, saltSource } from './rewrite.js';

export { ANSWER_CACHE_MS } from './request-cache.js';

/** How often (in ticks of the 1 s sweep) the rate limiters forget keys that no longer matter. */
const LIMITER_SWEEP_TICKS = 10;

/** Why a packet is dropped unanswered. */
const DROP_REASONS = ['unknown_client', 'malformed', 'bad_message_authenticator', 'missing_message_authenticator', 'unsupported_code', 'rate_limited'] as const;
type DropReason = (typeof DROP_REASONS)[number];
/** Rejects decided here, before the engine is asked. */
const DOOR_REJECTS = ['no_user_name', 'bad_user_name', 'no_downstream', 'state_expired', 'state_mismatch', 'directory_needs_pap', 'no_directory', 'eap_no_identity', 'eap_needs_push'] as const satisfies readonly MessageKey[];
type RadiusRejectReason = (typeof DOOR_REJECTS)[number] | RejectReason;
/**
 * The directory's refusals, each its own audit reason (`directory_` + the reason): what the person
 * is shown only tells "wrong name or password" from "try again later", so that the answer does not
 * reveal which names exist or which accounts are locked.
 */
const DIRECTORY_REFUSALS = {
  wrong_password: 'directory_refused',
  not_found: 'directory_refused',
  ambiguous: 'directory_refused',
  disabled: 'directory_refused',
  locked: 'directory_refused',
  expired: 'directory_refused',
  must_change: 'directory_refused',
  unreachable: 'directory_unavailable',
  timeout: 'directory_unavailable',
  tls: 'directory_unavailable',
  error: 'directory_unavailable',
} as const satisfies Record<Exclude<PasswordResult, { ok: true }>['reason'], MessageKey>;

/** The counters this proxy counts in, with every reason it counts by (shown at zero in /metrics). */
export const RADIUS_COUNTERS: readonly CounterFamily[] = [
  { name: 'packets', help: 'RADIUS packets received from anyone.' },
  { name: 'requests', help: 'RADIUS Access-Requests taken for an answer (not retransmissions, not dropped ones).' },
  { name: 'retransmissions', help: 'RADIUS retransmissions absorbed (answered from the cache or re-sent downstream, never a second push).' },
  { name: 'drops', help: 'RADIUS packets dropped without an answer, by reason.', series: reasons(DROP_REASONS) },
  { name: 'accepts', help: 'RADIUS Access-Accepts sent, by reason.', series: reasons(ACCEPT_REASONS) },
  { name: 'rejects', help: 'RADIUS Access-Rejects sent, by reason (directory_*: the directory refused the password, or could not be asked).', series: reasons(['downstream_reject', ...DOOR_REJECTS, ...Object.keys(DIRECTORY_REFUSALS).map((r) => `directory_${r}`), ...REJECT_REASONS].sort()) },
  { name: 'challenges', help: 'RADIUS Access-Challenges sent, by reason (downstream_challenge: relayed from the downstream server; totp_challenge: asking for a code; push_number_challenge: asking for the number the phone shows).', series: reasons(['downstream_challenge', 'totp_challenge', 'push_number_challenge']) },
  { name: 'errors', help: 'RADIUS requests left unanswered by an error, by reason (internal, audit_write: the audit record could not be written, downstream_*: the downstream server).', series: reasons(['audit_write', 'internal', ...DOWNSTREAM_FAILURES.map((f) => `downstream_${f}`)]) },
];

export interface ProxyDeps {
  settings(): Readonly<Settings>;
  clients(): ClientTable;
  /** Where a user name's requests go: its realm's pool (undefined: no such pool) and the name to send. */
  route(userName: string): { pool: PoolSpec | undefined; realm: string | undefined; rewrite: string | undefined };
  pools: Pools;
  /** The directory, for clients whose first factor it is; or why it cannot be used. */
  directory(): { ok: true; directory: Directory } | { ok: false; problem: string };
  /**
   * A bind said a user's directory account is disabled or does not exist: a synced user loses
   * access now, at every door (the next sync gives it back if the directory does). Resolves once
   * the change is committed.
   */
  onDirectoryAccount(username: string, state: 'disabled' | 'removed'): Promise<void>;
  send(buf: Buffer, port: number, address: string): void;
  audit: Auditor;
  counters: Counters;
  engine: Engine;
  /** An `auto` client sent its first Message-Authenticator: persist that it is now required. */
  onMessageAuthenticatorSeen(client: RadiusClient): void;
  random(size: number): Buffer;
  now(): number;
  /**
   * Where Gatehouse's own challenges wait for their answer: this process's memory by default (one
   * appliance); the shared store where several appliances answer the same clients.
   */
  challenges?: ChallengeStore;
  log: Logger;
}

/** A RadSec connection a packet came over: answers go back on it, signed with the secret `radsec`. */
export interface Via {
  client: RadiusClient;
  send(buf: Buffer): void;
}

export interface Proxy {
  handle(buf: Buffer, address: string, port: number, via?: Via): void;
  /** When a client (by its CIDR text) was last heard, and whether it signs requests. */
  activity(client: string): { lastSeen: number; sentMessageAuthenticator: boolean } | undefined;
  /** Whether the downstream servers answer (app/radius/pools.ts). */
  downstreamHealth(): 'ok' | 'degraded' | 'failing' | 'none';
  /** What the proxy holds in memory (for /metrics and the memory tests). */
  sizes(): { requests: number; challenges: number; dropSources: number; clientActivity: number };
  /** Stop taking new requests and stop the timers (the engine answers the waiting ones). */
  shutdown(): void;
}

/**
 * A first factor that said yes: an appended code split off the password (if any), the attributes
 * an Access-Accept carries back, what a code challenge keeps to build that Accept later, and what
 * identifies this first factor's answer (for joining two logins to one approval; kept apart, in
 * the login's RadiusOrigin only, which lets it go once asked).
 */
interface FirstFactorPass {
  code: string | undefined;
  replyAttrs: Attribute[];
  accepted: { attributes: Attribute[]; secret: Buffer; authenticator: Buffer };
}

type Reply = { code: number; attributes: Attribute[]; outcome: Outcome; reason: string; details?: AuditDetails; commit?: () => void };

function authMethod(attrs: readonly Attribute[]): NonNullable<AuditDetails['authMethod']> {
  if (getAttr(attrs, Attr.UserPassword)) return 'pap';
  if (getAttr(attrs, Attr.ChapPassword)) return 'chap';
  if (getAttr(attrs, Attr.EapMessage)) return 'eap';
  if (getVendorAttr(attrs, VENDOR_MICROSOFT, MsAttr.Chap2Response)) return 'mschapv2';
  if (getVendorAttr(attrs, VENDOR_MICROSOFT, MsAttr.ChapResponse)) return 'mschap';
  return 'other';
}

/** The NAS as the request names it (NAS-IP-Address, NAS-IPv6-Address, NAS-Identifier). */
function nasIdentity(attrs: readonly Attribute[]): string {
  const parts: string[] = [];
  for (const t of [Attr.NasIpAddress, Attr.NasIpv6Address, Attr.NasIdentifier]) {
    const v = getAttr(attrs, t);
    if (v !== undefined) parts.push(`${t}=${v.toString('hex')}`);
  }
  return parts.join(',');
}

/**
 * What the first factor answered, for deciding whether two logins are the same: the server and a
 * digest of its Access-Accept's attributes, leaving out what differs between any two answers
 * (Message-Authenticator, Proxy-State, and values encrypted with a random salt).
 */
function firstFactorOf(target: DownstreamTarget, answer: DownstreamAnswer): string {
  const h = createHash('sha256').update(target.name);
  for (const a of answer.packet.attributes) {
    if (a.type === Attr.MessageAuthenticator || a.type === Attr.ProxyState || a.type === Attr.TunnelPassword) continue;
    if (a.type === Attr.VendorSpecific && decodeVsa(a.value)?.vendor === VENDOR_MICROSOFT) continue;
    h.update(Buffer.from([a.type, a.value.length])).update(a.value);
  }
  return h.digest('base64');
}

/**
 * A first factor's identity, worked out when asked. Made here, outside the request's functions,
 * so that the closure keeps only the server and its answer alive while the login waits.
 */
function downstreamIdentity(target: DownstreamTarget, answer: DownstreamAnswer): () => string {
  return () => firstFactorOf(target, answer);
}

function directoryIdentity(dn: string): () => string {
  return () => `directory:${dn}`;
}

/**
 * A RADIUS login's origin, with the first factor's digest worked out only when a push join asks
 * for it. A class rather than an object literal with a getter: V8 keeps such a literal in
 * dictionary mode, about 0.5 KB more for every login waiting on a phone.
 */
class RadiusOrigin implements Origin {
  readonly door = 'radius' as const;
  private digest: string | undefined;
  constructor(
    readonly source: string,
    readonly nas: string,
    readonly station: string,
    /** Let go once the digest is known: it keeps the downstream answer alive. */
    private identity: (() => string) | undefined,
  ) {}
  get firstFactor(): string {
    if (this.digest === undefined) {
      this.digest = this.identity!();
      this.identity = undefined;
    }
    return this.digest;
  }
}

/** The request's attributes with User-Name replaced (a realm that strips). */
function withUserName(attrs: readonly Attribute[], name: string): Attribute[] {
  const value = Buffer.from(name, 'utf8');
  return attrs.map((a) => (a.type === Attr.UserName ? { type: a.type, value } : a));
}

/** How long a downstream State is remembered for sending the next round to the same server. */
const STICKY_STATE_MS = 120_000;
const STICKY_STATE_LIMIT = 100_000;

/**
 * Downstream States and the server that issued each: the next round of an EAP conversation (or
 * of a server's own challenge) must reach the server that holds its session. Bounded and swept.
 */
class StickyStates {
  private readonly map = new Map<string, { server: string; until: number }>();
  set(state: Buffer, server: string, now: number): void {
    if (this.map.size >= STICKY_STATE_LIMIT) this.map.delete(this.map.keys().next().value!);
    this.map.set(state.toString('latin1'), { server, until: now + STICKY_STATE_MS });
  }
  get(state: Buffer, now: number): string | undefined {
    const hit = this.map.get(state.toString('latin1'));
    return hit !== undefined && hit.until > now ? hit.server : undefined;
  }
  sweep(now: number): void {
    for (const [k, v] of this.map) {
      if (v.until > now) break;
      this.map.delete(k);
    }
  }
}

/** A rule's reply attributes, parsed once per text (rules change rarely; a handful exist). */
const parsedReplies = new Map<string, Attribute[]>();
function replyAttributesOf(text: string): Attribute[] {
  let a = parsedReplies.get(text);
  if (a === undefined) {
    const p = parseReplyAttributes(text);
    a = p.ok ? p.attributes : [];
    if (parsedReplies.size > 1000) parsedReplies.clear();
    parsedReplies.set(text, a);
  }
  return a;
}

/** A client's bucket holds one second's worth of requests (at least one). */
function clientBurst(perSecond: number): number {
  return Math.max(1, perSecond);
}

export function createProxy(deps: ProxyDeps): Proxy {
  const cache = new RequestCache();
  const drops = createDropAuditor();
  const activity = new Map<string, { lastSeen: number; sentMessageAuthenticator: boolean }>();
  /** Which server issued a downstream State (EAP rounds and other challenges go back to it). */
  const stickyStates = new StickyStates();
  const challenges = deps.challenges ?? createChallengeStore(deps.random, deps.now);
  const clientBuckets = new TokenBuckets();
  let closing = false;
  let ticks = 0;

  const sweep = setInterval(() => {
    const now = deps.now();
    cache.sweep(now);
    stickyStates.sweep(now);
    const summary = drops.tick(now);
    if (summary !== undefined) void recordSafely(summary);
    if (++ticks % LIMITER_SWEEP_TICKS === 0) {
      const perSecond = deps.settings().clientRateLimit;
      if (perSecond > 0) clientBuckets.sweep(now, perSecond, clientBurst(perSecond));
      else clientBuckets.clear();
    }
  }, 1000);
  sweep.unref();

  const salt = saltSource(deps.random);
  const recordSafely = backgroundRecorder(deps.audit, deps.log);

  function drop(address: string, port: number, reason: DropReason, client: RadiusClient | undefined, username?: string): void {
    deps.counters.inc('drops', reason);
    // Nothing is answered: the record is written, or its failure logged, in the background.
    for (const e of drops.drop(address, port, reason, client?.name ?? null, username ?? null, deps.now())) void recordSafely(e);
  }

  function handle(buf: Buffer, rawAddress: string, port: number, via?: Via): void {
    const received = deps.counters.latency.now();
    deps.counters.inc('packets');
    const address = normalizeAddress(rawAddress);
    const client = via !== undefined ? via.client : deps.clients().lookup(address);
    if (client === undefined) return drop(address, port, 'unknown_client', undefined);
    if (closing) return;
    let packet: RadiusPacket;
    try {
      packet = decodePacket(buf);
    } catch (e) {
      if (e instanceof RadiusDecodeError) return drop(address, port, 'malformed', client);
      throw e;
    }
    const maCheck = checkRequestMa(buf, packet, client.secret);
    const ma = messageAuthenticatorVerdict(client, maCheck);
    if (!ma.accept) return drop(address, port, ma.reason, client, getString(packet.attributes, Attr.UserName));
    const seen = activity.get(client.cidr.text);
    if (seen === undefined) activity.set(client.cidr.text, { lastSeen: deps.now(), sentMessageAuthenticator: maCheck === 'valid' });
    else {
      seen.lastSeen = deps.now();
      seen.sentMessageAuthenticator = maCheck === 'valid';
    }
    if (ma.firstSeen) {
      client.messageAuthenticatorSeen = true;
      deps.onMessageAuthenticatorSeen(client);
    }
    if (packet.code === Code.StatusServer) {
      // RFC 5997: Status-Server must carry a valid Message-Authenticator; answer that we are alive.
      if (maCheck === 'valid') {
        sendBack(encodeResponse(Code.AccessAccept, packet.identifier, packet.authenticator, [], client.secret), via, address, port);
      }
      return;
    }
    if (packet.code !== Code.AccessRequest) return drop(address, port, 'unsupported_code', client);

    const key = RequestCache.key(address, port, packet.identifier, packet.authenticator);
    if (cache.retransmitted(key, (b) => sendBack(b, via, address, port))) return deps.counters.inc('retransmissions');
    const sentName = getString(packet.attributes, Attr.UserName);
    // Per-client rate limit (off by default): checked after the cache, so retransmissions of a
    // request already taken never count; a request over it is dropped unanswered and not cached,
    // so the client's own retry is judged afresh.
    const perSecond = deps.settings().clientRateLimit;
    if (perSecond > 0 && !clientBuckets.take(client.cidr.text, deps.now(), perSecond, clientBurst(perSecond))) {
      return drop(address, port, 'rate_limited', client, sentName);
    }
    deps.counters.inc('requests');
    const a = new Answer(client, packet, address, port, via, key, cache.add(key), received, deps.counters.clients.request(client.name), sentName);
    // The packet's attribute values are views into `buf`, which stays alive with them.
    authenticate(a, packet).catch((e: unknown) => failed(a, e));
  }

  /** Send an answer back the way its packet came: the UDP socket, or its RadSec connection. */
  function sendBack(b: Buffer, via: Via | undefined, address: string, port: number): void {
    if (via !== undefined) via.send(b);
    else deps.send(b, port, address);
  }

  /**
   * A request that failed inside: nothing was answered (an answer is sent only after its audit
   * record is written), so the client retries, and its retransmission starts afresh. This is also
   * the path when the store cannot be written (busy, disk full): fail closed rather than answer
   * unaudited.
   */
  async function failed(a: Answer, e: unknown): Promise<void> {
    cache.forget(a.key);
    deps.counters.inc('errors', 'internal');
    deps.log.error('request failed', { error: (e as Error).message, source: a.source });
    try {
      await deps.audit.record({ event: 'radius.auth', outcome: 'error', reason: 'internal_error', source: a.source, client: a.client.name, username: a.sentName ?? null });
    } catch {
      // The store is what failed; the log line above is all there is.
    }
  }

  /**
   * One request's way to its answer, and all that a login keeps of its request while it waits on
   * the second factor: a phone may take minutes, and thousands of logins may wait at once, so not
   * the packet and its attributes (about 1 KB each), only what the answer is built and recorded
   * from. Nothing a login keeps while it waits is made inside authenticate(), whose frame (with the
   * packet) is gone by then.
   */
  class Answer {
    /** The name the audit record carries: the one sent, then the canonical one once known. */
    username: string | null;
    readonly details: AuditDetails;
    /** Proxy-State attributes, sent back as they came (RFC 2865). */
    readonly proxyState: Attribute[];
    readonly identifier: number;
    readonly authenticator: Buffer;
    /** `address:port`, as the audit records name a source. */
    readonly source: string;

    constructor(
      readonly client: RadiusClient,
      packet: RadiusPacket,
      readonly address: string,
      private readonly port: number,
      /** The RadSec connection it came on; undefined: UDP (no closure kept for the way back). */
      private readonly via: Via | undefined,
      readonly key: string,
      readonly entry: Entry,
      /** When the packet came in (the latency clock). */
      private readonly received: number,
      /** The client's counters. */
      private readonly slot: ClientSlot,
      readonly sentName: string | undefined,
    ) {
      this.source = [address, port].join(':'); // flat, not a rope (see RequestCache.key)
      this.identifier = packet.identifier;
      // A copy: the packet's own is a view that would keep the whole datagram alive while the login waits.
      this.authenticator = Buffer.from(packet.authenticator);
      this.username = sentName ?? null;
      this.proxyState = proxyStateOf(packet.attributes);
      this.details = { packetId: packet.identifier, authMethod: authMethod(packet.attributes) };
    }

    /**
     * Answer the client. The answer leaves only once its audit record is committed (batched with
     * the others of this turn), so an answered request always has one. If the store cannot be
     * written, nothing is answered or cached: the client's retransmission starts afresh.
     */
    finish(v: Reply): void {
      const response = encodeResponse(v.code, this.identifier, this.authenticator, v.attributes, this.client.secret, true);
      this.entry.exchange = undefined;
      deps.audit.commit({ event: 'radius.auth', outcome: v.outcome, reason: v.reason, username: this.username, source: this.source, client: this.client.name, details: { ...this.details, ...v.details } }, v.commit).then(
        () => {
          cache.answered(this.key, this.entry, response, deps.now());
          deps.counters.inc(v.outcome === 'accept' ? 'accepts' : v.outcome === 'reject' ? 'rejects' : 'challenges', v.reason);
          this.send(response);
          if (this.entry.repeat) this.send(response);
          deps.counters.latency.observe('radius', this.received);
          deps.counters.clients.answered(this.slot, v.outcome);
        },
        (e: unknown) => {
          cache.forget(this.key);
          deps.counters.inc('errors', 'audit_write');
          deps.log.error('audit write failed; request not answered', { error: (e as Error).message, source: this.source });
        },
      );
    }

    private send(b: Buffer): void {
      sendBack(b, this.via, this.address, this.port);
    }

    reject(reason: RadiusRejectReason, extra?: AuditDetails): Reply {
      return {
        code: Code.AccessReject,
        attributes: [...textAttributes(Attr.ReplyMessage, MESSAGES[reason]), ...this.proxyState],
        outcome: 'reject',
        reason,
        ...(extra ? { details: extra } : {}),
      };
    }

    /** Forget the request unanswered and drop it (a packet found broken only now). */
    dropMalformed(): void {
      cache.forget(this.key);
      drop(this.address, this.port, 'malformed', this.client, this.sentName);
    }
  }

  /** The first factor, then (secondFactor) the second: what the request gets as its answer. */
  async function authenticate(a: Answer, packet: RadiusPacket): Promise<void> {
    const { client, sentName, details } = a;
    const callingStationId = getString(packet.attributes, Attr.CallingStationId);
    if (callingStationId !== undefined) details.callingStationId = callingStationId;

    if (sentName === undefined || sentName === '') return a.finish(a.reject('no_user_name'));
    // EAP: the outer identity is often anonymous and says nothing about the person; the second
    // factor is for the inner identity the server names in its Access-Accept (see below).
    const eap = getAttr(packet.attributes, Attr.EapMessage) !== undefined;
    let subject = await deps.engine.subject(sentName);
    if (!subject.ok && !eap) return a.finish(a.reject('bad_user_name', { message: subject.problem }));
    if (subject.ok) {
      a.username = subject.name;
      if (subject.sent !== subject.name) details.sentUsername = subject.sent;
    }

    // The answer to one of our own code challenges: check the code, never the password again.
    const state = getAttr(packet.attributes, Attr.State);
    if (subject.ok && state !== undefined && challenges.isOurs(state)) {
      const code = codeOf(packet, client);
      if (code === undefined) return a.dropMalformed();
      return answerChallenge(a, subject, state, code, nasIdentity(packet.attributes), callingStationId);
    }

    let password: Buffer | undefined;
    const hidden = getAttr(packet.attributes, Attr.UserPassword);
    if (hidden !== undefined) {
      try {
        password = unhidePassword(hidden, client.secret, packet.authenticator);
      } catch (e) {
        if (!(e instanceof CryptoError)) throw e;
        return a.dropMalformed();
      }
    }

    const settings = deps.settings();
    // A TOTP user may append the code to a PAP password (for clients that cannot do challenges).
    // The split password is tried first; if it is refused, the whole password is tried, for
    // people whose real password happens to end in ",123456".
    const appended = password !== undefined && subject.ok && subject.codeDigits !== undefined ? splitAppendedCode(password, settings.otpDelimiter, subject.codeDigits) : undefined;

    // The first factor: the downstream RADIUS server, or the directory (per client).
    let first: FirstFactorPass;
    let identity: () => string;
    if ((client.firstFactor ?? settings.firstFactor) === 'directory') {
      details.firstFactor = 'directory';
      if (!subject.ok) return a.finish(a.reject('directory_needs_pap'));
      const checked = await checkWithDirectory(a, subject.name, password, appended);
      password?.fill(0);
      if (!checked.ok) return a.finish(checked.reply);
      ({ pass: first, identity } = checked);
    } else {
      const route = deps.route(sentName);
      if (route.realm !== undefined) details.realm = route.realm;
      if (route.pool === undefined || route.pool.servers.length === 0) return a.finish(a.reject('no_downstream', route.realm !== undefined ? { message: `realm ${route.realm}: no servers in pool ${route.pool?.name ?? '(missing)'}` } : undefined));
      const preferred = state !== undefined ? stickyStates.get(state, deps.now()) : undefined;
      let asked = await askDownstream(a, route.pool, route.rewrite, preferred, packet, appended?.password ?? password);
      let code = appended?.code;
      if (asked !== undefined && appended !== undefined && asked.answer.packet.code === Code.AccessReject) {
        asked = await askDownstream(a, route.pool, route.rewrite, preferred, packet, password);
        code = undefined;
      }
      password?.fill(0);
      if (asked === undefined) return;
      const { answer, server } = asked;
      details.downstream = server.name;
      const fromDownstream = { secret: server.secret, authenticator: answer.requestAuthenticator };
      const replyAttrs = clientResponseAttributes(answer.packet.attributes, fromDownstream, { secret: client.secret, authenticator: packet.authenticator }, a.proxyState, salt);
      if (answer.packet.code === Code.AccessReject) {
        return a.finish({ code: Code.AccessReject, attributes: replyAttrs, outcome: 'reject', reason: 'downstream_reject' });
      }
      if (answer.packet.code === Code.AccessChallenge) {
        const issued = getAttr(answer.packet.attributes, Attr.State);
        if (issued !== undefined) stickyStates.set(issued, server.name, deps.now());
        return a.finish({ code: Code.AccessChallenge, attributes: replyAttrs, outcome: 'challenge', reason: 'downstream_challenge' });
      }
      if (eap) {
        // The person is the inner identity the server names in its Accept (PEAP, TTLS); the
        // Accept, with its MPPE keys, waits for the second factor like any other.
        const inner = getString(answer.packet.attributes, Attr.UserName);
        if (inner !== undefined && inner !== '') {
          const innerSubject = await deps.engine.subject(inner);
          if (!innerSubject.ok) return a.finish(a.reject('bad_user_name', { message: innerSubject.problem, sentUsername: sentName }));
          subject = innerSubject;
          a.username = subject.name;
          details.sentUsername = sentName;
        } else if (settings.eapInnerIdentity === 'required' || !subject.ok) {
          return a.finish(a.reject('eap_no_identity', { message: 'the Access-Accept names no inner identity (User-Name); --eap-inner-identity required' }));
        }
      }
      first = { code, replyAttrs, accepted: { attributes: answer.packet.attributes, secret: server.secret, authenticator: answer.requestAuthenticator } };
      identity = downstreamIdentity(server, answer);
    }
    if (!subject.ok) return a.finish(a.reject('bad_user_name', { message: subject.problem }));
    // Started, neither awaited nor returned: this frame, with the packet, is let go while the
    // second factor waits, and the login's promise chain has no link for this function's promise.
    secondFactor(a, subject, first, new RadiusOrigin(a.address, nasIdentity(packet.attributes), callingStationId ?? '', identity), eap, settings).catch((e: unknown) => failed(a, e));
  }

  /** The password is right: now the second factor, and the answer it decides. */
  // Not an async function: while a phone decides, the login keeps the continuation below with
  // what its answer is built from, not a suspended frame with all of this (about 0.3 KB each).
  function secondFactor(a: Answer, person: KnownSubject, first: FirstFactorPass, origin: RadiusOrigin, eap: boolean, settings: Readonly<Settings>): Promise<void> {
    const client = a.client;
    const station = a.details.callingStationId;
    const username = person.name;
    const verdict = deps.engine.decide({
      subject: person,
      ...(first.code !== undefined ? { code: { text: first.code, how: 'appended' as const } } : {}),
      origin,
      push: { title: settings.messageTitle, description: settings.messageDescription, fingerprint: station !== undefined ? [client.name, station].join(' from ') : client.name },
      view: { client: client.name, station },
      audit: { source: a.source, client: client.name },
      // EAP has no text prompt: no number to type, and no code challenge (below).
      ...(settings.pushNumberMatching === 'yes' && !eap ? { numberMatching: 'type' as const } : {}),
    });
    return verdict.then((v) => answerVerdict(a, username, first, eap, settings, v));
  }

  /** The second factor's verdict as the answer: a code challenge (its State issued here), an accept or a reject. */
  async function answerVerdict(a: Answer, username: string, first: FirstFactorPass, eap: boolean, settings: Readonly<Settings>, verdict: EngineVerdict): Promise<void> {
    if (verdict.kind === 'code_required' && eap) return a.finish(a.reject('eap_needs_push', { ...verdict.details, factor: 'totp' }));
    if (verdict.kind === 'code_required') {
      const number = verdict.reason === 'push_number_challenge';
      const st = await challenges.issue({
        client: a.client.cidr.text,
        username,
        expires: deps.now() + (number ? settings.messageTtlSeconds : settings.totpChallengeTtl) * 1000,
        downstreamAttributes: first.accepted.attributes,
        downstreamSecret: first.accepted.secret,
        downstreamAuthenticator: first.accepted.authenticator,
        ...(number ? { pushTicket: verdict.ticket } : {}),
      });
      return a.finish({
        code: Code.AccessChallenge,
        attributes: [...textAttributes(Attr.ReplyMessage, MESSAGES[number ? 'number_required' : 'code_required']), { type: Attr.State, value: st }, ...a.proxyState],
        outcome: 'challenge',
        reason: verdict.reason,
        details: verdict.details,
      });
    }
    return a.finish(translate(verdict, first.replyAttrs, a));
  }

  /**
   * The password checked by binding to the directory as the user (PAP only: CHAP and MS-CHAP
   * carry no password to bind with). An appended code is split off first, as downstream.
   */
  async function checkWithDirectory(a: Answer, name: string, pw: Buffer | undefined, split: { password: Buffer; code: string } | undefined): Promise<{ ok: true; pass: FirstFactorPass; identity: () => string } | { ok: false; reply: Reply }> {
    if (pw === undefined) return { ok: false, reply: a.reject('directory_needs_pap') };
    const dir = deps.directory();
    if (!dir.ok) return { ok: false, reply: a.reject('no_directory', { message: dir.problem }) };
    let result = await dir.directory.checkPassword(name, (split?.password ?? pw).toString('utf8'));
    let code = split?.code;
    if (!result.ok && result.reason === 'wrong_password' && split !== undefined) {
      result = await dir.directory.checkPassword(name, pw.toString('utf8'));
      code = undefined;
    }
    if (!result.ok) {
      if (result.reason === 'disabled' || result.reason === 'not_found') await deps.onDirectoryAccount(name, result.reason === 'disabled' ? 'disabled' : 'removed');
      const shown = DIRECTORY_REFUSALS[result.reason];
      return { ok: false, reply: { code: Code.AccessReject, attributes: [...textAttributes(Attr.ReplyMessage, MESSAGES[shown]), ...a.proxyState], outcome: 'reject', reason: `directory_${result.reason}`, details: { message: result.detail } } };
    }
    return { ok: true, pass: { code, replyAttrs: [...a.proxyState], accepted: { attributes: [], secret: a.client.secret, authenticator: a.authenticator } }, identity: directoryIdentity(result.user.dn) };
  }

  /** The engine's accept or reject as a RADIUS answer. */
  function translate(v: Exclude<EngineVerdict, { kind: 'code_required' }>, acceptAttributes: Attribute[], a: Answer): Reply {
    if (v.kind === 'reject') return a.reject(v.reason, v.details);
    // The policy rule's reply attributes (checked when the rule was stored), after the first factor's.
    const extra = v.rule !== undefined && v.rule.replyAttributes !== '' ? replyAttributesOf(v.rule.replyAttributes) : [];
    return { code: Code.AccessAccept, attributes: extra.length > 0 ? [...acceptAttributes, ...extra] : acceptAttributes, outcome: 'accept', reason: v.reason, details: v.details, ...(v.commit ? { commit: v.commit } : {}) };
  }

  /**
   * Forward to the pool's servers (app/radius/pools.ts decides the order: at most two are tried,
   * the first within the pool's response window); undefined (and audited, and forgotten) when none
   * answers. `rewrite`: the User-Name the realm sends downstream.
   */
  async function askDownstream(a: Answer, pool: PoolSpec, rewrite: string | undefined, preferred: string | undefined, packet: RadiusPacket, password: Buffer | undefined): Promise<{ answer: DownstreamAnswer; server: DownstreamTarget } | undefined> {
    const { client, entry } = a;
    const settings = deps.settings();
    const plan = deps.pools.plan(pool, preferred);
    let failure: { error: DownstreamError; server: DownstreamTarget } | undefined;
    try {
      for (let i = 0; i < plan.length; i++) {
        const server = plan[i]!;
        const last = i === plan.length - 1;
        const downAuth = deps.random(16);
        let attrs = downstreamRequestAttributes(packet.attributes, { secret: client.secret, authenticator: packet.authenticator }, { secret: server.secret, authenticator: downAuth }, password, salt);
        if (rewrite !== undefined) attrs = withUserName(attrs, rewrite);
        const receiveMs = last ? settings.proxyReceiveTimeout * 1000 : Math.min(pool.responseWindowMs, settings.proxyReceiveTimeout * 1000);
        const exchange = deps.pools.send(pool, server, 'access', attrs, downAuth, { sendMs: settings.proxySendTimeout * 1000, receiveMs });
        entry.exchange = exchange;
        try {
          return { answer: await exchange.answer, server };
        } catch (e) {
          if (!(e instanceof DownstreamError)) throw e;
          failure = { error: e, server };
          if (e.reason === 'closed') break;
          if (!last) deps.log.warn('downstream server did not answer; trying the next one', { pool: pool.name, server: server.name, reason: e.reason });
        }
      }
    } finally {
      entry.exchange = undefined;
    }
    if (failure === undefined) throw new Error(`pool ${pool.name} has no servers`);
    // No answer to the client: it retries (or fails over to another server), and since the
    // entry is forgotten, its retransmission is forwarded afresh.
    cache.forget(a.key);
    deps.counters.inc('errors', `downstream_${failure.error.reason}`);
    await deps.audit.record({ event: 'radius.auth', outcome: 'error', reason: `downstream_${failure.error.reason}`, username: a.username, source: a.source, client: client.name, details: { ...a.details, downstream: failure.server.name, message: failure.error.message } });
    return undefined;
  }

  /** The code in a request: typed as the PAP password, or inside a CHAP response; undefined when the packet is broken. */
  function codeOf(packet: RadiusPacket, client: RadiusClient): { text: string } | { matches(code: string): boolean } | undefined {
    const hidden = getAttr(packet.attributes, Attr.UserPassword);
    if (hidden !== undefined) {
      try {
        return { text: unhidePassword(hidden, client.secret, packet.authenticator).toString('utf8').trim() };
      } catch {
        return undefined;
      }
    }
    const chap = getAttr(packet.attributes, Attr.ChapPassword);
    if (chap !== undefined && chap.length === 17) {
      const challenge = getAttr(packet.attributes, Attr.ChapChallenge) ?? packet.authenticator;
      const ident = chap[0]!;
      const response = chap.subarray(1);
      return { matches: (candidate) => safeEqual(chapResponse(ident, Buffer.from(candidate, 'latin1'), challenge), response) };
    }
    return { matches: () => false };
  }

  /**
   * The answer to one of our own challenges: a TOTP code, or the number the phone shows (then the
   * login waits here for the phone's decision, holding only `a` and what the answer needs).
   */
  async function answerChallenge(a: Answer, subject: KnownSubject, state: Buffer, code: { text: string } | { matches(code: string): boolean }, nas: string, callingStationId: string | undefined): Promise<void> {
    const client = a.client;
    const found = await challenges.take(state);
    if (!found.found) return a.finish(a.reject('state_expired', { factor: 'totp' }));
    const ch = found.challenge;
    const totp: AuditDetails = { factor: ch.pushTicket !== undefined ? 'push' : 'totp' };
    // The State is bound to the client and the user it was issued to.
    if (ch.client !== client.cidr.text || ch.username !== subject.name) return a.finish(a.reject('state_mismatch', totp));
    const verdict = await deps.engine.decide({
      subject,
      // The answer is the number the phone shows (number matching), or a TOTP code.
      ...(ch.pushTicket !== undefined ? { numberAnswer: { ...code, ticket: ch.pushTicket } } : { code: { ...code, how: 'challenge' as const } }),
      origin: { door: 'radius', source: client.cidr.text, nas, station: callingStationId ?? '', firstFactor: '' },
      push: { title: '', description: '', fingerprint: '' },
      view: { client: client.name, station: callingStationId },
      audit: { source: a.source, client: client.name },
    });
    if (verdict.kind === 'code_required') return a.finish(a.reject('totp_wrong', totp));
    const attributes = clientResponseAttributes(ch.downstreamAttributes, { secret: ch.downstreamSecret, authenticator: ch.downstreamAuthenticator }, { secret: client.secret, authenticator: a.authenticator }, a.proxyState, salt);
    a.finish(translate(verdict, attributes, a));
  }

  return {
    handle,
    activity: (c) => activity.get(c),
    downstreamHealth: () => deps.pools.summary(),
    sizes: () => ({ requests: cache.size, challenges: challenges.size(), dropSources: drops.size(), clientActivity: activity.size }),
    shutdown() {
      closing = true;
      clearInterval(sweep);
    },
  };
}
