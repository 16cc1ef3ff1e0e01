// gatehouse audit export [--format jsonl|csv] [--since ISO] [--until ISO] | audit verify
import { verifyChain } from '../audit/chain.js';
import { exportBatches } from '../audit/export.js';
import { ConfigError } from '../config.js';
import { openContext, parseCommand, type CliIo } from './context.js';

const USAGE = 'usage: gatehouse audit export [--format jsonl|csv] [--since TIME] [--until TIME] | audit verify';
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
      for (const chunk of exportBatches(ctx.auditStore.iterate(filter), format)) io.out(chunk);
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
