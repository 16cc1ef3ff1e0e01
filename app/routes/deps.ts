// What the web routes need from the running appliance. Built once in app/main.ts.
import type { NodeView, ServiceHealth } from '../cluster/nodes.js';
import type { PoolView } from '../radius/pools.js';
import type { RealmSpec } from '../radius/realms.js';
import type { ResolvedSettings } from '../config.js';
import type { SharedStore } from '../db/store.js';
import type { Sealer } from '../db/secrets.js';
import type { Auditor } from '../audit/audit.js';
import type { VerifyResult } from '../audit/chain.js';
import type { AuditStore } from '../db/queries/audit.js';
import type { Logger } from '../lib/log.js';
import type { Counters } from '../lib/metrics.js';
import type { AdminDeps } from '../admin/deps.js';
import type { PendingApproval } from '../mfa/pending.js';
import type { PushRequests, RequestBoard } from '../push/requests.js';
import type { ClientView } from '../views/clients.js';
import type { Assets } from '../views/layout.js';
import type { BindPasswordSource, DirectoryState } from '../directory/settings.js';
import type { DirectorySync } from '../directory/sync.js';
import type { PolicyTable } from '../mfa/policy.js';

export interface ClientActivity {
  lastSeen: number;
  sentMessageAuthenticator: boolean;
}

/** A RADIUS client as the running proxy has it (the page adds when it was last heard). */
export type RuntimeClient = Omit<ClientView, 'lastSeen' | 'sendsMessageAuthenticator'>;

export interface WebDeps {
  store: SharedStore;
  sealer: Sealer;
  audit: Auditor;
  auditStore: AuditStore;
  counters: Counters;
  admin: AdminDeps;
  assets: Assets;
  log: Logger;
  /** The data directory (`--data-dir`): the store, the master key, the VM's one-time setup code. */
  dataDir: string;
  now(): number;
  /** Wait before answering a failed sign-in or setup attempt (slows guessing); tests pass one that returns at once. */
  delay(ms: number): Promise<void>;
  resolved(): ResolvedSettings;
  runtimeClients(): readonly RuntimeClient[];
  clientActivity(address: string): ClientActivity | undefined;
  downstream(): { name: string; host: string; port: number; source: 'flag' | 'env' | 'db' } | undefined;
  pendingApprovals(): PendingApproval[];
  /** Check the audit log's keyed hash chain. */
  verifyAudit(): Promise<VerifyResult>;
  /** An encrypted backup of the store and master key (app/backup.ts), for download. */
  backup(passphrase: string): Promise<Buffer>;
  /** Gatehouse's own push service: the approval requests waiting for phones. */
  pushRequests: PushRequests;
  /** What phones see and decide: this appliance's requests and, in a cluster, the others' (default: its own). */
  pushBoard?: RequestBoard;
  /** Its VAPID public key (base64url): phones subscribe to Web Push with it. */
  pushPublicKey: string;
  /** The policy rules in force. */
  policy(): PolicyTable;
  /** The directory as the settings describe it, or why it cannot be used. */
  directory(): DirectoryState;
  /** The directory sync: its last report, whether it runs, and "Sync now". */
  directorySync: Pick<DirectorySync, 'status' | 'runNow'>;
  /** Where the directory's service-account password comes from (never the password). */
  bindPasswordSource(): BindPasswordSource | undefined;
  health(): { downstream: ServiceHealth; push: ServiceHealth };
  /** The downstream pools, their settings and each server's state (app/radius/pools.ts). */
  pools(): PoolView[];
  realms(): readonly RealmSpec[];
  /** The appliances sharing the store, with their heartbeats (app/cluster/nodes.ts). */
  nodes(): Promise<NodeView[]>;
}
