/**
 * A replay-batch reads its items in a few pipelined round trips (one read script call per item;
 * on Cluster concurrent calls, one round trip per shard in parallel), proven through a proxy
 * that adds latency: item by item, 50 items would take 50 round trips. What it reads ahead is
 * bounded and gated: a socket that does not read cannot make the server hold every item's
 * snapshot, and an item the socket may not replay is never read.
 */
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createReplay, type RedisClient, type RedisReplay } from '../../src/redis/index.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { useWsServer } from '../helpers/ws-server.js';
import { RecordingPlatform } from '../helpers/recording-platform.js';
import { useRedis, useRedisCluster } from '../helpers/redis-server.js';

const DELAY_MS = 60;
const ITEMS = 50;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Fills ITEMS topics through `direct`, then times one replay-batch through `slow`; checks every frame. */
async function timedBatch(direct: RedisReplay, slow: RedisReplay, slowClient: RedisClient, roundTripMs: number, scriptCalls: () => Promise<number>) {
  const platform = new RecordingPlatform();
  const topics = Array.from({ length: ITEMS }, (_, i) => `room-${i}`);
  for (const topic of topics) for (let n = 1; n <= 3; n++) await direct.publish(platform, topic, 'e', `${topic}/${n}`);
  const positions = await direct.positions(topics);
  // Warm the slow path (a connection to every node, the slot map) so that only the batch is timed.
  await slow.positions(topics);
  await slowClient.ping();

  const items = topics.map((topic, i) => ({ topic, since: 1, epoch: positions[topic]!.epoch, reqId: i }));
  const callsBefore = await scriptCalls();
  const started = performance.now();
  expect(slow.handle('ws', { type: 'replay-batch', items }, platform)).toBe(true);
  const ends = () => (platform.sent.get('ws') ?? []).filter((f) => f.event === 'end').length;
  await expect.poll(ends, { timeout: ITEMS * roundTripMs * 2, interval: 2 }).toBe(ITEMS);
  const elapsed = performance.now() - started;
  // One read script call per item: each item's frames come from its own atomic snapshot.
  expect((await scriptCalls()) - callsBefore).toBe(ITEMS);

  // Each item in order: its two missed entries, then its end, from one snapshot.
  expect(platform.take().map((f) => [f.topic, f.event, (f.data as { seq: number }).seq])).toEqual(
    topics.flatMap((topic) => [[`__replay:${topic}`, 'msg', 2], [`__replay:${topic}`, 'msg', 3], [`__replay:${topic}`, 'end', 3]]),
  );
  return elapsed;
}

/** EVALSHA calls Redis has run, summed over `nodes`. */
async function evalshaCalls(nodes: Redis[]): Promise<number> {
  let total = 0;
  for (const node of nodes) total += Number(/cmdstat_evalsha:calls=(\d+)/.exec(await node.info('commandstats'))?.[1] ?? 0);
  return total;
}

describe('replay-batch round trips', () => {
  const standalone = useRedis();
  const clustered = useRedisCluster();

  it(`standalone: a ${ITEMS}-item batch completes within 3 round trips`, async () => {
    const proxy = await startTcpProxy(standalone.server().port, { delayMs: DELAY_MS });
    const slowClient = new Redis(proxy.port, '127.0.0.1');
    cleanup.push(() => proxy.close(), () => slowClient.disconnect());
    const direct = createReplay(standalone.client(), { prefix: 'batch:' });
    const slow = createReplay(slowClient, { prefix: 'batch:' });
    const elapsed = await timedBatch(direct, slow, slowClient, proxy.roundTripMs, () => evalshaCalls([standalone.client()]));
    expect(elapsed).toBeLessThan(3 * proxy.roundTripMs);
  });

  it(`Cluster: a ${ITEMS}-item batch over every shard completes within 3 round trips`, async () => {
    const proxies: TcpProxy[] = [];
    const natMap: Record<string, { host: string; port: number }> = {};
    for (const port of clustered.servers().ports) {
      const proxy = await startTcpProxy(port, { delayMs: DELAY_MS });
      proxies.push(proxy);
      natMap[`127.0.0.1:${port}`] = { host: '127.0.0.1', port: proxy.port };
    }
    const slowClient = new Cluster([{ host: '127.0.0.1', port: proxies[0]!.port }], { natMap });
    cleanup.push(() => Promise.all(proxies.map((p) => p.close())), () => slowClient.disconnect());
    const direct = createReplay(clustered.client(), { prefix: 'batchc:' });
    const slow = createReplay(slowClient, { prefix: 'batchc:' });
    const elapsed = await timedBatch(direct, slow, slowClient, proxies[0]!.roundTripMs, () => evalshaCalls(clustered.client().nodes('master')));
    expect(elapsed).toBeLessThan(3 * proxies[0]!.roundTripMs);
  });
});

describe('replay-batch read-ahead', () => {
  const standalone = useRedis();
  const harness = useWsServer({ endClients: 'terminate' });

  it('never reads an item the gate denies, and asks the gate once per item', async () => {
    const replay = createReplay(standalone.client(), { prefix: 'gated:' });
    const platform = new RecordingPlatform();
    const topics = Array.from({ length: 20 }, (_, i) => `room-${i}`);
    for (const topic of topics) await replay.publish(platform, topic, 'e', topic);
    const asked: string[] = [];
    platform.gate = (topic) => (asked.push(topic), Number(topic.slice(5)) % 2 === 1 ? 'FORBIDDEN' : null);
    const calls = () => evalshaCalls([standalone.client()]);
    const before = await calls();
    replay.handle('ws', { type: 'replay-batch', items: topics.map((topic, i) => ({ topic, since: 0, reqId: i })) }, platform);
    const ends = () => (platform.sent.get('ws') ?? []).filter((f) => f.event === 'end').length;
    await expect.poll(ends).toBe(20);
    expect(asked).toEqual(topics);
    expect((await calls()) - before).toBe(10);
    expect(platform.take().map((f) => [f.topic, f.event])).toEqual(
      topics.flatMap((topic, i) => [[`__replay:${topic}`, i % 2 === 1 ? 'denied' : 'msg'], [`__replay:${topic}`, 'end']]),
    );
  });

  it('reads a batch of full topics for a socket that does not read a few items ahead, and serves all of it once the socket reads', async () => {
    const TOPICS = 40;
    const ENTRIES = 250;
    const replay = createReplay(standalone.client(), { prefix: 'ahead:', size: ENTRIES });
    const { platform } = await harness.setup({ replay });
    const kilobyte = 'k'.repeat(1024);
    const topics = Array.from({ length: TOPICS }, (_, i) => `full-${i}`);
    await Promise.all(topics.flatMap((topic) => Array.from({ length: ENTRIES }, () => replay.publish(platform, topic, 'e', kilobyte))));
    const reader = await harness.client();
    const tcp = (reader.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const server = [...harness.server.wss.clients].at(-1)!;
    const calls = () => evalshaCalls([standalone.client()]);
    const before = await calls();
    reader.send({ type: 'replay-batch', items: topics.map((topic, i) => ({ topic, since: 0, reqId: i })) });
    // The fault: the server's writes pile up on the socket and the replay waits for it to drain.
    await expect.poll(() => server.bufferedAmount, { timeout: 10_000 }).toBeGreaterThan(256 * 1024);
    const readWhileStalled = (await calls()) - before;
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Still stalled, and nothing read beyond what was written plus the read-ahead: the items whose
    // frames the server handed over (the kernel's buffers take several MB on loopback, the rest
    // waits in the socket's queue), 1 MiB more, and a first chunk of 8. Not all 40 items.
    expect((await calls()) - before).toBe(readWhileStalled);
    const written = (server as unknown as { _socket: { bytesWritten: number } })._socket.bytesWritten;
    const itemBytes = ENTRIES * 1024;
    expect(readWhileStalled).toBeLessThanOrEqual(Math.ceil((written + 1024 * 1024) / itemBytes) + 8);
    expect(readWhileStalled).toBeLessThan(TOPICS);
    tcp.resume();
    await reader.until((frames) => frames.filter((f) => f.event === 'end').length === TOPICS, 30_000);
    expect((await calls()) - before).toBe(TOPICS);
    const seqs = new Map<string, number[]>();
    for (const f of reader.frames) {
      if (f.event !== 'msg') continue;
      const list = seqs.get(f.topic as string) ?? [];
      list.push((f.data as { seq: number }).seq);
      seqs.set(f.topic as string, list);
    }
    expect(seqs.size).toBe(TOPICS);
    for (const list of seqs.values()) expect(list).toEqual(Array.from({ length: ENTRIES }, (_, i) => i + 1));
  }, 60_000);
});
