// A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms
// with label sets. Kept in-house because the pipeline needs only these three and they sit on hot paths.
type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return keys.sort().map((k) => `${k}="${labels[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

interface Metric {
  readonly name: string;
  render(): string;
}

abstract class Family<T> implements Metric {
  protected readonly series = new Map<string, T>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: string,
  ) {}
  protected get(labels: Labels, init: () => T): T {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = init()));
    return s;
  }
  protected header(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
  }
  abstract render(): string;
}

/** A family of single-number series: counters and gauges render the same way. */
abstract class ScalarFamily extends Family<{ v: number }> {
  protected cell(labels: Labels): { v: number } {
    return this.get(labels, () => ({ v: 0 }));
  }
  render(): string {
    let out = this.header();
    for (const [k, s] of this.series) out += `${this.name}${k ? `{${k}}` : ''} ${s.v}\n`;
    return out;
  }
}

export class Counter extends ScalarFamily {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    this.cell(labels).v += by;
  }
}

export class Gauge extends ScalarFamily {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(labels: Labels, v: number): void {
    this.cell(labels).v = v;
  }
}

export class Histogram extends Family<{ counts: number[]; sum: number; count: number }> {
  constructor(
    name: string,
    help: string,
    readonly buckets: number[],
  ) {
    super(name, help, 'histogram');
  }
  observe(labels: Labels, v: number): void {
    const s = this.get(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  render(): string {
    let out = this.header();
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => (out += `${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}\n`));
      out += `${this.name}_bucket{${sep}le="+Inf"} ${s.count}\n`;
      out += `${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}\n${this.name}_count${k ? `{${k}}` : ''} ${s.count}\n`;
    }
    return out;
  }
}

export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Registry {
  private readonly metrics: Array<Family<unknown>> = [];
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets = LATENCY_BUCKETS_S): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  /** A metric asked for twice (one per signal's consumer, say) is one series set: the first one made. */
  private add<M extends Family<unknown>>(m: M): M {
    const existing = this.metrics.find((e) => e.name === m.name);
    if (existing !== undefined) {
      if (existing.constructor !== m.constructor) throw new Error(`metric ${m.name} registered as two types`);
      return existing as M;
    }
    this.metrics.push(m);
    return m;
  }
  render(): string {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    return (
      this.metrics.map((m) => m.render()).join('') +
      `# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ${mem.rss}\n` +
      `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}\n`
    );
  }
}
