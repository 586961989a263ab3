/**
 * The Redis buffer with a registry and a logger, against a real redis-server: stored entries,
 * Redis calls that fail by command, the fan-out's resubscribe and catch-up after its subscriber
 * connection is killed, all read back through a Prometheus text-format parser.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isGaplessError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/log.js';
import { createMetrics, type Metrics } from '../../src/metrics/index.js';
import { createReplay, type RedisClient } from '../../src/redis/index.js';
import { RecordingPlatform } from '../helpers/recording-platform.js';
import { startRedis, useRedis } from '../helpers/redis-server.js';
import { startServer, TestClient, type Frame } from '../helpers/ws-server.js';
import { scrape } from './scrape.js';

const standalone = useRedis();

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function client(port = standalone.server().port, options: { retryStrategy?: () => number } = {}): Redis {
  const redis = new Redis({ port, host: '127.0.0.1', ...options });
  cleanup.push(() => redis.disconnect());
  return redis;
}

function recorder(): Logger & { lines: [level: string, message: string][] } {
  const lines: [string, string][] = [];
  return {
    lines,
    warn: (message) => void lines.push(['warn', message]),
    error: (message) => void lines.push(['error', message]),
  };
}

/** `gapless_redis_errors_total` by command, every command listed. */
function redisErrors(metrics: Metrics): Record<string, number> {
  return Object.fromEntries(scrape(metrics.text()).series('gapless_redis_errors_total').map((s) => [s.labels.command, s.value]));
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('Redis buffer with a registry', () => {
  it('counts each stored entry and times each publish, not a repeated id or a refused publish', async () => {
    const metrics = createMetrics();
    const replay = createReplay(client(), { prefix: 'metrics-pub:', metrics });
    const platform = new RecordingPlatform();
    for (let i = 0; i < 20; i++) await replay.publish(platform, 'chat', 'message', { i });
    await replay.publish(platform, 'chat', 'message', 'first', { id: 'once' });
    expect(await replay.publish(platform, 'chat', 'message', 'again', { id: 'once' })).toBe(21);
    expect(isGaplessError(await failure(replay.publish(platform, 'bad topic\n', 'message', 1)), 'INVALID_TOPIC')).toBe(true);
    expect(await replay.seq('chat')).toBe(21);
    const s = scrape(metrics.text());
    expect(s.value('gapless_publishes_total', { backend: 'redis' })).toBe(21);
    expect(s.value('gapless_publishes_total', { backend: 'memory' })).toBe(0);
    expect(s.histogram('gapless_publish_duration_seconds').count).toBe(21);
    expect(Object.values(redisErrors(metrics)).every((n) => n === 0)).toBe(true);
  });

  it('counts Redis calls that time out by command: publish, read, clear', async () => {
    const server = await startRedis();
    cleanup.push(() => server.destroy());
    const metrics = createMetrics();
    const replay = createReplay(client(server.port), { prefix: 'metrics-err:', metrics, timeout: 300 });
    const platform = new RecordingPlatform();
    // One publish before the fault: the clock read it needs first is not what this test counts.
    await replay.publish(platform, 'chat', 'message', 1);
    server.pause();
    try {
      const published = await failure(replay.publish(platform, 'chat', 'message', 2));
      const read = await failure(replay.position('chat'));
      const cleared = await failure(replay.clearTopic('other'));
      // The fault happened: Redis answered none of the three within the timeout.
      expect([published, read, cleared].map((e) => isGaplessError(e, 'TIMEOUT'))).toEqual([true, true, true]);
    } finally {
      server.resume();
    }
    // Their late replies, once Redis runs again, are dropped and not counted again.
    expect((await replay.position('chat')).seq).toBe(1);
    expect(redisErrors(metrics)).toEqual({ publish: 1, read: 1, subscribe: 0, unsubscribe: 0, clear: 1, other: 0 });
    expect(scrape(metrics.text()).value('gapless_publishes_total', { backend: 'redis' })).toBe(1);
  });

  it("counts the fan-out's resubscribe and each topic's catch-up after its subscriber connection is killed, and logs through the logger", async () => {
    const console = [vi.spyOn(globalThis.console, 'warn'), vi.spyOn(globalThis.console, 'error')];
    const metrics = createMetrics();
    const logger = recorder();
    const prefix = 'metrics-fan:';
    const a = createReplay(client(), { prefix });
    // B's subscriber inherits this slow reconnect: the publishes below land while it is down.
    const b = createReplay(client(standalone.server().port, { retryStrategy: () => 600 }), { prefix, metrics, logger });
    const serverA = await startServer({ replay: a });
    const serverB = await startServer({ replay: b });
    cleanup.push(() => serverA.stop(), () => serverB.stop());
    const onB = await TestClient.connect(serverB.url);
    cleanup.push(() => onB.socket.close());
    onB.send({ type: 'subscribe-batch', topics: ['chat', 'quiet'], ref: 1 });
    await onB.until((frames) => frames.some((f) => f.ref === 1));
    const live = (frames: Frame[], topic: string) => frames.filter((f) => f.topic === topic && typeof f.seq === 'number');

    await a.publish(serverA.platform, 'chat', 'm', 1);
    await onB.until((f) => live(f, 'chat').length === 1);
    expect(Number(await standalone.server().cli('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
    for (let i = 2; i <= 4; i++) await a.publish(serverA.platform, 'chat', 'm', i);
    await a.publish(serverA.platform, 'quiet', 'm', 'only one');
    // The fault happened: live delivery missed these.
    expect(live(onB.frames, 'chat')).toHaveLength(1);
    await onB.until((f) => live(f, 'chat').length === 4 && live(f, 'quiet').length === 1, 10_000);

    const s = scrape(metrics.text());
    expect(s.value('gapless_fanout_resubscribes_total')).toBe(1);
    expect(s.value('gapless_fanout_catchups_total')).toBe(2);
    expect(s.value('gapless_fanout_catchup_messages_total')).toBe(4);
    expect(logger.lines).toEqual([
      ['warn', '[gapless-replay] fan-out: subscriber connection lost; resubscribing when it is back (clients replay the gap)'],
      ['warn', '[gapless-replay] fan-out: subscriber connection back; resubscribing to 2 topic(s) and relaying what they missed'],
    ]);
    for (const spy of console) expect(spy).not.toHaveBeenCalled();
  });

  it('refuses a metrics option that is not a registry and a logger without warn and error', () => {
    const redis: RedisClient = client();
    for (const options of [{ metrics: {} }, { logger: { warn() {} } }]) {
      let error: unknown;
      try {
        createReplay(redis, options as never);
      } catch (e) {
        error = e;
      }
      expect(isGaplessError(error, 'INVALID_OPTION')).toBe(true);
    }
  });
});
