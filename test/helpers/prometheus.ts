// A strict reader of the Prometheus text format (0.0.4) for tests: every sample belongs to a
// family announced before it with one `# HELP` and one `# TYPE`; histograms have cumulative
// buckets ending in +Inf equal to _count; no series appears twice; values are numbers.

export interface Family {
  name: string;
  help: string;
  type: string;
  /** Series (name plus labels, as written) -> value. */
  samples: Map<string, number>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?(?:[0-9.]+(?:e[+-]?\d+)?|\+Inf|NaN))$/;

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the exposition does not end with a newline');
  for (const [i, line] of lines.entries()) {
    const at = `line ${i + 1}: ${line}`;
    const help = /^# HELP (\S+) (.+)$/.exec(line);
    if (help) {
      if (families.has(help[1]!)) throw new Error(`a second HELP for ${help[1]} (${at})`);
      families.set(help[1]!, { name: help[1]!, help: help[2]!, type: '', samples: new Map() });
      continue;
    }
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      const f = families.get(type[1]!);
      if (f === undefined) throw new Error(`TYPE before HELP (${at})`);
      if (f.type !== '') throw new Error(`a second TYPE (${at})`);
      f.type = type[2]!;
      continue;
    }
    if (line.startsWith('#') || line === '') throw new Error(`unexpected (${at})`);
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample (${at})`);
    const name = m[1]!;
    const base = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    const f = families.get(base);
    if (f === undefined || f.type === '') throw new Error(`a sample with no HELP and TYPE before it (${at})`);
    if (base !== name && f.type !== 'histogram') throw new Error(`${name} in a ${f.type} family (${at})`);
    if (f.type === 'counter' && !name.endsWith('_total')) throw new Error(`a counter not named _total (${at})`);
    const series = `${name}${m[2] ?? ''}`;
    if (seen.has(series)) throw new Error(`series twice (${at})`);
    seen.add(series);
    f.samples.set(series, Number(m[3] === '+Inf' ? Infinity : m[3]));
  }
  for (const f of families.values()) {
    if (f.type === '') throw new Error(`${f.name} has HELP but no TYPE`);
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { le: number; v: number }[]>();
  for (const [series, v] of f.samples) {
    const b = /^[^{]+_bucket\{(.*),le="([^"]+)"\}$/.exec(series);
    if (!b) continue;
    const list = groups.get(b[1]!) ?? [];
    list.push({ le: b[2] === '+Inf' ? Infinity : Number(b[2]), v });
    groups.set(b[1]!, list);
  }
  for (const [labels, list] of groups) {
    for (let i = 1; i < list.length; i++) {
      if (!(list[i]!.le > list[i - 1]!.le)) throw new Error(`${f.name}{${labels}}: buckets out of order`);
      if (list[i]!.v < list[i - 1]!.v) throw new Error(`${f.name}{${labels}}: buckets not cumulative`);
    }
    if (list[list.length - 1]!.le !== Infinity) throw new Error(`${f.name}{${labels}}: no +Inf bucket`);
    if (f.samples.get(`${f.name}_count{${labels}}`) !== list[list.length - 1]!.v) throw new Error(`${f.name}{${labels}}: _count is not the +Inf bucket`);
    if (!f.samples.has(`${f.name}_sum{${labels}}`)) throw new Error(`${f.name}{${labels}}: no _sum`);
  }
}

/** The value of one series, e.g. `gatehouse_drops_total{reason="malformed"}`; undefined when absent. */
export function sample(families: Map<string, Family>, series: string): number | undefined {
  for (const f of families.values()) if (f.samples.has(series)) return f.samples.get(series);
  return undefined;
}
