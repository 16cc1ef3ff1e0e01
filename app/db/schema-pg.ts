// The store's schema for PostgreSQL (`--database-url`): the same tables, columns and meaning as
// schema.ts, which stays the one to read for what each holds. Change both together, then
// `npm run db:generate` (it generates for both dialects); test/integration/store-dialects.test.ts
// fails when the two disagree. Times are milliseconds since the epoch (bigint), as in SQLite.
import { sql } from 'drizzle-orm';
import { bigint, boolean, customType, index, integer, primaryKey, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';

/** Now, in milliseconds since the epoch (SQLite's `unixepoch('subsec') * 1000`). */
const NOW_MS = sql`(floor(extract(epoch from clock_timestamp()) * 1000)::bigint)`;

/** Binary columns as Node buffers (what better-sqlite3 gives for a blob). */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/** RADIUS clients (NAS): an address or CIDR and its shared secret, sealed with the master key. */
export const radiusClients = pgTable('radius_clients', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull(),
  /** Normalised address or CIDR, e.g. `10.0.0.0/8`, `192.0.2.7/32`. */
  address: text('address').notNull().unique(),
  secretSealed: bytea('secret_sealed').notNull(),
  /** `yes`, `no` or `auto` (required once the client has been seen sending one). */
  requireMessageAuthenticator: text('require_message_authenticator', { enum: ['yes', 'no', 'auto'] }).notNull().default('auto'),
  messageAuthenticatorSeen: boolean('message_authenticator_seen').notNull().default(false),
  /** Who checks the password: `downstream` (the RADIUS server) or `directory` (LDAP bind); null: the --first-factor setting. */
  firstFactor: text('first_factor', { enum: ['downstream', 'directory'] }),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/**
 * RADIUS clients given by a flag or the environment are not stored, but what Gatehouse learns of
 * them is: an `auto` client that sent a Message-Authenticator must keep sending one after a
 * restart or a reload of the settings.
 */
export const fixedClientState = pgTable('fixed_client_state', {
  /** Normalised address or CIDR, as in radius_clients. */
  address: text('address').primaryKey(),
  messageAuthenticatorSeen: boolean('message_authenticator_seen').notNull().default(false),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/** Downstream RADIUS servers that check passwords. */
export const downstreamServers = pgTable('downstream_servers', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull(),
  host: text('host').notNull(),
  port: integer('port').notNull().default(1812),
  secretSealed: bytea('secret_sealed').notNull(),
  requireMessageAuthenticator: boolean('require_message_authenticator').notNull().default(false),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
  pool: text('pool').notNull().default('default'),
  acctPort: integer('acct_port').notNull().default(1813),
  transport: text('transport', { enum: ['udp', 'radsec'] }).notNull().default('udp'),
});

export const downstreamPools = pgTable('downstream_pools', {
  name: text('name').primaryKey(),
  mode: text('mode', { enum: ['fail-over', 'load-balance'] }).notNull().default('fail-over'),
  responseWindowMs: integer('response_window_ms').notNull().default(2000),
  deadAfter: integer('dead_after').notNull().default(3),
  checkIntervalMs: integer('check_interval_ms').notNull().default(10000),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

export const realms = pgTable('realms', {
  name: text('name').primaryKey(),
  pool: text('pool').notNull(),
  strip: boolean('strip').notNull().default(false),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

export const radiusSessions = pgTable(
  'radius_sessions',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    client: text('client').notNull(),
    nas: text('nas').notNull(),
    sessionId: text('session_id').notNull(),
    username: text('username').notNull(),
    nasPort: text('nas_port'),
    framedIp: text('framed_ip'),
    callingStationId: text('calling_station_id'),
    startedAt: bigint('started_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    inputBytes: bigint('input_bytes', { mode: 'number' }).notNull().default(0),
    outputBytes: bigint('output_bytes', { mode: 'number' }).notNull().default(0),
  },
  (t) => [uniqueIndex('radius_sessions_key').on(t.client, t.nas, t.sessionId), index('radius_sessions_username').on(t.username)],
);

/** Settings stored from the admin UI or CLI; flags and environment variables override them. */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/**
 * Append-only, hash-chained audit log: hash = SHA-256(prev_hash + canonical record).
 * Nothing updates or deletes rows; triggers below refuse it.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey(),
    time: bigint('time', { mode: 'number' }).notNull(),
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
      .on(sql`(${t.time} / 300000)`, t.outcome, t.reason)
      .where(sql`${t.event} IN ('radius.auth', 'windows.auth')`),
  ],
);

/** People who log in through Gatehouse (RADIUS user names). Lock state applies to every factor. */
export const users = pgTable('users', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  username: text('username').notNull().unique(),
  /** Locked by an admin until unlocked. */
  locked: boolean('locked').notNull().default(false),
  /** Locked automatically after too many wrong codes, until this time (ms). */
  lockedUntil: bigint('locked_until', { mode: 'number' }),
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
  directoryGoneAt: bigint('directory_gone_at', { mode: 'number' }),
  /** Start of the last sync run that saw the entry (entries a complete run did not see are gone). */
  syncedAt: bigint('synced_at', { mode: 'number' }),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/** The groups a user is in (from a CSV import or the user's page): names, lower case. */
export const userGroups = pgTable(
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
export const totpAccounts = pgTable('totp_accounts', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  userId: integer('user_id')
    .notNull()
    .unique()
    .references(() => users.id, { onDelete: 'cascade' }),
  seedSealed: bytea('seed_sealed').notNull(),
  algorithm: text('algorithm', { enum: ['SHA1', 'SHA256', 'SHA512'] }).notNull().default('SHA1'),
  digits: integer('digits').notNull().default(6),
  period: integer('period').notNull().default(30),
  /** Time step of the last accepted code: that code and older ones are refused (replay). */
  lastUsedStep: bigint('last_used_step', { mode: 'number' }).notNull().default(-1),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/**
 * A TOTP enrolment waiting for its first code: it does not count (logins see only totp_accounts)
 * until a code from the user's app confirms it, and then replaces the user's account, if any.
 */
export const totpPending = pgTable('totp_pending', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  seedSealed: bytea('seed_sealed').notNull(),
  algorithm: text('algorithm', { enum: ['SHA1', 'SHA256', 'SHA512'] }).notNull().default('SHA1'),
  digits: integer('digits').notNull().default(6),
  period: integer('period').notNull().default(30),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/** People who run Gatehouse from the browser. They sign in with a password and a TOTP code. */
export const admins = pgTable('admins', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull().unique(),
  /** scrypt, self-describing: `scrypt$N$r$p$salt$hash` (base64). */
  passwordHash: text('password_hash').notNull(),
  /** Null until the admin has enrolled (on first sign-in) or after a reset. */
  totpSeedSealed: bytea('totp_seed_sealed'),
  totpLastUsedStep: bigint('totp_last_used_step', { mode: 'number' }).notNull().default(-1),
  failedAttempts: integer('failed_attempts').notNull().default(0),
  lockedUntil: bigint('locked_until', { mode: 'number' }),
  /** What the admin may do (app/admin/roles.ts): `admin`, `helpdesk` or `readonly`. */
  role: text('role', { enum: ['admin', 'helpdesk', 'readonly'] }).notNull().default('admin'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/** Browser sessions. The cookie holds a random token; only its SHA-256 is stored. */
export const adminSessions = pgTable(
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
    pendingSeedSealed: bytea('pending_seed_sealed'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    lastSeenAt: bigint('last_seen_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('admin_sessions_admin').on(t.adminId)],
);

/** Bearer tokens for the JSON API; only a SHA-256 of the token is stored. */
export const apiTokens = pgTable('api_tokens', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull().unique(),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: text('created_by').notNull(),
  /** What the token may do through the API, as for an admin (app/admin/roles.ts). */
  role: text('role', { enum: ['admin', 'helpdesk', 'readonly'] }).notNull().default('admin'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
  lastUsedAt: bigint('last_used_at', { mode: 'number' }),
});

/** Windows machines (or groups of them) running `gatehouse agent`: each has a revocable token. */
export const windowsAgents = pgTable('windows_agents', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull().unique(),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: text('created_by').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
  lastSeenAt: bigint('last_seen_at', { mode: 'number' }),
});

/**
 * Phones that approve logins in Gatehouse's own approver (`--push-provider gatehouse`): a WebAuthn
 * credential (its public key and signature counter; never anything secret) and, once the phone
 * subscribed, its Web Push subscription. The phone also holds a device token (only its SHA-256 is
 * here) that lets it list and follow its user's requests; deciding one takes the passkey.
 */
export const pushDevices = pgTable(
  'push_devices',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** base64url, as WebAuthn names it. */
    credentialId: text('credential_id').notNull().unique(),
    publicKey: bytea('public_key').notNull(),
    signCount: bigint('sign_count', { mode: 'number' }).notNull().default(0),
    /** Comma-separated authenticator transports the browser reported. */
    transports: text('transports').notNull().default(''),
    tokenHash: text('token_hash').notNull().unique(),
    /** The Web Push subscription as the browser gave it (endpoint and keys), JSON; null until subscribed. */
    subscription: text('subscription'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
    lastUsedAt: bigint('last_used_at', { mode: 'number' }),
  },
  (t) => [index('push_devices_user').on(t.userId)],
);

/** One-time links that enrol a phone for a user (valid 15 minutes); only the SHA-256 of the link's token. */
export const pushEnrolments = pgTable('push_enrolments', {
  tokenHash: text('token_hash').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  createdBy: text('created_by').notNull(),
  expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  /** Set when a phone used it (then it cannot be used again). */
  usedAt: bigint('used_at', { mode: 'number' }),
  challenge: text('challenge'),
  challengeUntil: bigint('challenge_until', { mode: 'number' }),
});

/** Gatehouse's VAPID key pair for Web Push (RFC 8292), made on first start; the private key sealed. */
export const pushKeys = pgTable('push_keys', {
  id: integer('id').primaryKey(),
  publicKey: text('public_key').notNull(),
  privateKeySealed: bytea('private_key_sealed').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/**
 * Applications that call the push API Gatehouse serves (the Notakey-compatible
 * `/api/v2/application/{access_id}/...`): an authentication proxy, a MikroTik script, another
 * Gatehouse. Each has an access id (in its URLs, not a secret) and OAuth2 client credentials (only
 * the secret's SHA-256 is here); it may instead accept calls without a token from listed source
 * addresses (CIDRs, comma-separated; empty: never).
 */
export const pushApplications = pgTable('push_applications', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull().unique(),
  accessId: text('access_id').notNull().unique(),
  clientId: text('client_id').notNull().unique(),
  clientSecretHash: text('client_secret_hash').notNull(),
  allowedSources: text('allowed_sources').notNull().default(''),
  /** Calls per second this application may make (all of its calls); 0: no limit. */
  rateLimit: integer('rate_limit').notNull().default(10000),
  createdBy: text('created_by').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
  lastUsedAt: bigint('last_used_at', { mode: 'number' }),
});

/** OAuth2 access tokens issued to push API applications (client credentials); only their SHA-256. */
export const pushAppTokens = pgTable(
  'push_app_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    applicationId: integer('application_id')
      .notNull()
      .references(() => pushApplications.id, { onDelete: 'cascade' }),
    scope: text('scope').notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('push_app_tokens_expiry').on(t.expiresAt)],
);

/**
 * Policy rules (app/mfa/policy.ts), tried in `position` order; the first that matches decides.
 * `groups`: group names (lower case, one per line; empty: anyone); `client`: a RADIUS client's name
 * (empty: any door); `action`: require (with `factors`: any, totp, push), password_only or deny;
 * `reply_attributes`: `Name = value` lines added to a RADIUS Access-Accept.
 */
export const policyRules = pgTable('policy_rules', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  position: integer('position').notNull(),
  name: text('name').notNull().unique(),
  groups: text('groups').notNull().default(''),
  client: text('client'),
  action: text('action', { enum: ['require', 'password_only', 'deny'] }).notNull(),
  factors: text('factors', { enum: ['any', 'totp', 'push'] }).notNull().default('any'),
  replyAttributes: text('reply_attributes').notNull().default(''),
  createdBy: text('created_by').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/**
 * One-time codes an admin gives a user so they may enrol a first factor at /my outside the
 * self-enrolment window (only the SHA-256 of the code is kept; claimed once, by one statement).
 */
export const enrolmentCodes = pgTable('enrolment_codes', {
  codeHash: text('code_hash').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull().default(NOW_MS),
});

/** As in schema.ts: the appliances sharing this store, each with its own heartbeat row. */
export const nodes = pgTable('nodes', {
  name: text('name').primaryKey(),
  version: text('version').notNull(),
  startedAt: bigint('started_at', { mode: 'number' }).notNull(),
  heartbeatAt: bigint('heartbeat_at', { mode: 'number' }).notNull(),
  health: text('health').notNull().default('{}'),
});

/** As in schema.ts: RADIUS challenges waiting for their answer, on whichever appliance it comes. */
export const radiusChallenges = pgTable(
  'radius_challenges',
  {
    state: text('state').primaryKey(),
    payloadSealed: bytea('payload_sealed').notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('radius_challenges_expires').on(t.expiresAt)],
);

/** As in schema.ts: push approvals waiting for a person, joined by a login on any appliance. */
export const pendingPushes = pgTable(
  'pending_pushes',
  {
    id: text('id').primaryKey(),
    joinKey: text('join_key').notNull(),
    live: integer('live').notNull().default(1),
    username: text('username').notNull(),
    node: text('node').notNull(),
    ref: text('ref'),
    startedAt: bigint('started_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    outcome: text('outcome'),
    /** Number matching: the push's number, for the round that brings it to another appliance. */
    number: integer('number'),
  },
  (t) => [uniqueIndex('pending_pushes_live').on(t.joinKey).where(sql`live = 1`), index('pending_pushes_expires').on(t.expiresAt)],
);

/** As in schema.ts: pushes admitted by the per-user limits, counted across the appliances. */
export const pushAdmissions = pgTable(
  'push_admissions',
  {
    id: text('id').primaryKey(),
    username: text('username').notNull(),
    node: text('node').notNull(),
    startedAt: bigint('started_at', { mode: 'number' }).notNull(),
    endedAt: bigint('ended_at', { mode: 'number' }),
  },
  (t) => [index('push_admissions_user').on(t.username, t.startedAt), index('push_admissions_started').on(t.startedAt)],
);

/** As in schema.ts: the own approver's requests, seen and decided through any appliance. */
export const pushRequests = pgTable(
  'push_requests',
  {
    id: text('id').primaryKey(),
    username: text('username').notNull(),
    node: text('node').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    request: text('request').notNull(),
    decision: text('decision'),
    picked: integer('picked'),
  },
  (t) => [index('push_requests_user').on(t.username), index('push_requests_node').on(t.node)],
);

/** As in schema.ts: the served push API's requests, read by a poll on any appliance. */
export const servedRequests = pgTable(
  'served_requests',
  {
    uuid: text('uuid').primaryKey(),
    applicationId: integer('application_id').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    entry: text('entry').notNull(),
    state: text('state').notNull(),
    endedAt: bigint('ended_at', { mode: 'number' }),
  },
  (t) => [index('served_requests_expires').on(t.expiresAt)],
);
