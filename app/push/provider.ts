// Gatehouse's own push service as the engine's push provider, and which provider is in use.
import type { Settings } from '../config.js';
import { countPushDevices, listPushTargets, type PushTarget } from '../db/queries/push.js';
import type { SharedStore } from '../db/store.js';
import type { PushProvider } from '../mfa/factor.js';
import type { PushRequest, PushRequests } from './requests.js';

/**
 * Who delivers push approvals: `--push-provider` when given; otherwise the Notakey-compatible API
 * when `--notakey-host` is set (so command lines from before keep their meaning), and Gatehouse's
 * own approver when it is not.
 */
export function pushProviderOf(s: Pick<Settings, 'pushProvider' | 'notakeyHost'>): 'gatehouse' | 'notakey' {
  return s.pushProvider ?? (s.notakeyHost !== undefined ? 'notakey' : 'gatehouse');
}

/**
 * The address phones reach Gatehouse at: `--public-url`, or this machine's HTTP(S) port by the
 * name `localhost` (passkeys need a host name; an IP address cannot name a relying party).
 */
export function publicOrigin(s: Pick<Settings, 'publicUrl' | 'tlsCert' | 'tlsKey' | 'httpPort' | 'httpsPort'>): string {
  if (s.publicUrl !== undefined) return s.publicUrl;
  return s.tlsCert !== undefined && s.tlsKey !== undefined ? `https://localhost:${s.httpsPort}` : `http://localhost:${s.httpPort}`;
}

export interface GatehousePushDeps {
  store: SharedStore;
  requests: PushRequests;
  settings(): Readonly<Settings>;
  /** Tell the user's phones of a new request (Web Push); never rejects, never delays the login. */
  notify?(request: PushRequest, phones: readonly PushTarget[]): void;
}

export function createGatehousePushProvider(d: GatehousePushDeps): PushProvider {
  return {
    configured: () => pushProviderOf(d.settings()) === 'gatehouse',
    // A phone belongs to a user of the store: a name the store does not have has none.
    enrolled: async (username, knownToStore) => knownToStore !== false && (await countPushDevices(d.store, username)) > 0,
    local: true,
    picks: true,
    async approve(req, signal) {
      // A user with no phone is, to this service, a user it does not know (as the push API's 404).
      // One read: whether the user has a phone (now, not when the login began), and where to tell them.
      const phones = await listPushTargets(d.store, req.username);
      if (phones.length === 0) return { kind: 'unknown_user' };
      const { request, outcome } = d.requests.open(req.username, req, (req.ttlSeconds ?? d.settings().messageTtlSeconds) * 1000, signal);
      d.notify?.(request, phones);
      return outcome;
    },
  };
}

/** The provider `--push-provider` (or its default) names, looked up at each login. */
export function choosePushProvider(settings: () => Readonly<Settings>, providers: { gatehouse: PushProvider; notakey: PushProvider }): PushProvider {
  const current = () => providers[pushProviderOf(settings())];
  return {
    configured: () => current().configured(),
    enrolled: async (username, knownToStore) => (await current().enrolled?.(username, knownToStore)) ?? true,
    get local() {
      return current().local === true;
    },
    get picks() {
      return current().picks === true;
    },
    approve: (req, signal, started) => current().approve(req, signal, started),
    get follow() {
      const p = current();
      return p.follow === undefined ? undefined : (ref: string, ttlMs: number, signal: AbortSignal) => p.follow!(ref, ttlMs, signal);
    },
  };
}
