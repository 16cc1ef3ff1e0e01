// app/push/webpush.ts against the local Web Push service stand-in (test/helpers/web-push-service.ts,
// which checks VAPID and decrypts as a push service and a phone would): a message arrives
// encrypted for the subscription, signed with Gatehouse's VAPID key, with the TTL asked; a
// subscription the service says is gone is reported gone; an unreachable service is a failure
// (never an exception); subscriptions from a browser are checked before they are kept.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createWebPushSender, generateVapidKeys, parseSubscription, vapidSubject } from '../../app/push/webpush.js';
import { startPushService, type PushService } from '../helpers/web-push-service.js';

const W = suite<{ push: PushService }>('push/webpush', { push: undefined as unknown as PushService });
W.before(async (ctx) => {
  ctx.push = await startPushService();
});
W.after(async (ctx) => ctx.push.stop());

W('a message reaches the subscription: VAPID-signed, aes128gcm, decrypted to what was sent', async ({ push }) => {
  const keys = await generateVapidKeys();
  const sender = createWebPushSender({ ...keys, subject: () => 'mailto:gatehouse@example.org' });
  const sub = push.subscribe();
  assert.is(await sender.send(sub, '{"id":"abc"}', 45), 'sent');
  const m = await push.next();
  assert.is(m.payload, '{"id":"abc"}');
  assert.is(m.vapid.key, keys.publicKey);
  assert.is(m.vapid.sub, 'mailto:gatehouse@example.org');
  assert.is(m.vapid.aud, push.origin);
  assert.is(m.ttl, 45);
  assert.is(m.urgency, 'high');
});

W('a subscription the service says is gone is reported gone; an unreachable service is a failure', async ({ push }) => {
  const sender = createWebPushSender({ ...(await generateVapidKeys()), subject: () => 'mailto:gatehouse@example.org', timeoutMs: 2000 });
  const sub = push.subscribe();
  push.gone(sub.endpoint);
  assert.is(await sender.send(sub, 'x', 30), 'gone');
  assert.is(await sender.send({ ...sub, endpoint: 'http://127.0.0.1:1/push/nothing' }, 'x', 30), 'failed');
});

W('subscriptions are checked: https (http only to this machine), a P-256 key and a 16-byte auth secret', ({ push }) => {
  const good = push.subscribe();
  assert.ok(parseSubscription(good));
  assert.ok(parseSubscription({ ...good, endpoint: 'https://fcm.googleapis.com/fcm/send/abc' }));
  for (const bad of [
    null,
    'x',
    { ...good, endpoint: 'http://push.example.org/abc' },
    { ...good, endpoint: 'file:///etc/passwd' },
    { ...good, keys: { ...good.keys, p256dh: Buffer.alloc(65, 1).toString('base64url') } },
    { ...good, keys: { ...good.keys, auth: Buffer.alloc(8).toString('base64url') } },
    { endpoint: good.endpoint },
  ]) {
    assert.is(parseSubscription(bad), undefined, JSON.stringify(bad));
  }
});

W('the VAPID contact: the public https address, or a mailto: on this machine', () => {
  assert.is(vapidSubject('https://gatehouse.corp.example'), 'https://gatehouse.corp.example');
  assert.is(vapidSubject('http://localhost:8080'), 'mailto:gatehouse@localhost');
});

W.run();
