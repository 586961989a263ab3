/** Cluster-only behaviour on a real 3-master Redis Cluster built by the test harness. */
import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createReplay } from '../../src/redis/index.js';
import { channelOf, slotOf, topicKeys } from '../../src/redis/keys.js';
import { RecordingPlatform } from '../helpers/recording-platform.js';
import { useRedisCluster } from '../helpers/redis-server.js';

const redis = useRedisCluster();

async function keysPerMaster(pattern: string): Promise<number[]> {
  return Promise.all(redis.client().nodes('master').map(async (node) => (await node.keys(pattern)).length));
}

describe('redis cluster', () => {
  it('publishes and replays 1,000 topics spread over every master, each topic in one slot', async () => {
    const replay = createReplay(redis.client(), { prefix: 'spread:' });
    const platform = new RecordingPlatform();
    const topics = Array.from({ length: 1000 }, (_, i) => `topic-${i}`);
    await Promise.all(topics.map(async (topic) => {
      for (let i = 1; i <= 3; i++) await replay.publish(platform, topic, 'e', { topic, i });
    }));
    const perMaster = await keysPerMaster('spread:*');
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(2000);
    for (const count of perMaster) expect(count).toBeGreaterThan(400);

    const positions = await replay.positions(topics);
    for (const topic of topics) expect(positions[topic]!.seq).toBe(3);
    await Promise.all(topics.map(async (topic) => {
      await replay.replay(topic, topic, { seq: 1, epoch: positions[topic]!.epoch }, platform, topic);
      expect(platform.take(topic).map((f) => (f.data as { seq: number }).seq)).toEqual([2, 3, 3]);
    }));
    expect((await replay.since('topic-7', 0)).map((e) => e.data)).toEqual([1, 2, 3].map((i) => ({ topic: 'topic-7', i })));
  });

  it('keeps topics that contain or start with braces in one slot', async () => {
    const replay = createReplay(redis.client(), { prefix: 'braces:' });
    const platform = new RecordingPlatform();
    for (const topic of ['}x', '{a}', 'a}b{c', '}']) {
      expect(await replay.publish(platform, topic, 'e', 1)).toBe(1);
      expect(await replay.publish(platform, topic, 'e', 2)).toBe(2);
      expect((await replay.since(topic, 0)).map((e) => e.data)).toEqual([1, 2]);
    }
  });

  it('two buffers on separate Cluster clients give one gap-free sequence per topic', async () => {
    const other = new Cluster([...redis.servers().nodes]);
    try {
      const a = createReplay(redis.client(), { prefix: 'two:', size: 2000 });
      const b = createReplay(other, { prefix: 'two:', size: 2000 });
      const platform = new RecordingPlatform();
      const seqs = await Promise.all(Array.from({ length: 2000 }, (_, i) => (i % 2 ? a : b).publish(platform, `t${i % 4}`, 'e', i)));
      for (let t = 0; t < 4; t++) {
        const mine = seqs.filter((_, i) => i % 4 === t).sort((x, y) => x - y);
        expect(mine).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
        expect((await a.since(`t${t}`, 0)).map((e) => e.seq)).toEqual(mine);
      }
    } finally {
      other.disconnect();
    }
  });

  it('computes the slot of every key and channel as Redis does (hash tags, braces, UTF-8)', async () => {
    const node = redis.client().nodes('master')[0]!;
    const names = ['plain', '', '{}', '{}x', 'a{b}c', 'a{}b{c}', '{{x}}', ...['chat', '}x', '{a}', '日本語 🎉', 'x'.repeat(256)].flatMap((t) => [topicKeys('p:', t).stream, channelOf('app:p:', t)])];
    for (const name of names) expect([name, slotOf(name)]).toEqual([name, Number(await node.cluster('KEYSLOT', name))]);
  });

  it('clear() scans every master and removes only keys under the prefix', async () => {
    const replay = createReplay(redis.client(), { prefix: 'gone:' });
    const platform = new RecordingPlatform();
    for (let i = 0; i < 100; i++) await replay.publish(platform, `t${i}`, 'e', i);
    await redis.client().set('gonex:keep', '1');
    await redis.client().set('keep:gone:', '1');
    expect((await keysPerMaster('gone:*')).every((c) => c > 0)).toBe(true);
    await replay.clear();
    expect(await keysPerMaster('gone:*')).toEqual([0, 0, 0]);
    expect(await redis.client().get('gonex:keep')).toBe('1');
    expect(await redis.client().get('keep:gone:')).toBe('1');
  });
});
