/**
 * The connections `createReplay` accepts besides a plain ioredis client: a client with its own
 * `keyPrefix`, and the seed extension's client wrapper. Every key, channel and SCAN match must
 * carry the whole prefix, with each topic's hash tag intact (so scripts stay in one Cluster slot).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createReplay, type RedisReplay } from '../../src/redis/index.js';
import { RecordingPlatform } from '../helpers/recording-platform.js';
import { useRedis, useRedisCluster } from '../helpers/redis-server.js';
import { startServer, TestClient, type Frame } from '../helpers/ws-server.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** The shape the seed extension's `createRedisClient({ url, keyPrefix })` returns, built the same way. */
function seedClient(port: number, keyPrefix: string, options: RedisOptions = {}) {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null, ...options });
  const duplicates = new Set<Redis>();
  const client = {
    redis,
    keyPrefix,
    key: (k: string) => keyPrefix + k,
    duplicate(overrides?: RedisOptions) {
      const dup = overrides ? redis.duplicate(overrides) : redis.duplicate();
      duplicates.add(dup);
      dup.on('end', () => duplicates.delete(dup));
      return dup;
    },
    duplicates,
    quit: async () => {
      await Promise.allSettled([redis, ...duplicates].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
  cleanup.push(() => client.quit());
  return client;
}

/** A platform over real sockets with one subscriber of `topic`; returns the live frames it receives. */
async function liveSubscriber(replay: RedisReplay, topic: string) {
  const server = await startServer({ replay });
  cleanup.push(() => server.stop());
  const client = await TestClient.connect(server.url);
  cleanup.push(() => client.close());
  client.send({ type: 'subscribe', topic, ref: 1 });
  await client.until((f) => f.some((x) => x.type === 'subscribed'));
  const live = (frames: Frame[]) => frames.filter((f) => f.topic === topic && typeof f.seq === 'number').map((f) => f.data);
  return { server, until: async (count: number) => live(await client.until((f) => live(f).length >= count)) };
}

/** Publishes, replays, reads positions and since through `replay`, and checks what came back. */
async function exercise(replay: RedisReplay, platform: RecordingPlatform, topic: string) {
  for (let i = 1; i <= 3; i++) expect(await replay.publish(platform, topic, 'e', i)).toBe(i);
  const position = await replay.position(topic);
  expect((await replay.positions([topic, 'other']))[topic]).toEqual(position);
  expect((await replay.since(topic, 1)).map((e) => e.data)).toEqual([2, 3]);
  await replay.replay('ws', topic, { seq: 1, epoch: position.epoch }, platform, 'r');
  expect(platform.take().map((f) => [f.event, (f.data as { seq: number }).seq])).toEqual([['msg', 2], ['msg', 3], ['end', 3]]);
}

describe('standalone', () => {
  const redis = useRedis();
  const raw = () => redis.client();

  it('an ioredis client with keyPrefix: keys, fan-out channel and clear() all carry the whole prefix', async () => {
    const client = new Redis(redis.server().port, '127.0.0.1', { keyPrefix: 'app:' });
    cleanup.push(() => client.disconnect());
    const replay = createReplay(client, { prefix: 'kp:' });
    const platform = new RecordingPlatform();
    const subscriber = await liveSubscriber(replay, 'chat');
    expect((await redis.server().cli('PUBSUB', 'CHANNELS', 'app:kp:*')).split('\n')).toEqual(['app:kp:{chat}:c']);

    for (let i = 1; i <= 3; i++) await replay.publish(subscriber.server.platform, 'chat', 'e', i);
    expect(await subscriber.until(3)).toEqual([1, 2, 3]);
    await exercise(replay, platform, 'room');
    expect((await raw().keys('*kp:*')).sort()).toEqual(['app:kp:{chat}:e', 'app:kp:{chat}:s', 'app:kp:{other}:e', 'app:kp:{room}:e', 'app:kp:{room}:s']);

    await raw().set('kp:{chat}:s', 'not ours: no app: in front');
    await raw().set('app:kpx', 'not ours: another prefix');
    await replay.clear();
    expect((await raw().keys('*kp*')).sort()).toEqual(['app:kpx', 'kp:{chat}:s']);
    expect(await replay.publish(platform, 'chat', 'e', 'after clear')).toBe(1);
  });

  it("the seed extension's client wrapper: key() prefixes every key and channel, and its duplicate() makes the subscriber", async () => {
    const seed = seedClient(redis.server().port, 'seed:');
    const replay = createReplay(seed);
    const platform = new RecordingPlatform();
    const subscriber = await liveSubscriber(replay, 'chat');
    expect(seed.duplicates.size).toBe(1);
    expect((await redis.server().cli('PUBSUB', 'CHANNELS', 'seed:*')).split('\n')).toEqual(['seed:gapless:{chat}:c']);
    await replay.publish(subscriber.server.platform, 'chat', 'e', 'hi');
    expect(await subscriber.until(1)).toEqual(['hi']);
    await exercise(replay, platform, 'room');
    expect((await raw().keys('seed:gapless:{room}*')).sort()).toEqual(['seed:gapless:{room}:e', 'seed:gapless:{room}:s']);
    await replay.clear();
    expect(await raw().keys('seed:*')).toEqual([]);
  });

  it('a wrapper around a client with its own keyPrefix stacks both prefixes', async () => {
    const seed = seedClient(redis.server().port, 'seed:', { keyPrefix: 'io:' });
    const replay = createReplay(seed, { prefix: 'st:' });
    const subscriber = await liveSubscriber(replay, 'chat');
    await replay.publish(subscriber.server.platform, 'chat', 'e', 1);
    expect(await subscriber.until(1)).toEqual([1]);
    expect((await raw().keys('*st:*')).sort()).toEqual(['io:seed:st:{chat}:e', 'io:seed:st:{chat}:s']);
    await replay.clear();
    expect(await raw().keys('*st:*')).toEqual([]);
  });

  it('rejects a keyPrefix or a key() prefix with a brace, which would replace the per-topic hash tag', () => {
    const braced = new Redis({ port: redis.server().port, host: '127.0.0.1', keyPrefix: '{app}:', lazyConnect: true });
    expect(() => createReplay(braced)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('the client keyPrefix must not contain') }));
    const plain = new Redis({ port: redis.server().port, host: '127.0.0.1', lazyConnect: true });
    const seed = { redis: plain, key: (k: string) => `{t}${k}`, duplicate: () => plain };
    expect(() => createReplay(seed)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('key() prefix') }));
    expect(() => createReplay({ redis: {}, key: () => '', duplicate: () => null } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('cluster', () => {
  const cluster = useRedisCluster();

  it('a Cluster client with keyPrefix: topics spread over every master, each in one slot, fan-out by SSUBSCRIBE', async () => {
    const client = new Cluster([...cluster.servers().nodes], { keyPrefix: 'app:' });
    cleanup.push(() => client.disconnect());
    const replay = createReplay(client, { prefix: 'ckp:' });
    const platform = new RecordingPlatform();
    const subscriber = await liveSubscriber(replay, 'chat');
    for (let i = 1; i <= 3; i++) await replay.publish(subscriber.server.platform, 'chat', 'e', i);
    expect(await subscriber.until(3)).toEqual([1, 2, 3]);
    await exercise(replay, platform, 'room');

    const topics = Array.from({ length: 60 }, (_, i) => `t${i}`);
    await Promise.all(topics.map((topic) => replay.publish(platform, topic, 'e', topic)));
    const perMaster = await Promise.all(cluster.client().nodes('master').map(async (node) => node.keys('*ckp:*')));
    for (const keys of perMaster) {
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(key).toMatch(/^app:ckp:\{[^}]+\}:[se]$/);
    }
    await replay.clear();
    expect((await Promise.all(cluster.client().nodes('master').map((node) => node.keys('*ckp:*')))).flat()).toEqual([]);
  });
});
