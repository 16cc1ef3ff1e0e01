// The Node process's own metrics for /metrics, under the names Prometheus client libraries use
// (process_*, nodejs_*), so that ready-made dashboards and alerts for Node processes work; and
// gatehouse_build_info. Read at each scrape; open file descriptors only where Linux shows them
// (/proc/self/fd).
import { readdirSync, readFileSync } from 'node:fs';
import { labelValue } from './metrics.js';

export interface BuildInfo {
  version: string;
  /** process.version, e.g. v20.20.2 */
  node: string;
}

function gauge(lines: string[], name: string, type: 'gauge' | 'counter', help: string, value: number, labels = ''): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${labels} ${Number.isInteger(value) ? value : Number(value.toFixed(6))}`);
}

/** Open file descriptors and their limit, or undefined where /proc is not there (not Linux). */
function fileDescriptors(): { open: number; max: number | undefined } | undefined {
  let open: number;
  try {
    // The directory's own descriptor, opened to read it, is in the list: not counted.
    open = readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
  let max: number | undefined;
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m !== null) max = Number(m[1]);
  } catch {
    // no limits file: the limit is left out
  }
  return { open, max };
}

export function renderProcessMetrics(build: BuildInfo, prefix = 'gatehouse_'): string {
  const lines: string[] = [];
  gauge(lines, `${prefix}build_info`, 'gauge', 'Always 1; the labels say which Gatehouse version runs on which Node.js.', 1, `{version="${labelValue(build.version)}",node="${labelValue(build.node)}"}`);
  const cpu = process.cpuUsage();
  gauge(lines, 'process_cpu_user_seconds_total', 'counter', 'User CPU time spent by the process, in seconds.', cpu.user / 1e6);
  gauge(lines, 'process_cpu_system_seconds_total', 'counter', 'System CPU time spent by the process, in seconds.', cpu.system / 1e6);
  gauge(lines, 'process_cpu_seconds_total', 'counter', 'User and system CPU time spent by the process, in seconds.', (cpu.user + cpu.system) / 1e6);
  gauge(lines, 'process_start_time_seconds', 'gauge', 'When the process started, in seconds since the Unix epoch.', Math.round(performance.timeOrigin) / 1000);
  const mem = process.memoryUsage();
  gauge(lines, 'process_resident_memory_bytes', 'gauge', 'Resident memory of the process, in bytes.', mem.rss);
  gauge(lines, 'nodejs_heap_size_total_bytes', 'gauge', 'V8 heap allocated, in bytes.', mem.heapTotal);
  gauge(lines, 'nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use, in bytes.', mem.heapUsed);
  gauge(lines, 'nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JavaScript objects (buffers among them), in bytes.', mem.external);
  const fds = fileDescriptors();
  if (fds !== undefined) {
    gauge(lines, 'process_open_fds', 'gauge', 'Open file descriptors (sockets included).', fds.open);
    if (fds.max !== undefined) gauge(lines, 'process_max_fds', 'gauge', 'The limit on open file descriptors (RLIMIT_NOFILE).', fds.max);
  }
  return lines.join('\n') + '\n';
}
