/**
 * The same series in a `prom-client` registry, for apps that already serve one. prom-client is
 * an optional peer and is not imported: each family is registered as an object with the
 * `get()` that prom-client's registry calls at every scrape (`metrics()`,
 * `getMetricsAsJSON()`, and the cluster aggregator), so the values are read then, from the
 * gapless-replay registry, and nothing is copied in between.
 */
import { gaplessError, describe } from '../core/errors.js';
import { registryOf, type Metrics } from './metrics.js';
import type { Family, Labels } from './registry.js';

/** The part of a prom-client `Registry` the adapter calls. */
export interface PromClientRegistry {
  registerMetric(metric: never): void;
}

interface PromValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface PromSnapshot {
  name: string;
  help: string;
  type: Family['kind'];
  aggregator: 'sum';
  values: PromValue[];
}

function values(family: Family): PromValue[] {
  if (family.kind !== 'histogram') return family.series.map((labels, s) => ({ value: family.values[s]!, labels: { ...labels } }));
  const out: PromValue[] = [];
  family.series.forEach((labels: Labels, s) => {
    const counts = family.counts[s]!;
    let cumulative = 0;
    for (let b = 0; b < counts.length; b++) {
      cumulative += counts[b]!;
      const le = b < family.buckets.length ? family.buckets[b]! : '+Inf';
      out.push({ value: cumulative, labels: { ...labels, le }, metricName: `${family.name}_bucket` });
    }
    out.push({ value: family.sums[s]!, labels: { ...labels }, metricName: `${family.name}_sum` });
    out.push({ value: family.totals[s]!, labels: { ...labels }, metricName: `${family.name}_count` });
  });
  return out;
}

/**
 * Registers every series of `metrics` in a prom-client `register` (the default `register` or a
 * `new Registry()`). Counts across the processes of a Node cluster add up (`sum`).
 * prom-client's `resetMetrics()` leaves them as they are: counters here only ever grow.
 */
export function registerPromClient(metrics: Metrics, register: PromClientRegistry): void {
  const registry = registryOf(metrics);
  if (registry === undefined) throw gaplessError('type', 'INVALID_ARGUMENT', `metrics must be a registry from createMetrics(), got ${describe(metrics)}`);
  if (typeof (register as Partial<PromClientRegistry> | null)?.registerMetric !== 'function') {
    throw gaplessError('type', 'INVALID_ARGUMENT', `register must be a prom-client Registry, got ${describe(register)}`);
  }
  for (const family of registry.families) {
    const metric = {
      // prom-client renames a registered counter (drops `_total`) for OpenMetrics output and
      // reads the name back from `get()`: so `get()` returns the current name.
      name: family.name,
      help: family.help,
      type: family.kind,
      aggregator: 'sum' as const,
      get(): Promise<PromSnapshot> {
        return Promise.resolve({ name: metric.name, help: metric.help, type: metric.type, aggregator: metric.aggregator, values: values(family) });
      },
      reset(): void {},
    };
    register.registerMetric(metric as never);
  }
}
