/**
 * Idempotent publish on Redis beyond the shared contract (which runs on memory, Redis and
 * Cluster): a retry after a lost reply, distinct ids, the window's end, and the same on memory.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createReplay as createMemoryReplay } from '../../src/memory/index.js';
import { createReplay } from '../../src/redis/index.js';
import { RecordingPlatform } from '../helpers/recording-platform.js';
import { useRedis } from '../helpers/redis-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { cleanupAfterEach } from '../helpers/lifecycle.js';

const redis = useRedis();
const cleanups = cleanupAfterEach();
let n = 0;

describe('idempotent publish', () => {
  it('a retry with the same id after a lost reply stores nothing twice', async () => {
    const proxy = await startTcpProxy(redis.server().port);
    cleanups.push(() => proxy.close());
    // No resend by ioredis: the application's own retry is what is tested.
    const client = new Redis({ port: proxy.port, host: '127.0.0.1', autoResendUnfulfilledCommands: false, retryStrategy: () => 20 });
    client.on('error', () => {});
    cleanups.push(() => client.disconnect());
    const replay = createReplay(client, { prefix: `idem${++n}:`, timeout: 500 });
    const platform = new RecordingPlatform();
    expect(await replay.publish(platform, 'chat', 'e', 'first', { id: 'a' })).toBe(1);
    const cut = proxy.loseNextReply();
    const lost = replay.publish(platform, 'chat', 'e', 'second', { id: 'b' });
    await cut;
    await expect(lost).rejects.toThrow();
    // The command ran: the retry finds it.
    expect(await replay.publish(platform, 'chat', 'e', 'second', { id: 'b' })).toBe(2);
    expect(await replay.publish(platform, 'chat', 'e', 'third', { id: 'c' })).toBe(3);
    expect((await replay.since('chat', 0)).map((e) => e.data)).toEqual(['first', 'second', 'third']);
    expect(platform.live.map((f) => f.data)).toEqual(['first', 'third']);
  });

  it('a thousand concurrent publishes with distinct ids never collide, and repeating them all stores nothing', async () => {
    const replay = createReplay(redis.client(), { prefix: `idem${++n}:`, size: 2000 });
    const platform = new RecordingPlatform();
    const ids = Array.from({ length: 1000 }, (_, i) => `order-${i}`);
    const seqs = await Promise.all(ids.map((id, i) => replay.publish(platform, 'orders', 'e', i, { id })));
    expect(new Set(seqs).size).toBe(1000);
    const again = await Promise.all(ids.map((id, i) => replay.publish(platform, 'orders', 'e', i, { id })));
    expect(again).toEqual(seqs);
    expect(await replay.seq('orders')).toBe(1000);
    expect(platform.live).toHaveLength(1000);
  });

  it.each([
    ['redis', () => createReplay(redis.client(), { prefix: `idem${++n}:`, idempotencyWindow: 1 })],
    ['memory', () => createMemoryReplay({ idempotencyWindow: 1 })],
  ])('%s: an id is forgotten when its window ends', async (_name, make) => {
    const replay = make();
    const platform = new RecordingPlatform();
    expect(await replay.publish(platform, 'chat', 'e', 1, { id: 'x' })).toBe(1);
    expect(await replay.publish(platform, 'chat', 'e', 1, { id: 'x' })).toBe(1);
    await expect.poll(() => replay.publish(platform, 'chat', 'e', 1, { id: 'x' }), { timeout: 4000, interval: 250 }).toBe(2);
  });

  it('rejects an invalid idempotencyWindow at construction', () => {
    expect(() => createReplay(redis.client(), { idempotencyWindow: 0 })).toThrow('idempotencyWindow must be a positive integer, got 0');
    expect(() => createMemoryReplay({ idempotencyWindow: 1.5 })).toThrow('idempotencyWindow must be a positive integer, got 1.5');
    expect(() => createReplay(redis.client(), { replicas: -1 })).toThrow('replicas must be a non-negative integer, got -1');
  });
});
