// gatehouse audit export [--format jsonl|csv] [--since ISO] [--until ISO] | audit verify [--head ID:HASH]
import { exportBatches } from '../audit/export.js';
import { ConfigError } from '../config.js';
import { openContext, parseCommand, type CliIo } from './context.js';
import { usageError, type CommandHelp } from './help.js';

export const AUDIT_HELP: CommandHelp = {
  usage: ['gatehouse audit export [--format jsonl|csv] [--since TIME] [--until TIME]', 'gatehouse audit verify [--head ID:HASH]'],
  about:
    'export prints the audit log, oldest first (JSON lines carry time, event, username, outcome, reason, source, ...).\nverify checks the hash chain: exit 0 when it is intact, 1 naming the first bad record.',
  options: [
    ['--format F', 'audit export: jsonl (default) or csv'],
    ['--since TIME', 'audit export: records from this time on (ISO 8601, e.g. 2026-11-23T10:00:00Z)'],
    ['--until TIME', 'audit export: records up to this time'],
    ['--head ID:HASH', 'audit verify: an "audit head" line from the log; the chain must still hold that record'],
  ],
  store: true,
};
const usage = () => usageError('audit', AUDIT_HELP);
function parseTime(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new ConfigError(`--${flag}: '${raw}' is not a date/time (e.g. 2026-11-23T10:00:00Z)`);
  return t;
}

export async function auditCommand(args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const { values, positionals, dataDir } = parseCommand(args, { format: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, head: { type: 'string' } }, env);
  const [verb, ...rest] = positionals;
  if (rest.length > 0) throw usage();
  if (verb === 'export') {
    const format = (values['format'] as string | undefined) ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'csv') throw new ConfigError(`--format: '${format}' must be jsonl or csv`);
    const since = parseTime('since', values['since'] as string | undefined);
    const until = parseTime('until', values['until'] as string | undefined);
    const ctx = await openContext(dataDir, env);
    try {
      const filter = { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
      for await (const chunk of exportBatches(ctx.auditStore.iterate(filter), format)) io.out(chunk);
    } finally {
      await ctx.close();
    }
    return 0;
  }
  if (verb === 'verify') {
    // A head from the operational log ("audit head", record and hash): the chain must still hold
    // that record, unchanged, or records were removed from its end.
    const headRaw = values['head'] as string | undefined;
    const head = headRaw === undefined ? undefined : /^(\d{1,15}):([0-9a-f]{64})$/.exec(headRaw);
    if (headRaw !== undefined && head === null) throw new ConfigError(`--head: '${headRaw}' is not ID:HASH (the record number and the 64 hex digits of an "audit head" log line)`);
    const ctx = await openContext(dataDir, env);
    try {
      const result = await ctx.auditLog.verify();
      if (!result.ok) {
        io.err(`gatehouse: audit log tampered: record ${result.badId}: ${result.problem} (${result.count} records before it verified)\n`);
        return 1;
      }
      if (head) {
        const id = Number(head[1]);
        const found = (await ctx.auditStore.page({}, id + 1, 1))[0];
        if (found === undefined || found.id !== id) {
          io.err(`gatehouse: audit log truncated: record ${id} of the given head is missing (the chain ends at record ${(await ctx.auditStore.last())?.id ?? 0})\n`);
          return 1;
        }
        if (found.hash !== head[2]) {
          io.err(`gatehouse: audit log tampered: record ${id} does not have the given head's hash\n`);
          return 1;
        }
      }
      const last = await ctx.auditStore.last();
      const lastHead = await ctx.auditLog.lastHead();
      const lines = [`audit log intact: ${result.count} records verified${result.legacy > 0 ? ` (the first ${result.legacy} from before the chain was keyed)` : ''}`];
      if (last !== undefined) lines.push(`last record: ${last.id} ${new Date(last.time).toISOString()} ${last.hash}`);
      lines.push(lastHead === undefined ? 'no head record yet' : `last head record: ${lastHead.id} ${new Date(lastHead.time).toISOString()} (${last!.id - lastHead.id} records after it)`);
      if (head) lines.push(`head ${head[1]} found: nothing was removed up to it`);
      io.out(lines.join('\n') + '\n');
      return 0;
    } finally {
      await ctx.close();
    }
  }
  throw usage();
}
