import { collectDefaultMetrics, Registry, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, registerPromClient } from '../../src/metrics/index.js';
import { metricsOption } from '../../src/metrics/sink.js';
import { isGaplessError } from '../../src/core/errors.js';
import { scrape } from './scrape.js';

/** A registry with some of everything reported, including observations in both histograms. */
function reported() {
  const metrics = createMetrics();
  const redis = metricsOption(metrics, 'redis')!;
  const platform = metricsOption(metrics, 'platform')!;
  redis.published(performance.now() - 2);
  redis.published(-1);
  redis.replayed('truncated', 'reset', 0, 0, performance.now() - 1);
  redis.replayed('ok', undefined, 4, 321, performance.now());
  redis.redisError('publish');
  platform.socketOpened();
  platform.socketClosed('heartbeat');
  platform.socketOpened();
  platform.subscribed();
  platform.denied('FORBIDDEN');
  return { metrics, redis };
}

describe('registerPromClient', () => {
  it("shows every series of text() in prom-client's register.metrics(), with the same values", async () => {
    const { metrics } = reported();
    const register = new Registry();
    registerPromClient(metrics, register);
    const ours = scrape(metrics.text());
    const theirs = scrape(await register.metrics());
    expect([...theirs.families]).toEqual([...ours.families]);
    for (const [name, family] of ours.families) {
      if (family.type === 'HISTOGRAM') expect(theirs.histogram(name)).toEqual(ours.histogram(name));
      else expect(theirs.series(name)).toEqual(ours.series(name));
    }
    expect(theirs.value('gapless_publishes_total', { backend: 'redis' })).toBe(2);
    expect(theirs.value('gapless_replays_total', { outcome: 'truncated', reason: 'reset' })).toBe(1);
    expect(theirs.value('gapless_socket_closes_total', { reason: 'heartbeat' })).toBe(1);
    expect(theirs.value('gapless_sockets_open')).toBe(1);
    expect(theirs.histogram('gapless_publish_duration_seconds').count).toBe(1);
    expect(theirs.histogram('gapless_replay_duration_seconds').count).toBe(2);
  });

  it('reads the values at each scrape, not at registration', async () => {
    const { metrics, redis } = reported();
    const register = new Registry();
    registerPromClient(metrics, register);
    redis.published(-1);
    expect(scrape(await register.metrics()).value('gapless_publishes_total', { backend: 'redis' })).toBe(3);
    redis.published(-1);
    expect(scrape(await register.metrics()).value('gapless_publishes_total', { backend: 'redis' })).toBe(4);
  });

  it("sits beside prom-client's own metrics and shows in getMetricsAsJSON()", async () => {
    const { metrics } = reported();
    const register = new Registry();
    collectDefaultMetrics({ register });
    registerPromClient(metrics, register);
    const s = scrape(await register.metrics());
    expect(s.families.has('process_cpu_user_seconds_total')).toBe(true);
    expect(s.value('gapless_denials_total', { code: 'FORBIDDEN' })).toBe(1);
    const json = await register.getMetricsAsJSON();
    const publishes = json.find((m) => m.name === 'gapless_publishes_total');
    expect(publishes?.values).toEqual([
      { value: 0, labels: { backend: 'memory' } },
      { value: 2, labels: { backend: 'redis' } },
    ]);
  });

  it('writes counters with one _total suffix in an OpenMetrics registry', async () => {
    const { metrics } = reported();
    const register = new Registry<OpenMetricsContentType>();
    register.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    registerPromClient(metrics, register);
    const text = await register.metrics();
    expect(text).toContain('# TYPE gapless_publishes counter\n');
    expect(text).toContain('gapless_publishes_total{backend="redis"} 2\n');
    expect(text).not.toContain('_total_total');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it('throws when a series is registered twice in the same prom-client registry', () => {
    const { metrics } = reported();
    const register = new Registry();
    registerPromClient(metrics, register);
    expect(() => registerPromClient(createMetrics(), register)).toThrow(/gapless_publishes_total has already been registered/);
  });

  it('refuses what is not a registry from createMetrics() or a prom-client registry', () => {
    const codeOf = (run: () => void) => {
      try {
        run();
      } catch (error) {
        return isGaplessError(error, 'INVALID_ARGUMENT') ? (error as Error).message : 'wrong error';
      }
      return 'no error';
    };
    expect(codeOf(() => registerPromClient({ text: () => '', contentType: 'text/plain; version=0.0.4; charset=utf-8' }, new Registry()))).toMatch(/^metrics must be a registry from createMetrics\(\)/);
    expect(codeOf(() => registerPromClient(createMetrics(), {} as Registry))).toBe('register must be a prom-client Registry, got an object');
  });
});
