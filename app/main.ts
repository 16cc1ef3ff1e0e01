// Composition root: config -> store (open + migrate) -> services -> RADIUS and HTTP listeners.
// Only this file constructs long-lived things; everything else receives them.
import type { ServerType } from '@hono/node-server';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAuditFeed, FEED_COUNTERS, FEED_GAUGES, type AuditFeed } from './audit/feed.js';
import { HEAD_EVERY_MS, KEYED_MARKER_FILE, openAuditLog } from './audit/log.js';
import { syslogOrigin } from './audit/syslog.js';
import { ConfigError, OPTIONS, resolveSettings, type FixedOptions, type ResolvedSettings, type Settings } from './config.js';
import { bindPasswordOf, directoryFromSettings, fixedBindPassword, type DirectoryState } from './directory/settings.js';
import { listClients, listFixedClientsSeen, markFixedClientMessageAuthenticatorSeen, markMessageAuthenticatorSeen } from './db/queries/clients.js';
import { listDownstreams, listPools, listRealms } from './db/queries/downstream.js';
import { readStoredSettings } from './db/queries/settings.js';
import { createDirectoryUserStore } from './db/queries/directory-users.js';
import { createDirectorySync, syncSettingsOf } from './directory/sync.js';
import { createGroupReader, listRules } from './db/queries/policy.js';
import { createPolicyTable, type PolicyTable } from './mfa/policy.js';
import { createPortalFactors } from './portal/factors.js';
import { createUserFactorQueries } from './db/queries/users.js';
import { isSqlite, openConfiguredStore } from './db/connect.js';
import { watchStoreHealth } from './cluster/store-health.js';
import { putChallenge, sweepChallenges, takeChallenge } from './db/queries/challenges.js';
import { createSharedChallengeStore } from './radius/challenges.js';
import { createSharedPushes } from './cluster/shared-pushes.js';
import { createSharedPushLimiter } from './cluster/push-limits.js';
import { createClusterPushRequests } from './cluster/push-requests.js';
import type { Runner } from './db/store.js';
import { createSealer, loadMasterKey } from './db/secrets.js';
import { defaultNodeName, startHeartbeat, type Heartbeat, type NodeHealth } from './cluster/nodes.js';
import { countAdmins, deleteSessionsIdleSince } from './db/queries/admins.js';
import type { AdminDeps } from './admin/deps.js';
import type { WebDeps } from './routes/deps.js';
import { createLogger } from './lib/log.js';
import { readSetupCode } from './lib/setup-code.js';
import { Counters } from './lib/metrics.js';
import { packageVersion } from './lib/package-root.js';
import { renderProcessMetrics } from './lib/process-metrics.js';
import { createEngine, ENGINE_COUNTERS } from './mfa/engine.js';
import { createServedApi } from './push/served.js';
import { createPendingApprovals } from './mfa/pending.js';
import { createNotakeyProvider } from './mfa/push/notakey.js';
import { createPushClient } from './mfa/push/scheduler.js';
import { choosePushProvider, createGatehousePushProvider, publicOrigin } from './push/provider.js';
import { createPushRequests } from './push/requests.js';
import { createPushNotifier, PUSH_COUNTERS } from './push/notify.js';
import { createWebPushSender, generateVapidKeys, vapidSubject } from './push/webpush.js';
import { vapidKeys } from './db/queries/push.js';
import { createOfflineIssuer } from './mfa/offline.js';
import { createTotpFactor } from './mfa/totp.js';
import { createPushLimiter } from './mfa/push-limits.js';
import { PIPE_COUNTERS, startEndpoint, type Endpoint } from './pipe/endpoint.js';
import { createPipeHandler } from './pipe/ops.js';
import { buildClientTable, type ClientTable } from './radius/clients.js';
import { createDownstreamLeg, type DownstreamTarget } from './radius/downstream.js';
import { createPools, DEFAULT_POOL, poolSpecs, renderPoolMetrics, type PoolSpec } from './radius/pools.js';
import { buildRealmTable, type RealmTable } from './radius/realms.js';
import { listenRadius } from './radius/listener.js';
import { ACCOUNTING_COUNTERS, createAccounting } from './radius/accounting.js';
import { createRadsecConnector, listenRadsec, type RadsecCredentials, type RadsecServer } from './radius/radsec.js';
import { backgroundRecorder, createDropAuditor } from './radius/drops.js';
import { endSession, endSessionsOfNas, pruneSessions, upsertSession } from './db/queries/sessions.js';
import { createProxy, RADIUS_COUNTERS } from './radius/proxy.js';

/**
 * Random bytes from a pool refilled 8 KiB at a time: authenticators and salts are asked for
 * several times per request, and one randomBytes() call per request part costs more.
 */
function randomPool(size = 8192): (n: number) => Buffer {
  let pool = randomBytes(size);
  let off = 0;
  return (n) => {
    if (n > size) return randomBytes(n);
    if (off + n > size) {
      pool = randomBytes(size);
      off = 0;
    }
    const out = Buffer.from(pool.subarray(off, off + n));
    pool.fill(0, off, off + n);
    off += n;
    return out;
  };
}

export interface Running {
  radiusPort: number;
  httpPort: number;
  stop(): Promise<void>;
}

/** Start the appliance. Resolves once RADIUS and HTTP listen; rejects on a bad configuration. */
export async function startAppliance(fixed: FixedOptions, env: NodeJS.ProcessEnv): Promise<Running> {
  const log = createLogger(env['LOG_LEVEL'] === 'debug' ? 'debug' : 'info');
  if (fixed.values.downstreamAddress !== undefined && fixed.values.secretOut === undefined) {
    throw new ConfigError(`${fixed.sources.downstreamAddress === 'env' ? 'SECRET_OUT' : '--secret-out'} is required with a downstream address`);
  }
  const dataDir = fixed.values.dataDir ?? './data';
  const masterKey = loadMasterKey(dataDir, env['GATEHOUSE_MASTER_KEY']);
  const sealer = createSealer(masterKey);
  // SQLite in the data directory, or PostgreSQL shared with the other appliances of a cluster.
  const store = await openConfiguredStore({ dataDir, databaseUrl: fixed.values.databaseUrl, databaseCa: fixed.values.databaseCa, applicationName: defaultNodeName(fixed.values.nodeName) }, env);
  // The marker that this data directory's chain is keyed belongs to a SQLite store beside it.
  const auditLog = await openAuditLog(store, masterKey, Date.now, isSqlite(store) ? join(dataDir, KEYED_MARKER_FILE) : undefined);
  if (!(await auditLog.keyFits())) {
    await store.close();
    throw new ConfigError(
      isSqlite(store)
        ? "the master key does not fit this store's audit chain (another data directory's key?)"
        : "the master key does not fit the shared store's audit chain: every appliance on one database needs the same master key (GATEHOUSE_MASTER_KEY, or master.key copied from the first appliance's data directory)",
    );
  }
  const auditStore = auditLog.store;
  const audit = auditLog.auditor;
  // Every counter /metrics shows, at zero from the start; latency on the monotonic clock.
  const counters = new Counters({ now: () => performance.now() })
    .declare([...RADIUS_COUNTERS, ...ACCOUNTING_COUNTERS, ...ENGINE_COUNTERS, ...PIPE_COUNTERS, ...FEED_COUNTERS, ...PUSH_COUNTERS])
    .describeGauges({
      pending_logins: 'Logins waiting for a push approval (RADIUS and Windows logon).',
      pending_pushes: 'Push requests waiting for the user (logins that joined one share it).',
      downstream_in_flight: 'RADIUS requests sent to the downstream server and not answered yet.',
      downstream_sockets: 'UDP sockets open to the downstream server (one per 256 requests in flight).',
      radius_requests_remembered: 'RADIUS requests the retransmission cache holds.',
      radius_challenges_pending: 'TOTP code challenges (States) waiting for their answer.',
      radius_drop_sources_remembered: 'Sources of dropped packets remembered for drop auditing.',
      process_resident_memory_bytes: 'Resident memory of the process, in bytes (also as process_resident_memory_bytes).',
      process_heap_used_bytes: 'V8 heap in use, in bytes (also as nodejs_heap_size_used_bytes).',
      ...FEED_GAUGES,
    });
  const build = { version: packageVersion(), node: process.version };
  let feed: AuditFeed | undefined;


  // The directory's service-account password: LDAP_BIND_PASSWORD, else the file (read once, at
  // start), else the one typed on the Directory page (sealed in the store, read at every reload).
  let fixedPassword: ReturnType<typeof fixedBindPassword>;
  try {
    fixedPassword = fixedBindPassword(env, fixed.values.ldapBindPasswordFile);
  } catch (e) {
    await store.close();
    throw new ConfigError((e as Error).message);
  }
  const bindPassword = () => bindPasswordOf(fixedPassword, store, sealer);

  const groupsOf = createGroupReader(store);
  interface State {
    resolved: ResolvedSettings;
    clients: ClientTable;
    /** Downstream server pools (the flag server, if any, is the default pool) and the realms routing to them. */
    pools: PoolSpec[];
    realms: RealmTable;
    directory: DirectoryState;
    policy: PolicyTable;
    bindPassword: Awaited<ReturnType<typeof bindPassword>>;
  }
  const load = async (): Promise<State> => {
    const resolved = resolveSettings(fixed, await readStoredSettings(store));
    // A stored value that does not validate (rules tightened since it was stored, or a store
    // edited by hand) would otherwise be replaced by its default, which for some settings (an
    // http:// push host) quietly turns the second factor off: refuse it. At start this stops the
    // appliance with one line; on a reload the previous configuration is kept.
    if (resolved.invalidStored.length > 0) throw new ConfigError(`${resolved.invalidStored.join('; ')} (fix it with \`gatehouse settings set\` or \`settings unset\`)`);
    const s = resolved.settings;
    const clients = buildClientTable(s.addressSecretIn, fixed.sources.addressSecretIn === 'env' ? 'env' : 'flag', await listClients(store, sealer), await listFixedClientsSeen(store));
    let fixedServer: DownstreamTarget | undefined;
    if (s.downstreamAddress !== undefined && s.secretOut !== undefined) {
      fixedServer = { name: `${s.downstreamAddress}:${s.portOut}`, host: s.downstreamAddress, port: s.portOut, acctPort: s.portOutAcct, secret: Buffer.from(s.secretOut, 'utf8'), requireMessageAuthenticator: s.downstreamRequireMessageAuthenticator === 'yes' };
    }
    const stored = (await listDownstreams(store, sealer)).map((d) => ({ id: d.id, name: d.name, host: d.host, port: d.port, acctPort: d.acctPort, transport: d.transport, pool: d.pool, secret: d.secret, requireMessageAuthenticator: d.requireMessageAuthenticator }));
    const pools = poolSpecs(stored, await listPools(store), fixedServer);
    const realms = buildRealmTable(await listRealms(store));
    const password = await bindPassword();
    return { resolved, clients, pools, realms, directory: directoryFromSettings(s, password), policy: createPolicyTable(await listRules(store), groupsOf), bindPassword: password };
  };
  let state: State;
  try {
    state = await load();
  } catch (e) {
    await store.close();
    throw e;
  }
  const settings = state.resolved.settings;
  // RadSec (RFC 6614): one certificate, key and CA for both directions, read once at start.
  const radsecGiven = [settings.radsecCert, settings.radsecKey, settings.radsecCa].filter((v) => v !== undefined).length;
  if (radsecGiven !== 0 && radsecGiven !== 3) {
    await store.close();
    throw new ConfigError('--radsec-cert, --radsec-key and --radsec-ca must be given together');
  }
  let radsecCredentials: RadsecCredentials | undefined;
  if (radsecGiven === 3) {
    try {
      radsecCredentials = { cert: readFileSync(settings.radsecCert!), key: readFileSync(settings.radsecKey!), ca: readFileSync(settings.radsecCa!) };
      // Fail now, with the reason, rather than at the first connection.
      process.getBuiltinModule('node:tls').createSecureContext({ cert: radsecCredentials.cert, key: radsecCredentials.key, ca: radsecCredentials.ca });
    } catch (e) {
      await store.close();
      throw new ConfigError(`cannot use the RadSec certificate, key or CA: ${(e as Error).message}`);
    }
  }
  const leg = createDownstreamLeg({ radsec: createRadsecConnector(() => radsecCredentials, log) });
  // The downstream servers' health (alive, zombie, dead), probed with Status-Server; each change
  // is audited, so that an outage and its end are in the record next to the logins it affected.
  const pools = createPools(leg, {
    onStateChange(pool, server, from, to) {
      (to === 'alive' ? log.info : log.warn)('downstream server state changed', { pool, server: server.name, from, to });
      audit.record({ event: 'downstream.health', outcome: to === 'alive' ? 'ok' : 'error', reason: `server_${to}`, details: { downstream: server.name, address: `${server.host}:${server.port}`, name: pool, state: to, previous: from } }).catch((e: unknown) => {
        log.error('audit write failed', { error: (e as Error).message });
      });
    },
  });
  pools.update(state.pools);

  // With a certificate the UI is served over HTTPS, and the HTTP port only redirects to it
  // (and still answers /healthz, for load balancers and container health checks).
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (settings.tlsCert !== undefined || settings.tlsKey !== undefined) {
    if (settings.tlsCert === undefined || settings.tlsKey === undefined) {
      await store.close();
      throw new ConfigError('--tls-cert and --tls-key must be given together');
    }
    try {
      tls = { cert: readFileSync(settings.tlsCert), key: readFileSync(settings.tlsKey) };
    } catch (e) {
      await store.close();
      throw new ConfigError(`cannot read the TLS certificate or key: ${(e as Error).message}`);
    }
  }
  // Files given by path are read once, at start: a missing one stops the start with a clear line.
  const readOption = (path: string | undefined, what: string): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      store.close().catch(() => undefined);
      throw new ConfigError(`cannot read ${what} ${path}: ${(e as Error).message}`);
    }
  };
  const pushCa = readOption(settings.pushCa, '--push-ca');
  // A bearer token lets hosts other than this one read /metrics (a Prometheus elsewhere).
  const metricsToken = env['METRICS_TOKEN'] !== undefined && env['METRICS_TOKEN'] !== '' ? env['METRICS_TOKEN'] : readOption(settings.metricsTokenFile, '--metrics-token-file')?.toString('utf8').trim();
  if (metricsToken !== undefined && metricsToken.length < 16) {
    await store.close();
    throw new ConfigError('the metrics token (METRICS_TOKEN or --metrics-token-file) must have at least 16 characters');
  }
  if (state.clients.all().length === 0) log.warn('no RADIUS clients configured: add one with --address-secret-in or `gatehouse client add`');
  if (!state.pools.some((p) => p.servers.length > 0) && settings.firstFactor === 'downstream') log.warn('no downstream RADIUS server configured: set --downstream-address and --secret-out');
  // A directory given on the command line or in the environment that cannot be used stops the
  // start; one stored from the UI that has become unusable is a warning (and a reason on each login).
  if (!state.directory.ok && settings.ldapUrl !== undefined) {
    const fromOutside = OPTIONS.some((o) => o.flag.startsWith('ldap-') && fixed.sources[o.key] !== undefined);
    if (fromOutside) {
      await store.close();
      throw new ConfigError(state.directory.problem);
    }
    log.warn('the directory cannot be used', { problem: state.directory.problem });
  }
  if (settings.firstFactor === 'directory' && settings.ldapUrl === undefined) log.warn('--first-factor directory, but no directory is configured: set --ldap-url (or use the Directory page)');
  // CLI commands and (later) the admin UI write to the store; pick their changes up without a restart.
  // Loads run one after another, so the state last set is from the newest load.
  let loads: Promise<unknown> = Promise.resolve();
  const reload = (): Promise<void> => {
    const next = loads.then(async () => {
      state = await load();
      pools.update(state.pools);
    });
    loads = next.catch(() => undefined);
    return next;
  };
  const unwatch = store.watch(() => {
    reload().then(
      () => log.info('configuration reloaded', { clients: state.clients.all().length, downstream: state.pools.flatMap((p) => p.servers.map((x) => x.name)) }),
      (e: unknown) => log.error('reloading configuration failed; keeping the previous one', { error: (e as Error).message }),
    );
  });

  const userFactors = createUserFactorQueries(store, sealer);
  const totp = createTotpFactor(userFactors, () => ({ maxFailures: state.resolved.settings.totpMaxFailures, lockoutMs: state.resolved.settings.totpLockoutMinutes * 60_000 }), Date.now);
  // One client for every push approval: a keep-alive pool and one poll schedule (app/mfa/push/).
  const pushClient = createPushClient(pushCa !== undefined ? { ca: pushCa } : {});
  // Gatehouse's own push service: its approval requests, decided on the users' phones (app/push/).
  const pushRequests = createPushRequests();
  const nodeName = defaultNodeName(settings.nodeName);
  // Several appliances on one store: a phone may reach another appliance than the one whose login
  // waits; the requests are shared through the store (app/cluster/push-requests.ts).
  const clusterRequests = isSqlite(store) ? undefined : createClusterPushRequests({ local: pushRequests, store, node: nodeName, now: Date.now, log });
  // Web Push to the phones (VAPID keys made on first start, the private one sealed in the store).
  const vapid = await vapidKeys(store, sealer, generateVapidKeys);
  const webPush = createWebPushSender({ ...vapid, subject: () => vapidSubject(publicOrigin(state.resolved.settings)) });
  const notifyPhones = createPushNotifier({ store, sender: webPush, log, counters, now: Date.now });
  // Several appliances on one store: a login that fails over to another appliance joins the push
  // the first one sent (app/cluster/shared-pushes.ts). One appliance alone keeps them in memory.
  const sharedPushes = isSqlite(store) ? undefined : createSharedPushes({ store, node: nodeName, now: Date.now, log });
  // ... and the per-user push limits hold for all of them together (app/cluster/push-limits.ts).
  const sharedLimits = isSqlite(store) ? undefined : createSharedPushLimiter({ store, node: nodeName, now: Date.now, log, settings: () => state.resolved.settings });
  // The one second-factor engine behind every front door (RADIUS, Windows logon).
  const engine = createEngine({
    settings: () => state.resolved.settings,
    totp,
    push: choosePushProvider(() => state.resolved.settings, {
      notakey: createNotakeyProvider(pushClient, () => state.resolved.settings),
      gatehouse: createGatehousePushProvider({ store, requests: clusterRequests?.requests ?? pushRequests, settings: () => state.resolved.settings, notify: notifyPhones }),
    }),
    limits: createPushLimiter(Date.now),
    ...(sharedLimits !== undefined ? { sharedLimits } : {}),
    policy: () => state.policy,
    pending: createPendingApprovals(),
    ...(sharedPushes !== undefined ? { shared: sharedPushes } : {}),
    audit,
    counters,
    now: Date.now,
  });
  // The directory sync (app/directory/sync.ts): users, names, groups; its last report kept in the store.
  const directoryUsers = createDirectoryUserStore(store);
  const directorySync = createDirectorySync({ directory: () => state.directory, settings: () => syncSettingsOf(state.resolved.settings), users: directoryUsers, audit, log, now: Date.now });
  directorySync.start();
  let listener: Awaited<ReturnType<typeof listenRadius>> | undefined;
  const random = randomPool();
  // Several appliances on one store: a code challenge may be answered on another than the one that
  // asked (RADIUS clients fail over), so its State and what the answer needs are kept in the store.
  const challenges = isSqlite(store)
    ? undefined
    : createSharedChallengeStore({ put: (s, p, e) => putChallenge(store, s, p, e), take: (s) => takeChallenge(store, s), sweep: (t) => sweepChallenges(store, t) }, sealer, random, Date.now);
  // Which pool a user name's requests go to (its realm's), and the name sent there: for
  // authentication and accounting alike.
  const route = (userName: string) => {
    const r = state.realms.route(userName);
    return { pool: pools.get(r.pool), realm: r.realm, rewrite: r.rewrite };
  };
  const proxy = createProxy({
    settings: () => state.resolved.settings,
    clients: () => state.clients,
    route,
    pools,
    directory: () => state.directory,
    onDirectoryAccount: async (username, now) => {
      // A bind that says a synced user's account is disabled or gone applies at once (at every
      // door), not at the next sync, which alone gives access back. Written with its audit
      // record; nothing is written when nothing changes.
      const cur = await directoryUsers.stateOf(username);
      if (cur === undefined || cur.source !== 'directory' || cur.state === now) return;
      await audit.commit({ event: `user.directory_${now}`, outcome: 'ok', actor: 'directory-bind', username }, async (tx) => {
        await directoryUsers.setState(username, now, Date.now(), tx);
      }).catch((e: unknown) => {
        log.error('recording a directory account change failed', { error: (e as Error).message });
      });
    },
    send: (buf, port, address) => {
      try {
        listener?.send(buf, port, address);
      } catch (e) {
        log.warn('RADIUS send failed', { error: (e as Error).message });
      }
    },
    audit,
    counters,
    engine,
    onMessageAuthenticatorSeen: (client) => {
      // Persisted for every client, stored or given by flag/env, so that `auto` stays required
      // after a restart or a reload of the settings. Written in the audit batch with a record of
      // its own (never a write of its own while a packet is handled); if the store cannot be
      // written it is logged, and the requirement holds in memory until the next restart.
      const persist = (tx: Runner) => (client.id !== undefined ? markMessageAuthenticatorSeen(tx, client.id) : markFixedClientMessageAuthenticatorSeen(tx, client.cidr.text));
      audit.commit({ event: 'client.message_authenticator_seen', outcome: 'ok', client: client.name, reason: 'required_from_now_on', details: { address: client.cidr.text } }, persist).catch((e: unknown) => {
        log.error('remembering that a client signs its requests failed', { client: client.name, error: (e as Error).message });
      });
    },
    random,
    ...(challenges !== undefined ? { challenges } : {}),
    now: Date.now,
    log,
  });

  try {
    listener = await listenRadius(
      settings.listenAddress,
      settings.portIn,
      (buf, address, port) => {
        try {
          proxy.handle(buf, address, port);
        } catch (e) {
          counters.inc('errors', 'internal');
          log.error('packet handling failed', { error: (e as Error).message });
        }
      },
      (e) => log.error('RADIUS socket error', { error: e.message }),
    );
  } catch (e) {
    unwatch();
    await store.close();
    throw new ConfigError(`cannot listen for RADIUS on ${settings.listenAddress}:${settings.portIn}: ${(e as Error).message}`);
  }

  // Accounting (app/radius/accounting.ts): its own socket, never in the way of a login.
  const accounting = createAccounting({
    settings: () => state.resolved.settings,
    clients: () => state.clients,
    route,
    pools,
    sessions: {
      upsert: (row) => upsertSession(store, row),
      end: async (client, nas, id) => void (await endSession(store, client, nas, id)),
      endNas: async (client, nas) => void (await endSessionsOfNas(store, client, nas)),
      prune: async (before) => void (await pruneSessions(store, before)),
    },
    send: (buf, port, address) => {
      try {
        acctListener?.send(buf, port, address);
      } catch (e) {
        log.warn('RADIUS accounting send failed', { error: (e as Error).message });
      }
    },
    audit,
    counters,
    random,
    now: Date.now,
    log,
  });
  let acctListener: Awaited<ReturnType<typeof listenRadius>> | undefined;
  let radsecServer: RadsecServer | undefined;
  if (settings.portAcct !== 0) {
    try {
      acctListener = await listenRadius(
        settings.listenAddress,
        settings.portAcct,
        (buf, address, port) => {
          try {
            accounting.handle(buf, address, port);
          } catch (e) {
            log.error('accounting packet handling failed', { error: (e as Error).message });
          }
        },
        (e) => log.error('RADIUS accounting socket error', { error: e.message }),
      );
    } catch (e) {
      // A port someone chose must work; the default one (1813) may be taken by a RADIUS server on
      // the same machine, which is no reason to refuse logins: say so and go on without it.
      if (state.resolved.sources.portAcct !== 'default') {
        await listener.close();
        unwatch();
        await store.close();
        throw new ConfigError(`cannot listen for RADIUS accounting on ${settings.listenAddress}:${settings.portAcct}: ${(e as Error).message} (--port-acct 0 turns accounting off)`);
      }
      log.warn('RADIUS accounting is not served: the default port is not free (set --port-acct, or 0 to turn this warning off)', { address: `${settings.listenAddress}:${settings.portAcct}`, error: (e as Error).message });
    }
  }
  if (radsecCredentials !== undefined && settings.radsecPort !== 0) {
    const refusedDrops = createDropAuditor();
    const recordRefusal = backgroundRecorder(audit, log);
    try {
      radsecServer = await listenRadsec(settings.listenAddress, settings.radsecPort, {
        credentials: radsecCredentials,
        clients: () => state.clients,
        onAccess: (buf, address, port, via) => {
          try {
            proxy.handle(buf, address, port, via);
          } catch (e) {
            counters.inc('errors', 'internal');
            log.error('packet handling failed', { error: (e as Error).message });
          }
        },
        onAccounting: (buf, address, port, via) => {
          try {
            accounting.handle(buf, address, port, via);
          } catch (e) {
            log.error('accounting packet handling failed', { error: (e as Error).message });
          }
        },
        onRefused: (address, port, reason, client) => {
          for (const ev of refusedDrops.drop(address, port, `radsec_${reason}`, client?.name ?? null, null, Date.now())) void recordRefusal(ev);
        },
        log,
      });
    } catch (e) {
      await listener.close();
      await acctListener?.close();
      unwatch();
      await store.close();
      throw new ConfigError(`cannot listen for RadSec on ${settings.listenAddress}:${settings.radsecPort}: ${(e as Error).message}`);
    }
  }

  // Windows logon: answered on the local pipe (--pipe-path) and, for agents on workstations,
  // through the agent API. Both use the same factors as RADIUS.
  const windowsHandler = createPipeHandler({ engine, audit, settings: () => state.resolved.settings });
  // The push API served to others (authentication proxies, scripts, another Gatehouse).
  const pushApi = createServedApi({ store, engine, audit, settings: () => state.resolved.settings, now: Date.now, shared: !isSqlite(store) });
  // Latency per front door, from the request to its answer (health checks are not timed).
  const timed =
    (door: 'pipe' | 'agent'): typeof windowsHandler =>
    async (req, caller, interim) => {
      if (req.op !== 'authenticate') return windowsHandler(req, caller);
      const started = counters.latency.now();
      try {
        return await windowsHandler(req, caller, interim);
      } finally {
        counters.latency.observe(door, started);
      }
    };
  const pipeHandler = timed('pipe');
  let pipe: Endpoint | undefined;
  if (settings.pipePath !== undefined) {
    try {
      pipe = await startEndpoint({
        path: settings.pipePath,
        handle: (req, _peer, interim) => pipeHandler(req, { via: 'pipe' }, interim),
        onProblem: () => counters.inc('pipe_errors'),
      });
    } catch (e) {
      await listener.close();
      await acctListener?.close();
      await radsecServer?.close();
      unwatch();
      await store.close();
      throw new ConfigError(`cannot serve the Windows logon endpoint on ${settings.pipePath}: ${(e as Error).message}`);
    }
  }

  let ready = false;
  // The web side's modules (routes/static.js brings hono) load once RADIUS is answering.
  const { assets, files } = (await import('./routes/static.js')).loadAssets();
  const admin: AdminDeps = {
    store,
    sealer,
    audit,
    dataDir,
    afterChange: () => reload(),
    fixedSources: () => fixed.sources,
    fixedClients: () => state.clients.all().flatMap((c) => (c.source === 'db' ? [] : [{ address: c.cidr.text, source: c.source }])),
    totpIssuer: () => state.resolved.settings.totpIssuer,
    publicOrigin: () => publicOrigin(state.resolved.settings),
    nameRules: () => ({ stripRealm: state.resolved.settings.stripRealm === 'yes' }),
    now: Date.now,
  };
  // What this node reports of its second-factor services: on the dashboard and in its heartbeat.
  const nodeHealth = (): NodeHealth => ({
    downstream: proxy.downstreamHealth(),
    push: ((h) => (h === 'timeout' ? 'failing' : h))(engine.pushHealth()),
  });
  let heartbeat: Heartbeat | undefined;
  const web: WebDeps = {
    store,
    sealer,
    audit,
    auditStore,
    counters,
    admin,
    assets,
    log,
    dataDir,
    now: Date.now,
    delay: (ms) => sleep(ms),
    resolved: () => state.resolved,
    runtimeClients: () =>
      state.clients.all().map((c) => ({ name: c.name, address: c.cidr.text, source: c.source, requireMessageAuthenticator: c.requireMessageAuthenticator, messageAuthenticatorSeen: c.messageAuthenticatorSeen, firstFactor: c.firstFactor })),
    clientActivity: (address) => proxy.activity(address),
    downstream: () => {
      const ds = pools.get(DEFAULT_POOL)?.servers[0];
      if (ds === undefined) return undefined;
      const src = state.resolved.sources.downstreamAddress;
      return { name: ds.name, host: ds.host, port: ds.port, source: src === 'flag' || src === 'env' ? src : 'db' };
    },
    pools: () => pools.views(),
    realms: () => state.realms.all(),
    pendingApprovals: () => engine.pendingApprovals(),
    directory: () => state.directory,
    policy: () => state.policy,
    directorySync,
    bindPasswordSource: () => state.bindPassword?.source,
    // A cluster's PostgreSQL store is copied in one snapshot into the same format (app/backup.ts).
    backup: async (passphrase) => (await import('./backup.js')).createBackupOf(store, masterKey, passphrase),
    verifyAudit: () => auditLog.verify(),
    pushRequests,
    ...(clusterRequests !== undefined ? { pushBoard: clusterRequests.board } : {}),
    pushPublicKey: vapid.publicKey,
    health: nodeHealth,
    nodes: async () => (heartbeat === undefined ? [] : heartbeat.list()),
  };
  // Whether the store answers: /healthz reports it, and an outage is audited once it is over.
  const storeHealth = watchStoreHealth({ store, audit, log, now: Date.now });
  const httpDeps = {
    ready: () => ready,
    store: () => storeHealth.state(),
    metricsToken: () => metricsToken,
    metrics: () => {
      const p = engine.pendingCounts();
      const ds = leg.stats();
      const held = proxy.sizes();
      const mem = process.memoryUsage();
      const gauges = {
        pending_logins: p.logins,
        pending_pushes: p.pushes,
        downstream_in_flight: ds.inFlight,
        downstream_sockets: ds.sockets,
        // What the proxy holds in memory, and the process's memory: bounded under hostile traffic.
        radius_requests_remembered: held.requests,
        radius_challenges_pending: held.challenges,
        radius_drop_sources_remembered: held.dropSources,
        process_resident_memory_bytes: mem.rss,
        process_heap_used_bytes: mem.heapUsed,
        ...feed?.gauges(),
      };
      // The configured clients' names: their per-client counters are there from the start.
      const configured = state.clients.all().map((c) => c.name);
      return counters.render(gauges, 'gatehouse_', configured) + renderPoolMetrics(pools.health(), 'gatehouse_') + renderProcessMetrics(build);
    },
    web,
    files,
    secure: false,
    agentHandler: timed('agent'),
    offline: createOfflineIssuer({ find: (u) => userFactors.find(u), settings: () => state.resolved.settings, now: Date.now }),
    stripRealm: () => state.resolved.settings.stripRealm === 'yes',
    pushApi,
    portal: createPortalFactors({ directory: () => state.directory, downstream: () => pools.plan(pools.get(DEFAULT_POOL) ?? { name: DEFAULT_POOL, servers: [], mode: 'fail-over', responseWindowMs: 0, deadAfter: 1, checkIntervalMs: 1000 })[0], leg, totp, engine, settings: () => state.resolved.settings, random: randomPool() }),
  };
  // The web side (Hono, the admin UI's pages, WebAuthn, the APIs: about 60 % of the code that start
  // would load) is loaded only now, with RADIUS already answering: a restart puts logins back
  // through first (issue 18's cold start).
  const [{ createHttpApp, createRedirectApp }, { serve: serveHttp }, { ABSOLUTE_MS, IDLE_MS }] = await Promise.all([import('./http.js'), import('@hono/node-server'), import('./middleware/session.js')]);
  const app = createHttpApp(httpDeps);
  const servers: ServerType[] = [];
  const listen = (fetch: (req: Request) => Response | Promise<Response>, port: number, secureServer: boolean) =>
    new Promise<ServerType>((resolve, reject) => {
      const server = secureServer
        ? serveHttp({ fetch, hostname: settings.httpAddress, port, createServer: process.getBuiltinModule('node:https').createServer, serverOptions: { cert: tls!.cert, key: tls!.key } }, () => resolve(server))
        : serveHttp({ fetch, hostname: settings.httpAddress, port }, () => resolve(server));
      server.once('error', reject);
    });
  try {
    if (tls === undefined) servers.push(await listen(app.fetch, settings.httpPort, false));
    else {
      servers.push(await listen(createHttpApp({ ...httpDeps, secure: true }).fetch, settings.httpsPort, true));
      servers.push(await listen(createRedirectApp(settings.httpsPort, () => ready).fetch, settings.httpPort, false));
    }
  } catch (e) {
    for (const s of servers) s.close();
    await listener.close();
    await acctListener?.close();
    await radsecServer?.close();
    unwatch();
    storeHealth.stop();
    await store.close();
    throw new ConfigError(`cannot listen for HTTP on ${settings.httpAddress}:${settings.httpPort}${tls ? ` or HTTPS on ${settings.httpsPort}` : ''}: ${(e as Error).message}`);
  }
  // Audit records to ops tools as they are committed (--audit-stdout, --audit-syslog; off by
  // default), started once everything listens so that a refused start leaves no connection behind.
  feed = createAuditFeed({ settings: () => state.resolved.settings, audit: auditLog, counters, stdout: process.stdout, origin: syslogOrigin(hostname(), process.pid), log });
  ready = true;
  // This node's row among the appliances sharing the store, written now and every heartbeat.
  heartbeat = startHeartbeat({ store, name: nodeName, version: build.version, health: nodeHealth, now: Date.now, log });
  await heartbeat.beat();
  if (state.resolved.settings.notakeyHost !== undefined) void pushClient.warm();
  const sessionSweep = setInterval(async () => {
    try {
      await deleteSessionsIdleSince(store, Date.now() - IDLE_MS, Date.now() - ABSOLUTE_MS);
    } catch (e) {
      log.error('removing ended admin sessions failed; trying again later', { error: (e as Error).message });
    }
  }, 10 * 60_000);
  sessionSweep.unref();
  // A head record now and then, its id and hash in the operational log: kept elsewhere (a log
  // collector), they show whether records were later removed from the end of the chain.
  const writeHead = async () => {
    try {
      const head = await auditLog.writeHead();
      if (head !== undefined) log.info('audit head', { record: head.id, hash: head.hash });
    } catch (e) {
      log.error('writing the audit head record failed', { error: (e as Error).message });
    }
  };
  const headTimer = setInterval(writeHead, HEAD_EVERY_MS);
  headTimer.unref();
  if (await countAdmins(store) === 0) {
    if (readSetupCode(dataDir).state === 'present') log.warn('no admin yet: create one at /setup in the web UI with the setup code, or with `gatehouse admin add NAME` (password on standard input)');
    else log.warn('no admin yet: create one with `gatehouse admin add NAME` (password on standard input), then sign in at the web UI');
  }
  await audit.record({ event: 'service.start', outcome: 'ok', details: { address: `${listener.address}:${listener.port}` } });
  log.info('gatehouse ready', { radius: `${listener.address}:${listener.port}`, accounting: acctListener === undefined ? null : `${acctListener.address}:${acctListener.port}`, radsec: radsecServer === undefined ? null : `${radsecServer.address}:${radsecServer.port}`, http: `http://${settings.httpAddress}:${settings.httpPort}/`, dataDir });

  let stopping: Promise<void> | undefined;
  return {
    radiusPort: listener.port,
    httpPort: settings.httpPort,
    stop() {
      stopping ??= (async () => {
        ready = false;
        unwatch();
        storeHealth.stop();
        clearInterval(sessionSweep);
        clearInterval(headTimer);
        directorySync.stop();
        // Waiting logins are answered (rejected) before the sockets close.
        proxy.shutdown();
        pools.close();
        accounting.shutdown();
        await engine.shutdown();
        sharedPushes?.close();
        sharedLimits?.close();
        clusterRequests?.close();
        pushApi.stop();
        await pipe?.close();
        await pushClient.close();
        await leg.close();
        await listener?.close();
        await acctListener?.close();
        await radsecServer?.close();
        await Promise.all(
          servers.map(
            (http) =>
              new Promise<void>((r) => {
                http.close(() => r());
                if ('closeAllConnections' in http) http.closeAllConnections();
              }),
          ),
        );
        await audit.record({ event: 'service.stop', outcome: 'ok' });
        await writeHead();
        await feed?.close();
        await heartbeat?.stop();
        await store.close();
        log.info('gatehouse stopped');
      })();
      return stopping;
    },
  };
}
