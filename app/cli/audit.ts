// gatehouse audit export [--format jsonl|csv] [--since ISO] [--until ISO] | audit verify
import { verifyChain, type AuditRecord } from '../audit/chain.js';
import { ConfigError } from '../config.js';
import { openContext, parseCommand, type CliIo } from './context.js';

const USAGE = 'usage: gatehouse audit export [--format jsonl|csv] [--since TIME] [--until TIME] | audit verify';
const COLUMNS = ['id', 'time', 'event', 'outcome', 'username', 'reason', 'source', 'client', 'actor', 'details', 'hash'] as const;

export function exportRow(r: AuditRecord): Record<(typeof COLUMNS)[number], string | number | null> {
  return { id: r.id, time: new Date(r.time).toISOString(), event: r.event, outcome: r.outcome, username: r.username, reason: r.reason, source: r.source, client: r.client, actor: r.actor, details: r.details, hash: r.hash };
}

/** JSON lines carry `details` as an object rather than as a JSON string. */
function jsonLine(r: AuditRecord): string {
  const row = exportRow(r);
  return JSON.stringify({ ...row, details: r.details === null ? null : (JSON.parse(r.details) as unknown) });
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  // Quote always-needed characters, and neutralise spreadsheet formulas (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function parseTime(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new ConfigError(`--${flag}: '${raw}' is not a date/time (e.g. 2026-11-23T10:00:00Z)`);
  return t;
}

export async function auditCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { format: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' } }, env);
  const [verb, ...rest] = positionals;
  if (rest.length > 0) throw new ConfigError(USAGE);
  if (verb === 'export') {
    const format = (values['format'] as string | undefined) ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'csv') throw new ConfigError(`--format: '${format}' must be jsonl or csv`);
    const since = parseTime('since', values['since'] as string | undefined);
    const until = parseTime('until', values['until'] as string | undefined);
    const ctx = openContext(dataDir, env);
    try {
      const filter = { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
      let batch: string[] = format === 'csv' ? [COLUMNS.join(',')] : [];
      for (const r of ctx.auditStore.iterate(filter)) {
        batch.push(format === 'csv' ? COLUMNS.map((c) => csvCell(exportRow(r)[c])).join(',') : jsonLine(r));
        if (batch.length >= 1000) {
          io.out(batch.join('\n') + '\n');
          batch = [];
        }
      }
      if (batch.length > 0) io.out(batch.join('\n') + '\n');
    } finally {
      ctx.close();
    }
    return 0;
  }
  if (verb === 'verify') {
    const ctx = openContext(dataDir, env);
    try {
      const result = verifyChain(ctx.auditStore.iterate());
      if (result.ok) {
        io.out(`audit log intact: ${result.count} records verified\n`);
        return 0;
      }
      io.err(`gatehouse: audit log tampered: record ${result.badId}: ${result.problem} (${result.count} records before it verified)\n`);
      return 1;
    } finally {
      ctx.close();
    }
  }
  throw new ConfigError(USAGE);
}
