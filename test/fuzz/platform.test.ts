/**
 * Fuzzing the platform with hostile frames from several sockets at once (some never read),
 * against a real server with the memory and the Redis buffer. The seed is printed; set
 * GAPLESS_FUZZ_SEED to replay a run. Asserts: no crash, no unhandled rejection, heap, Redis
 * keys and event-loop delay bounded, and a legitimate subscriber on the same server gets every
 * message in order.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createReplay } from '../../src/memory/index.js';
import { createReplay as createRedisReplay } from '../../src/redis/index.js';
import type { AnyReplay } from '../../src/core/types.js';
import { useRedis } from '../helpers/redis-server.js';
import { delay, startServer, TestClient, type TestServer } from '../helpers/ws-server.js';
import { hostileFrames, type HostileFrame } from './hostile-frames.js';

const SEED = Number(process.env.GAPLESS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FRAMES = 10_000;
/**
 * A full garbage collection, so heap samples count what is held, not garbage not yet collected
 * (which, sampled between collections, swung from 27 to 333 MB for one seed on Node 24).
 */
const collect = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();
const SOCKETS = 8;
const NEVER_READ = 3;
const MESSAGES = 400;

const redis = useRedis();
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);

beforeAll(() => {
  console.log(`fuzz seed ${SEED} (replay with GAPLESS_FUZZ_SEED=${SEED})`);
  process.on('unhandledRejection', onRejection);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
});

interface Hostile {
  client: TestClient | undefined;
  neverReads: boolean;
}

async function connect(server: TestServer, slot: Hostile): Promise<TestClient> {
  const c = await TestClient.connect(server.url).catch(() => undefined);
  if (c === undefined) throw new Error('the server stopped accepting sockets');
  // Frames that are not JSON would make the recording client throw: hostile sockets only count bytes.
  c.socket.removeAllListeners('message');
  c.socket.on('error', () => {});
  if (slot.neverReads) (c.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  slot.client = c;
  return c;
}

function send(c: TestClient, frame: HostileFrame): void {
  if ('text' in frame) c.socket.send(frame.text);
  else c.socket.send(frame.bytes, { binary: frame.binary });
}

async function fuzz(label: string, replay: AnyReplay, keys?: () => Promise<number>) {
  const server = await startServer({ replay, maxPayload: 32 * 1024 });
  const { platform } = server;
  const publish = (topic: string, data: unknown) => Promise.resolve(replay.publish(platform, topic, 'e', data));
  const kilobyte = 'k'.repeat(1024);
  for (let i = 0; i < 300; i++) await publish('full', kilobyte);

  const legit = await TestClient.connect(server.url);
  legit.send({ type: 'subscribe', topic: 'legit' });
  await legit.take(1);

  const slots: Hostile[] = Array.from({ length: SOCKETS }, (_, i) => ({ client: undefined, neverReads: i < NEVER_READ }));
  for (const slot of slots) await connect(server, slot);
  const frames = hostileFrames(SEED, FRAMES);
  collect();
  const heapBefore = process.memoryUsage().heapUsed;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();

  let published = 0;
  let publishing = Promise.resolve();
  const publisher = setInterval(() => {
    if (published >= MESSAGES) return;
    const n = ++published;
    // Chained, so the seqs are assigned in the order published (a Redis publish is async).
    publishing = publishing.then(() => publish('legit', n)).then(() => undefined);
  }, 5);

  let reconnects = 0;
  let heapPeak = 0;
  try {
    for (let i = 0; i < frames.length; i++) {
      const slot = slots[i % SOCKETS]!;
      if (slot.client!.socket.readyState !== 1) {
        reconnects++;
        slot.client!.socket.terminate();
        await connect(server, slot);
      }
      send(slot.client!, frames[i]!);
      if (i % 100 === 99) {
        if (i % 1000 === 999) {
          collect();
          heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
        }
        await delay(1);
      }
    }
    while (published < MESSAGES) await delay(10);
    await publishing;
    await legit.until((f) => f.length >= MESSAGES + 1, 30_000);
  } catch (error) {
    console.error(`fuzz (${label}) failed with seed ${SEED}: replay with GAPLESS_FUZZ_SEED=${SEED}`);
    throw error;
  } finally {
    clearInterval(publisher);
    loop.disable();
  }

  // Still serving: a fresh socket gets a complete replay.
  const probe = await TestClient.connect(server.url);
  probe.send({ type: 'replay', topic: 'legit', since: MESSAGES - 1, reqId: 'probe' });
  const answer = await probe.replayed('probe');
  const result = {
    delivered: legit.frames.slice(1).map((f) => f.seq),
    reconnects,
    heapGrowthMb: (heapPeak - heapBefore) / 2 ** 20,
    maxDelayMs: loop.max / 1e6,
    p99DelayMs: loop.percentile(99) / 1e6,
    keys: await keys?.(),
    probe: answer.map((f) => f.event),
  };
  for (const slot of slots) slot.client?.socket.terminate();
  probe.socket.terminate();
  legit.socket.terminate();
  await server.stop();
  console.log(
    `fuzz ${label}: seed ${SEED}, ${FRAMES} frames from ${SOCKETS} sockets (${NEVER_READ} never read, ${reconnects} reconnects after closes), ` +
      `crashes 0, ${result.delivered.length}/${MESSAGES} messages to the legitimate subscriber in order, ` +
      `heap growth ${result.heapGrowthMb.toFixed(1)} MB, max event-loop delay ${result.maxDelayMs.toFixed(1)} ms (p99 ${result.p99DelayMs.toFixed(1)} ms)` +
      (result.keys === undefined ? '' : `, Redis keys ${result.keys}`),
  );
  return result;
}

/**
 * No hostile frame may hold the event loop for long. The longest stalls seen on a loaded
 * machine (up to 500 ms) were spent off the CPU: the process used a few ms of CPU during them,
 * and the same seed ran with a 30 ms maximum another time. So the bounds leave room for that
 * and still fail on a loop blocked for seconds, or on stalls of hundreds of ms that are routine.
 */
function expectResponsive(result: { maxDelayMs: number; p99DelayMs: number }): void {
  expect(result.maxDelayMs).toBeLessThan(1500);
  expect(result.p99DelayMs).toBeLessThan(300);
}

describe('fuzzing the platform with hostile frames', () => {
  it('memory buffer: no crash, no unhandled rejection, heap bounded, the legitimate subscriber gets everything in order', async () => {
    const quiet = [vi.spyOn(console, 'error').mockImplementation(() => {}), vi.spyOn(console, 'warn').mockImplementation(() => {})];
    const result = await fuzz('memory', createReplay({ size: 1000 }));
    for (const spy of quiet) spy.mockRestore();
    expect(result.delivered).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
    expect(result.probe).toEqual(['msg', 'end']);
    expect(rejections).toEqual([]);
    expect(result.heapGrowthMb).toBeLessThan(64);
    expectResponsive(result);
  });

  it('Redis buffer: the same, and replays and subscribes of invented topics leave no keys in Redis', async () => {
    const quiet = [vi.spyOn(console, 'error').mockImplementation(() => {}), vi.spyOn(console, 'warn').mockImplementation(() => {})];
    const connection = new Redis(redis.server().port, '127.0.0.1');
    const prefix = `fuzz-${SEED}:`;
    const keys = async () => {
      const names = await redis.client().keys(`${prefix}*`);
      const epochsOnly = names.filter((k) => k.endsWith(':e') && !names.includes(k.slice(0, -1) + 's')).length;
      console.log(`fuzz redis: ${names.length} keys, ${epochsOnly} of them epoch keys of topics without entries`);
      return names.length;
    };
    try {
      const result = await fuzz('redis', createRedisReplay(connection, { prefix }), keys);
      expect(result.delivered).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
      expect(result.probe).toEqual(['msg', 'end']);
      expect(rejections).toEqual([]);
      expect(result.heapGrowthMb).toBeLessThan(64);
      expectResponsive(result);
      // Only the topics the server published to have state: `full` and `legit`, two keys each.
      expect(result.keys).toBeLessThanOrEqual(4);
    } finally {
      connection.disconnect();
      // Replays cut short by the disconnect log their failure: let them, quietly.
      await delay(200);
      for (const spy of quiet) spy.mockRestore();
    }
  });
});
