// Dashboard: live counters, pending approvals, health, the chart of logins over time, recent
// audit events.
import type { AuditRecord } from '../audit/chain.js';
import type { NodeView } from '../cluster/nodes.js';
import { DecisionChart, type DecisionChartProps } from './decision-chart.js';
import { ago, Layout, type Assets, POLL_HEADERS } from './layout.js';

export interface DashboardProps {
  now: number;
  counters: Record<string, number>;
  totals: { requests: number; accepts: number; rejects: number; challenges: number; drops: number; retransmissions: number };
  pending: { logins: number; pushes: number };
  health: { downstream: string; push: string; downstreamName: string | undefined };
  /** Each downstream server (by pool) and its state: alive, zombie, dead. */
  servers: { pool: string; server: string; state: string }[];
  recent: AuditRecord[];
  /** The appliances sharing the store (this one among them), with their heartbeats. */
  nodes: NodeView[];
  /**
   * The chart, on the whole page. The live part's own refresh (every 3 s) leaves it out and keeps
   * the one on the page (hx-preserve): the chart redraws itself, on its own range and schedule.
   */
  chart?: DecisionChartProps;
}

const HEALTH: Record<string, [string, string]> = {
  ok: ['ok', 'Answering'],
  failing: ['bad', 'Not answering'],
  unknown: ['warn', 'No traffic yet'],
  none: ['', 'Not configured'],
  degraded: ['warn', 'Some servers not answering'],
};

const SERVER_STATE: Record<string, [string, string]> = { alive: ['ok', 'alive'], zombie: ['warn', 'zombie: not answering'], dead: ['bad', 'dead: probing'] };

function byReason(counters: Record<string, number>, name: string): [string, number][] {
  return Object.entries(counters)
    .filter(([k]) => k.startsWith(`${name}{`))
    .map(([k, v]): [string, number] => [k.replace(/^.*reason="([^"]*)".*$/, '$1'), v])
    .sort((a, b) => b[1] - a[1]);
}

export function DashboardLive(p: DashboardProps) {
  const [dsClass, dsText] = HEALTH[p.health.downstream] ?? HEALTH['unknown']!;
  const [pushClass, pushText] = HEALTH[p.health.push] ?? HEALTH['unknown']!;
  const rejects = byReason(p.counters, 'rejects');
  const drops = byReason(p.counters, 'drops');
  return (
    <div id="live" hx-get="/" hx-trigger="every 3s" hx-swap="outerHTML" hx-select="#live" hx-headers={POLL_HEADERS}>
      <div class="grid">
        <div class="stat"><div class="n">{p.totals.requests}</div><div class="l">Requests</div></div>
        <div class="stat"><div class="n">{p.totals.accepts}</div><div class="l">Accepted</div></div>
        <div class="stat"><div class="n">{p.totals.rejects}</div><div class="l">Rejected</div></div>
        <div class="stat"><div class="n">{p.totals.drops}</div><div class="l">Dropped</div></div>
        <div class="stat"><div class="n">{p.pending.logins}</div><div class="l">Waiting for approval</div></div>
        <div class="stat"><div class="n">{p.totals.retransmissions}</div><div class="l">Retransmissions absorbed</div></div>
      </div>
      {p.chart === undefined ? <div id="chart-slot" hx-preserve="true" /> : <div id="chart-slot"><DecisionChart {...p.chart} /></div>}
      <div class="two">
        <section class="card" aria-labelledby="h-health">
          <h2 id="h-health">Health</h2>
          <dl class="kv">
            <dt>Downstream RADIUS</dt>
            <dd><span class={`dot ${dsClass}`} />{dsText}{p.servers.length <= 1 && p.health.downstreamName ? <span class="muted"> · {p.health.downstreamName}</span> : null}</dd>
            {p.servers.length > 1
              ? p.servers.map((x) => (
                  <>
                    <dt class="muted">{x.pool} · {x.server}</dt>
                    <dd><span class={`dot ${(SERVER_STATE[x.state] ?? SERVER_STATE['alive']!)[0]}`} />{(SERVER_STATE[x.state] ?? SERVER_STATE['alive']!)[1]}</dd>
                  </>
                ))
              : null}
            <dt>Push service</dt>
            <dd><span class={`dot ${pushClass}`} />{pushText}</dd>
            <dt>Pending pushes</dt>
            <dd>{p.pending.pushes}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="h-reasons">
          <h2 id="h-reasons">Rejects and drops by reason</h2>
          {rejects.length + drops.length === 0 ? (
            <p class="empty">Nothing rejected or dropped since start.</p>
          ) : (
            <table>
              <tbody>
                {rejects.map(([r, n]) => (
                  <tr><td><span class="badge reject">reject</span> {r}</td><td>{n}</td></tr>
                ))}
                {drops.map(([r, n]) => (
                  <tr><td><span class="badge drop">drop</span> {r}</td><td>{n}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <section class="card" aria-labelledby="h-nodes">
        <h2 id="h-nodes">Appliances</h2>
        {p.nodes.length === 0 ? (
          <p class="empty">No heartbeat written yet.</p>
        ) : (
          <table>
            <thead><tr><th>Name</th><th>State</th><th>Heartbeat</th><th>Version</th><th>Downstream</th><th>Push</th></tr></thead>
            <tbody>
              {p.nodes.map((n) => (
                <tr>
                  <td>{n.name}{n.self ? <span class="muted"> · this one</span> : null}</td>
                  <td><span class={`badge ${n.state === 'up' ? 'ok' : n.state === 'stopped' ? 'drop' : 'reject'}`}>{n.state === 'up' ? 'up' : n.state === 'stopped' ? 'stopped' : 'not heard from'}</span></td>
                  <td title={new Date(n.heartbeatAt).toISOString()}>{ago(n.heartbeatAt, p.now)}</td>
                  <td class="mono">{n.version}</td>
                  <td>{n.state === 'up' ? (HEALTH[n.health.downstream ?? 'unknown'] ?? HEALTH['unknown']!)[1] : ''}</td>
                  <td>{n.state === 'up' ? (HEALTH[n.health.push ?? 'unknown'] ?? HEALTH['unknown']!)[1] : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="card" aria-labelledby="h-recent">
        <h2 id="h-recent">Recent events <a class="button small secondary" href="/audit">Audit log</a></h2>
        {p.recent.length === 0 ? (
          <p class="empty">No events yet.</p>
        ) : (
          <table>
            <thead><tr><th>When</th><th>Event</th><th>User</th><th>Outcome</th><th>Reason</th><th>Source</th></tr></thead>
            <tbody>
              {p.recent.map((r) => (
                <tr>
                  <td title={new Date(r.time).toISOString()}>{ago(r.time, p.now)}</td>
                  <td>{r.event}</td>
                  <td>{r.username ?? r.actor ?? ''}</td>
                  <td><span class={`badge ${r.outcome}`}>{r.outcome}</span></td>
                  <td>{r.reason ?? ''}</td>
                  <td class="mono">{r.source ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

export function DashboardPage(p: DashboardProps & { assets: Assets; csrf: string; admin: string }) {
  return (
    <Layout title="Dashboard" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/">
      <DashboardLive {...p} />
    </Layout>
  );
}
