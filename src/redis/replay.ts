/**
 * The Redis replay buffer: the in-memory buffer's contract, shared by every instance on one
 * Redis or Cluster. Each topic is a stream (entries, and through its IDs the counter) and an
 * epoch key, hash-tagged to one slot; publish and replay are one script call each.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { assertPlatform, deliver } from '../core/deliver.js';
import { gaplessError, describe } from '../core/errors.js';
import { assertEvent, assertTopic } from '../core/names.js';
import { nonNegativeIntOption, optionsObject, positiveIntOption } from '../core/options.js';
import { parseSince, type Position, type Since } from '../core/position.js';
import { serializeData } from '../core/serialize.js';
import type { AsyncReplay, Entry, FanoutSource, ReplayPlatform } from '../core/types.js';
import { createFrameServer, serveReplay, type Snapshot } from '../protocol/serve.js';
import { createRunner, type RedisClient } from './command.js';
import { createFanoutHub } from './fanout.js';
import { prefixOption, scanPattern, topicKeys } from './keys.js';
import { publishScript, readScript } from './scripts.generated.js';

export interface RedisReplayOptions {
  /** Most entries kept per topic. Default 1000. */
  size?: number;
  /** Seconds a topic lives after its last publish (every key of it together); 0 = forever. Default 0. */
  ttl?: number;
  /** Prefix of every key and channel; may not contain `{` or `}`. Default `gapless:`. */
  prefix?: string;
  /** Milliseconds to wait for Redis before a call fails with code TIMEOUT. Default 2000. */
  timeout?: number;
}

/**
 * `attachFanout` is called by `gapless-replay/ws`'s `createPlatform(wss, { replay })`: from then
 * on live frames reach that platform's subscribers through Redis, from every instance, in seq order.
 */
export type RedisReplay = AsyncReplay & FanoutSource;

/** How long an epoch fixed before a topic's first publish is kept when `ttl` is 0. */
const PENDING_EPOCH_TTL = 86_400;

/** A stream row as the scripts return it: `[ID 0-<seq>, [event, json, 'i', publishId]]`. */
type Row = [string, string[]];
type ReadReply = [number, string, number, Row[]];
type PublishReply = [number, string, number];

function rowSeq(row: Row): number {
  return Number(row[0].slice(2));
}

export function createReplay(redis: RedisClient, options?: RedisReplayOptions): RedisReplay {
  if (typeof (redis as { evalsha?: unknown } | null)?.evalsha !== 'function') {
    throw gaplessError('type', 'INVALID_ARGUMENT', `redis must be an ioredis Redis or Cluster client, got ${describe(redis)}`);
  }
  const clientOptions = (redis as { options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } } }).options;
  if (clientOptions?.keyPrefix || clientOptions?.redisOptions?.keyPrefix) {
    // ioredis would prefix our keys but not the fan-out channels or SCAN patterns.
    throw gaplessError('type', 'INVALID_ARGUMENT', 'redis must not have a keyPrefix: pass the prefix option to createReplay instead');
  }
  const opts = optionsObject('options', options);
  const size = positiveIntOption('size', opts.size, 1000);
  const ttl = nonNegativeIntOption('ttl', opts.ttl, 0);
  const prefix = prefixOption(opts.prefix);
  const timeout = positiveIntOption('timeout', opts.timeout, 2000);
  const pendingTtl = ttl > 0 ? ttl : PENDING_EPOCH_TTL;
  const runner = createRunner(redis, timeout);
  const slowRunner = createRunner(redis, timeout * 10);
  const fanout = createFanoutHub(redis, prefix, runner, (topic, from) => snapshot(topic, from));
  const cluster = redis.isCluster;
  /** Second flag byte of the publish script: SPUBLISH keeps Cluster fan-out on the topic's shard. */
  const flagText = cluster ? '0S' : '0P';
  /** Publish ids: this buffer's random id and a counter, unique without coordination. */
  const writer = randomBytes(6).toString('base64url');
  let published = 0;
  function read(topic: string, from: number): Promise<ReadReply> {
    const keys = topicKeys(prefix, topic);
    const first = Number.isSafeInteger(from) && from > 0 ? String(from) : '0';
    return runner.script(readScript, [keys.stream, keys.epoch], [first, size, pendingTtl], 'a read of', topic) as Promise<ReadReply>;
  }

  function snapshot(topic: string, from: number): Promise<Snapshot> {
    return read(topic, from).then(([seq, epoch, oldest, rows]) => ({
      seq,
      epoch,
      oldest,
      each(start, emit) {
        for (const row of rows) {
          const s = rowSeq(row);
          if (s >= start && !emit(s, row[1][0]!, row[1][1]!)) return;
        }
      },
    }));
  }

  const serveOne = (ws: unknown, topic: unknown, since: unknown, epoch: unknown, platform: ReplayPlatform, reqId: unknown) =>
    serveReplay(snapshot, ws, topic, since, epoch, platform, reqId);

  async function position(topic: string): Promise<Position> {
    assertTopic(topic);
    const [seq, epoch] = await read(topic, 0);
    return { seq, epoch };
  }

  return {
    ...createFrameServer(serveOne),

    attachFanout: (sink) => fanout.attach(sink),

    publish(platform, topic, event, data) {
      let json: string;
      try {
        assertTopic(topic);
        assertEvent(event);
        assertPlatform(platform);
        json = serializeData(data);
      } catch (error) {
        return Promise.reject(error);
      }
      const keys = topicKeys(prefix, topic);
      const id = writer + '.' + (++published).toString(36);
      // The flags' first character tells the script whether this publish may already have run
      // (see Runner.publish): a resend looks for its first run instead of appending twice.
      const call = runner.publish(publishScript, [keys.stream, keys.epoch], [event, json, size, ttl, id], flagText, 'a publish to', topic);
      return call.then((reply) => {
        const [seq, epoch] = reply as PublishReply;
        // With a relay attached, the frame comes back through Redis in seq order with every
        // other instance's; delivering it here as well would send it twice.
        if (!fanout.active) deliver(platform, topic, event, data, json, seq, epoch);
        return seq;
      });
    },

    async seq(topic) {
      return (await position(topic)).seq;
    },

    position,

    async positions(topics) {
      if (!Array.isArray(topics)) throw gaplessError('type', 'INVALID_ARGUMENT', `topics must be an array, got ${describe(topics)}`);
      for (const topic of topics) assertTopic(topic);
      const unique = [...new Set(topics)];
      let replies: ReadReply[];
      if (cluster || unique.length < 2) {
        // Cluster pipelines cannot span slots; concurrent calls are still written before any
        // reply arrives, so the wait is one round trip.
        replies = await Promise.all(unique.map((topic) => read(topic, 0)));
      } else {
        const pipeline = redis.pipeline();
        for (const topic of unique) {
          const keys = topicKeys(prefix, topic);
          pipeline.evalsha(readScript.sha, readScript.numberOfKeys, keys.stream, keys.epoch, '0', size, pendingTtl);
        }
        const results = await runner.watch(pipeline.exec(), 'the positions of', `${unique.length} topics`);
        const pending: Promise<ReadReply>[] = [];
        for (let i = 0; i < unique.length; i++) {
          const [error, reply] = results?.[i] ?? [new Error('missing pipeline reply'), null];
          if (error) {
            // NOSCRIPT (a restarted Redis): the single-call path loads the script.
            if (!error.message.startsWith('NOSCRIPT')) throw error;
            pending.push(read(unique[i]!, 0));
          } else {
            pending.push(Promise.resolve(reply as ReadReply));
          }
        }
        replies = await Promise.all(pending);
      }
      const result: Record<string, Position> = {};
      unique.forEach((topic, i) => (result[topic] = { seq: replies[i]![0], epoch: replies[i]![1] }));
      return result;
    },

    async since(topic: string, since: Since): Promise<Entry[]> {
      assertTopic(topic);
      const from = parseSince(since);
      if (from === null) return [];
      const [, epoch, , rows] = await read(topic, from.seq + 1);
      if (from.epoch !== undefined && from.epoch !== epoch) return [];
      return rows.map((row) => ({ seq: rowSeq(row), topic, event: row[1][0]!, data: JSON.parse(row[1][1]!) as unknown }));
    },

    replay(ws, topic, since, platform, reqId) {
      return serveOne(ws, topic, since, undefined, platform, reqId);
    },

    async clear() {
      if (cluster && redis.status !== 'ready') {
        // Before the slots are known a Cluster client lists no nodes: clear() would do nothing.
        await runner.watch(new Promise<void>((resolve) => redis.once('ready', () => resolve())), 'clear() waiting for the cluster under', prefix);
      }
      const masters = cluster ? (redis as Cluster).nodes('master') : [redis as Redis];
      // A SCAN over a large keyspace takes many round trips: allow it ten timeouts.
      await Promise.all(masters.map((node) => slowRunner.watch(clearNode(node, scanPattern(prefix)), 'clear() under', prefix)));
    },

    async clearTopic(topic) {
      assertTopic(topic);
      const keys = topicKeys(prefix, topic);
      await runner.watch(redis.del(keys.stream, keys.epoch), 'clearTopic of', topic);
    },
  };
}

/**
 * Deletes every key matching `pattern` on one node: SCAN (never KEYS, which blocks Redis), and
 * one UNLINK per key, pipelined, since a Cluster node refuses multi-key commands across slots.
 */
async function clearNode(node: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) {
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      await pipeline.exec();
    }
  } while (cursor !== '0');
}
