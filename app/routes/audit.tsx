import { Hono, type Context } from 'hono';
import { stream } from 'hono/streaming';
import { exportBatches } from '../audit/export.js';
import type { AuditFilter } from '../db/queries/audit.js';
import { AuditPage, VerifyResult, type AuditFilterForm } from '../views/audit.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';

const PAGE = 50;
const FIELDS = ['from', 'to', 'username', 'event', 'outcome', 'source'] as const;

/** Read the filter from the query string; times are UTC `YYYY-MM-DDTHH:MM` (datetime-local). */
export function auditFilterFromQuery(q: (k: string) => string | undefined): { form: AuditFilterForm; filter: AuditFilter; query: string; error?: string } {
  const form = Object.fromEntries(FIELDS.map((k) => [k, (q(k) ?? '').trim().slice(0, 200)])) as unknown as AuditFilterForm;
  const filter: AuditFilter = {};
  let error: string | undefined;
  const time = (v: string, name: string): number | undefined => {
    if (v === '') return undefined;
    const t = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
    if (Number.isNaN(t)) error = `${name} is not a date and time`;
    return Number.isNaN(t) ? undefined : t;
  };
  const since = time(form.from, 'From');
  const until = time(form.to, 'To');
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until + 59_999;
  if (form.username) filter.username = form.username.toLowerCase();
  if (form.event) filter.event = form.event;
  if (form.outcome) filter.outcome = form.outcome;
  if (form.source) filter.source = form.source;
  const query = new URLSearchParams(FIELDS.filter((k) => form[k] !== '').map((k): [string, string] => [k, form[k]])).toString();
  return { form, filter, query, ...(error ? { error } : {}) };
}

export function createAuditRoutes(d: WebDeps) {
  const exportAs = (format: 'csv' | 'jsonl') => async (c: Context<WebEnv>) => {
    const { filter } = auditFilterFromQuery((k) => c.req.query(k));
    await d.audit.record({ event: 'audit.export', outcome: 'ok', actor: `admin:${c.get('session')!.adminName}`, details: { format } });
    c.header('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="gatehouse-audit.${format}"`);
    return stream(c, async (s) => {
      for await (const chunk of exportBatches(d.auditStore.iterate(filter), format)) await s.write(chunk);
    });
  };
  return new Hono<WebEnv>()
    .get('/audit', async (c) => {
      const { form, filter, query, error } = auditFilterFromQuery((k) => c.req.query(k));
      const before = Number(c.req.query('before'));
      const beforeId = Number.isInteger(before) && before > 0 ? before : undefined;
      const rows = await d.auditStore.page(filter, beforeId, PAGE + 1);
      const more = rows.length > PAGE;
      const shown = rows.slice(0, PAGE);
      return c.render(
        <AuditPage assets={d.assets} csrf={c.get('csrf')} admin={c.get('session')!.adminName} filter={form} rows={shown} nextBefore={more ? shown[shown.length - 1]!.id : undefined} firstPage={beforeId === undefined} query={query} error={error} />,
      );
    })
    .get('/audit/verify', async (c) => {
      const r = await d.verifyAudit();
      return c.html(r.ok ? <VerifyResult ok count={r.count} /> : <VerifyResult ok={false} count={r.count} badId={r.badId} problem={r.problem} />);
    })
    .get('/audit/export.csv', exportAs('csv'))
    .get('/audit/export.jsonl', exportAs('jsonl'));
}
