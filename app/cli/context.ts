// What every store-managing sub-command needs: the data directory, the store, the sealer, audit.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createAuditor, type Auditor } from '../audit/audit.js';
import { ConfigError, flagErrorMessage } from '../config.js';
import { createAuditStore, type AuditStore } from '../db/queries/audit.js';
import { openStore, type Store } from '../db/open.js';
import { createSealer, loadMasterKey, type Sealer } from '../db/secrets.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whole standard input (for secrets that must not appear in argv). */
  readStdin(): Promise<string>;
  isTty: boolean;
}

export interface CliContext {
  store: Store;
  sealer: Sealer;
  auditStore: AuditStore;
  audit: Auditor;
  /** Who made the change, for the audit log. */
  actor: string;
  close(): void;
}

export function openContext(dataDir: string, env: NodeJS.ProcessEnv): CliContext {
  const store = openStore(dataDir);
  const sealer = createSealer(loadMasterKey(dataDir, env['GATEHOUSE_MASTER_KEY']));
  const auditStore = createAuditStore(store);
  const user = env['SUDO_USER'] ?? env['USER'] ?? env['LOGNAME'] ?? 'unknown';
  return { store, sealer, auditStore, audit: createAuditor(auditStore), actor: `cli:${user}`, close: () => store.close() };
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
