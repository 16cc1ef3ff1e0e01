// Telling a user's phones that a login waits: one Web Push message to each phone that subscribed,
// carrying only the request's opaque id. Sent in the background: a slow or failing push service
// never delays the login (the approver, when open, hears of it live anyway). A subscription the
// push service says is gone (404, 410) is forgotten.
import type { SharedStore } from '../db/store.js';
import { setPushSubscription, type PushTarget } from '../db/queries/push.js';
import type { Logger } from '../lib/log.js';
import { reasons, type CounterFamily, type Counters } from '../lib/metrics.js';
import type { PushRequest } from './requests.js';
import { parseSubscription, type SendResult, type WebPushSender } from './webpush.js';

/** For /metrics: Web Push messages by result. */
export const PUSH_COUNTERS: readonly CounterFamily[] = [{ name: 'webpush_messages', help: 'Web Push messages to phones (Gatehouse’s own approver), by result: sent, gone (the subscription is forgotten), failed.', series: reasons(['sent', 'gone', 'failed']) }];

export function createPushNotifier(d: { store: SharedStore; sender: WebPushSender; log: Logger; counters: Counters; now(): number }): (request: PushRequest, phones: readonly PushTarget[]) => void {
  return (request, phones) => {
    const ttl = Math.max(1, Math.round((request.expiresAt - d.now()) / 1000));
    const payload = JSON.stringify({ id: request.id });
    for (const phone of phones) {
      if (phone.subscription === null) continue;
      let sub;
      try {
        sub = parseSubscription(JSON.parse(phone.subscription));
      } catch {
        sub = undefined;
      }
      if (sub === undefined) continue;
      void d.sender.send(sub, payload, ttl).then(async (r: SendResult) => {
        d.counters.inc('webpush_messages', r);
        if (r === 'gone') {
          await setPushSubscription(d.store, phone.id, null);
          d.log.info('a phone’s push subscription is gone: forgotten (it still sees requests while the approver is open)', { user: request.username, device: phone.name });
        } else if (r === 'failed') {
          d.log.warn('a Web Push message could not be delivered', { user: request.username, device: phone.name });
        }
      }).catch((e: unknown) => d.log.warn('a Web Push message’s outcome could not be recorded', { user: request.username, device: phone.name, error: (e as Error).message }));
    }
  };
}
