// The push API's shape (Notakey-compatible, DESIGN.md "Push API client"), pure:
//   POST {host}v2/application/{access_id}/application_user/{username}/auth_request
//        {action, description, ttl_seconds, fingerprint} -> {uuid, ...}; unknown user: 404
//   GET  {host}v2/application/{access_id}/auth_request/{uuid}
//        -> {response_type: "ApproveRequest" | "DenyRequest" | null, expired, ...}
// What a call's answer means is decided here; sending it is transport.ts, timing scheduler.ts.
import type { ApprovalRequest, FactorOutcome } from '../factor.js';

/** Where and how long: from the settings at the time of the login. */
export interface PushSettings {
  /** Base URL incl. scheme and path, ending in `/`, without the version. */
  host: string;
  accessId: string;
  callTimeoutMs: number;
  ttlSeconds: number;
}

/** A call's result as the transport reports it. */
export type CallResult = { status: number; body: Record<string, unknown> | undefined } | { error: string; timeout: boolean };

export function pushDescription(template: string, username: string): string {
  return template.split('{0}').join(username);
}

/** The create call's URL (throws on a host that is no http(s) URL or a user name that cannot be encoded). */
export function createUrl(s: PushSettings, username: string): URL {
  const url = new URL(`${s.host}v2/application/${encodeURIComponent(s.accessId)}/application_user/${encodeURIComponent(username)}/auth_request`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
  return url;
}

/** `{host}v2/application/{access_id}/auth_request/`: the poll URL once the uuid is known. */
export function pollBase(s: PushSettings): string {
  return `${s.host}v2/application/${encodeURIComponent(s.accessId)}/auth_request/`;
}

export function createBody(s: PushSettings, req: ApprovalRequest): string {
  return JSON.stringify({ action: req.title, description: pushDescription(req.description, req.username), ttl_seconds: s.ttlSeconds, fingerprint: req.fingerprint });
}

const unreachable = (result: { error: string; timeout: boolean }, call: string): FactorOutcome => ({ kind: 'unreachable', cause: result.timeout ? 'timeout' : 'unreachable', detail: `${call}: ${result.error}` });

/** The create call's answer: the uuid to poll, or the outcome already known. */
export function interpretCreate(result: CallResult, base: string): { uuid: string; pollUrl: URL } | { outcome: FactorOutcome } {
  if ('error' in result) return { outcome: unreachable(result, 'create') };
  if (result.status === 404) return { outcome: { kind: 'unknown_user' } };
  if (result.status < 200 || result.status >= 300) return { outcome: { kind: 'unreachable', cause: 'unreachable', detail: `create: HTTP ${result.status}` } };
  const uuid = result.body?.['uuid'];
  if (typeof uuid !== 'string' || uuid === '') return { outcome: { kind: 'unreachable', cause: 'unreachable', detail: 'create: response has no uuid' } };
  try {
    return { uuid, pollUrl: new URL(`${base}${encodeURIComponent(uuid)}`) };
  } catch (e) {
    return { outcome: { kind: 'unreachable', cause: 'unreachable', detail: `create: unreachable: ${(e as Error).message}` } };
  }
}

/**
 * A poll's answer: the decision, or `pending` (keep polling); a failed poll is `failed`, which only
 * counts when no poll of the request was ever answered (see endOfTtl).
 */
export function interpretPoll(result: CallResult): { outcome: FactorOutcome } | { pending: true } | { failed: { error: string; timeout: boolean } } {
  if ('error' in result) return { failed: result };
  if (result.status === 404) return { outcome: { kind: 'expired' } };
  if (result.status < 200 || result.status >= 300) return { failed: { error: `HTTP ${result.status}`, timeout: false } };
  const body = result.body;
  if (body !== undefined) {
    const type = body['response_type'];
    if (type === 'ApproveRequest') return { outcome: { kind: 'approved' } };
    if (type === 'DenyRequest') return { outcome: { kind: 'denied' } };
    if (body['expired'] === true) return { outcome: { kind: 'expired' } };
  }
  return { pending: true };
}

/**
 * The TTL ran out without a decision: expired, unless the service never answered a poll and the
 * last one failed, in which case it was unreachable (failmode decides).
 */
export function endOfTtl(answeredPoll: boolean, lastError: { error: string; timeout: boolean } | undefined): FactorOutcome {
  return !answeredPoll && lastError !== undefined ? unreachable(lastError, 'poll') : { kind: 'expired' };
}
