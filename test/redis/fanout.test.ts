/**
 * Fan-out through Redis between two platforms (two "instances" in one process, each with its
 * own ioredis client and buffer), over real `ws` sockets: order, exactly-once, local delivery
 * only through the relay, subscriptions only for topics with local subscribers.
 */
import { Cluster, Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReplay, type RedisClient, type RedisReplay } from '../../src/redis/index.js';
import { channelOf } from '../../src/redis/keys.js';
import { useRedis, useRedisCluster } from '../helpers/redis-server.js';
import { startServer, TestClient, type Frame, type TestServer } from '../helpers/ws-server.js';

interface Instance {
  redis: RedisClient;
  replay: RedisReplay;
  server: TestServer;
}

const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function instance(makeClient: () => RedisClient, prefix: string): Promise<Instance> {
  const redis = makeClient();
  const replay = createReplay(redis, { prefix });
  const server = await startServer({ replay });
  cleanup.push(async () => {
    await server.stop();
    redis.disconnect();
  });
  return { redis, replay, server };
}

async function subscriber(server: TestServer, topics: string[]): Promise<TestClient> {
  const client = await TestClient.connect(server.url);
  cleanup.push(() => client.socket.close());
  client.send({ type: 'subscribe-batch', topics, ref: 1 });
  await client.until((frames) => frames.some((f) => f.type === 'subscribed' || (f as { ref?: unknown }).ref === 1));
  return client;
}

function live(frames: Frame[], topic: string): { seq: number; epoch: string; data: unknown }[] {
  return frames.filter((f) => f.topic === topic && typeof f.seq === 'number') as never;
}

function fanoutSuite(name: string, setup: () => Promise<{ make: () => RedisClient; subscribers: () => Promise<number> }>) {
  describe(`fan-out on ${name}`, () => {
    let make: () => RedisClient;
    let channels: () => Promise<number>;
    let n = 0;
    beforeAll(async () => {
      ({ make, subscribers: channels } = await setup());
    });

    it('delivers every publish from both instances to subscribers of both, once each, in seq order', async () => {
      const prefix = `fan${++n}:`;
      const a = await instance(make, prefix);
      const b = await instance(make, prefix);
      const onA = await subscriber(a.server, ['chat']);
      const onB = await subscriber(b.server, ['chat']);
      const count = 400;
      await Promise.all(
        Array.from({ length: count }, (_, i) => (i % 2 ? a : b).replay.publish((i % 2 ? a : b).server.platform, 'chat', 'm', { i })),
      );
      for (const client of [onA, onB]) {
        const frames = await client.until((f) => live(f, 'chat').length >= count);
        const seqs = live(frames, 'chat').map((f) => f.seq);
        expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i + 1));
        expect(new Set(live(frames, 'chat').map((f) => f.epoch)).size).toBe(1);
      }
      // Nothing more arrives later (no second local delivery by the publishing instance).
      await new Promise((r) => setTimeout(r, 200));
      expect(live(onA.frames, 'chat')).toHaveLength(count);
      expect(live(onB.frames, 'chat')).toHaveLength(count);
    });

    it('subscribes to Redis only while a topic has local subscribers', async () => {
      const prefix = `fan${++n}:`;
      const a = await instance(make, prefix);
      const before = await channels();
      const client = await subscriber(a.server, ['t1', 't2']);
      expect(await channels()).toBe(before + 2);
      const second = await subscriber(a.server, ['t1']);
      expect(await channels()).toBe(before + 2);
      client.send({ type: 'unsubscribe', topic: 't2' });
      await expect.poll(channels).toBe(before + 1);
      client.send({ type: 'unsubscribe', topic: 't1' });
      second.socket.close();
      await expect.poll(channels).toBe(before);
    });
  });
}

const standalone = useRedis();
const clustered = useRedisCluster();

fanoutSuite('standalone Redis', async () => ({
  make: () => new Redis(standalone.server().port, '127.0.0.1'),
  subscribers: async () => (await standalone.server().cli('PUBSUB', 'CHANNELS')).split('\n').filter(Boolean).length,
}));

fanoutSuite('a 3-master Cluster (SPUBLISH per shard)', async () => ({
  make: () => new Cluster([...clustered.servers().nodes]),
  subscribers: async () => {
    let total = 0;
    for (const port of clustered.servers().ports) {
      const node = new Redis(port, '127.0.0.1');
      total += ((await node.call('PUBSUB', 'SHARDCHANNELS').finally(() => node.disconnect())) as string[]).length;
    }
    return total;
  },
}));

describe('fan-out recovery', () => {
  it('a killed subscriber connection is logged, resubscribed, and what it missed is relayed in order', async () => {
    const make = () => new Redis(standalone.server().port, '127.0.0.1');
    // The instance's subscriber inherits this slow reconnect: publishes land while it is down.
    const slow = () => new Redis({ port: standalone.server().port, host: '127.0.0.1', retryStrategy: () => 600 });
    const a = await instance(make, 'kill:');
    const b = await instance(slow, 'kill:');
    const onB = await subscriber(b.server, ['chat', 'quiet']);
    await a.replay.publish(a.server.platform, 'chat', 'm', 1);
    await onB.until((f) => live(f, 'chat').length === 1);
    expect(Number(await standalone.server().cli('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThan(0);
    // Published while no subscriber connection exists: pub/sub drops these ...
    for (let i = 2; i <= 4; i++) await a.replay.publish(a.server.platform, 'chat', 'm', i);
    await a.replay.publish(a.server.platform, 'quiet', 'm', 'only one');
    expect(live(onB.frames, 'chat')).toHaveLength(1);
    // ... and the relay catches up when it is back, with no later publish needed.
    const frames = await onB.until((f) => live(f, 'chat').length === 4 && live(f, 'quiet').length === 1, 10_000);
    expect(live(frames, 'chat').map((f) => f.data)).toEqual([1, 2, 3, 4]);
    expect(live(frames, 'chat').map((f) => f.seq)).toEqual([1, 2, 3, 4]);
    await a.replay.publish(a.server.platform, 'chat', 'm', 5);
    const after = await onB.until((f) => live(f, 'chat').length >= 5);
    await new Promise((r) => setTimeout(r, 200));
    expect(live(after, 'chat').map((f) => f.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});
