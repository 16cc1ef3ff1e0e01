// The dashboard's chart of login decisions over time (accepted, challenged, rejected by reason),
// counted from the audit log. Drawn here as SVG: no script, no inline style (the CSP forbids
// both); colours come from app.css classes. The SVG has no viewBox: bars are placed in percent of
// its width and the text keeps its size, so the chart reads on a phone as on a laptop. The same
// numbers are in a table below it, and in each bar's <title>.
import type { LoginDecisionCount } from '../db/queries/audit.js';
import { POLL_HEADERS } from './layout.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export type ChartRange = 'hour' | 'day' | 'week';

interface RangeSpec {
  /** The range picker's words. */
  label: string;
  /** Bucket width: a whole number of the store's 5-minute slots. */
  bucketMs: number;
  buckets: number;
  /** "Logins per ..." */
  per: string;
  /** How often an open chart redraws itself (seconds). */
  refreshS: number;
}

export const CHART_RANGES: Readonly<Record<ChartRange, RangeSpec>> = {
  hour: { label: 'Last hour', bucketMs: 5 * MINUTE, buckets: 12, per: '5 minutes', refreshS: 30 },
  day: { label: 'Last day', bucketMs: HOUR, buckets: 24, per: 'hour', refreshS: 300 },
  week: { label: 'Last week', bucketMs: 6 * HOUR, buckets: 28, per: '6 hours', refreshS: 1800 },
};

/** The `range` query parameter; anything else is the last hour. */
export function parseChartRange(v: string | undefined): ChartRange {
  return v === 'day' || v === 'week' ? v : 'hour';
}

/** The buckets the chart shows at `now`: whole buckets (UTC), the last one holding now. */
export function chartWindow(range: ChartRange, now: number): { since: number; until: number; bucketMs: number } {
  const { bucketMs, buckets } = CHART_RANGES[range];
  const until = Math.floor(now / bucketMs) * bucketMs + bucketMs;
  return { since: until - buckets * bucketMs, until, bucketMs };
}

/** Reasons of rejected logins, in the words an admin would use. */
const REASON_WORDS: Readonly<Record<string, string>> = {
  downstream_reject: 'wrong password',
  push_denied: 'denied on the phone',
  push_expired: 'push not answered in time',
  totp_wrong: 'code not correct',
  totp_replayed: 'code used twice',
  locked: 'locked',
  unenrolled: 'no second factor',
  push_limited: 'too many pushes',
  failmode_secure: 'push service unreachable',
  shutdown: 'service restarting',
  bad_user_name: 'user name not valid',
  no_user_name: 'no user name',
  no_downstream: 'no RADIUS server set',
  state_expired: 'code request expired',
  state_mismatch: 'code request mismatched',
  agent_rate_limited: 'Windows agent over its rate',
  directory_gone: 'disabled in the directory',
  policy_deny: 'denied by a policy rule',
  directory_wrong_password: 'wrong password (directory)',
  directory_not_found: 'not in the directory',
  directory_disabled: 'disabled in the directory',
  directory_locked: 'locked in the directory',
  directory_expired: 'expired in the directory',
  directory_unreachable: 'directory unreachable',
  directory_timeout: 'directory too slow',
  directory_needs_pap: 'CHAP/MS-CHAP to the directory',
  no_directory: 'no directory set',
};

export function reasonInWords(reason: string | null): string {
  if (reason === null) return 'no reason given';
  return REASON_WORDS[reason] ?? reason.replace(/_/g, ' ');
}

/** Reject reasons drawn in a colour of their own; more than this and the rarest share one. */
const REASON_COLOURS = 6;

interface Series {
  key: string;
  /** Legend and table heading. */
  label: string;
  /** In a bar's title: "3 wrong password". */
  short: string;
  cls: string;
  total: number;
}

interface Bucket {
  start: number;
  values: number[];
  total: number;
}

export interface ChartModel {
  range: ChartRange;
  series: Series[];
  buckets: Bucket[];
  /** Series indexes of rejects (the rest: accepted, challenged). */
  rejectFrom: number;
}

export function chartModel(range: ChartRange, now: number, counts: readonly LoginDecisionCount[]): ChartModel {
  const { since, bucketMs } = chartWindow(range, now);
  const n = CHART_RANGES[range].buckets;
  const rejectTotals = new Map<string, number>();
  for (const c of counts) if (c.outcome === 'reject') rejectTotals.set(c.reason ?? '', (rejectTotals.get(c.reason ?? '') ?? 0) + c.count);
  const ranked = [...rejectTotals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const own = ranked.length <= REASON_COLOURS ? ranked : ranked.slice(0, REASON_COLOURS - 1);
  const series: Series[] = [
    { key: 'accept', label: 'Accepted', short: 'accepted', cls: 's-accept', total: 0 },
    { key: 'challenge', label: 'Challenged (asked for a code)', short: 'challenged', cls: 's-challenge', total: 0 },
    ...own.map(([reason], i): Series => {
      const words = reasonInWords(reason === '' ? null : reason);
      return { key: `reject:${reason}`, label: `Rejected: ${words}`, short: words, cls: `s-r${i + 1}`, total: 0 };
    }),
  ];
  if (own.length < ranked.length) series.push({ key: 'reject:*', label: 'Rejected: other reasons', short: 'other reasons', cls: 's-rother', total: 0 });
  const index = new Map(series.map((s, i) => [s.key, i]));
  const buckets: Bucket[] = Array.from({ length: n }, (_, i) => ({ start: since + i * bucketMs, values: series.map(() => 0), total: 0 }));
  for (const c of counts) {
    const key = c.outcome === 'reject' ? `reject:${c.reason ?? ''}` : c.outcome;
    const s = index.get(key) ?? (c.outcome === 'reject' ? index.get('reject:*') : undefined);
    const b = buckets[Math.floor((c.start - since) / bucketMs)];
    if (s === undefined || b === undefined) continue; // errors and drops are not drawn
    b.values[s]! += c.count;
    b.total += c.count;
    series[s]!.total += c.count;
  }
  return { range, series, buckets, rejectFrom: 2 };
}

// Geometry: heights in pixels, horizontal positions in percent of the SVG's width.
const HEIGHT = 252;
const PLOT_TOP = 30;
const PLOT_BOTTOM = 206;
const LEFT = 9;
const RIGHT = 99;

/** Round axis steps: 1, 2, 5 times a power of ten; at least four steps up to the top. */
function yTicks(max: number): number[] {
  if (max <= 0) return [0, 1, 2, 3, 4];
  const rough = max / 4;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= rough) ?? 10 * mag);
  const top = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top; v += step) ticks.push(v);
  return ticks;
}

/** Axis numbers stay short in a narrow gutter: 950, 1.5k, 12k, 1.2M. */
function compact(v: number): string {
  if (v < 1000) return String(v);
  if (v < 1e6) return `${+(v / 1000).toFixed(v < 10_000 ? 1 : 0)}k`;
  return `${+(v / 1e6).toFixed(v < 1e7 ? 1 : 0)}M`;
}

const num = (v: number) => v.toLocaleString('en-US');
const pct = (v: number) => `${+v.toFixed(3)}%`;
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const dateTime = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');

/** The x-axis label under a bucket's start, or undefined where none goes. */
function tickLabel(range: ChartRange, start: number): string | undefined {
  const d = new Date(start);
  if (range === 'hour') return d.getUTCMinutes() % 15 === 0 ? hhmm(start) : undefined;
  if (range === 'day') return d.getUTCHours() % 4 === 0 ? hhmm(start) : undefined;
  return d.getUTCHours() === 0 ? `${DAYS[d.getUTCDay()]} ${d.getUTCDate()}` : undefined;
}

/** What a bar holds, in a sentence (its tooltip and the chart's description). */
function describe(m: ChartModel, values: readonly number[]): string {
  const rejected = values.slice(m.rejectFrom).reduce((a, b) => a + b, 0);
  const why = m.series
    .slice(m.rejectFrom)
    .map((s, i) => [s, values[m.rejectFrom + i] ?? 0] as const)
    .filter(([, v]) => v > 0)
    .map(([s, v]) => `${num(v)} ${s.short}`);
  return `${num(values[0] ?? 0)} accepted, ${num(values[1] ?? 0)} challenged, ${num(rejected)} rejected${why.length > 0 ? ` (${why.join(', ')})` : ''}`;
}

function ChartSvg(p: { m: ChartModel }) {
  const { m } = p;
  const spec = CHART_RANGES[m.range];
  const ticks = yTicks(Math.max(0, ...m.buckets.map((b) => b.total)));
  const top = ticks[ticks.length - 1]!;
  const y = (v: number) => PLOT_BOTTOM - (v / top) * (PLOT_BOTTOM - PLOT_TOP);
  const slot = (RIGHT - LEFT) / m.buckets.length;
  const totals = m.series.map((s) => s.total);
  return (
    <svg class="chart-svg" width="100%" height={HEIGHT} role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
      <title id="chart-title">{`Logins per ${spec.per}, ${spec.label.toLowerCase()} (UTC)`}</title>
      <desc id="chart-desc">{`In all: ${describe(m, totals)}. The numbers per ${spec.per} are in the table below the chart.`}</desc>
      <text class="axis-title" x="0" y="14">{`Logins per ${spec.per}`}</text>
      {ticks.map((t) => (
        <g>
          <line class={t === 0 ? 'base' : 'grid'} x1={`${LEFT}%`} x2={`${RIGHT}%`} y1={y(t)} y2={y(t)} />
          <text class="tick" x={`${LEFT - 1}%`} y={y(t) + 4} text-anchor="end">
            {compact(t)}
          </text>
        </g>
      ))}
      {m.buckets.map((b, i) => {
        const x = LEFT + i * slot;
        const label = tickLabel(m.range, b.start);
        let base = PLOT_BOTTOM;
        return (
          <g class="bar">
            <title>{`${dateTime(b.start)}–${hhmm(b.start + spec.bucketMs)} UTC: ${describe(m, b.values)}`}</title>
            {/* The whole slot answers to the pointer, so the title shows over short bars too. */}
            <rect class="hit" x={pct(x)} width={pct(slot)} y={PLOT_TOP} height={PLOT_BOTTOM - PLOT_TOP} />
            {b.values.map((v, s) => {
              if (v === 0) return null;
              const h = Math.max(1, PLOT_BOTTOM - y(v));
              base -= h;
              return <rect class={m.series[s]!.cls} x={pct(x + slot * 0.15)} width={pct(slot * 0.7)} y={+base.toFixed(2)} height={+h.toFixed(2)} />;
            })}
            {label === undefined ? null : (
              <>
                <line class="base" x1={pct(x)} x2={pct(x)} y1={PLOT_BOTTOM} y2={PLOT_BOTTOM + 4} />
                <text class="tick" x={pct(x)} y={PLOT_BOTTOM + 18} text-anchor="middle">
                  {label}
                </text>
              </>
            )}
          </g>
        );
      })}
      <text class="axis-title" x={`${(LEFT + RIGHT) / 2}%`} y={HEIGHT - 4} text-anchor="middle">
        Time (UTC)
      </text>
    </svg>
  );
}

export interface DecisionChartProps {
  range: ChartRange;
  now: number;
  counts: readonly LoginDecisionCount[];
}

/**
 * The chart's card. The range picker is plain links (a page of its own without htmx); with htmx
 * they swap the card alone and push the URL. The body redraws itself now and then (a poll, which
 * does not count as the admin's activity).
 */
export function DecisionChart(p: DecisionChartProps) {
  const m = chartModel(p.range, p.now, p.counts);
  const spec = CHART_RANGES[p.range];
  const ranges = Object.entries(CHART_RANGES) as [ChartRange, RangeSpec][];
  const any = m.buckets.some((b) => b.total > 0);
  return (
    <section id="chart" class="card chart" aria-labelledby="h-chart">
      <div class="chart-head">
        <h2 id="h-chart">Logins over time</h2>
        <nav class="ranges" aria-label="Chart range">
          {ranges.map(([key, r]) => (
            <a href={`/?range=${key}`} hx-get={`/?range=${key}`} hx-target="#chart" hx-select="#chart" hx-swap="outerHTML" hx-push-url="true" aria-current={key === p.range ? 'true' : undefined}>
              {r.label}
            </a>
          ))}
        </nav>
      </div>
      <div id="chart-body" data-range={p.range} hx-get={`/?range=${p.range}`} hx-trigger={`every ${spec.refreshS}s`} hx-select="#chart-body" hx-swap="outerHTML" hx-headers={POLL_HEADERS}>
        <ChartSvg m={m} />
        <ul class="legend">
          {m.series.map((s) => (
            <li>
              <span class={`swatch ${s.cls}`} aria-hidden="true" />
              {s.label} <strong>{num(s.total)}</strong>
            </li>
          ))}
        </ul>
        <p class="hint">
          {any ? '' : `No logins in the ${spec.label.toLowerCase()}. `}
          Decisions at the RADIUS and Windows logon front doors, counted from the audit log, per {spec.per} (UTC).
        </p>
        <details id="chart-numbers">
          <summary>The numbers</summary>
          <div class="scroll">
            <table class="chart-table">
              <thead>
                <tr>
                  <th scope="col">Time (UTC)</th>
                  {m.series.map((s) => (
                    <th scope="col" class="num">
                      {s.label}
                    </th>
                  ))}
                  <th scope="col" class="num">
                    Rejected in all
                  </th>
                </tr>
              </thead>
              <tbody>
                {m.buckets.map((b) => (
                  <tr>
                    <th scope="row">{dateTime(b.start)}</th>
                    {b.values.map((v) => (
                      <td class="num">{num(v)}</td>
                    ))}
                    <td class="num">{num(b.values.slice(m.rejectFrom).reduce((a, c) => a + c, 0))}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">In all</th>
                  {m.series.map((s) => (
                    <td class="num">{num(s.total)}</td>
                  ))}
                  <td class="num">{num(m.series.slice(m.rejectFrom).reduce((a, s) => a + s.total, 0))}</td>
                </tr>
              </tfoot>
            </table>
          </div>
        </details>
      </div>
    </section>
  );
}
