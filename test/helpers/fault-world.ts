/**
 * One instance under a Redis fault: a Redis buffer on a `ws` platform, real client stores over
 * real sockets, and a publisher that keeps publishing and records what was acknowledged. The
 * check every fault test ends with: each client has every acknowledged message, in order and
 * once, or was told `truncated`. Never a silent skip.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { createConnection, onReplay, type ConnectOptions, type LiveEvent } from '../../src/client/index.js';
import type { Since } from '../../src/core/position.js';
import { createReplay, type RedisReplay, type RedisReplayOptions } from '../../src/redis/index.js';
import { startServer, type TestServer } from './ws-server.js';
import { until } from './lifecycle.js';

export interface ClientView {
  /** Data of every `m` event, in delivery order. */
  readonly data: number[];
  /** `true` once the store emitted `truncated`. */
  told: boolean;
  /** The seq of each message. */
  readonly seqs: number[];
  /** `value@seq` of each message, for failure messages. */
  readonly trace: string[];
}

export interface Publisher {
  /** Values whose publish resolved, in the order their replies arrived (the order Redis ran them), with the seq they got. */
  readonly acked: { value: number; seq: number }[];
  /** Values whose publish rejected, with the code and the time (performance.now) it was issued. */
  readonly rejected: { value: number; code: string; issued: number }[];
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface World {
  redis: Redis;
  /** The buffer's key prefix. */
  prefix: string;
  replay: RedisReplay;
  server: TestServer;
  clients(topic: string, since: Since, count: number): ClientView[];
  publisher(topic: string, everyMs?: number): Publisher;
  close(): Promise<void>;
}


let worlds = 0;

export async function startWorld(port: number, options: RedisReplayOptions = {}, redisOptions: RedisOptions = {}): Promise<World> {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null, retryStrategy: () => 50, ...redisOptions });
  redis.on('error', () => {});
  const prefix = `fault${++worlds}:`;
  const replay = createReplay(redis, { prefix, timeout: 500, size: 10_000, ...options });
  const server = await startServer({ replay });
  const closers: (() => unknown)[] = [];
  return {
    redis,
    prefix,
    replay,
    server,
    clients(topic, since, count) {
      return Array.from({ length: count }, () => {
        const conn = createConnection({ url: server.url, WebSocket: WebSocket as unknown as ConnectOptions['WebSocket'], replayTimeout: 1000, backoff: { base: 20, max: 200 } });
        const view: ClientView = { data: [], told: false, trace: [], seqs: [] };
        const stop = onReplay(topic, { since, connection: conn })
          .scan<null>(null, (_acc, e: LiveEvent) => {
            if (e.event === 'm') {
              view.data.push(e.data as number);
              view.seqs.push(e.seq!);
              view.trace.push(`${e.data}@${e.seq}`);
            }
            else if (e.event === 'truncated') view.told = true;
            return null;
          })
          .subscribe(() => {});
        closers.push(stop, () => conn.close());
        return view;
      });
    },
    publisher(topic, everyMs = 4) {
      const p = { acked: [] as Publisher['acked'], rejected: [] as Publisher['rejected'] };
      let running = true;
      let paused = false;
      let value = 0;
      closers.push(() => void (running = false));
      const loop = (async () => {
        while (running) {
          if (!paused) {
            const v = ++value;
            const issued = performance.now();
            // Not awaited one by one: a stalled Redis must not stall the publisher.
            replay.publish(server.platform, topic, 'm', v).then(
              (seq) => p.acked.push({ value: v, seq }),
              (error: { code?: string }) => p.rejected.push({ value: v, code: String(error.code), issued }),
            );
          }
          await new Promise((r) => setTimeout(r, everyMs));
        }
      })();
      return Object.assign(p, {
        pause: () => void (paused = true),
        resume: () => void (paused = false),
        async stop() {
          running = false;
          await loop;
          const issued = value;
          await until('every publish to settle', () => p.acked.length + p.rejected.length === issued, 5000);
        },
      });
    },
    async close() {
      for (const c of closers.splice(0).reverse()) c();
      await server.stop();
      redis.disconnect();
    },
  };
}

/**
 * Waits until every client is live again with the last acknowledged message, then asserts the
 * guarantee. Returns how many clients were told `truncated`.
 */
export async function expectNoSilentLoss(views: ClientView[], publisher: Publisher): Promise<{ told: number; missedButTold: number }> {
  const acked = publisher.acked.map((a) => a.value);
  const last = acked[acked.length - 1]!;
  await until(`every client to reach message ${last}`, () => views.every((v) => v.data.includes(last)), 15_000);
  let told = 0;
  let missedButTold = 0;
  const seqOf = new Map(publisher.acked.map((a) => [a.value, a.seq]));
  for (const view of views) {
    // Never twice; each with the seq its publish got; in seq order except across a reset the client was told of.
    expect(new Set(view.data).size, `a client got a message twice: ${view.trace.join(', ')}`).toBe(view.data.length);
    for (let i = 0; i < view.data.length; i++) {
      const seq = view.seqs[i]!;
      if (seqOf.has(view.data[i]!)) expect(seq, `value ${view.data[i]} delivered as seq ${seq}`).toBe(seqOf.get(view.data[i]!));
      if (i > 0 && !view.told) expect(seq, `delivered out of order: ${view.trace.slice(Math.max(0, i - 5), i + 5).join(', ')}`).toBeGreaterThan(view.seqs[i - 1]!);
    }
    const got = new Set(view.data);
    const missed = acked.filter((v) => !got.has(v));
    if (view.told) told++;
    if (missed.length > 0) {
      missedButTold++;
      expect(view.told, `a client missed ${missed.length} acknowledged messages (${missed.slice(0, 5).join(', ')}…) and was not told`).toBe(true);
    }
  }
  return { told, missedButTold };
}

/**
 * The recovery check after Redis rolled a topic back to a lower seq in the same epoch: publishing
 * resumes until 30 more are acknowledged, then the epoch must have ended (the reused seqs are a
 * new epoch) and every client must have been told, with no silent loss.
 */
export async function expectRollbackCaught(
  world: World,
  topic: string,
  publisher: Publisher,
  views: ClientView[],
  rolledBackEpoch: string,
): Promise<{ told: number; missedButTold: number }> {
  publisher.resume();
  const resumed = publisher.acked.length;
  await until('30 more acknowledged publishes', () => publisher.acked.length >= resumed + 30);
  await publisher.stop();
  expect((await world.replay.position(topic)).epoch).not.toBe(rolledBackEpoch);
  const result = await expectNoSilentLoss(views, publisher);
  expect(result.told).toBe(views.length);
  return result;
}
