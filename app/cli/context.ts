// What every store-managing sub-command needs: the data directory, the store, the sealer, audit.
import { publicOrigin } from '../push/provider.js';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AdminDeps, Result } from '../admin/deps.js';
import type { Auditor } from '../audit/audit.js';
import { KEYED_MARKER_FILE, openAuditLog, type AuditLog } from '../audit/log.js';
import { ConfigError, flagErrorMessage, parseServeOptions, resolveSettings } from '../config.js';
import type { AuditStore } from '../db/queries/audit.js';
import { readStoredSettings } from '../db/queries/settings.js';
import { isSqlite, openConfiguredStore, type OpenedStore } from '../db/connect.js';
import { createSealer, loadMasterKey, type Sealer } from '../db/secrets.js';
import type { HiddenPrompt } from './prompt.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whole standard input (for secrets that must not appear in argv). */
  readStdin(): Promise<string>;
  /** Standard output is a terminal (a QR code is drawn). */
  isTty: boolean;
  /** When standard input is a terminal: ask for secrets on it without echo (app/cli/prompt.ts); else null. */
  openPrompt: (() => HiddenPrompt) | null;
}

export interface CliContext {
  store: OpenedStore;
  sealer: Sealer;
  auditStore: AuditStore;
  audit: Auditor;
  auditLog: AuditLog;
  /** Who made the change, for the audit log. */
  actor: string;
  /** The admin operations over this store (app/admin/), as the web UI and the API use them. */
  admin: AdminDeps;
  close(): Promise<void>;
}

/**
 * The account running the command: the person behind sudo, else the operating system's account
 * of this process (not $USER, which podman exec and systemd leave unset).
 */
export function cliActor(env: NodeJS.ProcessEnv): string {
  const sudo = env['SUDO_USER'];
  if (sudo !== undefined && sudo !== '') return `cli:${sudo}`;
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

export async function openContext(dataDir: string, env: NodeJS.ProcessEnv): Promise<CliContext> {
  // Settings as the appliance would see them from here: the environment, then the stored ones
  // (the appliance's own flags are not known to a command). DATABASE_URL picks the store.
  const fixed = parseServeOptions([], env).fixed;
  const masterKey = loadMasterKey(dataDir, env['GATEHOUSE_MASTER_KEY']);
  const sealer = createSealer(masterKey);
  const store = await openConfiguredStore({ dataDir, databaseUrl: fixed.values.databaseUrl, databaseCa: fixed.values.databaseCa, applicationName: 'gatehouse-cli' }, env);
  const auditLog = await openAuditLog(store, masterKey, Date.now, isSqlite(store) ? join(dataDir, KEYED_MARKER_FILE) : undefined);
  const auditStore = auditLog.store;
  const audit = auditLog.auditor;
  // (read at open and again after each change the command makes: a command is short-lived).
  let stored = await readStoredSettings(store);
  const resolved = () => resolveSettings(fixed, stored).settings;
  const admin: AdminDeps = {
    store,
    sealer,
    audit,
    dataDir,
    // A running appliance picks the change up from the store within a second.
    afterChange: async () => {
      stored = await readStoredSettings(store);
    },
    fixedClients: () => (fixed.values.addressSecretIn ?? []).map((c) => ({ address: c.address, source: 'env' as const })),
    fixedSources: () => fixed.sources,
    totpIssuer: () => resolved().totpIssuer,
    publicOrigin: () => publicOrigin(resolved()),
    nameRules: () => ({ stripRealm: resolved().stripRealm === 'yes' }),
    now: Date.now,
  };
  return { store, sealer, auditStore, audit, auditLog, actor: cliActor(env), admin, close: () => store.close() };
}

/** Print an admin operation's outcome: the success line, or the error (exit 2 for a bad value, 1 otherwise). */
export function report<T>(io: CliIo, r: Result<T>, success: (value: T) => string): number {
  if (r.ok) {
    io.out(`${success(r.value)}\n`);
    return 0;
  }
  io.err(`gatehouse: ${r.error}\n`);
  return r.status === 400 ? 2 : 1;
}

/**
 * A list command's --json output: one JSON array, an object per line (valid JSON for jq and
 * scripts, readable in a terminal). Callers pick the fields; a secret never is one.
 */
export function jsonList(rows: readonly object[]): string {
  return rows.length === 0 ? '[]\n' : `[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`;
}

/** A time stored as epoch milliseconds, for --json: ISO 8601 in UTC, or null. */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with `--data-dir` added and errors turned into one-line ConfigErrors. */
export function parseCommand(args: readonly string[], options: Options, env: NodeJS.ProcessEnv): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[]; dataDir: string } {
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: { ...options, 'data-dir': { type: 'string' } }, strict: true, allowPositionals: true });
  } catch (e) {
    throw new ConfigError(flagErrorMessage(e));
  }
  const dataDir = (parsed.values['data-dir'] as string | undefined) ?? env['GATEHOUSE_DATA_DIR'] ?? './data';
  if (dataDir === '') throw new ConfigError('--data-dir: must not be empty');
  return { values: parsed.values, positionals: parsed.positionals, dataDir };
}
