/**
 * Counters, gauges and histograms over closed label sets, and their Prometheus text
 * exposition (format 0.0.4). Every series is declared up front and owns a slot in a typed
 * array: recording is an index and an add, with no lookup by label and no allocation. The
 * label strings are escaped once, when the family is declared.
 */

import { gaplessError } from '../core/errors.js';

export type Labels = Readonly<Record<string, string>>;

interface FamilyBase {
  readonly name: string;
  readonly help: string;
  /** Every series of the family, by slot. */
  readonly series: readonly Labels[];
}

/** A counter or a gauge: one number per series. */
export interface ScalarFamily extends FamilyBase {
  readonly kind: 'counter' | 'gauge';
  readonly values: Float64Array;
}

export interface HistogramFamily extends FamilyBase {
  readonly kind: 'histogram';
  /** Upper bounds, ascending; `+Inf` is implied. */
  readonly buckets: readonly number[];
  /** Per series: observations per bucket, not cumulative; the last slot is above every bound. */
  readonly counts: readonly Float64Array[];
  readonly sums: Float64Array;
  readonly totals: Float64Array;
}

export type Family = ScalarFamily | HistogramFamily;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Adds one observation to series `slot` of a histogram. */
export function observe(h: HistogramFamily, slot: number, value: number): void {
  const buckets = h.buckets;
  let i = 0;
  while (i < buckets.length && value > buckets[i]!) i++;
  h.counts[slot]![i]!++;
  h.sums[slot]! += value;
  h.totals[slot]!++;
}

/** Escaping of `# HELP` text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Escaping of a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as the text format writes it (`+Inf`, `-Inf`, `NaN` included). */
export function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function labelPairs(labels: Labels): string[] {
  return Object.keys(labels).map((name) => `${name}="${escapeLabelValue(labels[name]!)}"`);
}

function braces(pairs: readonly string[]): string {
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function checkNames(name: string, series: readonly Labels[], reserved: readonly string[]): void {
  if (!METRIC_NAME.test(name)) throw gaplessError('type', 'INVALID_ARGUMENT', `invalid metric name ${JSON.stringify(name)}`);
  for (const labels of series) {
    for (const label of Object.keys(labels)) {
      if (!LABEL_NAME.test(label) || label.startsWith('__') || reserved.includes(label)) {
        throw gaplessError('type', 'INVALID_ARGUMENT', `invalid label name ${JSON.stringify(label)} on ${name}`);
      }
    }
  }
}

/** Declares families and renders them; the families keep their declaration order. */
export class Registry {
  readonly families: Family[] = [];
  /** Exposition prefix of each series (`name{labels}` plus a space), by family. */
  private readonly heads = new Map<Family, string[]>();

  private add<F extends Family>(family: F, heads: string[]): F {
    if (this.families.some((f) => f.name === family.name)) throw gaplessError('type', 'INVALID_ARGUMENT', `metric ${family.name} is declared twice`);
    this.families.push(family);
    this.heads.set(family, heads);
    return family;
  }

  counter(name: string, help: string, series: readonly Labels[] = [{}]): ScalarFamily {
    return this.scalar('counter', name, help, series);
  }

  gauge(name: string, help: string, series: readonly Labels[] = [{}]): ScalarFamily {
    return this.scalar('gauge', name, help, series);
  }

  private scalar(kind: 'counter' | 'gauge', name: string, help: string, series: readonly Labels[]): ScalarFamily {
    checkNames(name, series, []);
    const heads = series.map((labels) => `${name}${braces(labelPairs(labels))} `);
    return this.add({ kind, name, help, series, values: new Float64Array(series.length) }, heads);
  }

  histogram(name: string, help: string, buckets: readonly number[], series: readonly Labels[] = [{}]): HistogramFamily {
    checkNames(name, series, ['le']);
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw gaplessError('type', 'INVALID_ARGUMENT', `buckets of ${name} must be finite and ascending`);
    }
    // Per series: one head per bucket, then +Inf, _sum and _count.
    const heads: string[] = [];
    for (const labels of series) {
      const pairs = labelPairs(labels);
      for (const bound of [...buckets, Infinity]) heads.push(`${name}_bucket${braces([...pairs, `le="${formatValue(bound)}"`])} `);
      heads.push(`${name}_sum${braces(pairs)} `, `${name}_count${braces(pairs)} `);
    }
    return this.add(
      {
        kind: 'histogram',
        name,
        help,
        series,
        buckets,
        counts: series.map(() => new Float64Array(buckets.length + 1)),
        sums: new Float64Array(series.length),
        totals: new Float64Array(series.length),
      },
      heads,
    );
  }

  /** The Prometheus text exposition of every family, every series included (zeros too). */
  text(): string {
    let out = '';
    for (const family of this.families) {
      const heads = this.heads.get(family)!;
      out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.kind}\n`;
      if (family.kind !== 'histogram') {
        for (let s = 0; s < heads.length; s++) out += heads[s] + formatValue(family.values[s]!) + '\n';
        continue;
      }
      const perSeries = family.buckets.length + 3;
      for (let s = 0; s < family.series.length; s++) {
        const counts = family.counts[s]!;
        let cumulative = 0;
        for (let b = 0; b < counts.length; b++) {
          cumulative += counts[b]!;
          out += heads[s * perSeries + b] + formatValue(cumulative) + '\n';
        }
        out += heads[s * perSeries + counts.length] + formatValue(family.sums[s]!) + '\n';
        out += heads[s * perSeries + counts.length + 1] + formatValue(family.totals[s]!) + '\n';
      }
    }
    return out;
  }
}
