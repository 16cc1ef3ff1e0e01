// Client of the push API (Notakey-compatible, DESIGN.md "Push API client"):
//   POST {host}v2/application/{access_id}/application_user/{username}/auth_request
//   GET  {host}v2/application/{access_id}/auth_request/{uuid}
// Each call is bounded by the per-call timeout; polling runs until the user decides, the request
// expires or the TTL ends. fetch and the clock are injected.
import type { ApprovalRequest, FactorOutcome } from './factor.js';

export interface PushSettings {
  host: string;
  accessId: string;
  callTimeoutMs: number;
  ttlSeconds: number;
  title: string;
  /** `{0}` is replaced by the user name. */
  description: string;
}

export interface PushDeps {
  fetch: typeof globalThis.fetch;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  now(): number;
  pollIntervalMs?: number;
}

const MAX_BODY = 64 * 1024;

class CallError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

async function readJson(res: Response): Promise<Record<string, unknown>> {
  const reader = res.body?.getReader();
  if (reader === undefined) throw new CallError('empty body', res.status);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY) {
      await reader.cancel();
      throw new CallError(`response body larger than ${MAX_BODY} bytes`, res.status);
    }
    chunks.push(value);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new CallError('response is not JSON', res.status);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CallError('response is not a JSON object', res.status);
  return parsed as Record<string, unknown>;
}

async function call(deps: PushDeps, url: string, init: RequestInit, timeoutMs: number, outer?: AbortSignal): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  // One controller and timer per call: AbortSignal.any() with a long-lived outer signal keeps
  // every call's signal alive until the outer one ends (a leak with thousands of pending pushes).
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, timeoutMs);
  const onOuter = () => ctl.abort();
  if (outer?.aborted) ctl.abort();
  else outer?.addEventListener('abort', onOuter, { once: true });
  let res: Response;
  try {
    // Redirects are not followed: the API does not use them, and a loop must not hold a login.
    res = await deps.fetch(url, { ...init, signal: ctl.signal, redirect: 'manual' });
  } catch (e) {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
    const err = e as Error;
    throw new CallError(timedOut ? `timed out after ${timeoutMs} ms` : err.name === 'AbortError' ? 'aborted' : `unreachable: ${err.message}`);
  }
  try {
    return await readResponse(res);
  } catch (e) {
    if (e instanceof CallError) throw e;
    throw new CallError(timedOut ? `timed out after ${timeoutMs} ms` : `reading the answer failed: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

async function readResponse(res: Response): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  if (res.status === 404) {
    await res.body?.cancel();
    return { status: 404, body: undefined };
  }
  if (res.status < 200 || res.status >= 300) {
    await res.body?.cancel();
    throw new CallError(`HTTP ${res.status}`, res.status);
  }
  return { status: res.status, body: await readJson(res) };
}

export function pushDescription(template: string, username: string): string {
  return template.split('{0}').join(username);
}

/** Ask the user to approve; resolves with the decision. Never rejects. */
export async function requestPushApproval(settings: PushSettings, req: ApprovalRequest, deps: PushDeps, signal?: AbortSignal): Promise<FactorOutcome> {
  const base = `${settings.host}v2/application/${encodeURIComponent(settings.accessId)}`;
  let uuid: string;
  try {
    const created = await call(
      deps,
      `${base}/application_user/${encodeURIComponent(req.username)}/auth_request`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ action: settings.title, description: pushDescription(settings.description, req.username), ttl_seconds: settings.ttlSeconds, fingerprint: req.fingerprint }),
      },
      settings.callTimeoutMs,
      signal,
    );
    if (created.status === 404) return { kind: 'unknown_user' };
    const id = created.body?.['uuid'];
    if (typeof id !== 'string' || id === '') return { kind: 'unreachable', detail: 'create: response has no uuid' };
    uuid = id;
  } catch (e) {
    return { kind: 'unreachable', detail: `create: ${(e as Error).message}` };
  }

  const deadline = deps.now() + settings.ttlSeconds * 1000;
  const interval = deps.pollIntervalMs ?? 1000;
  // Polls that fail are retried until the TTL ends. Only a service that never answered a poll
  // during the whole TTL counts as unreachable (failmode); once it answered, running out of
  // time is an expiry.
  let answeredPoll = false;
  let lastError: string | undefined;
  while (deps.now() < deadline) {
    if (signal?.aborted) return { kind: 'unreachable', detail: 'aborted' };
    await deps.sleep(Math.min(interval, Math.max(0, deadline - deps.now())), signal).catch(() => undefined);
    if (signal?.aborted) return { kind: 'unreachable', detail: 'aborted' };
    try {
      const got = await call(deps, `${base}/auth_request/${encodeURIComponent(uuid)}`, { method: 'GET', headers: { accept: 'application/json' } }, settings.callTimeoutMs, signal);
      if (got.status === 404 || got.body === undefined) return { kind: 'expired' };
      answeredPoll = true;
      const type = got.body['response_type'];
      if (type === 'ApproveRequest') return { kind: 'approved' };
      if (type === 'DenyRequest') return { kind: 'denied' };
      if (got.body['expired'] === true) return { kind: 'expired' };
    } catch (e) {
      lastError = (e as Error).message;
    }
  }
  return !answeredPoll && lastError !== undefined ? { kind: 'unreachable', detail: `poll: ${lastError}` } : { kind: 'expired' };
}
