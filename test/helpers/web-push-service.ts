// A local stand-in for a Web Push service (RFC 8030), for tests: the browser's real push service
// (Google's, for Chromium) cannot be reached from here. It hands out subscriptions as a browser
// would hold them (a P-256 key pair and an auth secret per subscription), and on each push
// message checks what a real service checks and what a phone would: the VAPID token (RFC 8292:
// ES256 over the token with the key in `k`, the audience this service's origin, an expiry within
// 24 hours, a mailto: or https: subject), the TTL header and the aes128gcm encoding, then decrypts
// the payload with the subscription's keys (RFC 8291 keys, RFC 8188 record). A subscription can be
// marked gone: its messages then answer 410, as a real service does for an unsubscribed browser.
import { createECDH, createDecipheriv, createPublicKey, hkdfSync, randomBytes, verify, type ECDH } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PushSubscriptionJson {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PushMessage {
  subscription: string;
  ttl: number;
  urgency: string | undefined;
  /** The VAPID token's claims and the public key it was signed with. */
  vapid: { aud: string; exp: number; sub: string; key: string };
  /** The decrypted payload. */
  payload: string;
}

export interface PushService {
  origin: string;
  /** A new subscription, as PushSubscription.toJSON() gives it in a browser. */
  subscribe(): PushSubscriptionJson;
  /** Its messages answer 410 Gone from now on. */
  gone(endpoint: string): void;
  messages: PushMessage[];
  /** Refused messages, with why (for tests that expect none, or one). */
  refused: { status: number; why: string }[];
  /** The next message, waiting up to `ms`. */
  next(ms?: number): Promise<PushMessage>;
  stop(): Promise<void>;
}

const b64u = (s: string) => Buffer.from(s, 'base64url');

function hkdf(salt: Buffer, ikm: Buffer, info: Buffer, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

/** Check an `Authorization: vapid t=..., k=...` header; returns the claims or throws why not. */
function checkVapid(header: string | undefined, audience: string): PushMessage['vapid'] {
  const m = /^vapid\s+(.+)$/i.exec(header ?? '');
  if (m === null) throw new Error('no vapid authorization');
  const params = new Map(m[1]!.split(',').map((p) => [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()] as const));
  const token = params.get('t');
  const k = params.get('k');
  if (token === undefined || k === undefined) throw new Error('vapid needs t and k');
  const [h, p, s] = token.split('.');
  if (h === undefined || p === undefined || s === undefined) throw new Error('not a JWT');
  const head = JSON.parse(b64u(h).toString('utf8')) as { alg?: string; typ?: string };
  if (head.alg !== 'ES256') throw new Error(`alg ${head.alg}`);
  const point = b64u(k);
  if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 point');
  const key = createPublicKey({ format: 'jwk', key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') } });
  if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, b64u(s))) throw new Error('signature does not verify');
  const claims = JSON.parse(b64u(p).toString('utf8')) as { aud?: string; exp?: number; sub?: string };
  if (claims.aud !== audience) throw new Error(`aud ${claims.aud}`);
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 24 * 3600 + 60) throw new Error('exp out of range');
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) throw new Error('sub is not mailto: or https:');
  return { aud: claims.aud, exp: claims.exp, sub: claims.sub, key: k };
}

/** Decrypt one aes128gcm record (RFC 8188) with the subscription's keys (RFC 8291). */
function decrypt(body: Buffer, ua: ECDH, auth: Buffer): string {
  if (body.length < 21) throw new Error('body too short');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const serverKey = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  if (record.length > rs) throw new Error('more than one record');
  const secret = ua.computeSecret(serverKey);
  const ikm = hkdf(auth, secret, Buffer.concat([Buffer.from('WebPush: info\0'), ua.getPublicKey(), serverKey]), 32);
  const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);
  const d = createDecipheriv('aes-128-gcm', cek, nonce);
  d.setAuthTag(record.subarray(record.length - 16));
  const plain = Buffer.concat([d.update(record.subarray(0, record.length - 16)), d.final()]);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error('no last-record delimiter');
  return plain.subarray(0, end).toString('utf8');
}

export async function startPushService(): Promise<PushService> {
  const subs = new Map<string, { ua: ECDH; auth: Buffer; gone: boolean }>();
  const messages: PushMessage[] = [];
  const refused: { status: number; why: string }[] = [];
  const waiters: ((m: PushMessage) => void)[] = [];
  let origin = '';
  const answer = (res: ServerResponse, status: number, why: string) => {
    refused.push({ status, why });
    res.writeHead(status, { 'content-type': 'text/plain' }).end(why);
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const id = /^\/push\/([\w-]+)$/.exec(req.url ?? '')?.[1];
    const sub = id === undefined ? undefined : subs.get(id);
    if (req.method !== 'POST' || sub === undefined) return answer(res, 404, 'no such subscription');
    if (sub.gone) return answer(res, 410, 'unsubscribed');
    if (!/^\d+$/.test(String(req.headers['ttl'] ?? ''))) return answer(res, 400, 'TTL header missing');
    if (req.headers['content-encoding'] !== 'aes128gcm') return answer(res, 415, `content-encoding ${req.headers['content-encoding']}`);
    if (body.length > 4096) return answer(res, 413, 'payload too large');
    let vapid: PushMessage['vapid'];
    try {
      vapid = checkVapid(req.headers['authorization'], origin);
    } catch (e) {
      return answer(res, 401, (e as Error).message);
    }
    let payload: string;
    try {
      payload = decrypt(body, sub.ua, sub.auth);
    } catch (e) {
      return answer(res, 400, `cannot decrypt: ${(e as Error).message}`);
    }
    const m: PushMessage = { subscription: id!, ttl: Number(req.headers['ttl']), urgency: req.headers['urgency'] as string | undefined, vapid, payload };
    messages.push(m);
    const w = waiters.shift();
    if (w !== undefined) w(m);
    res.writeHead(201, { location: `/message/${messages.length}` }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let read = 0;
  return {
    origin,
    subscribe() {
      const ua = createECDH('prime256v1');
      ua.generateKeys();
      const auth = randomBytes(16);
      const id = randomBytes(9).toString('base64url');
      subs.set(id, { ua, auth, gone: false });
      return { endpoint: `${origin}/push/${id}`, keys: { p256dh: ua.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
    },
    gone(endpoint) {
      const s = subs.get(endpoint.slice(endpoint.lastIndexOf('/') + 1));
      if (s !== undefined) s.gone = true;
    },
    messages,
    refused,
    next(ms = 10_000) {
      if (read < messages.length) return Promise.resolve(messages[read++]!);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no push message within ${ms} ms (refused: ${JSON.stringify(refused)})`)), ms);
        waiters.push((m) => {
          clearTimeout(t);
          read++;
          resolve(m);
        });
      });
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
