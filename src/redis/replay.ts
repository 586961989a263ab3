/**
 * The Redis replay buffer: the in-memory buffer's contract, shared by every instance on one
 * Redis or Cluster. Each topic is a stream (entries, and through its IDs the counter) and an
 * epoch key, hash-tagged to one slot; publish and replay are one script call each.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { assertPlatform, deliver } from '../core/deliver.js';
import { gaplessError, describe } from '../core/errors.js';
import { logError, loggerOption, type Logger } from '../core/log.js';
import { idempotencyId } from '../core/idempotency.js';
import { assertEvent, assertTopic } from '../core/names.js';
import { nonNegativeIntOption, optionsObject, positiveIntOption } from '../core/options.js';
import { inEpoch, isValidSeq, parseSince, type Position, type Since } from '../core/position.js';
import { serializeData } from '../core/serialize.js';
import { assertEntrySize, DEFAULT_MAX_ENTRY_BYTES } from '../core/entry-size.js';
import type { AsyncReplay, Entry, FanoutSource, ReplayPlatform, SubscribeVerdict } from '../core/types.js';
import { createFrameServer, serveReplay, type Snapshot, type SnapshotReader, type SnapshotRequest } from '../protocol/serve.js';
import { createClock } from './clock.js';
import { createRunner, type RedisClient, type ScriptCall } from './command.js';
import { connectionOf, type SeedRedisClient } from './client.js';
import { createFanoutHub } from './fanout.js';
import { idKey, prefixOption, scanPattern, topicKeys } from './keys.js';
import { publishScript, readScript } from './scripts.generated.js';
import { metricsOption } from '../metrics/sink.js';
import type { Metrics } from '../metrics/metrics.js';

export interface RedisReplayOptions {
  /** Most entries kept per topic. Default 1000. */
  size?: number;
  /** Seconds a topic lives after its last publish (every key of it together); 0 = forever. Default 0. */
  ttl?: number;
  /** Prefix of every key and channel; may not contain `{` or `}`. Default `gapless:`. */
  prefix?: string;
  /**
   * Milliseconds to wait for Redis before a call fails with code TIMEOUT. Default 2000. A publish
   * that fails with TIMEOUT is never stored afterwards: the script checks, on Redis's clock, that
   * its caller is still waiting before it writes. (One whose reply alone was lost may have been
   * stored just before: retry with the same `id` to be sure.)
   */
  timeout?: number;
  /**
   * Replicas that must acknowledge each publish (`WAIT`, pipelined with the publish) before it
   * resolves; fewer within about half the `timeout` rejects with code NOT_REPLICATED, and the
   * entry may then exist: retry with the same `id`. Default 0 (resolve when the master has it).
   */
  replicas?: number;
  /** Seconds a publish `id` is remembered per topic: a repeat within it stores nothing. Default 300. */
  idempotencyWindow?: number;
  /** Largest entry accepted (UTF-8 of event name + JSON data); a larger one throws ENTRY_TOO_LARGE. Default 1 MiB. */
  maxEntryBytes?: number;
  /**
   * A registry from `createMetrics()` (`gapless-replay/metrics`): entries stored and publish
   * latency, Redis calls that failed by command, fan-out resubscribes and catch-ups.
   */
  metrics?: Metrics;
  /** Where warnings and caught errors go (the fan-out's connection losses among them). Default the console. */
  logger?: Logger;
}

/**
 * `attachFanout` is called by `gapless-replay/ws`'s `createPlatform(wss, { replay })`: from then
 * on live frames reach that platform's subscribers through Redis, from every instance, in seq order.
 */
export type RedisReplay = AsyncReplay & FanoutSource;

/** How long an epoch fixed before a topic's first publish is kept when `ttl` is 0. */
const PENDING_EPOCH_TTL = 3600;

/** Topics whose last published seq this instance remembers, to notice a counter that went back. */
const MAX_MARKS = 10_000;

/** A stream row as the scripts return it: `[ID 0-<seq>, [event, json, 'i', publishId]]`. */
type Row = [string, string[]];
/** `[seq, epoch ('' = no state), oldest, rows]` */
type ReadReply = [number, string, number, Row[]];
// The publish script replies `<status> <seq> <epoch> <seconds> <microseconds>`, with these statuses.
const STORED = 0;
const RESENT = 1;
const REPEATED_ID = 2;
const FENCED = 3;

/** The highest seq this instance's publishes got in a topic's epoch. */
interface Mark {
  seq: number;
  epoch: string;
}

/** A local delivery waiting while its topic's epoch is being ended. */
interface HeldDelivery {
  platform: ReplayPlatform;
  event: string;
  data: unknown;
  json: string;
  seq: number;
  epoch: string;
}

/** Items in a replay-batch's first read-ahead chunk: enough for one round trip to fill most reconnects. */
const FIRST_CHUNK = 8;
/** What a replay-batch's later read-ahead chunks aim to hold, by the bytes per item seen so far. */
const READ_AHEAD_BYTES = 1 << 20;

function batchKey(topic: string, from: number, held: { seq: unknown; epoch: unknown }): string {
  return topic + '\n' + from + '\n' + String(held.epoch) + '\n' + String(held.seq);
}

function rowSeq(row: Row): number {
  return Number(row[0].slice(2));
}

export function createReplay(client: RedisClient | SeedRedisClient, options?: RedisReplayOptions): RedisReplay {
  const opts = optionsObject('options', options);
  const size = positiveIntOption('size', opts.size, 1000);
  const ttl = nonNegativeIntOption('ttl', opts.ttl, 0);
  const connection = connectionOf(client, prefixOption(opts.prefix));
  const { redis, prefix } = connection;
  const timeout = positiveIntOption('timeout', opts.timeout, 2000);
  const replicas = nonNegativeIntOption('replicas', opts.replicas, 0);
  const idWindow = positiveIntOption('idempotencyWindow', opts.idempotencyWindow, 300);
  const pendingTtl = ttl > 0 ? ttl : PENDING_EPOCH_TTL;
  const metrics = metricsOption(opts.metrics, 'redis');
  const logger = loggerOption(opts.logger);
  const runner = createRunner(redis, timeout, metrics);
  const slowRunner = createRunner(redis, timeout * 10, metrics);
  const clock = createClock(redis, runner);
  const fanout = createFanoutHub(connection, runner, (topic, from, held) => snapshot(topic, from, held), (topic, old) => endEpoch(topic, old), logger, metrics);
  /** Per topic, the highest seq a publish reply gave in its epoch; insertion order bounds it. */
  const marks = new Map<string, Mark>();
  /** Topics whose local deliveries wait while an epoch that went back is being ended. */
  const holds = new Map<string, HeldDelivery[]>();
  const maxEntryBytes = positiveIntOption('maxEntryBytes', opts.maxEntryBytes, DEFAULT_MAX_ENTRY_BYTES);
  const cluster = redis.isCluster;
  /** Second flag byte of the publish script: SPUBLISH keeps Cluster fan-out on the topic's shard. */
  const flagText = cluster ? '0S' : '0P';
  // The publish script's constant arguments as the text ioredis would make of them on every call.
  const sizeArg = String(size);
  const ttlArg = String(ttl);
  const windowArg = String(idWindow);
  /** Publish ids: this buffer's random id and a counter, unique without coordination. */
  const writer = randomBytes(6).toString('base64url');
  let published = 0;
  /**
   * The promise of the last publish that waited for a clock read, while it has not settled. A
   * publish that waited settles through one more promise than one sent at once, so a publish sent
   * right after it, whose reply comes in the same socket read, would settle first: until it has
   * settled, later publishes (still sent at once, in order) settle behind it, in the order Redis
   * ran them.
   */
  let behindSync: Promise<number> | undefined;
  const settleInOrder = (publish: Promise<number>): Promise<number> => {
    behindSync = publish;
    const clear = () => {
      if (behindSync === publish) behindSync = undefined;
    };
    publish.then(clear, clear);
    return publish;
  };
  /**
   * The read script's call for a topic's snapshot from seq `from` on (`0`: the position only).
   * `fix`: a position read of the server's own, which fixes a pending epoch for a topic with no
   * state (a replay never does). `held`: the position a caller holds; when it is above the
   * topic's seq in the same epoch (or `'-'`: the caller saw that epoch go back), the script ends
   * that epoch.
   */
  function readCall(topic: string, from: number, fix: boolean, heldEpoch: unknown = '', heldSeq: unknown = 0): ScriptCall {
    const keys = topicKeys(prefix, topic);
    const first = Number.isSafeInteger(from) && from > 0 ? String(from) : '0';
    const claim = typeof heldEpoch === 'string' && (heldSeq === '-' || isValidSeq(heldSeq));
    return { keys: [keys.stream, keys.epoch], args: [first, size, fix ? pendingTtl : 0, claim ? heldEpoch : '', claim ? (heldSeq as number | string) : 0], topic };
  }

  function read(topic: string, from: number, fix: boolean, heldEpoch?: unknown, heldSeq?: unknown): Promise<ReadReply> {
    const call = readCall(topic, from, fix, heldEpoch, heldSeq);
    return runner.script(readScript, call.keys, call.args, 'a read of', topic) as Promise<ReadReply>;
  }

  function toSnapshot([seq, epoch, oldest, rows]: ReadReply): Snapshot {
    return {
      seq,
      epoch: epoch === '' ? undefined : epoch,
      oldest,
      each(start, emit) {
        for (const row of rows) {
          const s = rowSeq(row);
          if (s >= start && !emit(s, row[1][0]!, row[1][1]!)) return;
        }
      },
    };
  }

  function snapshot(topic: string, from: number, held?: { seq: unknown; epoch: unknown }): Promise<Snapshot> {
    return read(topic, from, false, held?.epoch, held?.seq).then(toSnapshot);
  }

  /**
   * A replay-batch's snapshots, read ahead of serving in pipelined chunks: one read script call
   * per distinct request, a chunk per round trip. The first chunk is small; each next one holds
   * as many items as fit READ_AHEAD_BYTES at the size per item the chunks so far had, and is read
   * only when serving reaches it. So a batch of short tails (a reconnect) costs one or two round
   * trips, while a batch of full topics from a socket that does not read holds about one chunk
   * in memory instead of every topic's whole buffer at once (256 MiB for 256 topics of
   * 1,000 × 1 KiB, read in one go, stalled Redis for seconds).
   */
  function readBatch(requests: readonly SnapshotRequest[]): SnapshotReader {
    const order: string[] = [];
    const wanted = new Map<string, SnapshotRequest>();
    for (const request of requests) {
      const key = batchKey(request.topic, request.from, request.held);
      if (!wanted.has(key)) order.push(key);
      wanted.set(key, request);
    }
    const reads = new Map<string, Promise<Snapshot>>();
    let issued = 0;
    let chunk = FIRST_CHUNK;
    let itemsRead = 0;
    let bytesRead = 0;
    const readChunk = (): void => {
      const keys = order.slice(issued, issued + chunk);
      issued += keys.length;
      const calls = keys.map((key) => {
        const { topic, from, held } = wanted.get(key)!;
        return readCall(topic, from, false, held.epoch, held.seq);
      });
      runner.scripts(readScript, calls, 'a batch read of').forEach((reply, i) => {
        const snap = (reply as Promise<ReadReply>).then((r) => {
          itemsRead++;
          for (const row of r[3]) bytesRead += row[1][0]!.length + row[1][1]!.length;
          return toSnapshot(r);
        });
        // An item the socket closed before never takes its snapshot: its failure is not unhandled.
        snap.catch(() => {});
        reads.set(keys[i]!, snap);
      });
    };
    return (topic, from, held) => {
      const key = batchKey(topic, from, held);
      // Serving goes in order, so an item not read yet is the first of the chunks still to read.
      const at = reads.has(key) ? -1 : order.indexOf(key, issued);
      if (at >= 0) {
        if (itemsRead > 0) chunk = Math.max(1, Math.min(order.length, Math.floor(READ_AHEAD_BYTES / Math.max(1, bytesRead / itemsRead))));
        issued = at;
        readChunk();
      }
      const snap = reads.get(key);
      if (snap === undefined) return snapshot(topic, from, held);
      // Served once; a repeated item reads again, so what was served is not held any longer.
      reads.delete(key);
      return snap;
    };
  }

  const serveOne = (ws: unknown, topic: unknown, since: unknown, epoch: unknown, platform: ReplayPlatform, reqId: unknown, reader?: SnapshotReader, decided?: SubscribeVerdict) =>
    serveReplay(reader ?? snapshot, ws, topic, since, epoch, platform, reqId, decided);

  async function position(topic: string): Promise<Position> {
    assertTopic(topic);
    const [seq, epoch] = await read(topic, 0, true);
    return { seq, epoch };
  }

  /**
   * Ends `old`, an epoch this instance saw go back (a seq it already had came again), unless it
   * has already ended; returns a snapshot of the topic's current life from its newest entry at
   * that moment on.
   * Delivering that entry shows every client still in `old` a new epoch, so it asks and is told.
   */
  async function endEpoch(topic: string, old: string): Promise<Snapshot> {
    const [seq] = await read(topic, 0, false, old, '-');
    return snapshot(topic, seq);
  }

  function deliverLocal(platform: ReplayPlatform, topic: string, event: string, data: unknown, json: string, seq: number, epoch: string): void {
    const held = holds.get(topic);
    if (held !== undefined) held.push({ platform, event, data, json, seq, epoch });
    else deliver(platform, topic, event, data, json, seq, epoch);
  }

  /** A publish reply at or below a seq an earlier reply gave in the same epoch: Redis went back. */
  async function rolledBack(platform: ReplayPlatform, topic: string, epoch: string): Promise<void> {
    marks.delete(topic);
    if (fanout.active) {
      // The relay delivers: its own check of the channel's order catches the same frame.
      await endEpoch(topic, epoch).catch(() => undefined);
      return;
    }
    if (holds.has(topic)) return;
    holds.set(topic, []);
    let newest: Snapshot | undefined;
    try {
      newest = await endEpoch(topic, epoch);
    } catch (error) {
      // The entry is stored; clients still in the old epoch are told at their next replay.
      logError(`ending epoch ${epoch} of ${describe(topic)}, whose seq went back, failed`, error, logger, 'BACKEND_ERROR');
    } finally {
      const held = holds.get(topic)!;
      holds.delete(topic);
      const now = newest;
      if (now?.epoch !== undefined) {
        now.each(1, (seq, event, json) => {
          deliver(platform, topic, event, JSON.parse(json), json, seq, now.epoch!);
          return true;
        });
      }
      for (const d of held) {
        if (d.epoch === epoch || (d.epoch === now?.epoch && d.seq <= now.seq)) continue;
        deliver(d.platform, topic, d.event, d.data, d.json, d.seq, d.epoch);
      }
    }
  }

  function remember(topic: string, seq: number, epoch: string): void {
    const mark = marks.get(topic);
    if (mark === undefined || mark.epoch !== epoch) {
      if (mark === undefined && marks.size >= MAX_MARKS) marks.delete(marks.keys().next().value!);
      marks.set(topic, { seq, epoch });
    } else if (seq > mark.seq) {
      mark.seq = seq;
    }
  }

  /** Sends one validated publish; `fence` is the Redis time from which it must write nothing. */
  function send(platform: ReplayPlatform, topic: string, event: string, data: unknown, json: string, id: string | undefined, fence: number, started: number): Promise<number> {
    const keys = topicKeys(prefix, topic);
    const publishId = writer + '.' + (++published).toString(36);
    // What this instance knew before sending: a reply at or below it in the same epoch can only
    // come from a counter that went back (Redis ran this command after the one that gave it).
    const mark = marks.get(topic);
    const knownSeq = mark?.seq ?? 0;
    const knownEpoch = mark?.epoch;
    const keyList = id === undefined ? [keys.stream, keys.epoch] : [keys.stream, keys.epoch, idKey(prefix, topic, id)];
    const args = id === undefined ? [event, json, sizeArg, ttlArg, publishId, fence] : [event, json, sizeArg, ttlArg, publishId, fence, windowArg];
    // The flags' first character tells the script whether this publish may already have run
    // (see Runner.publish): a resend looks for its first run instead of appending twice.
    const settle = (reply: unknown, acked = 0): number | Promise<number> => {
      const [statusText, seqText, epoch, seconds, micros] = (reply as string).split(' ') as [string, string, string, string, string];
      const status = Number(statusText);
      const seq = Number(seqText);
      clock.observe(Number(seconds) * 1e6 + Number(micros));
      if (status === FENCED) {
        // Its caller's deadline passed before Redis ran it: a publish that timed out.
        if (metrics !== undefined) metrics.redisError('publish');
        throw gaplessError('error', 'TIMEOUT', `Redis ran a publish to ${describe(topic)} after its ${timeout} ms deadline (timeout option) and stored nothing`);
      }
      // A resend's first run stored the entry; a repeated id stored nothing.
      if (metrics !== undefined && status !== REPEATED_ID) metrics.published(started);
      let after: Promise<void> | undefined;
      if (status === STORED && epoch === knownEpoch && seq <= knownSeq) {
        after = rolledBack(platform, topic, epoch);
      } else if (status !== REPEATED_ID) {
        if (status === STORED) remember(topic, seq, epoch);
        // With a relay attached, the frame comes back through Redis in seq order with every
        // other instance's; delivering it here as well would send it twice. A resend's first
        // run was never delivered here: its reply was lost.
        if (!fanout.active) deliverLocal(platform, topic, event, data, json, seq, epoch);
      }
      // WAIT covers every earlier write of the connection, so a repeat waits for the first too.
      if (acked < replicas) {
        const error = gaplessError('error', 'NOT_REPLICATED', `a publish to ${describe(topic)} got seq ${seq} but ${acked} of ${replicas} replicas acknowledged it in time (replicas and timeout options); it may still exist: retry with the same id`);
        if (after === undefined) throw error;
        return after.then(() => Promise.reject(error));
      }
      return after === undefined ? seq : after.then(() => seq);
    };
    if (replicas === 0) return runner.publish(publishScript, keyList, args, flagText, 'a publish to', topic, settle);
    return runner.publishReplicated(publishScript, keyList, args, flagText, replicas, 'a publish to', topic).then(([reply, acked]) => settle(reply, acked));
  }
  return {
    ...createFrameServer(serveOne, readBatch),

    attachFanout: (sink) => fanout.attach(sink),

    publish(platform, topic, event, data, options) {
      let json: string;
      let id: string | undefined;
      try {
        assertTopic(topic);
        assertEvent(event);
        assertPlatform(platform);
        id = idempotencyId(options);
        json = serializeData(data);
        assertEntrySize(event, json, maxEntryBytes, 'maxEntryBytes', topic);
      } catch (error) {
        return Promise.reject(error);
      }
      // The caller stops waiting at `timeout` from now: from then on, on Redis's clock, the script
      // must write nothing. Before the clocks are compared once, the publish waits for a TIME call.
      const started = metrics !== undefined && metrics.timeNext ? performance.now() : -1;
      const fence = clock.fence(performance.now() + timeout);
      if (fence !== undefined) {
        const sent = send(platform, topic, event, data, json, id, fence, started);
        return behindSync === undefined ? sent : settleInOrder(behindSync.then(() => sent, () => sent));
      }
      return settleInOrder(clock.sync(topic).then(() => send(platform, topic, event, data, json, id, clock.fence(performance.now() + timeout) ?? 0, started)));
    },

    async seq(topic) {
      assertTopic(topic);
      // A bare seq carries no epoch: nothing to fix for a topic with no state.
      return (await read(topic, 0, false))[0];
    },

    position,

    async positions(topics) {
      if (!Array.isArray(topics)) throw gaplessError('type', 'INVALID_ARGUMENT', `topics must be an array, got ${describe(topics)}`);
      for (const topic of topics) assertTopic(topic);
      const unique = [...new Set(topics)];
      const replies = (await Promise.all(runner.scripts(readScript, unique.map((topic) => readCall(topic, 0, true)), 'the positions of'))) as ReadReply[];
      const result: Record<string, Position> = {};
      unique.forEach((topic, i) => (result[topic] = { seq: replies[i]![0], epoch: replies[i]![1] }));
      return result;
    },

    async since(topic: string, since: Since): Promise<Entry[]> {
      assertTopic(topic);
      const from = parseSince(since);
      if (from === null) return [];
      const [, epoch, , rows] = await read(topic, from.seq + 1, false);
      if (!inEpoch(from, epoch)) return [];
      return rows.map((row) => ({ seq: rowSeq(row), topic, event: row[1][0]!, data: JSON.parse(row[1][1]!) as unknown }));
    },

    replay(ws, topic, since, platform, reqId) {
      return serveOne(ws, topic, since, undefined, platform, reqId);
    },

    async clear() {
      if (cluster && redis.status !== 'ready') {
        // Before the slots are known a Cluster client lists no nodes: clear() would do nothing.
        await runner.watch(new Promise<void>((resolve) => redis.once('ready', () => resolve())), 'clear', 'clear() waiting for the cluster under', prefix);
      }
      const masters = cluster ? (redis as Cluster).nodes('master') : [redis as Redis];
      // A SCAN over a large keyspace takes many round trips: allow it ten timeouts.
      await Promise.all(masters.map((node) => slowRunner.watch(clearNode(node, scanPattern(connection.redisPrefix)), 'clear', 'clear() under', prefix)));
    },

    async clearTopic(topic) {
      assertTopic(topic);
      const keys = topicKeys(prefix, topic);
      await runner.watch(redis.del(keys.stream, keys.epoch), 'clear', 'clearTopic of', topic);
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
      // SCAN answers whole key names; the node's ioredis would add its own keyPrefix again.
      const own = node.options.keyPrefix?.length ?? 0;
      for (const key of keys) pipeline.unlink(key.slice(own));
      await pipeline.exec();
    }
  } while (cursor !== '0');
}
