/**
 * Reading an exposition the way a Prometheus server does: through a real text-format parser
 * (parse-prometheus-text-format, the prom2json shape), never by matching our own strings.
 * Lookups throw when a series is missing, so a test cannot pass on a series that vanished.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface Histogram {
  /** Cumulative count per `le` bound, `+Inf` included. */
  buckets: Record<string, number>;
  sum: number;
  count: number;
}

export interface Scrape {
  /** Family name to its `TYPE` (upper case, as the parser gives it) and `HELP`. */
  readonly families: ReadonlyMap<string, { type: string; help: string; series: number }>;
  /** The value of the counter or gauge series `name` with exactly `labels`. */
  value(name: string, labels?: Record<string, string>): number;
  /** Every series of a family, as `labels → value`. */
  series(name: string): { labels: Record<string, string>; value: number }[];
  /** An unlabelled histogram. */
  histogram(name: string): Histogram;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

export function scrape(text: string): Scrape {
  const parsed = parsePrometheusTextFormat(text);
  const byName = new Map(parsed.map((f) => [f.name, f]));
  const family = (name: string) => {
    const f = byName.get(name);
    if (f === undefined) throw new Error(`no family ${name} in the exposition`);
    return f;
  };
  return {
    families: new Map(parsed.map((f) => [f.name, { type: f.type, help: f.help, series: f.metrics.length }])),
    value(name, labels = {}) {
      const sample = family(name).metrics.find((m) => sameLabels(m.labels ?? {}, labels));
      if (sample?.value === undefined) throw new Error(`no series ${name}${JSON.stringify(labels)} in the exposition`);
      return Number(sample.value);
    },
    series(name) {
      return family(name).metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) }));
    },
    histogram(name) {
      const f = family(name);
      const sample = f.metrics[0];
      if (f.type !== 'HISTOGRAM' || f.metrics.length !== 1 || sample?.buckets === undefined) throw new Error(`${name} is not an unlabelled histogram`);
      const buckets: Record<string, number> = {};
      for (const [le, count] of Object.entries(sample.buckets)) buckets[le] = Number(count);
      return { buckets, sum: Number(sample.sum), count: Number(sample.count) };
    },
  };
}
