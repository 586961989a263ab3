import { describe, expect, it } from 'vitest';
import { createMetrics, CONTENT_TYPE } from '../../src/metrics/index.js';
import { closeReasonOf, metricsOption, type MetricsSink } from '../../src/metrics/sink.js';
import { until } from '../helpers/lifecycle.js';
import { isGaplessError } from '../../src/core/errors.js';
import { scrape } from './scrape.js';

const FAMILIES: Record<string, string> = {
  gapless_publishes_total: 'COUNTER',
  gapless_publish_duration_seconds: 'HISTOGRAM',
  gapless_replays_total: 'COUNTER',
  gapless_replayed_messages_total: 'COUNTER',
  gapless_replayed_bytes_total: 'COUNTER',
  gapless_replay_duration_seconds: 'HISTOGRAM',
  gapless_denials_total: 'COUNTER',
  gapless_errors_total: 'COUNTER',
  gapless_sockets_open: 'GAUGE',
  gapless_subscriptions: 'GAUGE',
  gapless_socket_closes_total: 'COUNTER',
  gapless_redis_errors_total: 'COUNTER',
  gapless_fanout_resubscribes_total: 'COUNTER',
  gapless_fanout_catchups_total: 'COUNTER',
  gapless_fanout_catchup_messages_total: 'COUNTER',
};

function sinks() {
  const metrics = createMetrics();
  const sink = (scope: 'memory' | 'redis' | 'platform') => metricsOption(metrics, scope)!;
  return { metrics, memory: sink('memory'), redis: sink('redis'), platform: sink('platform') };
}

describe('createMetrics', () => {
  it('exposes every series from the start, at zero, with its closed label set', () => {
    const s = scrape(createMetrics().text());
    expect(Object.fromEntries([...s.families].map(([name, f]) => [name, f.type]))).toEqual(FAMILIES);
    for (const [name, type] of Object.entries(FAMILIES)) {
      if (type === 'HISTOGRAM') expect(s.histogram(name)).toMatchObject({ sum: 0, count: 0 });
      else for (const series of s.series(name)) expect(series.value).toBe(0);
    }
    expect(s.series('gapless_publishes_total').map((x) => x.labels)).toEqual([{ backend: 'memory' }, { backend: 'redis' }]);
    expect(s.series('gapless_replays_total').map((x) => x.labels)).toEqual([
      { outcome: 'ok' },
      { outcome: 'truncated', reason: 'evicted' },
      { outcome: 'truncated', reason: 'reset' },
      { outcome: 'truncated', reason: 'invalid' },
      { outcome: 'denied', reason: 'FORBIDDEN' },
      { outcome: 'denied', reason: 'INVALID_TOPIC' },
      { outcome: 'denied', reason: 'LIMIT' },
      { outcome: 'denied', reason: 'INTERNAL_ERROR' },
      { outcome: 'denied', reason: 'other' },
      { outcome: 'error', reason: 'BACKEND_ERROR' },
      { outcome: 'error', reason: 'TIMEOUT' },
      { outcome: 'error', reason: 'other' },
    ]);
    expect(s.series('gapless_socket_closes_total').map((x) => x.labels.reason)).toEqual(['backpressure', 'heartbeat', 'payload_too_large', 'policy', 'normal', 'going_away', 'other']);
    expect(s.series('gapless_redis_errors_total').map((x) => x.labels.command)).toEqual(['publish', 'read', 'subscribe', 'unsubscribe', 'clear', 'other']);
    expect(s.series('gapless_denials_total').map((x) => x.labels.code)).toEqual(['FORBIDDEN', 'INVALID_TOPIC', 'LIMIT', 'INTERNAL_ERROR', 'other']);
    expect(s.series('gapless_errors_total').map((x) => x.labels.code)).toEqual(['BACKEND_ERROR', 'TIMEOUT', 'INTERNAL_ERROR', 'other']);
  });

  it('has the content type of the Prometheus text format 0.0.4', () => {
    expect(createMetrics().contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('counts what the sinks report, under the label each code maps to', () => {
    const { metrics, memory, redis, platform } = sinks();
    memory.published(-1);
    memory.published(-1);
    redis.published(-1);
    memory.replayed('ok', undefined, 3, 120, -1);
    redis.replayed('truncated', 'evicted', 2, 50, -1);
    memory.replayed('truncated', 'reset', 0, 0, -1);
    memory.replayed('truncated', 'invalid', 0, 0, -1);
    memory.replayed('denied', 'FORBIDDEN', 0, 0, -1);
    memory.replayed('denied', 'NOT_A_MEMBER', 0, 0, -1); // an app's own code
    redis.replayed('error', 'TIMEOUT', 0, 0, -1);
    platform.denied('LIMIT');
    platform.denied('BANNED');
    platform.error('INTERNAL_ERROR');
    redis.error('ECONNRESET');
    platform.socketOpened();
    platform.socketOpened();
    platform.socketOpened();
    platform.socketClosed('backpressure');
    platform.subscribed();
    platform.subscribed();
    platform.unsubscribed();
    redis.redisError('read');
    redis.redisError('read');
    redis.fanoutResubscribed();
    redis.fanoutCaughtUp(4);
    redis.fanoutCaughtUp(0);

    const s = scrape(metrics.text());
    expect(s.value('gapless_publishes_total', { backend: 'memory' })).toBe(2);
    expect(s.value('gapless_publishes_total', { backend: 'redis' })).toBe(1);
    expect(s.series('gapless_replays_total').filter((x) => x.value !== 0)).toEqual([
      { labels: { outcome: 'ok' }, value: 1 },
      { labels: { outcome: 'truncated', reason: 'evicted' }, value: 1 },
      { labels: { outcome: 'truncated', reason: 'reset' }, value: 1 },
      { labels: { outcome: 'truncated', reason: 'invalid' }, value: 1 },
      { labels: { outcome: 'denied', reason: 'FORBIDDEN' }, value: 1 },
      { labels: { outcome: 'denied', reason: 'other' }, value: 1 },
      { labels: { outcome: 'error', reason: 'TIMEOUT' }, value: 1 },
    ]);
    expect(s.value('gapless_replayed_messages_total')).toBe(5);
    expect(s.value('gapless_replayed_bytes_total')).toBe(170);
    expect(s.value('gapless_denials_total', { code: 'LIMIT' })).toBe(1);
    expect(s.value('gapless_denials_total', { code: 'other' })).toBe(1);
    expect(s.value('gapless_errors_total', { code: 'INTERNAL_ERROR' })).toBe(1);
    expect(s.value('gapless_errors_total', { code: 'other' })).toBe(1);
    expect(s.value('gapless_sockets_open')).toBe(2);
    expect(s.value('gapless_socket_closes_total', { reason: 'backpressure' })).toBe(1);
    expect(s.value('gapless_subscriptions')).toBe(1);
    expect(s.value('gapless_redis_errors_total', { command: 'read' })).toBe(2);
    expect(s.value('gapless_fanout_resubscribes_total')).toBe(1);
    expect(s.value('gapless_fanout_catchups_total')).toBe(2);
    expect(s.value('gapless_fanout_catchup_messages_total')).toBe(4);
    // Untimed reports (-1) leave the histograms empty.
    expect(s.histogram('gapless_publish_duration_seconds').count).toBe(0);
  });

  /** Reports `count` operations as a caller does: timed when the sink says so. Returns how many were timed. */
  function operate(sink: MetricsSink, count: number, report: (sink: MetricsSink, started: number) => void): number {
    let timed = 0;
    for (let i = 0; i < count; i++) {
      const started = sink.timeNext ? performance.now() : -1;
      if (started >= 0) timed++;
      report(sink, started);
    }
    return timed;
  }
  const publish = (sink: MetricsSink, started: number) => sink.published(started);
  const replay = (sink: MetricsSink, started: number) => sink.replayed('ok', undefined, 1, 10, started);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('times every Redis operation', () => {
    const { metrics, redis } = sinks();
    expect(operate(redis, 1000, publish)).toBe(1000);
    expect(scrape(metrics.text()).histogram('gapless_publish_duration_seconds').count).toBe(1000);
  });

  it('times a few of a burst of in-memory publishes or platform replays: the sample thins out as they come faster', () => {
    for (const [scope, report] of [['memory', publish], ['platform', replay]] as const) {
      const sink = sinks()[scope];
      // Doubling the gap between timed operations while they come less than 10 ms apart reaches
      // one in 4096 after 12 timed ones; a slow machine that stalls the loop times a few more.
      const timed = operate(sink, 100_000, report);
      expect(timed).toBeGreaterThanOrEqual(12);
      expect(timed).toBeLessThan(200);
    }
  });

  it('times every operation again once they come seldom', async () => {
    const { memory } = sinks();
    operate(memory, 100_000, publish);
    expect(memory.timeNext).toBe(false);
    // After a second with nothing timed, the sink starts over.
    await until('the sampling to start over', () => memory.timeNext, 5000);
    let timed = 0;
    for (let i = 0; i < 5; i++) {
      await sleep(50);
      timed += operate(memory, 1, publish);
    }
    expect(timed).toBe(5);
  });

  it('observes durations from the clock read of the caller to the report; replay latency only for answered replays', () => {
    const { metrics, redis } = sinks();
    const started = performance.now() - 3; // 3 ms ago
    redis.published(started);
    redis.replayed('ok', undefined, 1, 10, started);
    redis.replayed('truncated', 'evicted', 1, 10, started);
    redis.replayed('denied', 'FORBIDDEN', 0, 0, started);
    redis.replayed('error', 'BACKEND_ERROR', 0, 0, started);
    const s = scrape(metrics.text());
    const publish = s.histogram('gapless_publish_duration_seconds');
    expect(publish.count).toBe(1);
    expect(publish.sum).toBeGreaterThanOrEqual(0.003);
    expect(publish.buckets['0.0025']).toBe(0);
    expect(publish.buckets['+Inf']).toBe(1);
    const replay = s.histogram('gapless_replay_duration_seconds');
    expect(replay.count).toBe(2);
    expect(replay.buckets['0.0025']).toBe(0);
  });

  it('adds up the reports of several buffers and platforms sharing one registry', () => {
    const metrics = createMetrics();
    metricsOption(metrics, 'platform')!.socketOpened();
    metricsOption(metrics, 'platform')!.socketOpened();
    expect(metricsOption(metrics, 'memory')).toBe(metricsOption(metrics, 'memory'));
    expect(scrape(metrics.text()).value('gapless_sockets_open')).toBe(2);
  });
});

describe('metrics option', () => {
  it('is undefined without a registry, so components call nothing', () => {
    expect(metricsOption(undefined, 'memory')).toBeUndefined();
  });

  it('refuses anything but a registry from createMetrics()', () => {
    for (const value of [null, {}, { text: () => '' }, 'metrics']) {
      let error: unknown;
      try {
        metricsOption(value, 'memory');
      } catch (e) {
        error = e;
      }
      expect(isGaplessError(error, 'INVALID_OPTION')).toBe(true);
      expect((error as Error).message).toMatch(/^metrics must be a registry from createMetrics\(\), got /);
    }
  });
});

describe('close reasons', () => {
  it('maps close codes to the closed set of reasons', () => {
    const codes = [1000, 1001, 1005, 1006, 1008, 1009, 1011, 1013, 4000];
    expect(codes.map(closeReasonOf)).toEqual(['normal', 'going_away', 'normal', 'other', 'policy', 'payload_too_large', 'other', 'backpressure', 'other']);
  });
});
