// Web Push to the users' phones (RFC 8030 delivery, RFC 8291 payload encryption, RFC 8292 VAPID),
// for Gatehouse's own approver. The message is built and encrypted by `web-push` (never by hand);
// it is sent with the process's HTTP client, with a timeout, and never delays a login. A message
// carries only the request's opaque id: what the login is, the phone asks Gatehouse itself.
import type WebPush from 'web-push';
import { isLoopbackHost } from '../lib/loopback.js';

export interface Subscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export type SendResult = 'sent' | 'gone' | 'failed';

export interface WebPushSender {
  /** The VAPID public key (base64url): the approver subscribes with it. */
  publicKey: string;
  send(subscription: Subscription, payload: string, ttlSeconds: number): Promise<SendResult>;
}

/** A subscription as a browser sends it, checked: an https endpoint (http only to this machine), P-256 and auth keys. */
export function parseSubscription(v: unknown): Subscription | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } };
  if (typeof o.endpoint !== 'string' || o.endpoint.length > 2048 || typeof o.keys?.p256dh !== 'string' || typeof o.keys.auth !== 'string') return undefined;
  let u: URL;
  try {
    u = new URL(o.endpoint);
  } catch {
    return undefined;
  }
  if (!(u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname)))) return undefined;
  const p256dh = Buffer.from(o.keys.p256dh, 'base64url');
  const auth = Buffer.from(o.keys.auth, 'base64url');
  if (p256dh.length !== 65 || p256dh[0] !== 4 || auth.length !== 16) return undefined;
  return { endpoint: u.toString(), keys: { p256dh: o.keys.p256dh, auth: o.keys.auth } };
}

// The library is loaded when first needed (a push to a phone, or the keys of a first start), not
// at start: about 50 ms that logins need not wait for.
let library: Promise<typeof WebPush> | undefined;
const webPush = (): Promise<typeof WebPush> => (library ??= import('web-push').then((m) => (m as { default?: typeof WebPush }).default ?? (m as unknown as typeof WebPush)));

export function createWebPushSender(o: { publicKey: string; privateKey: string; subject: () => string; timeoutMs?: number }): WebPushSender {
  const timeoutMs = o.timeoutMs ?? 10_000;
  return {
    publicKey: o.publicKey,
    async send(subscription, payload, ttlSeconds) {
      const req = (await webPush()).generateRequestDetails(subscription, payload, {
        vapidDetails: { subject: o.subject(), publicKey: o.publicKey, privateKey: o.privateKey },
        TTL: Math.max(0, Math.round(ttlSeconds)),
        urgency: 'high',
        contentEncoding: 'aes128gcm',
      });
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      try {
        const res = await fetch(req.endpoint, { method: 'POST', headers, body: req.body, signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer().catch(() => undefined);
        // A browser that unsubscribed (or a service that forgot it): the subscription is dead.
        if (res.status === 404 || res.status === 410) return 'gone';
        return res.ok ? 'sent' : 'failed';
      } catch {
        return 'failed';
      }
    },
  };
}

/** The VAPID contact (RFC 8292 `sub`): the public https address, or a mailto: for one on this machine. */
export function vapidSubject(origin: string): string {
  const u = new URL(origin);
  return u.protocol === 'https:' && !isLoopbackHost(u.hostname) ? u.origin : `mailto:gatehouse@${u.hostname}`;
}

export async function generateVapidKeys(): Promise<{ publicKey: string; privateKey: string }> {
  return (await webPush()).generateVAPIDKeys();
}
