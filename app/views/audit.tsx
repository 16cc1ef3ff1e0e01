// Audit log: filters, keyset-paginated table, export of the filtered set, chain verification.
import type { AuditRecord } from '../audit/chain.js';
import { OUTCOMES } from '../audit/chain.js';
import { isoTime, Layout, type Assets } from './layout.js';

export interface AuditFilterForm {
  from: string;
  to: string;
  username: string;
  event: string;
  outcome: string;
  source: string;
}

export interface AuditProps {
  assets: Assets;
  csrf: string;
  admin: string;
  filter: AuditFilterForm;
  rows: AuditRecord[];
  /** Id to continue from for the next (older) page, when there is one. */
  nextBefore: number | undefined;
  firstPage: boolean;
  query: string;
  error?: string | undefined;
}

function details(d: string | null): string {
  if (d === null) return '';
  try {
    return Object.entries(JSON.parse(d) as Record<string, unknown>)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
  } catch {
    return d;
  }
}

export function VerifyResult(p: { ok: boolean; count: number; badId?: number | undefined; problem?: string | undefined }) {
  return (
    <span id="verify" role="status">
      {p.ok ? (
        <span class="badge ok">Chain intact: {p.count} records verified</span>
      ) : (
        <span class="badge bad">
          Tampered: record {p.badId} — {p.problem}
        </span>
      )}
    </span>
  );
}

export function AuditPage(p: AuditProps) {
  const f = p.filter;
  const qs = (extra: string) => `/audit?${p.query}${p.query && extra ? '&' : ''}${extra}`;
  return (
    <Layout title="Audit log" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/audit">
      <section class="card" aria-labelledby="h-filter">
        <h2 id="h-filter">Filter</h2>
        {p.error ? <p class="hint error" role="alert">{p.error}</p> : null}
        <form method="get" action="/audit" class="filters">
          <div class="field"><label for="f-from">From (UTC)</label><input id="f-from" type="datetime-local" name="from" value={f.from} /></div>
          <div class="field"><label for="f-to">To (UTC)</label><input id="f-to" type="datetime-local" name="to" value={f.to} /></div>
          <div class="field"><label for="f-username">User</label><input id="f-username" name="username" value={f.username} /></div>
          <div class="field"><label for="f-event">Event</label><input id="f-event" name="event" value={f.event} placeholder="radius.auth" /></div>
          <div class="field">
            <label for="f-outcome">Outcome</label>
            <select id="f-outcome" name="outcome">
              <option value="">any</option>
              {OUTCOMES.map((o) => (
                <option value={o} selected={f.outcome === o}>{o}</option>
              ))}
            </select>
          </div>
          <div class="field"><label for="f-source">Source starts with</label><input id="f-source" name="source" value={f.source} placeholder="192.0.2." /></div>
          <div class="row">
            <button type="submit">Apply</button>
            <a class="button secondary" href="/audit">Clear</a>
          </div>
        </form>
      </section>
      <section class="card" aria-labelledby="h-events">
        <h2 id="h-events">
          Events
          <span class="row">
            <a class="button small secondary" href={`/audit/export.csv?${p.query}`} hx-boost="false" download>Export CSV</a>
            <a class="button small secondary" href={`/audit/export.jsonl?${p.query}`} hx-boost="false" download>Export JSON lines</a>
            <button type="button" class="small secondary" hx-get="/audit/verify" hx-target="#verify" hx-swap="outerHTML">Verify chain</button>
          </span>
        </h2>
        <p><span id="verify" /></p>
        {p.rows.length === 0 ? (
          <p class="empty">No events match.</p>
        ) : (
          <table>
            <thead><tr><th>#</th><th>Time (UTC)</th><th>Event</th><th>User / actor</th><th>Outcome</th><th>Reason</th><th>Source</th><th>Details</th></tr></thead>
            <tbody>
              {p.rows.map((r) => (
                <tr>
                  <td class="muted">{r.id}</td>
                  <td class="mono">{isoTime(r.time)}</td>
                  <td>{r.event}</td>
                  <td>{r.username ?? r.actor ?? ''}</td>
                  <td><span class={`badge ${r.outcome}`}>{r.outcome}</span></td>
                  <td>{r.reason ?? ''}</td>
                  <td class="mono">{r.source ?? ''}{r.client ? <span class="muted"> ({r.client})</span> : null}</td>
                  <td class="muted details">{details(r.details)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <nav class="pager" aria-label="Pages">
          {p.firstPage ? <span /> : <a href={qs('')}>Newest</a>}
          {p.nextBefore !== undefined ? <a href={qs(`before=${p.nextBefore}`)}>Older</a> : <span class="muted">End of log</span>}
        </nav>
      </section>
    </Layout>
  );
}
