// The per-request flow of the RADIUS proxy: check the client, forward to the downstream server,
// and only when it accepts ask for the second factor; answer accept, reject, challenge or
// nothing. Retransmissions are absorbed here: a request is keyed by client address, port,
// identifier and authenticator, and its final answer is cached and repeated. Abuse limits live
// here too: push requests per user (waiting at once, and new ones per sliding window) and an
// optional request rate per RADIUS client (app/lib/rate-limit.ts).
import type { Auditor } from '../audit/audit.js';
import type { AuditDetails, Outcome } from '../audit/chain.js';
import type { Settings } from '../config.js';
import { normalizeAddress } from '../lib/cidr.js';
import type { Logger } from '../lib/log.js';
import type { Counters } from '../lib/metrics.js';
import { TokenBuckets } from '../lib/rate-limit.js';
import type { PushLimiter } from '../mfa/push-limits.js';
import { failmodeVerdict } from '../mfa/failmode.js';
import type { ApprovalRequest, FactorOutcome } from '../mfa/factor.js';
import { messageAuthenticatorVerdict, type ClientTable, type RadiusClient } from './clients.js';
import { checkRequestMa, Code, decodePacket, encodeResponse, getAttr, getString, getVendorAttr, MsAttr, RadiusDecodeError, textAttributes, VENDOR_MICROSOFT, Attr, type Attribute, type RadiusPacket } from './codec.js';
import { normalizeUsername } from '../db/queries/users.js';
import { codeEquals } from '../mfa/otp.js';
import type { TotpFactor } from '../mfa/totp.js';
import { createChallengeStore, splitAppendedCode } from './challenges.js';
import { chapResponse, CryptoError, safeEqual, unhidePassword } from './crypto.js';
import { DownstreamError, type DownstreamAnswer, type DownstreamLeg, type DownstreamTarget, type Exchange } from './downstream.js';
import { clientResponseAttributes, downstreamRequestAttributes, proxyStateOf } from './rewrite.js';

/** How long a final answer is repeated to late retransmissions. */
export const ANSWER_CACHE_MS = 30_000;
/** Drops from one source for one reason are audited once per window, with a count of the rest. */
const DROP_AUDIT_WINDOW_MS = 60_000;
/** How often (in ticks of the 1 s sweep) the rate limiters forget keys that no longer matter. */
const LIMITER_SWEEP_TICKS = 10;

export interface ProxyDeps {
  settings(): Readonly<Settings>;
  clients(): ClientTable;
  downstream(): DownstreamTarget | undefined;
  leg: DownstreamLeg;
  send(buf: Buffer, port: number, address: string): void;
  audit: Auditor;
  counters: Counters;
  totp: TotpFactor;
  /** Ask for a push approval; never rejects. */
  approve(req: ApprovalRequest, settings: Readonly<Settings>, signal: AbortSignal): Promise<FactorOutcome>;
  /** Per-user push limits, shared with the Windows logon path. */
  pushLimits: PushLimiter;
  /** An `auto` client sent its first Message-Authenticator: persist that it is now required. */
  onMessageAuthenticatorSeen(client: RadiusClient): void;
  random(size: number): Buffer;
  now(): number;
  log: Logger;
}

export interface PendingPush {
  username: string;
  client: string;
  callingStationId: string | undefined;
  startedAt: number;
  ttlSeconds: number;
  /** Logins (original and joined) waiting on this push. */
  waiting: number;
}

export interface Proxy {
  handle(buf: Buffer, address: string, port: number): void;
  /** Logins waiting for a second factor, and distinct push requests behind them. */
  pending(): { logins: number; pushes: number };
  /** The push requests waiting for a decision, oldest first. */
  pendingPushes(): PendingPush[];
  /** When a client (by its CIDR text) was last heard, and whether it signs requests. */
  activity(client: string): { lastSeen: number; sentMessageAuthenticator: boolean } | undefined;
  /** Whether the downstream server answered the last exchange. */
  downstreamHealth(): 'ok' | 'failing' | 'unknown';
  /** Answer every waiting login with a reject and stop taking new ones. */
  shutdown(): Promise<void>;
}

interface Entry {
  response: Buffer | undefined;
  exchange: Exchange | undefined;
  /** A retransmission came while the answer's audit record was being committed: answer it too. */
  repeat: boolean;
}

type Verdict = { code: number; attributes: Attribute[]; outcome: Outcome; reason: string; details?: AuditDetails };

const MESSAGES = {
  push_denied: 'The login was denied on the phone.',
  push_expired: 'The login was not approved in time.',
  unenrolled: 'No second factor is set up for this user.',
  failmode_secure: 'The approval service cannot be reached; try again later.',
  no_user_name: 'The request has no user name.',
  no_downstream: 'No RADIUS server is configured to check passwords.',
  locked: 'This account is locked; ask your administrator.',
  totp_wrong: 'The code is not correct.',
  totp_replayed: 'That code was already used; wait for the next one.',
  state_expired: 'The code request has expired; log in again.',
  state_mismatch: 'The code request does not belong to this login; log in again.',
  shutdown: 'The authentication service is restarting; try again.',
  push_limited: 'Too many approval requests; wait a few minutes.',
} as const;

const CODE_PROMPT = 'Enter the code from your authenticator app';

function authMethod(attrs: readonly Attribute[]): NonNullable<AuditDetails['authMethod']> {
  if (getAttr(attrs, Attr.UserPassword)) return 'pap';
  if (getAttr(attrs, Attr.ChapPassword)) return 'chap';
  if (getAttr(attrs, Attr.EapMessage)) return 'eap';
  if (getVendorAttr(attrs, VENDOR_MICROSOFT, MsAttr.Chap2Response)) return 'mschapv2';
  if (getVendorAttr(attrs, VENDOR_MICROSOFT, MsAttr.ChapResponse)) return 'mschap';
  return 'other';
}

/** A client's bucket holds one second's worth of requests (at least one). */
function clientBurst(perSecond: number): number {
  return Math.max(1, perSecond);
}

export function createProxy(deps: ProxyDeps): Proxy {
  const cache = new Map<string, Entry>();
  /** Answered keys in answer order; the TTL is constant, so this is also expiry order. */
  const expiry: { key: string; at: number }[] = [];
  let expiryHead = 0;
  const joins = new Map<string, Promise<FactorOutcome>>();
  const pushes = new Map<string, PendingPush>();
  const activity = new Map<string, { lastSeen: number; sentMessageAuthenticator: boolean }>();
  let downstreamState: 'ok' | 'failing' | 'unknown' = 'unknown';
  const dropWindows = new Map<string, { since: number; suppressed: number }>();
  const abort = new AbortController();
  const challenges = createChallengeStore(deps.random, deps.now);
  // Abuse limits. Pushes per user: how many are waiting now (by normalised user name), and when
  // the recent ones were created. Requests per RADIUS client: a token bucket per client entry.
  const clientBuckets = new TokenBuckets();
  let waiting = 0;
  let closing = false;
  let ticks = 0;

  const sweep = setInterval(() => {
    const now = deps.now();
    while (expiryHead < expiry.length && expiry[expiryHead]!.at <= now) cache.delete(expiry[expiryHead++]!.key);
    if (expiryHead > 4096) {
      expiry.splice(0, expiryHead);
      expiryHead = 0;
    }
    if (dropWindows.size > 10_000) dropWindows.clear();
    if (++ticks % LIMITER_SWEEP_TICKS === 0) {
      const s = deps.settings();
      deps.pushLimits.sweep(s);
      if (s.clientRateLimit > 0) clientBuckets.sweep(now, s.clientRateLimit, clientBurst(s.clientRateLimit));
      else clientBuckets.clear();
    }
  }, 1000);
  sweep.unref();

  const salt = (): Buffer => {
    const s = deps.random(2);
    s[0] = s[0]! | 0x80;
    return s;
  };

  function drop(address: string, port: number, reason: string, client: RadiusClient | undefined, username?: string): void {
    deps.counters.inc('drops', reason);
    const key = `${address}|${reason}`;
    const now = deps.now();
    const w = dropWindows.get(key);
    if (w !== undefined && now - w.since < DROP_AUDIT_WINDOW_MS) {
      w.suppressed++;
      return;
    }
    dropWindows.set(key, { since: now, suppressed: 0 });
    const details: AuditDetails = {};
    if (w !== undefined && w.suppressed > 0) details.suppressed = w.suppressed;
    deps.audit.record({ event: 'radius.drop', outcome: 'drop', reason, source: `${address}:${port}`, client: client?.name ?? null, username: username ?? null, details });
  }

  function handle(buf: Buffer, rawAddress: string, port: number): void {
    deps.counters.inc('packets');
    const address = normalizeAddress(rawAddress);
    const client = deps.clients().lookup(address);
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
        deps.send(encodeResponse(Code.AccessAccept, packet.identifier, packet.authenticator, [], client.secret), port, address);
      }
      return;
    }
    if (packet.code !== Code.AccessRequest) return drop(address, port, 'unsupported_code', client);

    const key = `${address}|${port}|${packet.identifier}|${packet.authenticator.toString('latin1')}`;
    const known = cache.get(key);
    if (known !== undefined) {
      deps.counters.inc('retransmissions');
      if (known.response !== undefined) deps.send(known.response, port, address);
      else if (known.exchange !== undefined) known.exchange.retransmit();
      else known.repeat = true;
      return;
    }
    // Per-client rate limit (off by default): checked after the cache, so retransmissions of a
    // request already taken never count; a request over it is dropped unanswered and not cached,
    // so the client's own retry is judged afresh.
    const perSecond = deps.settings().clientRateLimit;
    if (perSecond > 0 && !clientBuckets.take(client.cidr.text, deps.now(), perSecond, clientBurst(perSecond))) {
      return drop(address, port, 'rate_limited', client, getString(packet.attributes, Attr.UserName));
    }
    deps.counters.inc('requests');
    const entry: Entry = { response: undefined, exchange: undefined, repeat: false };
    cache.set(key, entry);
    // The packet's attribute values are views into `buf`, which stays alive with them.
    authenticate(client, packet, address, port, key, entry).catch((e: unknown) => {
      // Nothing was answered (an answer is sent only after its audit record is written): the
      // client retries, and its retransmission starts afresh. This is also the path when the
      // store cannot be written (busy, disk full): fail closed rather than answer unaudited.
      cache.delete(key);
      deps.counters.inc('errors', 'internal');
      deps.log.error('request failed', { error: (e as Error).message, source: `${address}:${port}` });
      try {
        deps.audit.record({ event: 'radius.auth', outcome: 'error', reason: 'internal_error', source: `${address}:${port}`, client: client.name, username: getString(packet.attributes, Attr.UserName) ?? null });
      } catch {
        // The store is what failed; the log line above is all there is.
      }
    });
  }

  async function authenticate(client: RadiusClient, packet: RadiusPacket, address: string, port: number, key: string, entry: Entry): Promise<void> {
    const source = `${address}:${port}`;
    const username = getString(packet.attributes, Attr.UserName);
    const callingStationId = getString(packet.attributes, Attr.CallingStationId);
    const proxyState = proxyStateOf(packet.attributes);
    const details: AuditDetails = { packetId: packet.identifier, authMethod: authMethod(packet.attributes) };
    if (callingStationId !== undefined) details.callingStationId = callingStationId;

    /** A store write that goes into the audit record's transaction (a good TOTP code's step). */
    let write: (() => void) | undefined;
    const defer = (w: () => void): void => {
      write = w;
    };
    const finish = (v: Verdict): void => {
      const response = encodeResponse(v.code, packet.identifier, packet.authenticator, v.attributes, client.secret, true);
      entry.exchange = undefined;
      // The answer leaves only once its audit record is committed (batched with the others of
      // this turn), so an answered request always has one. If the store cannot be written,
      // nothing is answered or cached: the client's retransmission starts afresh.
      deps.audit.commit({ event: 'radius.auth', outcome: v.outcome, reason: v.reason, username: username ?? null, source, client: client.name, details: { ...details, ...v.details } }, write).then(
        () => {
          entry.response = response;
          expiry.push({ key, at: deps.now() + ANSWER_CACHE_MS });
          deps.counters.inc(v.outcome === 'accept' ? 'accepts' : v.outcome === 'reject' ? 'rejects' : 'challenges', v.reason);
          deps.send(response, port, address);
          if (entry.repeat) deps.send(response, port, address);
        },
        (e: unknown) => {
          cache.delete(key);
          deps.counters.inc('errors', 'audit_write');
          deps.log.error('audit write failed; request not answered', { error: (e as Error).message, source });
        },
      );
    };
    const reject = (reason: keyof typeof MESSAGES, extra?: AuditDetails): Verdict => ({
      code: Code.AccessReject,
      attributes: [...textAttributes(Attr.ReplyMessage, MESSAGES[reason]), ...proxyState],
      outcome: 'reject',
      reason,
      ...(extra ? { details: extra } : {}),
    });

    if (username === undefined || username === '') return finish(reject('no_user_name'));

    // The answer to one of our own code challenges: check the code, never the password again.
    const state = getAttr(packet.attributes, Attr.State);
    if (state !== undefined && challenges.isOurs(state)) {
      const matches = codeMatcher(packet, client);
      if (matches === undefined) {
        cache.delete(key);
        return drop(address, port, 'malformed', client, username);
      }
      return finish(answerChallenge(client, packet, username, state, matches, proxyState, reject, source, defer));
    }

    const target = deps.downstream();
    if (target === undefined) return finish(reject('no_downstream'));

    let password: Buffer | undefined;
    const hidden = getAttr(packet.attributes, Attr.UserPassword);
    if (hidden !== undefined) {
      try {
        password = unhidePassword(hidden, client.secret, packet.authenticator);
      } catch (e) {
        if (!(e instanceof CryptoError)) throw e;
        cache.delete(key);
        return drop(address, port, 'malformed', client, username);
      }
    }

    const settings = deps.settings();
    // A TOTP user may append the code to a PAP password (for clients that cannot do challenges).
    // The split password is tried first; if the server rejects it, the whole password is tried,
    // for people whose real password happens to end in ",123456".
    const status = deps.totp.status(username);
    const appended = password !== undefined && status.known && status.totp !== null ? splitAppendedCode(password, settings.otpDelimiter, status.totp.digits) : undefined;
    let answer = await askDownstream(target, packet, client, appended?.password ?? password, entry, key, source, username, details);
    let code = appended?.code;
    if (answer !== undefined && appended !== undefined && answer.packet.code === Code.AccessReject) {
      answer = await askDownstream(target, packet, client, password, entry, key, source, username, details);
      code = undefined;
    }
    password?.fill(0);
    if (answer === undefined) return;
    details.downstream = target.name;
    const fromDownstream = { secret: target.secret, authenticator: answer.requestAuthenticator };
    const replyAttrs = clientResponseAttributes(answer.packet.attributes, fromDownstream, { secret: client.secret, authenticator: packet.authenticator }, proxyState, salt);
    if (answer.packet.code === Code.AccessReject) {
      return finish({ code: Code.AccessReject, attributes: replyAttrs, outcome: 'reject', reason: 'downstream_reject' });
    }
    if (answer.packet.code === Code.AccessChallenge) {
      return finish({ code: Code.AccessChallenge, attributes: replyAttrs, outcome: 'challenge', reason: 'downstream_challenge' });
    }

    // The password is right. Now the second factor: TOTP when the user has an account, else
    // push when a push service is configured, else --unenrolled-users.
    const accept = (reason: string, extra?: AuditDetails): Verdict => ({ code: Code.AccessAccept, attributes: replyAttrs, outcome: 'accept', reason, ...(extra ? { details: extra } : {}) });
    const unenrolled = (): Verdict => (deps.settings().unenrolledUsers === 'allow' ? accept('unenrolled_allowed', { factor: 'none' }) : reject('unenrolled', { factor: 'none' }));
    if (code !== undefined) {
      // The code came appended to the password: verify() reads the account afresh (lock included).
      const totp: AuditDetails = { factor: 'totp', appendedCode: true };
      const r = verifyCode(username, codeEquals(code), client, source, defer);
      return finish(r.ok ? accept('totp_ok', totp) : reject(r.reason, totp));
    }
    // Known users are looked up again (their lock may have changed while the server answered);
    // for the many users the store does not know, the first lookup stands.
    const now = status.known ? deps.totp.status(username) : status;
    if (now.known && now.lock.locked) return finish(reject('locked', { factor: now.totp ? 'totp' : 'push' }));
    if (now.known && now.totp !== null) {
      const totp: AuditDetails = { factor: 'totp' };
      const st = challenges.issue({
        client: client.cidr.text,
        username: normalizeUsername(username),
        expires: deps.now() + settings.totpChallengeTtl * 1000,
        downstreamAttributes: answer.packet.attributes,
        downstreamSecret: target.secret,
        downstreamAuthenticator: answer.requestAuthenticator,
      });
      return finish({
        code: Code.AccessChallenge,
        attributes: [...textAttributes(Attr.ReplyMessage, CODE_PROMPT), { type: Attr.State, value: st }, ...proxyState],
        outcome: 'challenge',
        reason: 'totp_challenge',
        details: totp,
      });
    }
    if (settings.notakeyHost === undefined || settings.notakeyAccessId === undefined) return finish(unenrolled());

    const joinKey = `${client.cidr.text}|${username}|${callingStationId ?? ''}`;
    let outcome = joins.get(joinKey);
    const joined = outcome !== undefined;
    if (outcome === undefined) {
      // A new push request (a join is not one): the per-user limits apply.
      const admitted = deps.pushLimits.admit(username, settings);
      if (admitted.refused !== undefined) {
        deps.counters.inc('push_limited', admitted.refused);
        return finish(reject('push_limited', { factor: 'push', limit: admitted.refused }));
      }
      const fingerprint = callingStationId !== undefined ? `${client.name} from ${callingStationId}` : client.name;
      outcome = deps.approve({ username, fingerprint }, settings, abort.signal);
      const mine = outcome;
      joins.set(joinKey, mine);
      pushes.set(joinKey, { username, client: client.name, callingStationId, startedAt: deps.now(), ttlSeconds: settings.messageTtlSeconds, waiting: 0 });
      void mine.finally(() => {
        admitted.release();
        if (joins.get(joinKey) === mine) {
          joins.delete(joinKey);
          pushes.delete(joinKey);
        }
      });
    }
    const view = pushes.get(joinKey);
    if (view !== undefined) view.waiting++;
    waiting++;
    let result: FactorOutcome;
    try {
      result = await outcome;
    } finally {
      waiting--;
    }
    const push: AuditDetails = { factor: 'push', ...(joined ? { joined: true } : {}) };
    if (closing) return finish(reject('shutdown', push));
    switch (result.kind) {
      case 'approved':
        return finish(accept('push_approved', push));
      case 'denied':
        return finish(reject('push_denied', push));
      case 'expired':
        return finish(reject('push_expired', push));
      case 'unknown_user':
        return finish(unenrolled());
      case 'unreachable': {
        const fm = failmodeVerdict(deps.settings().failmode);
        const d = { ...push, message: result.detail };
        return finish(fm.accept ? accept(fm.reason, d) : reject('failmode_secure', d));
      }
    }
  }

  /** Forward to the downstream server; undefined (and audited, and forgotten) when it does not answer. */
  async function askDownstream(target: DownstreamTarget, packet: RadiusPacket, client: RadiusClient, password: Buffer | undefined, entry: Entry, key: string, source: string, username: string, details: AuditDetails): Promise<DownstreamAnswer | undefined> {
    const settings = deps.settings();
    const downAuth = deps.random(16);
    const attrs = downstreamRequestAttributes(packet.attributes, { secret: client.secret, authenticator: packet.authenticator }, { secret: target.secret, authenticator: downAuth }, password, salt);
    const exchange = deps.leg.exchange(target, attrs, downAuth, { sendMs: settings.proxySendTimeout * 1000, receiveMs: settings.proxyReceiveTimeout * 1000 });
    entry.exchange = exchange;
    try {
      const answer = await exchange.answer;
      downstreamState = 'ok';
      return answer;
    } catch (e) {
      if (!(e instanceof DownstreamError)) throw e;
      if (e.reason !== 'closed') downstreamState = 'failing';
      // No answer to the client: it retries (or fails over to another server), and since the
      // entry is forgotten, its retransmission is forwarded afresh.
      cache.delete(key);
      deps.counters.inc('errors', `downstream_${e.reason}`);
      deps.audit.record({ event: 'radius.auth', outcome: 'error', reason: `downstream_${e.reason}`, username, source, client: client.name, details: { ...details, downstream: target.name } });
      return undefined;
    } finally {
      entry.exchange = undefined;
    }
  }

  /** How to recognise the code in a request: typed as the PAP password, or inside a CHAP response. */
  function codeMatcher(packet: RadiusPacket, client: RadiusClient): ((code: string) => boolean) | undefined {
    const hidden = getAttr(packet.attributes, Attr.UserPassword);
    if (hidden !== undefined) {
      try {
        return codeEquals(unhidePassword(hidden, client.secret, packet.authenticator).toString('utf8').trim());
      } catch {
        return undefined;
      }
    }
    const chap = getAttr(packet.attributes, Attr.ChapPassword);
    if (chap !== undefined && chap.length === 17) {
      const challenge = getAttr(packet.attributes, Attr.ChapChallenge) ?? packet.authenticator;
      const ident = chap[0]!;
      const response = chap.subarray(1);
      return (candidate) => safeEqual(chapResponse(ident, Buffer.from(candidate, 'latin1'), challenge), response);
    }
    return () => false;
  }

  /** Verify a code; a lockout it causes is an audit event of its own. */
  function verifyCode(username: string, matches: (code: string) => boolean, client: RadiusClient, source: string, defer: (write: () => void) => void): { ok: true } | { ok: false; reason: 'totp_wrong' | 'totp_replayed' | 'locked' } {
    const r = deps.totp.verify(username, matches, defer);
    if (r.ok) return r;
    if (r.reason === 'no_totp') return { ok: false, reason: 'totp_wrong' };
    if (r.reason !== 'locked' && r.lockedNow) {
      deps.audit.record({ event: 'user.lockout', outcome: 'ok', username, source, client: client.name, reason: 'too_many_wrong_codes' });
    }
    return { ok: false, reason: r.reason };
  }

  function answerChallenge(client: RadiusClient, packet: RadiusPacket, username: string, state: Buffer, matches: (code: string) => boolean, proxyState: Attribute[], reject: (reason: keyof typeof MESSAGES, extra?: AuditDetails) => Verdict, source: string, defer: (write: () => void) => void): Verdict {
    const totp: AuditDetails = { factor: 'totp' };
    const found = challenges.take(state);
    if (!found.found) return reject('state_expired', totp);
    const ch = found.challenge;
    // The State is bound to the client and the user it was issued to.
    if (ch.client !== client.cidr.text || ch.username !== normalizeUsername(username)) return reject('state_mismatch', totp);
    const r = verifyCode(username, matches, client, source, defer);
    if (!r.ok) return reject(r.reason, totp);
    const attributes = clientResponseAttributes(ch.downstreamAttributes, { secret: ch.downstreamSecret, authenticator: ch.downstreamAuthenticator }, { secret: client.secret, authenticator: packet.authenticator }, proxyState, salt);
    return { code: Code.AccessAccept, attributes, outcome: 'accept', reason: 'totp_ok', details: totp };
  }

  return {
    handle,
    pending: () => ({ logins: waiting, pushes: joins.size }),
    pendingPushes: () => [...pushes.values()].map((p) => ({ ...p })),
    activity: (c) => activity.get(c),
    downstreamHealth: () => downstreamState,
    async shutdown() {
      closing = true;
      abort.abort();
      clearInterval(sweep);
      await Promise.allSettled([...joins.values()]);
      // Let the awaiting requests write their rejects.
      await new Promise((r) => setImmediate(r));
    },
  };
}
