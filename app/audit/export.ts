// Audit records as CSV or JSON lines, for `gatehouse audit export` and the web UI's download.
import { csvCell } from '../lib/csv.js';
import type { AuditRecord } from './chain.js';

export const EXPORT_COLUMNS = ['id', 'time', 'event', 'outcome', 'username', 'reason', 'source', 'client', 'actor', 'details', 'hash'] as const;

export function exportRow(r: AuditRecord): Record<(typeof EXPORT_COLUMNS)[number], string | number | null> {
  return { id: r.id, time: new Date(r.time).toISOString(), event: r.event, outcome: r.outcome, username: r.username, reason: r.reason, source: r.source, client: r.client, actor: r.actor, details: r.details, hash: r.hash };
}

export function csvHeader(): string {
  return EXPORT_COLUMNS.join(',');
}

export function csvLine(r: AuditRecord): string {
  const row = exportRow(r);
  return EXPORT_COLUMNS.map((c) => csvCell(row[c])).join(',');
}

/** JSON lines carry `details` as an object rather than as a JSON string. */
export function jsonLine(r: AuditRecord): string {
  return JSON.stringify({ ...exportRow(r), details: r.details === null ? null : (JSON.parse(r.details) as unknown) });
}

/** Lines of the export in batches, so a million records stream without being held in memory. */
export async function* exportBatches(records: Iterable<AuditRecord> | AsyncIterable<AuditRecord>, format: 'csv' | 'jsonl', batch = 1000): AsyncGenerator<string> {
  let lines: string[] = format === 'csv' ? [csvHeader()] : [];
  for await (const r of records) {
    lines.push(format === 'csv' ? csvLine(r) : jsonLine(r));
    if (lines.length >= batch) {
      yield lines.join('\n') + '\n';
      lines = [];
    }
  }
  if (lines.length > 0) yield lines.join('\n') + '\n';
}
