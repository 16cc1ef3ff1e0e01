// In-process counters for the dashboard and /metrics (Prometheus text format).
export class Counters {
  private readonly values = new Map<string, number>();

  inc(name: string, reason?: string, by = 1): void {
    const key = reason === undefined ? name : `${name}{reason="${reason}"}`;
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(name: string, reason?: string): number {
    return this.values.get(reason === undefined ? name : `${name}{reason="${reason}"}`) ?? 0;
  }

  /** Sum over every reason of a counter (and its unlabelled value). */
  total(name: string): number {
    let sum = 0;
    for (const [k, v] of this.values) if (k === name || k.startsWith(`${name}{`)) sum += v;
    return sum;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Prometheus exposition; gauges are passed in by the caller. */
  render(gauges: Record<string, number>, prefix = 'gatehouse_'): string {
    const lines: string[] = [];
    const seen = new Set<string>();
    for (const [key, v] of [...this.values].sort(([a], [b]) => a.localeCompare(b))) {
      const base = key.replace(/\{.*$/, '');
      if (!seen.has(base)) {
        seen.add(base);
        lines.push(`# TYPE ${prefix}${base}_total counter`);
      }
      lines.push(`${prefix}${base}_total${key.slice(base.length)} ${v}`);
    }
    for (const [k, v] of Object.entries(gauges)) lines.push(`# TYPE ${prefix}${k} gauge`, `${prefix}${k} ${v}`);
    return lines.join('\n') + '\n';
  }
}
