// The Notakey-compatible push API as the engine's push provider: configured by --notakey-host and
// --notakey-access-id, with the call timeout and TTL of the settings at the time of each login.
import type { Settings } from '../../config.js';
import type { PushProvider } from '../factor.js';
import type { PushClient } from './scheduler.js';

export function createNotakeyProvider(client: PushClient, settings: () => Readonly<Settings>): PushProvider {
  return {
    configured() {
      const s = settings();
      return s.notakeyHost !== undefined && s.notakeyAccessId !== undefined;
    },
    approve(req, signal, started) {
      const s = settings();
      // Number matching: a Notakey phone shows the description, so the number goes there.
      // Picking among numbers is not something a Notakey phone offers: it shows the logon
      // screen's number, to be compared.
      const shown = req.number === undefined ? req : { ...req, description: req.numberMode === 'pick' ? `${req.description} Approve only if the sign-in screen shows ${req.number}.` : `${req.description} Number: ${req.number}` };
      return client.approve({ host: s.notakeyHost ?? '', accessId: s.notakeyAccessId ?? '', callTimeoutMs: s.notakeyTimeout * 1000, ttlSeconds: req.ttlSeconds ?? s.messageTtlSeconds }, shown, signal, started);
    },
    follow(ref, ttlMs, signal) {
      const s = settings();
      return client.follow({ host: s.notakeyHost ?? '', accessId: s.notakeyAccessId ?? '', callTimeoutMs: s.notakeyTimeout * 1000, ttlSeconds: Math.ceil(ttlMs / 1000) }, ref, ttlMs, signal);
    },
  };
}
