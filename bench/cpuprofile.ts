// A tiny analyser for V8 .cpuprofile files (node --cpu-prof): self time and inclusive time per
// function, and self time per category (crypto, SQLite, dgram, GC, ...), as shares of the
// samples taken while the process was busy (the idle node excluded).
//
//   node --import tsx bench/cpuprofile.ts FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FnRow {
  fn: string;
  where: string;
  category: string;
  ms: number;
  pct: number;
}
export interface ProfileSummary {
  file: string;
  /** Wall time covered by the samples. */
  totalMs: number;
  /** Time not idle (what the percentages are of). */
  busyMs: number;
  idleMs: number;
  self: FnRow[];
  inclusive: FnRow[];
  categories: { category: string; ms: number; pct: number }[];
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  let u = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (u.startsWith(ROOT)) u = relative(ROOT, u);
  u = u.replace(/^.*node_modules\//, 'node_modules/');
  return u;
}

/** What kind of work a frame is, judged by its function and file. */
export function categorize(cf: CallFrame): string {
  const n = cf.functionName;
  const u = cf.url;
  if (n === '(garbage collector)') return 'GC';
  if (n === '(program)') return 'V8/native (program)';
  if (n === '(idle)') return 'idle';
  if (/better-sqlite3|drizzle-orm/.test(u)) return 'SQLite (better-sqlite3/drizzle)';
  if (u === '' && /^(run|get|all|iterate|exec|prepare|transaction|pragma)$/.test(n)) return 'SQLite (better-sqlite3/drizzle)';
  if (/internal\/crypto|node:crypto/.test(u) || (u === '' && /^(digest|update|Hash|Hmac|timingSafeEqual|randomBytes|randomFillSync|createHash|createHmac)$/.test(n))) return 'crypto (hash/HMAC/random)';
  if (/dgram|udp_wrap/.test(u) || (u === '' && /^(send|onMessage|bind)$/.test(n))) return 'dgram (UDP)';
  if (/internal\/(buffer|util)|node:buffer/.test(u)) return 'Buffer/util';
  if (/internal\/(timers|process\/task_queues|async_hooks)|node:timers/.test(u)) return 'timers/promises';
  if (/app\/audit\/|app\/db\/queries\/audit/.test(u)) return 'app: audit';
  if (/app\/db\//.test(u)) return 'app: db queries';
  if (/app\/mfa\//.test(u)) return 'app: mfa';
  if (/app\/radius\//.test(u)) return 'app: radius';
  if (/app\/lib\//.test(u)) return 'app: lib';
  if (/app\//.test(u)) return 'app: other';
  // The bundle (scripts/bundle.mjs) has no source map: its chunks mix the app's modules.
  if (/dist\/bundle\//.test(u)) return 'app (bundled)';
  if (/hono|node-server/.test(u)) return 'http (hono)';
  if (/^node:|internal\//.test(u)) return 'node internals';
  if (u === '') return 'V8 builtins/native';
  return 'other';
}

/**
 * `fromUs`: leave out the samples taken before this time (microseconds of the monotonic clock the
 * profile's startTime is on, which is process.hrtime's on Linux): a profile covers the process's
 * whole life, and the part of interest often starts later (after the start and a warm-up).
 */
export function analyse(file: string, top = 25, fromUs = 0): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (cf: CallFrame) => `${cf.functionName || '(anonymous)'}\u0000${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const cats = new Map<string, number>();
  const frames = new Map<string, CallFrame>();
  let total = 0;
  let idle = 0;
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (at < fromUs) continue;
    // timeDeltas[i] is the time before sample i; the interval after it is the fairer weight.
    const dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const node = byId.get(p.samples[i]!);
    if (node === undefined) continue;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    const k = key(cf);
    frames.set(k, cf);
    self.set(k, (self.get(k) ?? 0) + dt);
    const cat = categorize(cf);
    cats.set(cat, (cats.get(cat) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (f.functionName === '(root)') break;
      const fk = key(f);
      if (seen.has(fk)) continue;
      seen.add(fk);
      frames.set(fk, f);
      incl.set(fk, (incl.get(fk) ?? 0) + dt);
    }
  }
  const busy = total - idle;
  const rows = (m: Map<string, number>): FnRow[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, ms]) => {
        const [fn, where] = k.split('\u0000') as [string, string];
        return { fn, where, category: categorize(frames.get(k)!), ms: Math.round(ms), pct: Math.round((1000 * ms) / busy) / 10 };
      });
  return {
    file,
    totalMs: Math.round(total),
    busyMs: Math.round(busy),
    idleMs: Math.round(idle),
    self: rows(self),
    // Inclusive rows for app code only: where in our code the time goes.
    inclusive: rows(new Map([...incl].filter(([k]) => /^(app|dist\/app|dist\/bundle)\//.test(k.split('\u0000')[1] ?? '')))),
    categories: [...cats].sort((a, b) => b[1] - a[1]).map(([category, ms]) => ({ category, ms: Math.round(ms), pct: Math.round((1000 * ms) / busy) / 10 })),
  };
}

/** With `cpuUsPerReq` (measured from /proc during the profiled run), shares are also shown as microseconds per request. */
export function formatSummary(s: ProfileSummary, title: string, top = 15, cpuUsPerReq?: number): string {
  const out: string[] = [];
  const us = (pct: number) => (cpuUsPerReq === undefined ? '' : `  ~${((pct * cpuUsPerReq) / 100).toFixed(0).padStart(3)} us/req`);
  out.push(`${title}: ${s.busyMs} ms busy of ${s.totalMs} ms sampled${cpuUsPerReq === undefined ? '' : `; ${cpuUsPerReq} us CPU per request under the profiler`}`);
  out.push('  self time by category:');
  for (const c of s.categories.slice(0, 12)) out.push(`    ${c.pct.toFixed(1).padStart(5)}%${us(c.pct)}  ${c.category}`);
  out.push('  top self time:');
  for (const r of s.self.slice(0, top)) out.push(`    ${r.pct.toFixed(1).padStart(5)}%${us(r.pct)}  ${r.fn}  (${r.where})`);
  out.push('  top inclusive time in app code:');
  for (const r of s.inclusive.slice(0, top)) out.push(`    ${r.pct.toFixed(1).padStart(5)}%${us(r.pct)}  ${r.fn}  (${r.where})`);
  return out.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node --import tsx bench/cpuprofile.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 25);
  process.stdout.write(formatSummary(analyse(file, top), file, top) + '\n');
}
