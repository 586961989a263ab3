/**
 * Redis-only behaviour of `gapless-replay/redis` on a real standalone redis-server: round trips,
 * concurrent writers, every way a counter can be lost, outages and resends.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReplay } from '../../src/redis/index.js';
import { topicKeys } from '../../src/redis/keys.js';
import { RecordingPlatform } from '../helpers/recording-platform.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { watchWrites } from '../helpers/socket-writes.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

let server: RedisServer;
let redis: Redis;
const extra: Redis[] = [];
let n = 0;
const prefix = () => `t${++n}:`;

function client(port = server.port, options: RedisOptions = {}): Redis {
  const c = new Redis({ port, host: '127.0.0.1', ...options });
  c.on('error', () => {});
  extra.push(c);
  return c;
}

function replayFrames(platform: RecordingPlatform, ws = 'ws') {
  return platform.take(ws).map((f) => ({ event: f.event, data: f.data }));
}

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.port, '127.0.0.1');
});

afterEach(() => {
  for (const c of extra.splice(0)) c.disconnect();
});

afterAll(async () => {
  redis?.disconnect();
  await server?.destroy();
});

describe('scripts', () => {
  it('the generated scripts module matches the .lua sources', async () => {
    await expect(promisify(execFile)('node', ['scripts/gen-lua.mjs', '--check'])).resolves.toBeDefined();
  });

  it('loads the scripts after SCRIPT FLUSH (NOSCRIPT falls back to EVAL once)', async () => {
    const replay = createReplay(redis, { prefix: prefix() });
    const platform = new RecordingPlatform();
    await replay.publish(platform, 'chat', 'e', 1);
    await redis.script('FLUSH');
    expect(await replay.publish(platform, 'chat', 'e', 2)).toBe(2);
    await redis.script('FLUSH');
    expect(await replay.seq('chat')).toBe(2);
    await redis.script('FLUSH');
    expect(Object.values(await replay.positions(['chat', 'b'])).map((p) => p.seq)).toEqual([2, 0]);
  });
});

describe('options', () => {
  it.each([
    [{ prefix: 'a{b' }, 'prefix must be a string without'],
    [{ prefix: 'a}' }, 'prefix must be a string without'],
    [{ prefix: 5 }, 'prefix must be a string without'],
    [{ size: 0 }, 'size must be a positive integer, got 0'],
    [{ ttl: -1 }, 'ttl must be a non-negative integer, got -1'],
    [{ ttl: 1.5 }, 'ttl must be a non-negative integer, got 1.5'],
    [{ timeout: 0 }, 'timeout must be a positive integer, got 0'],
  ])('rejects %o at construction, naming the option', (options, message) => {
    expect(() => createReplay(redis, options as never)).toThrow(message);
    expect(() => createReplay(redis, options as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('rejects something that is not an ioredis client', () => {
    expect(() => createReplay({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('round trips', () => {
  /** Commands the server received from clients (not those run inside scripts) while `fn` ran. */
  async function clientCommands(fn: () => Promise<unknown>): Promise<string[]> {
    const monitor = await redis.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!source.includes('lua')) seen.push(args[0]!.toLowerCase());
    });
    await fn();
    await redis.ping('mark');
    await expect.poll(() => seen.includes('ping')).toBe(true);
    monitor.disconnect();
    return seen.filter((c) => c !== 'ping');
  }

  it('publish is one EVALSHA, replay one, positions of 3 topics one pipelined write', async () => {
    const replay = createReplay(client(), { prefix: prefix() });
    const platform = new RecordingPlatform();
    await replay.publish(platform, 'chat', 'e', 0); // scripts loaded
    expect(await clientCommands(() => replay.publish(platform, 'chat', 'e', 1))).toEqual(['evalsha']);
    expect(await clientCommands(() => replay.replay('ws', 'chat', 0, platform, 'r'))).toEqual(['evalsha']);
    expect(await clientCommands(() => replay.positions(['chat', 'a', 'b']))).toEqual(['evalsha', 'evalsha', 'evalsha']);
  });

  it('a publish sends Redis the idempotency key and window only when it has an id', async () => {
    const p = prefix();
    const replay = createReplay(client(), { prefix: p });
    const platform = new RecordingPlatform();
    await replay.publish(platform, 'chat', 'e', 0); // scripts loaded
    const monitor = await redis.monitor();
    const sent: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!source.includes('lua') && args[0]!.toLowerCase() === 'evalsha') sent.push(args.slice(2));
    });
    await replay.publish(platform, 'chat', 'e', 1);
    await replay.publish(platform, 'chat', 'e', 2, { id: 'x' });
    await expect.poll(() => sent.length).toBe(2);
    monitor.disconnect();
    const { stream, epoch } = topicKeys(p, 'chat');
    const publishId = expect.stringMatching(/^[\w-]{8}\.[0-9a-z]+$/);
    const fence = expect.stringMatching(/^\d{16}$/);
    expect(sent).toEqual([
      ['2', stream, epoch, 'e', '1', '1000', '0', publishId, fence, '0P'],
      ['3', stream, epoch, `${p}{chat}:i:x`, 'e', '2', '1000', '0', publishId, fence, '300', '0P'],
    ]);
  });

  it('a burst of publishes made in one run leaves in socket writes of 16 commands', async () => {
    const c = client();
    const replay = createReplay(c, { prefix: prefix() });
    const platform = new RecordingPlatform();
    await replay.publish(platform, 'chat', 'e', 0); // scripts loaded, clock read
    const writes = watchWrites(c.stream);
    const seqs = await Promise.all(Array.from({ length: 64 }, (_, i) => replay.publish(platform, 'chat', 'e', i + 1)));
    writes.stop();
    expect(seqs).toEqual(Array.from({ length: 64 }, (_, i) => i + 2));
    // Held to the end of the run it would be one write of 64, and Redis would wait for all of
    // them while this process built them; one write each would cost Redis a read per command.
    expect(writes.handoffs.map((h) => h.chunks)).toEqual([16, 16, 16, 16]);
  });

  it('stores each payload once, as the stream entry, and nothing else per entry', async () => {
    const p = prefix();
    const replay = createReplay(redis, { prefix: p });
    const platform = new RecordingPlatform();
    await replay.publish(platform, 'chat', 'created', { text: 'hi' });
    expect((await redis.keys(`${p}*`)).sort()).toEqual([topicKeys(p, 'chat').epoch, topicKeys(p, 'chat').stream]);
    const [[id, fields]] = (await redis.xrange(topicKeys(p, 'chat').stream, '-', '+')) as [[string, string[]]];
    expect(id).toBe('0-1');
    expect(fields.slice(0, 3)).toEqual(['created', '{"text":"hi"}', 'i']);
  });
});

describe('buffers with different sizes on one prefix', () => {
  it('a reader with a smaller size answers a page whose end names exactly what it sent', async () => {
    const p = prefix();
    const writer = createReplay(redis, { prefix: p, size: 20 });
    const reader = createReplay(redis, { prefix: p, size: 5 });
    const platform = new RecordingPlatform();
    for (let i = 1; i <= 20; i++) await writer.publish(platform, 'chat', 'e', i);
    const { epoch } = await reader.position('chat');
    expect(await reader.position('chat')).toEqual({ seq: 20, epoch });
    await reader.replay('ws', 'chat', { seq: 2, epoch }, platform, 'r');
    expect(replayFrames(platform)).toEqual([
      ...[3, 4, 5, 6, 7].map((seq) => ({ event: 'msg', data: { reqId: 'r', seq, event: 'e', data: seq } })),
      { event: 'end', data: { reqId: 'r', seq: 7, epoch } },
    ]);
  });
});

describe('concurrent writers', () => {
  it('two buffers on one Redis publishing thousands of interleaved messages give one gap-free sequence', async () => {
    const p = prefix();
    const a = createReplay(client(), { prefix: p, size: 5000 });
    const b = createReplay(client(), { prefix: p, size: 5000 });
    const platform = new RecordingPlatform();
    const per = 1500;
    const seqs = await Promise.all(
      Array.from({ length: per * 2 }, (_, i) => (i % 2 === 0 ? a : b).publish(platform, 'hot', 'e', { from: i % 2 === 0 ? 'a' : 'b', i })),
    );
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: per * 2 }, (_, i) => i + 1));
    const entries = await a.since('hot', 0);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: per * 2 }, (_, i) => i + 1));
    // Every publish is there exactly once, under the seq its publish call returned.
    const bySeq = new Map(entries.map((e) => [e.seq, (e.data as { i: number }).i]));
    seqs.forEach((seq, i) => expect(bySeq.get(seq)).toBe(i));
    expect((await a.position('hot')).epoch).toBe((await b.position('hot')).epoch);
  });
});

describe('publish promises', () => {
  it('settle in the order Redis ran the publishes, also those that waited for the first clock read', async () => {
    // A new buffer reads Redis's clock before its first publishes; publishes made meanwhile wait
    // for it, and ones made just after go at once. Fired back to back on 40 new buffers, some of
    // their replies share a socket read, where the promises used to settle out of order.
    const platform = new RecordingPlatform();
    const outOfOrder: string[] = [];
    for (let round = 0; round < 40; round++) {
      const replay = createReplay(client(), { prefix: prefix() });
      const settled: number[] = [];
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        all.push(replay.publish(platform, 'order', 'e', i).then((seq) => void settled.push(seq)));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(all);
      if (settled.some((seq, i) => i > 0 && seq < settled[i - 1]!)) outOfOrder.push(`round ${round}: ${settled.join(',')}`);
    }
    expect(outOfOrder).toEqual([]);
  });
});

describe('counter loss is a reset, never a silent replay', () => {
  async function lifeOf(p: string, options: { ttl?: number } = {}) {
    const replay = createReplay(redis, { prefix: p, ...options });
    const platform = new RecordingPlatform();
    for (let i = 1; i <= 3; i++) await replay.publish(platform, 'chat', 'e', i);
    const position = await replay.position('chat');
    return { replay, platform, position };
  }

  function expectReset(frames: { event: unknown; data: unknown }[], oldEpoch: string) {
    expect(frames.map((f) => f.event)).toEqual(['truncated', 'end']);
    expect(frames[0]!.data).toMatchObject({ reason: 'reset' });
    expect((frames[1]!.data as { epoch: string }).epoch).not.toBe(oldEpoch);
  }

  it('TTL expiry takes every key of the topic together and starts a new epoch', async () => {
    const p = prefix();
    const { replay, platform, position } = await lifeOf(p, { ttl: 1 });
    const keys = topicKeys(p, 'chat');
    const [ttlStream, ttlEpoch] = [await redis.pttl(keys.stream), await redis.pttl(keys.epoch)];
    expect(ttlStream).toBeGreaterThan(0);
    expect(Math.abs(ttlStream - ttlEpoch)).toBeLessThan(50);
    await expect.poll(() => redis.exists(keys.stream, keys.epoch), { timeout: 3000, interval: 100 }).toBe(0);
    await replay.replay('ws', 'chat', position, platform, 'r');
    expectReset(replayFrames(platform), position.epoch);
    expect(await replay.publish(platform, 'chat', 'e', 'again')).toBe(1);
  });

  it('a later publish refreshes the TTL of every key of the topic', async () => {
    const p = prefix();
    const { replay, platform } = await lifeOf(p, { ttl: 100 });
    const keys = topicKeys(p, 'chat');
    await redis.expire(keys.stream, 5);
    await redis.expire(keys.epoch, 5);
    await replay.publish(platform, 'chat', 'e', 4);
    expect(await redis.ttl(keys.stream)).toBeGreaterThan(90);
    expect(await redis.ttl(keys.epoch)).toBeGreaterThan(90);
  });

  it('an evicted stream (epoch key left behind) starts a new epoch on read and on publish', async () => {
    const p = prefix();
    const { replay, platform, position } = await lifeOf(p);
    await redis.del(topicKeys(p, 'chat').stream);
    await replay.replay('ws', 'chat', position, platform, 'r');
    expectReset(replayFrames(platform), position.epoch);
    const readEpoch = (await replay.position('chat')).epoch;
    expect(await replay.publish(platform, 'chat', 'e', 'new')).toBe(1);
    // The pending epoch the read fixed is the one the new life keeps.
    expect(await replay.position('chat')).toEqual({ seq: 1, epoch: readEpoch });

    const second = await lifeOf(prefix());
    await redis.del(topicKeys(`t${n}:`, 'chat').stream);
    expect(await second.replay.publish(second.platform, 'chat', 'e', 'x')).toBe(1);
    expect((await second.replay.position('chat')).epoch).not.toBe(second.position.epoch);
  });

  it('an evicted epoch key (stream left behind) gives the counter a new epoch', async () => {
    const p = prefix();
    const { replay, platform, position } = await lifeOf(p);
    await redis.del(topicKeys(p, 'chat').epoch);
    await replay.replay('ws', 'chat', { seq: 2, epoch: position.epoch }, platform, 'r');
    const frames = replayFrames(platform);
    expectReset(frames, position.epoch);
    expect(frames[1]!.data).toMatchObject({ seq: 3 });
    expect(await replay.publish(platform, 'chat', 'e', 4)).toBe(4);
  });

  it('FLUSHALL is a reset for a client holding a position', async () => {
    const { replay, platform, position } = await lifeOf(prefix());
    await redis.flushall();
    await replay.publish(platform, 'chat', 'e', 'after');
    await replay.replay('ws', 'chat', position, platform, 'r');
    expectReset(replayFrames(platform), position.epoch);
  });
});

describe('reads create no state', () => {
  it('replays of a thousand unknown topics write no key; position() fixes one pending epoch for an hour when ttl is 0', async () => {
    const p = prefix();
    const replay = createReplay(redis, { prefix: p });
    const platform = new RecordingPlatform();
    await Promise.all(Array.from({ length: 1000 }, (_, i) => replay.replay('ws', `probe-${i}`, { seq: i, epoch: 'guessed' }, platform, i)));
    await replay.since('probe-1', 0);
    await replay.seq('probe-2');
    expect(await redis.keys(`${p}*`)).toEqual([]);
    expect(platform.take().filter((f) => f.event === 'end').every((f) => (f.data as { epoch?: string }).epoch === undefined)).toBe(true);
    await replay.position('page');
    expect(await redis.keys(`${p}*`)).toEqual([topicKeys(p, 'page').epoch]);
    const ttl = await redis.ttl(topicKeys(p, 'page').epoch);
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
  });
});

describe('rollback', () => {
  it('a publish reply that reuses a seq of the same epoch ends it, and the newest entry goes out in the new epoch (no fan-out)', async () => {
    const own = await startRedis();
    const c = client(own.port, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    try {
      const replay = createReplay(c, { prefix: 'rb:' });
      const platform = new RecordingPlatform();
      for (let i = 1; i <= 3; i++) await replay.publish(platform, 'chat', 'e', i);
      await own.cli('SAVE');
      for (let i = 4; i <= 6; i++) await replay.publish(platform, 'chat', 'e', i);
      const before = await replay.position('chat');
      await own.kill();
      await own.start();
      platform.live.length = 0;
      // Redis came back at seq 3 in the same epoch: this publish gets seq 4 again.
      expect(await replay.publish(platform, 'chat', 'e', 'reused')).toBe(4);
      const now = await replay.position('chat');
      expect(now.seq).toBe(4);
      expect(now.epoch).not.toBe(before.epoch);
      // Clients holding {6, old epoch} see a new epoch at once, ask and are told.
      expect(platform.live).toEqual([{ topic: 'chat', event: 'e', data: 'reused', seq: 4, epoch: now.epoch }]);
      await replay.replay('ws', 'chat', before, platform, 'r');
      expect(replayFrames(platform).map((f) => f.event)).toEqual(['truncated', 'end']);
    } finally {
      await own.destroy();
    }
  });

  it('remembers the last seq of at most 10,000 topics: a rollback of one it forgot is not seen by the publish reply, and a client ahead of it is still told', async () => {
    const MAX_MARKS = 10_000;
    const p = prefix();
    const replay = createReplay(redis, { prefix: p });
    const platform = new RecordingPlatform();
    for (const topic of ['forgotten', 'oldest-kept']) for (let i = 1; i <= 3; i++) await replay.publish(platform, topic, 'e', i);
    // One topic more than the bound: the first is forgotten, the second is now the oldest kept.
    for (let chunk = 0; chunk < MAX_MARKS - 1; chunk += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, MAX_MARKS - 1 - chunk) }, (_, i) => replay.publish(platform, `t${chunk + i}`, 'e', 0)));
    }
    const held = { forgotten: await replay.position('forgotten'), kept: await replay.position('oldest-kept') };
    // Both go back to seq 1 in the same epoch, as after a restart from an older snapshot.
    for (const topic of ['forgotten', 'oldest-kept']) {
      const { stream } = topicKeys(p, topic);
      const [id, fields] = (await redis.xrange(stream, '-', '+', 'COUNT', 1))[0]!;
      await redis.multi().del(stream).xadd(stream, id, ...fields).exec();
    }
    expect([held.forgotten.seq, held.kept.seq]).toEqual([3, 3]);
    expect(await Promise.all(['forgotten', 'oldest-kept'].map((t) => replay.position(t)))).toEqual([
      { seq: 1, epoch: held.forgotten.epoch },
      { seq: 1, epoch: held.kept.epoch },
    ]);
    expect(await replay.publish(platform, 'oldest-kept', 'e', 'reused')).toBe(2);
    expect((await replay.position('oldest-kept')).epoch).not.toBe(held.kept.epoch);
    expect(await replay.publish(platform, 'forgotten', 'e', 'reused')).toBe(2);
    expect((await replay.position('forgotten')).epoch).toBe(held.forgotten.epoch);
    await replay.replay('ws', 'forgotten', held.forgotten, platform, 'r');
    expect(replayFrames(platform).map((f) => f.event)).toEqual(['truncated', 'end']);
  });
});

describe('restart', () => {
  it('without persistence: every topic starts a new epoch and old positions are reset', async () => {
    const own = await startRedis();
    const c = client(own.port);
    try {
      const replay = createReplay(c, { prefix: 'r:' });
      const platform = new RecordingPlatform();
      for (let i = 1; i <= 3; i++) await replay.publish(platform, 'chat', 'e', i);
      const before = await replay.position('chat');
      await own.stop();
      await own.start();
      await replay.replay('ws', 'chat', before, platform, 'r');
      const frames = replayFrames(platform);
      expect(frames.map((f) => f.event)).toEqual(['truncated', 'end']);
      expect(frames[0]!.data).toMatchObject({ reason: 'reset', seq: 0 });
      expect(await replay.publish(platform, 'chat', 'e', 'x')).toBe(1);
      expect((await replay.position('chat')).epoch).not.toBe(before.epoch);
    } finally {
      await own.destroy();
    }
  });

  it('with AOF: the epoch and entries survive and a client resumes without truncation', async () => {
    const own = await startRedis({ aof: true });
    const c = client(own.port);
    try {
      const replay = createReplay(c, { prefix: 'r:' });
      const platform = new RecordingPlatform();
      for (let i = 1; i <= 3; i++) await replay.publish(platform, 'chat', 'e', i);
      const at1 = { seq: 1, epoch: (await replay.position('chat')).epoch };
      await own.stop();
      await own.start();
      await replay.replay('ws', 'chat', at1, platform, 'r');
      expect(replayFrames(platform)).toEqual([
        { event: 'msg', data: { reqId: 'r', seq: 2, event: 'e', data: 2 } },
        { event: 'msg', data: { reqId: 'r', seq: 3, event: 'e', data: 3 } },
        { event: 'end', data: { reqId: 'r', seq: 3, epoch: at1.epoch } },
      ]);
      expect(await replay.publish(platform, 'chat', 'e', 4)).toBe(4);
    } finally {
      await own.destroy();
    }
  });
});

describe('failure', () => {
  it('with Redis stopped, publish rejects and replay ends with error within the timeout; both recover', async () => {
    const own = await startRedis();
    const c = client(own.port, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    try {
      const replay = createReplay(c, { prefix: 'f:', timeout: 300 });
      const platform = new RecordingPlatform();
      await replay.publish(platform, 'chat', 'e', 1);
      const { epoch } = await replay.position('chat');
      await own.stop();

      let started = Date.now();
      await expect(replay.publish(platform, 'chat', 'e', 2)).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(1000);

      started = Date.now();
      // Resolves: a seed handler calls replay() without await, so it must never reject.
      await expect(replay.replay('ws', 'chat', { seq: 1, epoch }, platform, 'r')).resolves.toBeUndefined();
      expect(Date.now() - started).toBeLessThan(1000);
      expect(replayFrames(platform)).toEqual([{ event: 'end', data: { reqId: 'r', error: 'TIMEOUT' } }]);

      // handle() never rejects: the same failure is answered and logged.
      expect(replay.handle('ws', { type: 'replay', topic: 'chat', since: 0, reqId: 'h' }, platform)).toBe(true);
      await expect.poll(() => platform.sent.get('ws')?.length ?? 0, { timeout: 2000 }).toBe(1);
      expect(replayFrames(platform)).toEqual([{ event: 'end', data: { reqId: 'h', error: 'TIMEOUT' } }]);

      await own.start();
      await expect.poll(() => c.status, { timeout: 5000 }).toBe('ready');
      const seq = await replay.publish(platform, 'chat', 'e', 3);
      // No persistence: the restarted server is a new life; the timed-out publish may have been
      // applied after the restart (its outcome was unknown), but never twice.
      const entries = await replay.since('chat', 0);
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
      expect(new Set(entries.map((e) => JSON.stringify(e.data))).size).toBe(entries.length);
    } finally {
      await own.destroy();
    }
  });

  it('a publish whose reply was lost is resent by ioredis and applied once', async () => {
    // A proxy that, when armed, forwards commands to Redis but swallows its replies and then
    // cuts the connection: the publish ran, the client never heard, ioredis resends it.
    const proxy = await startTcpProxy(server.port);
    const c = client(proxy.port, { retryStrategy: () => 20 });
    try {
      const replay = createReplay(c, { prefix: prefix() });
      const platform = new RecordingPlatform();
      await replay.publish(platform, 'chat', 'e', 1);
      // Replies are dropped until the connection is cut.
      const cut = proxy.loseNextReply();
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      const pending = replay.publish(platform, 'chat', 'e', 2);
      await Promise.all([cut, closed]);
      expect(await pending).toBe(2);
      expect(await replay.publish(platform, 'chat', 'e', 3)).toBe(3);
      expect((await replay.since('chat', 0)).map((e) => e.data)).toEqual([1, 2, 3]);
      expect(platform.live.map((f) => f.seq)).toEqual([1, 2, 3]);
    } finally {
      await proxy.close();
    }
  });
});

describe('clear', () => {
  it('removes only keys under the prefix, with glob characters in the prefix taken literally', async () => {
    const p = `g*[x]?${++n}:`;
    const replay = createReplay(redis, { prefix: p });
    const platform = new RecordingPlatform();
    for (let i = 0; i < 50; i++) await replay.publish(platform, `topic${i}`, 'e', i);
    await redis.set(`g-other${n}:keep`, '1');
    await redis.set(`gx[x]a${n}:keep`, '1');
    await replay.clear();
    expect(await redis.keys(`${p.replace(/[*?[\]]/g, '\\$&')}*`)).toEqual([]);
    expect(await redis.get(`g-other${n}:keep`)).toBe('1');
    expect(await redis.get(`gx[x]a${n}:keep`)).toBe('1');
  });
});
