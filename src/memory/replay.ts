/**
 * The in-memory replay buffer: one `TopicLog` per topic, least recently used evicted.
 */
import { assertEvent, assertTopic } from '../core/names.js';
import { newEpoch } from '../core/epoch.js';
import { gaplessError, describe } from '../core/errors.js';
import { idempotencyId } from '../core/idempotency.js';
import { assertPlatform, deliver } from '../core/deliver.js';
import { optionsObject, positiveIntOption } from '../core/options.js';
import { inEpoch, parseSince, type Position, type Since } from '../core/position.js';
import { serializeData } from '../core/serialize.js';
import { assertEntrySize, DEFAULT_MAX_ENTRY_BYTES, entryBytes } from '../core/entry-size.js';
import type { Entry, Replay, ReplayPlatform } from '../core/types.js';
import { createFrameServer, serveReplay, type Snapshot } from '../protocol/serve.js';
import { TopicLog } from './topic-log.js';
import { metricsOption } from '../metrics/sink.js';
import type { Metrics } from '../metrics/metrics.js';

export interface MemoryReplayOptions {
  /** Most entries kept per topic. Default 1000. */
  size?: number;
  /** Most topics with entries; the least recently used is evicted (its epoch ends). Default 100. */
  maxTopics?: number;
  /** Cap on one topic's stored bytes (UTF-8 of event name + JSON data); oldest entries go first. */
  maxBytes?: number;
  /** Seconds a publish `id` is remembered per topic: a repeat within it stores nothing. Default 300. */
  idempotencyWindow?: number;
  /** Largest entry accepted (UTF-8 of event name + JSON data); a larger one throws ENTRY_TOO_LARGE. Default 1 MiB. */
  maxEntryBytes?: number;
  metrics?: Metrics;
}

/** Most publish ids remembered at once; beyond it the oldest is forgotten before its window ends. */
const MAX_IDS = 100_000;

export type MemoryReplay = Replay;

const EMPTY_EACH: Snapshot['each'] = () => {};

export function createReplay(options?: MemoryReplayOptions): MemoryReplay {
  const opts = optionsObject('options', options);
  const size = positiveIntOption('size', opts.size, 1000);
  const maxTopics = positiveIntOption('maxTopics', opts.maxTopics, 100);
  const maxBytes = positiveIntOption('maxBytes', opts.maxBytes, undefined);
  const idWindowMs = positiveIntOption('idempotencyWindow', opts.idempotencyWindow, 300) * 1000;
  /** `<topic>\n<id>` (no topic contains a newline) to the first publish's seq and time, oldest first. */
  const ids = new Map<string, { seq: number; at: number }>();
  const maxEntryBytes = positiveIntOption('maxEntryBytes', opts.maxEntryBytes, DEFAULT_MAX_ENTRY_BYTES);
  const metrics = metricsOption(opts.metrics, 'memory');

  const logs = new Map<string, TopicLog>();
  /** Epochs fixed for topics without entries (by `position` or a replay); bounded on its own. */
  const pending = new Map<string, string>();
  let oldestUsed: TopicLog | null = null;
  let newestUsed: TopicLog | null = null;

  function unlink(log: TopicLog): void {
    if (log.older) log.older.newer = log.newer;
    else oldestUsed = log.newer;
    if (log.newer) log.newer.older = log.older;
    else newestUsed = log.older;
    log.older = log.newer = null;
  }

  function markNewest(log: TopicLog): void {
    log.older = newestUsed;
    if (newestUsed) newestUsed.newer = log;
    else oldestUsed = log;
    newestUsed = log;
  }

  function touch(log: TopicLog): void {
    if (log !== newestUsed) {
      unlink(log);
      markNewest(log);
    }
  }

  function open(topic: string): TopicLog {
    if (logs.size >= maxTopics && oldestUsed) {
      logs.delete(oldestUsed.topic);
      unlink(oldestUsed);
    }
    const epoch = pending.get(topic);
    if (epoch !== undefined) pending.delete(topic);
    const log = new TopicLog(topic, epoch ?? newEpoch(), size);
    logs.set(topic, log);
    markNewest(log);
    return log;
  }

  /** The seq an id already got on a topic within the window; forgets expired ids on the way. */
  function repeated(key: string, now: number): number | undefined {
    for (const [k, v] of ids) {
      if (now - v.at < idWindowMs && ids.size <= MAX_IDS) break;
      ids.delete(k);
    }
    return ids.get(key)?.seq;
  }

  function pendingEpoch(topic: string): string {
    let epoch = pending.get(topic);
    if (epoch === undefined) {
      if (pending.size >= maxTopics) pending.delete(pending.keys().next().value!);
      epoch = newEpoch();
      pending.set(topic, epoch);
    }
    return epoch;
  }

  /** The log of a topic, counted as a use; `undefined` when it has no entries. */
  function use(topic: string): TopicLog | undefined {
    const log = logs.get(topic);
    if (log === undefined) assertTopic(topic);
    else touch(log);
    return log;
  }

  function positionOf(topic: string): Position {
    const log = use(topic);
    return log ? { seq: log.seq, epoch: log.epoch } : { seq: 0, epoch: pendingEpoch(topic) };
  }

  function snapshot(topic: string): Snapshot {
    const log = logs.get(topic);
    // A replay never creates state: an unknown topic has seq 0 and, unless the server's own
    // position read fixed one, no epoch.
    if (log === undefined) return { seq: 0, epoch: pending.get(topic), oldest: 1, each: EMPTY_EACH };
    touch(log);
    // The log is its own snapshot: the frames are written synchronously after this read,
    // so nothing can change it in between, and a replay allocates no view object.
    return log;
  }

  const serveOne = (ws: unknown, topic: unknown, since: unknown, epoch: unknown, platform: ReplayPlatform, reqId: unknown) =>
    serveReplay(snapshot, ws, topic, since, epoch, platform, reqId);

  return {
    ...createFrameServer(serveOne),

    publish(platform, topic, event, data, options) {
      const started = metrics !== undefined && metrics.timeNext ? performance.now() : -1;
      let log = logs.get(topic);
      if (log === undefined) assertTopic(topic);
      // A busy topic repeats its event name: one comparison instead of a character scan.
      if (log === undefined || !log.isLastEvent(event)) assertEvent(event);
      assertPlatform(platform);
      const id = options === undefined ? undefined : idempotencyId(options);
      let idKey: string | undefined;
      let now = 0;
      if (id !== undefined) {
        idKey = topic + '\n' + id;
        now = performance.now();
        const first = repeated(idKey, now);
        if (first !== undefined) return first;
      }
      const json = serializeData(data);
      assertEntrySize(event, json, maxEntryBytes, 'maxEntryBytes', topic);
      let bytes = 0;
      if (maxBytes !== undefined) {
        bytes = entryBytes(event, json);
        if (bytes > maxBytes) {
          throw gaplessError('range', 'ENTRY_TOO_LARGE', `entry of ${bytes} bytes exceeds maxBytes ${maxBytes} (topic ${describe(topic)}, event ${describe(event)})`);
        }
      }
      if (log === undefined) log = open(topic);
      else touch(log);
      const seq = log.append(event, json, bytes);
      if (maxBytes !== undefined) log.trimToBytes(maxBytes);
      if (idKey !== undefined) ids.set(idKey, { seq, at: now });
      deliver(platform, topic, event, data, json, seq, log.epoch);
      if (metrics !== undefined) metrics.published(started);
      return seq;
    },

    seq(topic) {
      return use(topic)?.seq ?? 0;
    },

    position: positionOf,

    positions(topics) {
      if (!Array.isArray(topics)) throw gaplessError('type', 'INVALID_ARGUMENT', `topics must be an array, got ${describe(topics)}`);
      const result: Record<string, Position> = {};
      for (const topic of topics) result[topic] = positionOf(topic);
      return result;
    },

    since(topic: string, since: Since): Entry[] {
      const log = use(topic);
      const from = parseSince(since);
      if (log === undefined || from === null || !inEpoch(from, log.epoch)) return [];
      const entries: Entry[] = [];
      log.each(from.seq + 1, (seq, event, json) => entries.push({ seq, topic, event, data: JSON.parse(json) }) > 0);
      return entries;
    },

    replay(ws, topic, since, platform, reqId) {
      return serveOne(ws, topic, since, undefined, platform, reqId);
    },

    clear() {
      logs.clear();
      pending.clear();
      ids.clear();
      oldestUsed = newestUsed = null;
    },

    clearTopic(topic) {
      assertTopic(topic);
      const log = logs.get(topic);
      if (log) {
        logs.delete(topic);
        unlink(log);
      }
      pending.delete(topic);
    },
  };
}
