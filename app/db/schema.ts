// The only schema source. Change it, then `npm run db:generate` and commit the new migration.
import { sql } from 'drizzle-orm';
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** RADIUS clients (NAS): an address or CIDR and its shared secret, sealed with the master key. */
export const radiusClients = sqliteTable('radius_clients', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  /** Normalised address or CIDR, e.g. `10.0.0.0/8`, `192.0.2.7/32`. */
  address: text('address').notNull().unique(),
  secretSealed: blob('secret_sealed', { mode: 'buffer' }).notNull(),
  /** `yes`, `no` or `auto` (required once the client has been seen sending one). */
  requireMessageAuthenticator: text('require_message_authenticator', { enum: ['yes', 'no', 'auto'] }).notNull().default('auto'),
  messageAuthenticatorSeen: integer('message_authenticator_seen', { mode: 'boolean' }).notNull().default(false),
  /** Who checks the password: `downstream` (the RADIUS server) or `directory` (LDAP bind); null: the --first-factor setting. */
  firstFactor: text('first_factor', { enum: ['downstream', 'directory'] }),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/**
 * RADIUS clients given by a flag or the environment are not stored, but what Gatehouse learns of
 * them is: an `auto` client that sent a Message-Authenticator must keep sending one after a
 * restart or a reload of the settings.
 */
export const fixedClientState = sqliteTable('fixed_client_state', {
  /** Normalised address or CIDR, as in radius_clients. */
  address: text('address').primaryKey(),
  messageAuthenticatorSeen: integer('message_authenticator_seen', { mode: 'boolean' }).notNull().default(false),
  updatedAt: integer('updated_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/** Downstream RADIUS servers that check passwords. */
export const downstreamServers = sqliteTable('downstream_servers', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  host: text('host').notNull(),
  port: integer('port').notNull().default(1812),
  secretSealed: blob('secret_sealed', { mode: 'buffer' }).notNull(),
  requireMessageAuthenticator: integer('require_message_authenticator', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
  /** The pool it serves in (downstream_pools.name; a pool with no row there has the defaults). */
  pool: text('pool').notNull().default('default'),
  acctPort: integer('acct_port').notNull().default(1813),
  /** `udp`, or `radsec` (RADIUS over TLS, RFC 6614, to `port`). */
  transport: text('transport', { enum: ['udp', 'radsec'] }).notNull().default('udp'),
});

/** How a pool of downstream servers is used (app/radius/pools.ts). */
export const downstreamPools = sqliteTable('downstream_pools', {
  name: text('name').primaryKey(),
  /** `fail-over` (in order) or `load-balance` (fewest outstanding). */
  mode: text('mode', { enum: ['fail-over', 'load-balance'] }).notNull().default('fail-over'),
  responseWindowMs: integer('response_window_ms').notNull().default(2000),
  deadAfter: integer('dead_after').notNull().default(3),
  checkIntervalMs: integer('check_interval_ms').notNull().default(10000),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/** Realms (`user@realm`, `REALM\user`) and the pool each goes to; `DEFAULT` takes the rest. */
export const realms = sqliteTable('realms', {
  name: text('name').primaryKey(),
  pool: text('pool').notNull(),
  strip: integer('strip', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/**
 * Who is connected right now, from RADIUS accounting (Start and Interim-Update write, Stop and
 * Accounting-Off remove). One row per client, NAS and Acct-Session-Id.
 */
export const radiusSessions = sqliteTable(
  'radius_sessions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The RADIUS client's name, and the NAS as it names itself (NAS-Identifier or NAS-IP-Address). */
    client: text('client').notNull(),
    nas: text('nas').notNull(),
    sessionId: text('session_id').notNull(),
    username: text('username').notNull(),
    nasPort: text('nas_port'),
    framedIp: text('framed_ip'),
    callingStationId: text('calling_station_id'),
    startedAt: integer('started_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    inputBytes: integer('input_bytes').notNull().default(0),
    outputBytes: integer('output_bytes').notNull().default(0),
  },
  (t) => [uniqueIndex('radius_sessions_key').on(t.client, t.nas, t.sessionId), index('radius_sessions_username').on(t.username)],
);

/** Settings stored from the admin UI or CLI; flags and environment variables override them. */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/**
 * Append-only, hash-chained audit log: hash = SHA-256(prev_hash + canonical record).
 * Nothing updates or deletes rows; triggers below refuse it.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey(),
    time: integer('time').notNull(),
    event: text('event').notNull(),
    outcome: text('outcome', { enum: ['accept', 'reject', 'drop', 'challenge', 'error', 'ok'] }).notNull(),
    username: text('username'),
    reason: text('reason'),
    source: text('source'),
    client: text('client'),
    actor: text('actor'),
    details: text('details'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  // Pages are newest-first by id with optional filters: (column, id) indexes serve them without
  // sorting, even at a million records.
  (t) => [
    index('audit_log_time').on(t.time),
    index('audit_log_username_id').on(t.username, t.id),
    index('audit_log_event_id').on(t.event, t.id),
    index('audit_log_outcome_id').on(t.outcome, t.id),
    // The dashboard chart (countLoginDecisions in queries/audit.ts): login decisions by 5-minute
    // slot, outcome and reason, in the order its GROUP BY wants, holding every column it reads.
    // The expression and the WHERE are repeated there word for word (SQLite matches them as text).
    index('audit_log_decision_slot')
      .on(sql`${t.time} / 300000`, t.outcome, t.reason)
      .where(sql`${t.event} IN ('radius.auth', 'windows.auth')`),
  ],
);

/** People who log in through Gatehouse (RADIUS user names). Lock state applies to every factor. */
export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  username: text('username').notNull().unique(),
  /** Locked by an admin until unlocked. */
  locked: integer('locked', { mode: 'boolean' }).notNull().default(false),
  /** Locked automatically after too many wrong codes, until this time (ms). */
  lockedUntil: integer('locked_until'),
  /** Consecutive wrong codes since the last good one. */
  failedAttempts: integer('failed_attempts').notNull().default(0),
  /** For people reading lists: a full name (from a CSV import or the user's page). */
  displayName: text('display_name'),
  email: text('email'),
  /**
   * What a search of the users list looks in: the name, display name and email folded to lower
   * case (NFKC, any script), one per line. Written with them (queries/users.ts); SQLite's lower()
   * folds ASCII only, so "åsa" would not find "Åsa" without it.
   */
  searchText: text('search_text').notNull().default(''),
  /** `local` (added here) or `directory` (kept by the directory sync, app/directory/sync.ts). */
  source: text('source', { enum: ['local', 'directory'] }).notNull().default('local'),
  /** Directory users: their entry, UPN, and whether the directory still has them enabled. */
  directoryDn: text('directory_dn'),
  upn: text('upn'),
  /** `active`, `disabled` (in the directory) or `removed` (no longer found); null for local users. */
  directoryState: text('directory_state', { enum: ['active', 'disabled', 'removed'] }),
  /** When the directory account was found disabled or removed: the grace period runs from here. */
  directoryGoneAt: integer('directory_gone_at'),
  /** Start of the last sync run that saw the entry (entries a complete run did not see are gone). */
  syncedAt: integer('synced_at'),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/** The groups a user is in (from a CSV import or the user's page): names, lower case. */
export const userGroups = sqliteTable(
  'user_groups',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.name] }), index('user_groups_name').on(t.name, t.userId)],
);

/** A user's TOTP authenticator (RFC 6238); the seed is sealed with the master key. */
export const totpAccounts = sqliteTable('totp_accounts', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  userId: integer('user_id')
    .notNull()
    .unique()
    .references(() => users.id, { onDelete: 'cascade' }),
  seedSealed: blob('seed_sealed', { mode: 'buffer' }).notNull(),
  algorithm: text('algorithm', { enum: ['SHA1', 'SHA256', 'SHA512'] }).notNull().default('SHA1'),
  digits: integer('digits').notNull().default(6),
  period: integer('period').notNull().default(30),
  /** Time step of the last accepted code: that code and older ones are refused (replay). */
  lastUsedStep: integer('last_used_step').notNull().default(-1),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/**
 * A TOTP enrolment waiting for its first code: it does not count (logins see only totp_accounts)
 * until a code from the user's app confirms it, and then replaces the user's account, if any.
 */
export const totpPending = sqliteTable('totp_pending', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  seedSealed: blob('seed_sealed', { mode: 'buffer' }).notNull(),
  algorithm: text('algorithm', { enum: ['SHA1', 'SHA256', 'SHA512'] }).notNull().default('SHA1'),
  digits: integer('digits').notNull().default(6),
  period: integer('period').notNull().default(30),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/** People who run Gatehouse from the browser. They sign in with a password and a TOTP code. */
export const admins = sqliteTable('admins', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  /** scrypt, self-describing: `scrypt$N$r$p$salt$hash` (base64). */
  passwordHash: text('password_hash').notNull(),
  /** Null until the admin has enrolled (on first sign-in) or after a reset. */
  totpSeedSealed: blob('totp_seed_sealed', { mode: 'buffer' }),
  totpLastUsedStep: integer('totp_last_used_step').notNull().default(-1),
  failedAttempts: integer('failed_attempts').notNull().default(0),
  lockedUntil: integer('locked_until'),
  /** What the admin may do (app/admin/roles.ts): `admin`, `helpdesk` or `readonly`. */
  role: text('role', { enum: ['admin', 'helpdesk', 'readonly'] }).notNull().default('admin'),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/** Browser sessions. The cookie holds a random token; only its SHA-256 is stored. */
export const adminSessions = sqliteTable(
  'admin_sessions',
  {
    id: text('id').primaryKey(),
    adminId: integer('admin_id')
      .notNull()
      .references(() => admins.id, { onDelete: 'cascade' }),
    /** Password checked, code not yet: the session may only finish signing in. */
    stage: text('stage', { enum: ['password', 'full'] }).notNull(),
    csrfToken: text('csrf_token').notNull(),
    /** During first sign-in: the TOTP seed being enrolled, sealed, until a code confirms it. */
    pendingSeedSealed: blob('pending_seed_sealed', { mode: 'buffer' }),
    createdAt: integer('created_at').notNull(),
    lastSeenAt: integer('last_seen_at').notNull(),
  },
  (t) => [index('admin_sessions_admin').on(t.adminId)],
);

/** Bearer tokens for the JSON API; only a SHA-256 of the token is stored. */
export const apiTokens = sqliteTable('api_tokens', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: text('created_by').notNull(),
  /** What the token may do through the API, as for an admin (app/admin/roles.ts). */
  role: text('role', { enum: ['admin', 'helpdesk', 'readonly'] }).notNull().default('admin'),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
  lastUsedAt: integer('last_used_at'),
});

/** Windows machines (or groups of them) running `gatehouse agent`: each has a revocable token. */
export const windowsAgents = sqliteTable('windows_agents', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: text('created_by').notNull(),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
  lastSeenAt: integer('last_seen_at'),
});

/**
 * Phones that approve logins in Gatehouse's own approver (`--push-provider gatehouse`): a WebAuthn
 * credential (its public key and signature counter; never anything secret) and, once the phone
 * subscribed, its Web Push subscription. The phone also holds a device token (only its SHA-256 is
 * here) that lets it list and follow its user's requests; deciding one takes the passkey.
 */
export const pushDevices = sqliteTable(
  'push_devices',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** base64url, as WebAuthn names it. */
    credentialId: text('credential_id').notNull().unique(),
    publicKey: blob('public_key', { mode: 'buffer' }).notNull(),
    signCount: integer('sign_count').notNull().default(0),
    /** Comma-separated authenticator transports the browser reported. */
    transports: text('transports').notNull().default(''),
    tokenHash: text('token_hash').notNull().unique(),
    /** The Web Push subscription as the browser gave it (endpoint and keys), JSON; null until subscribed. */
    subscription: text('subscription'),
    createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [index('push_devices_user').on(t.userId)],
);

/** One-time links that enrol a phone for a user (valid 15 minutes); only the SHA-256 of the link's token. */
export const pushEnrolments = sqliteTable('push_enrolments', {
  tokenHash: text('token_hash').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  createdBy: text('created_by').notNull(),
  expiresAt: integer('expires_at').notNull(),
  /** Set when a phone used it (then it cannot be used again). */
  usedAt: integer('used_at'),
  /**
   * The passkey registration challenge last handed to a phone opening the link, and until when it
   * may be answered: in the store, so the phone's second step may reach another appliance.
   */
  challenge: text('challenge'),
  challengeUntil: integer('challenge_until'),
});

/** Gatehouse's VAPID key pair for Web Push (RFC 8292), made on first start; the private key sealed. */
export const pushKeys = sqliteTable('push_keys', {
  id: integer('id').primaryKey(),
  publicKey: text('public_key').notNull(),
  privateKeySealed: blob('private_key_sealed', { mode: 'buffer' }).notNull(),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/**
 * Applications that call the push API Gatehouse serves (the Notakey-compatible
 * `/api/v2/application/{access_id}/...`): an authentication proxy, a MikroTik script, another
 * Gatehouse. Each has an access id (in its URLs, not a secret) and OAuth2 client credentials (only
 * the secret's SHA-256 is here); it may instead accept calls without a token from listed source
 * addresses (CIDRs, comma-separated; empty: never).
 */
export const pushApplications = sqliteTable('push_applications', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  accessId: text('access_id').notNull().unique(),
  clientId: text('client_id').notNull().unique(),
  clientSecretHash: text('client_secret_hash').notNull(),
  allowedSources: text('allowed_sources').notNull().default(''),
  /** Calls per second this application may make (all of its calls); 0: no limit. */
  rateLimit: integer('rate_limit').notNull().default(10000),
  createdBy: text('created_by').notNull(),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
  lastUsedAt: integer('last_used_at'),
});

/** OAuth2 access tokens issued to push API applications (client credentials); only their SHA-256. */
export const pushAppTokens = sqliteTable(
  'push_app_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    applicationId: integer('application_id')
      .notNull()
      .references(() => pushApplications.id, { onDelete: 'cascade' }),
    scope: text('scope').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('push_app_tokens_expiry').on(t.expiresAt)],
);

/**
 * Policy rules (app/mfa/policy.ts), tried in `position` order; the first that matches decides.
 * `groups`: group names (lower case, one per line; empty: anyone); `client`: a RADIUS client's name
 * (empty: any door); `action`: require (with `factors`: any, totp, push), password_only or deny;
 * `reply_attributes`: `Name = value` lines added to a RADIUS Access-Accept.
 */
export const policyRules = sqliteTable('policy_rules', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  position: integer('position').notNull(),
  name: text('name').notNull().unique(),
  groups: text('groups').notNull().default(''),
  client: text('client'),
  action: text('action', { enum: ['require', 'password_only', 'deny'] }).notNull(),
  factors: text('factors', { enum: ['any', 'totp', 'push'] }).notNull().default('any'),
  replyAttributes: text('reply_attributes').notNull().default(''),
  createdBy: text('created_by').notNull(),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/**
 * One-time codes an admin gives a user so they may enrol a first factor at /my outside the
 * self-enrolment window (only the SHA-256 of the code is kept; claimed once, by one statement).
 */
export const enrolmentCodes = sqliteTable('enrolment_codes', {
  codeHash: text('code_hash').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  expiresAt: integer('expires_at').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: integer('created_at').notNull().default(sql`(unixepoch('subsec') * 1000)`),
});

/**
 * The appliances sharing this store (one for SQLite; several on PostgreSQL): each writes its own
 * row at start and every heartbeat (app/cluster/nodes.ts), so any of them can show them all.
 * `health`: JSON of what the node reported (its RADIUS listener, downstream server and push
 * service, or `stopped` when it shut down cleanly).
 */
export const nodes = sqliteTable('nodes', {
  name: text('name').primaryKey(),
  version: text('version').notNull(),
  startedAt: integer('started_at').notNull(),
  heartbeatAt: integer('heartbeat_at').notNull(),
  health: text('health').notNull().default('{}'),
});

/**
 * Gatehouse's own RADIUS Access-Challenges waiting for their answer, where several appliances share
 * the store (PostgreSQL): the answer may come to another appliance than the one that asked. `state`
 * is the State attribute (hex); `payload` what the answer needs (client, user, the downstream
 * server's Access-Accept), sealed with the master key. A State is taken once (DELETE ... RETURNING).
 * One appliance alone (SQLite) keeps them in memory and leaves this table empty.
 */
export const radiusChallenges = sqliteTable(
  'radius_challenges',
  {
    state: text('state').primaryKey(),
    payloadSealed: blob('payload_sealed', { mode: 'buffer' }).notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('radius_challenges_expires').on(t.expiresAt)],
);

/**
 * Push approvals waiting for a person, where several appliances share the store (PostgreSQL): a
 * login that fails over to another appliance joins the push the first one started instead of
 * sending a second, and gets the same decision. `join_key` is a digest of what makes two logins
 * the same (app/mfa/engine.ts); at most one row per join key is `live` (waiting), so two
 * appliances asked at once start one push between them. `node` is the appliance following the
 * push service for it (empty: none; another takes over), `ref` the service's name for the push
 * (the push API's uuid); `outcome` the decision once known (JSON). Rows are kept a minute after
 * their end for the logins still reading them. One appliance alone (SQLite) leaves it empty.
 */
export const pendingPushes = sqliteTable(
  'pending_pushes',
  {
    id: text('id').primaryKey(),
    joinKey: text('join_key').notNull(),
    live: integer('live').notNull().default(1),
    username: text('username').notNull(),
    node: text('node').notNull(),
    ref: text('ref'),
    startedAt: integer('started_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    outcome: text('outcome'),
    /** Number matching: the push's number, for the round that brings it to another appliance. */
    number: integer('number'),
  },
  (t) => [uniqueIndex('pending_pushes_live').on(t.joinKey).where(sql`live = 1`), index('pending_pushes_expires').on(t.expiresAt)],
);

/**
 * The per-user push limits shared by the appliances of a cluster (PostgreSQL): one row per push
 * admitted, open (`ended_at` null) while it waits. A new push is admitted, or refused by a limit,
 * in one transaction that holds the user's lock, whichever appliance asks. One appliance alone
 * (SQLite) counts in memory and leaves it empty.
 */
export const pushAdmissions = sqliteTable(
  'push_admissions',
  {
    id: text('id').primaryKey(),
    username: text('username').notNull(),
    node: text('node').notNull(),
    startedAt: integer('started_at').notNull(),
    endedAt: integer('ended_at'),
  },
  (t) => [index('push_admissions_user').on(t.username, t.startedAt), index('push_admissions_started').on(t.startedAt)],
);

/**
 * Gatehouse's own approver's requests where several appliances share the store (PostgreSQL): a
 * phone may reach another appliance than the one whose login waits. `request` is what the phone
 * is shown and the decision is signed over (JSON: title, description, fingerprint, nonce, number,
 * choices); `decision` and `picked` are written once (`UPDATE ... WHERE decision IS NULL`) by the
 * appliance the phone reached, and taken by the one that opened it (`node`), which then removes
 * the row. One appliance alone (SQLite) keeps its requests in memory and leaves it empty.
 */
export const pushRequests = sqliteTable(
  'push_requests',
  {
    id: text('id').primaryKey(),
    username: text('username').notNull(),
    node: text('node').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    request: text('request').notNull(),
    decision: text('decision'),
    picked: integer('picked'),
  },
  (t) => [index('push_requests_user').on(t.username), index('push_requests_node').on(t.node)],
);

/**
 * Requests of the push API served to others (app/push/served.ts) where several appliances share
 * the store (PostgreSQL): a caller's poll may reach another appliance than its create. `entry` is
 * the request as created (JSON); `state` and `ended_at` are written once its record is committed.
 * One appliance alone (SQLite) keeps them in memory and leaves it empty.
 */
export const servedRequests = sqliteTable(
  'served_requests',
  {
    uuid: text('uuid').primaryKey(),
    applicationId: integer('application_id').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    entry: text('entry').notNull(),
    state: text('state').notNull(),
    endedAt: integer('ended_at'),
  },
  (t) => [index('served_requests_expires').on(t.expiresAt)],
);
