import { describe, expect, it } from 'vitest';
import { observe, Registry } from '../../src/metrics/registry.js';
import { scrape } from './scrape.js';

describe('registry exposition', () => {
  it('writes HELP and TYPE for each family, then every declared series, zeros included', () => {
    const registry = new Registry();
    const counter = registry.counter('jobs_total', 'Jobs done, by kind.', [{ kind: 'a' }, { kind: 'b' }]);
    registry.gauge('queue_depth', 'Jobs waiting.');
    counter.values[1]! += 3;
    expect(registry.text()).toBe(
      [
        '# HELP jobs_total Jobs done, by kind.',
        '# TYPE jobs_total counter',
        'jobs_total{kind="a"} 0',
        'jobs_total{kind="b"} 3',
        '# HELP queue_depth Jobs waiting.',
        '# TYPE queue_depth gauge',
        'queue_depth 0',
        '',
      ].join('\n'),
    );
  });

  it('writes histogram buckets cumulatively, then +Inf, _sum and _count, per series', () => {
    const registry = new Registry();
    const h = registry.histogram('wait_seconds', 'Waits.', [0.1, 1], [{ queue: 'x' }, { queue: 'y' }]);
    observe(h, 0, 0.05);
    observe(h, 0, 0.1); // a value on a bound counts in that bucket: `le` is inclusive
    observe(h, 0, 0.5);
    observe(h, 0, 7);
    observe(h, 1, 2);
    expect(registry.text()).toBe(
      [
        '# HELP wait_seconds Waits.',
        '# TYPE wait_seconds histogram',
        'wait_seconds_bucket{queue="x",le="0.1"} 2',
        'wait_seconds_bucket{queue="x",le="1"} 3',
        'wait_seconds_bucket{queue="x",le="+Inf"} 4',
        'wait_seconds_sum{queue="x"} 7.65',
        'wait_seconds_count{queue="x"} 4',
        'wait_seconds_bucket{queue="y",le="0.1"} 0',
        'wait_seconds_bucket{queue="y",le="1"} 0',
        'wait_seconds_bucket{queue="y",le="+Inf"} 1',
        'wait_seconds_sum{queue="y"} 2',
        'wait_seconds_count{queue="y"} 1',
        '',
      ].join('\n'),
    );
  });

  it('reads back through a Prometheus text-format parser: types, help, labels and histogram', () => {
    const registry = new Registry();
    registry.counter('c_total', 'Help with a backslash \\ and a\nline feed.', [{ v: 'back\\slash "quoted"\nnext line' }]).values[0] = 2;
    const h = registry.histogram('h_seconds', 'A histogram.', [0.001, 0.01]);
    observe(h, 0, 0.0005);
    observe(h, 0, 0.02);
    const s = scrape(registry.text());
    expect(s.families.get('c_total')).toEqual({ type: 'COUNTER', help: 'Help with a backslash \\ and a\nline feed.', series: 1 });
    expect(s.value('c_total', { v: 'back\\slash "quoted"\nnext line' })).toBe(2);
    expect(s.histogram('h_seconds')).toEqual({ buckets: { '0.001': 1, '0.01': 1, '+Inf': 2 }, sum: 0.0205, count: 2 });
  });

  it('writes +Inf, -Inf and NaN as the text format spells them', () => {
    const registry = new Registry();
    const g = registry.gauge('g', 'G.', [{ k: 'a' }, { k: 'b' }, { k: 'c' }]);
    g.values.set([Infinity, -Infinity, NaN]);
    expect(registry.text().split('\n').slice(2, 5)).toEqual(['g{k="a"} +Inf', 'g{k="b"} -Inf', 'g{k="c"} NaN']);
  });

  it('refuses names Prometheus would reject, `le` on a histogram, unordered buckets and a name declared twice', () => {
    const registry = new Registry();
    expect(() => registry.counter('bad-name', 'x')).toThrow(/invalid metric name "bad-name"/);
    expect(() => registry.counter('ok_total', 'x', [{ 'bad-label': 'v' }])).toThrow(/invalid label name "bad-label"/);
    expect(() => registry.counter('ok_total', 'x', [{ __reserved: 'v' }])).toThrow(/invalid label name "__reserved"/);
    expect(() => registry.histogram('h', 'x', [1], [{ le: '1' }])).toThrow(/invalid label name "le"/);
    expect(() => registry.histogram('h', 'x', [1, 0.5])).toThrow(/buckets of h must be finite and ascending/);
    registry.gauge('twice', 'x');
    expect(() => registry.counter('twice', 'x')).toThrow(/metric twice is declared twice/);
  });
});
