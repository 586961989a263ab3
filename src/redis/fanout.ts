/**
 * Live delivery across instances. The publish script PUBLISHes every entry (SPUBLISH
 * on Cluster, so a topic's channel lives on its shard) from inside the script, so the order on
 * the channel is the seq order. Each instance subscribes, on one duplicated connection, only to
 * the topics that have local subscribers, and relays what arrives to its platform.
 *
 * Pub/sub is at-most-once: while the subscriber connection is down, frames are lost. When it is
 * back, the hub resubscribes and relays from the buffer what its topics missed (catchUp).
 * Nothing is delivered twice: one subscription per topic per instance, whatever the number of
 * local sockets or attached platforms.
 */
import type { Cluster, Redis } from 'ioredis';
import { describe } from '../core/errors.js';
import { logError, logWarning, type Logger } from '../core/log.js';
import type { FanoutAttachment, FanoutSink } from '../core/types.js';
import type { MetricsSink } from '../metrics/sink.js';
import type { Snapshot } from '../protocol/serve.js';
import type { Connection } from './client.js';
import type { Runner } from './command.js';
import { channelOf, slotOf, topicOfChannel } from './keys.js';

const LOG = 'fan-out:';

interface Attachment {
  sink: FanoutSink;
  topics: Set<string>;
}

/** A frame as the relay hands it on. */
export interface RelayFrame {
  seq: number;
  epoch: string;
  event: string;
  json: string;
}

/**
 * The buffer's own snapshot read: a topic's position and its entries from seq `from` on (`from`
 * 0: the position only). It creates no state; given `held`, a position this instance relayed, it
 * ends that epoch if Redis now has less in it.
 */
export type TailReader = (topic: string, from: number, held?: { seq: number; epoch: string }) => Promise<Snapshot>;

/** Ends an epoch seen going back, if still current; a snapshot of the topic's current life from its newest entry on. */
export type EpochEnder = (topic: string, old: string) => Promise<Snapshot>;

/**
 * Per subscribed topic: the last frame relayed (from the channel or a catch-up read), the last
 * heard on the channel, and the frames held while a catch-up or an epoch's end runs.
 */
interface Relay {
  seq: number;
  epoch: string | undefined;
  /**
   * The channel delivers in the order Redis ran the publishes, so a frame at or below the last
   * one heard in the same epoch proves the counter went back. Only channel frames count: a
   * catch-up read may get ahead of frames still on their way.
   */
  heard: number;
  heardEpoch: string | undefined;
  held: RelayFrame[] | undefined;
  /** The epoch being ended, while that runs. */
  ending: string | undefined;
}

export interface FanoutHub {
  attach(sink: FanoutSink): FanoutAttachment;
  /** `true` while a platform relays this buffer's frames: publish must not deliver them itself. */
  readonly active: boolean;
}

type Subscriber = Redis | Cluster;

/**
 * A fan-out message: `<seq>\n<epoch>\n<event>\n<json>`. JSON text has no raw newline and names
 * have no control characters, so the first three newlines are the separators.
 */
export function parseMessage(message: string): RelayFrame | undefined {
  const a = message.indexOf('\n');
  const b = message.indexOf('\n', a + 1);
  const c = message.indexOf('\n', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const seq = Number(message.slice(0, a));
  if (!Number.isSafeInteger(seq)) return undefined;
  return { seq, epoch: message.slice(a + 1, b), event: message.slice(b + 1, c), json: message.slice(c + 1) };
}

/** Most channels named by one (UN)SUBSCRIBE: large enough to batch, small enough that Redis answers it in a moment. */
const CHANNELS_PER_COMMAND = 4096;

/**
 * Calls `send` with the channels in batches of at most CHANNELS_PER_COMMAND; on Cluster each batch
 * holds one slot's channels (a sharded command may name channels of one slot only).
 */
function inBatches(channels: string[], send: (batch: string[]) => void, cluster: boolean): void {
  const groups = cluster ? groupBySlot(channels) : [channels];
  for (const group of groups) {
    for (let i = 0; i < group.length; i += CHANNELS_PER_COMMAND) send(group.slice(i, i + CHANNELS_PER_COMMAND));
  }
}

function groupBySlot(channels: string[]): string[][] {
  const bySlot = new Map<number, string[]>();
  for (const channel of channels) {
    const slot = slotOf(channel);
    const group = bySlot.get(slot);
    if (group === undefined) bySlot.set(slot, [channel]);
    else group.push(channel);
  }
  return [...bySlot.values()];
}

/** `logger` takes the hub's warnings; `metrics` counts resubscribes, catch-ups and failed (UN)SUBSCRIBEs. */
export function createFanoutHub(
  connection: Connection,
  runner: Runner,
  readTail: TailReader,
  endEpoch: EpochEnder,
  logger: Logger,
  metrics: MetricsSink | undefined,
): FanoutHub {
  const cluster = connection.redis.isCluster;
  /** Channels are named whole: the subscriber connection adds no keyPrefix. */
  const prefix = connection.redisPrefix;
  const attachments = new Set<Attachment>();
  /** Attachments that have each topic active: a topic is subscribed while its count is > 0. */
  const counts = new Map<string, number>();
  /** Subscribe calls not yet confirmed, so a second activation waits for the same one. */
  const pending = new Map<string, Promise<void>>();
  let sub: Subscriber | undefined;
  let lost = false;
  let waitingReady: Promise<void> | undefined;

  const relays = new Map<string, Relay>();

  function relay(topic: string, frame: RelayFrame): void {
    const r = relays.get(topic);
    if (r !== undefined) {
      r.seq = frame.seq;
      r.epoch = frame.epoch;
    }
    for (const a of attachments) {
      if (!a.topics.has(topic)) continue;
      try {
        a.sink.deliver(topic, frame.event, frame.json, frame.seq, frame.epoch);
      } catch (error) {
        logError(`${LOG} delivery on ${describe(topic)} failed`, error, logger);
      }
    }
  }

  function onMessage(channel: string, message: string): void {
    const topic = topicOfChannel(prefix, channel);
    if (topic === undefined) return;
    const frame = parseMessage(message);
    if (frame === undefined) {
      logWarning(`${LOG} dropped a malformed message on ${describe(channel)}`, logger);
      return;
    }
    const r = relays.get(topic);
    if (r === undefined) return relay(topic, frame);
    if (frame.epoch === r.heardEpoch && frame.seq <= r.heard) {
      if (r.ending === undefined) wentBack(topic, r, frame.epoch);
    } else {
      r.heard = frame.seq;
      r.heardEpoch = frame.epoch;
    }
    if (r.held !== undefined) r.held.push(frame);
    else relay(topic, frame);
  }

  /**
   * After the topic's epoch changed under a relay (`old` went back, or a catch-up found another
   * life): relay the newest entry of the current life, which shows clients still in `old` a new
   * epoch so that they ask and are told, then the held frames that are still news.
   */
  function resume(topic: string, r: Relay, old: string, now: Snapshot | undefined): number {
    let relayed = 0;
    if (now?.epoch !== undefined) {
      const epoch = now.epoch;
      now.each(1, (seq, event, json) => {
        relay(topic, { seq, epoch, event, json });
        relayed++;
        return true;
      });
      r.seq = now.seq;
      r.epoch = epoch;
    }
    const held = r.held ?? [];
    r.held = undefined;
    for (const frame of held) {
      if (frame.epoch === old || (frame.epoch === r.epoch && frame.seq <= r.seq)) continue;
      relay(topic, frame);
    }
    return relayed;
  }

  /** A channel frame went back in its epoch: Redis lost acknowledged writes. End that epoch before relaying more. */
  function wentBack(topic: string, r: Relay, old: string): void {
    logWarning(`${LOG} ${describe(topic)}: seq went back in epoch ${old} (Redis lost acknowledged writes); ending that epoch`, logger);
    r.ending = old;
    r.held ??= [];
    endEpoch(topic, old).then(
      (now) => finish(now),
      (error: unknown) => {
        logWarning(`${LOG} ending epoch ${old} of ${describe(topic)} failed (its clients are told at the next read)`, logger, error);
        finish(undefined);
      },
    );
    function finish(now: Snapshot | undefined): void {
      r.ending = undefined;
      if (relays.get(topic) === r) resume(topic, r, old, now);
    }
  }

  /**
   * Where a newly subscribed topic stands, so that a later reconnect knows what to catch up on
   * even if no frame was relayed in between. Frames relayed meanwhile win over this read.
   */
  function baseline(topic: string): void {
    readTail(topic, 0).then(
      (tail) => {
        const r = relays.get(topic);
        if (r !== undefined && r.epoch === undefined) {
          r.seq = tail.seq;
          r.epoch = tail.epoch;
        }
      },
      () => {},
    );
  }

  /**
   * After the subscriber connection came back: frames published while it was down never reached
   * this instance. Hold live frames per topic, make sure the subscriptions are live, relay what
   * the buffer holds after the last frame relayed (same epoch only: after a reset the next live
   * frame shows the new epoch and clients replay), then the held frames. Delivery stays in seq
   * order and a quiet topic does not leave its clients behind until its next message.
   */
  async function catchUp(s: Subscriber): Promise<void> {
    const topics = [...counts.keys()];
    for (const topic of topics) {
      const r = relays.get(topic);
      if (r !== undefined) r.held ??= [];
    }
    try {
      const calls: Promise<unknown>[] = [];
      inBatches(
        topics.map((t) => channelOf(prefix, t)),
        (batch) => calls.push(subscribeTo(s, batch)),
        cluster,
      );
      await runner.watch(Promise.all(calls), 'subscribe', 'the resubscribe of', `${topics.length} topics`);
      if (metrics !== undefined) metrics.fanoutResubscribed();
    } catch (error) {
      logWarning(`${LOG} resubscribe failed`, logger, error);
    }
    await Promise.all(
      topics.map(async (topic) => {
        const r = relays.get(topic);
        if (r === undefined || r.held === undefined) return;
        const old = r.epoch;
        let now: Snapshot | undefined;
        /** Entries the catch-up relayed from the buffer; -1 when its read failed. */
        let relayed = 0;
        try {
          if (old === undefined) {
            // The topic had no state when it was subscribed and nothing was relayed since:
            // whatever it holds now is news.
            const tail = await readTail(topic, 1);
            const epoch = tail.epoch;
            if (epoch !== undefined) {
              tail.each(1, (seq, event, json) => {
                relay(topic, { seq, epoch, event, json });
                relayed++;
                return true;
              });
            }
          } else {
            // Holding what was relayed: a Redis that came back with less ends that epoch here.
            const tail = await readTail(topic, r.seq + 1, { seq: r.seq, epoch: old });
            if (tail.epoch === old) {
              tail.each(r.seq + 1, (seq, event, json) => {
                relay(topic, { seq, epoch: old, event, json });
                relayed++;
                return true;
              });
            } else if (tail.epoch !== undefined) {
              now = await readTail(topic, tail.seq);
            }
          }
        } catch (error) {
          relayed = -1;
          logWarning(`${LOG} catch-up of ${describe(topic)} failed (its clients replay the gap at the next frame)`, logger, error);
        } finally {
          if (r.ending === undefined) {
            if (now !== undefined && old !== undefined) relayed += resume(topic, r, old, now);
            else {
              const held = r.held ?? [];
              r.held = undefined;
              for (const frame of held) if (frame.epoch !== r.epoch || frame.seq > r.seq) relay(topic, frame);
            }
          }
        }
        if (relayed >= 0 && metrics !== undefined) metrics.fanoutCaughtUp(relayed);
      }),
    );
  }

  function subscriber(): Subscriber {
    if (sub !== undefined) return sub;
    // A connection of our own: a subscribed connection can run nothing else. Commands wait
    // through outages (our deadline bounds the caller) and ioredis resubscribes on reconnect.
    const options = { autoResubscribe: true, enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false };
    sub = connection.duplicate(options);
    sub.on(cluster ? 'smessage' : 'message', onMessage);
    sub.on('error', (error: Error) => {
      if (!lost) logWarning(`${LOG} subscriber connection error`, logger, error);
    });
    sub.on('close', () => {
      if (lost || attachments.size === 0) return;
      lost = true;
      logWarning(`${LOG} subscriber connection lost; resubscribing when it is back (clients replay the gap)`, logger);
    });
    const s = sub;
    sub.on('ready', () => {
      if (!lost) return;
      lost = false;
      logWarning(`${LOG} subscriber connection back; resubscribing to ${counts.size} topic(s) and relaying what they missed`, logger);
      void catchUp(s);
    });
    return sub;
  }

  /**
   * Resolves when the subscriber connection is ready. ioredis writes SUBSCRIBE even while a
   * connection is still in its handshake (the command may run while Redis loads), which puts
   * the connection in subscriber mode before its ready check and makes that check fail, over
   * and over: so a SUBSCRIBE waits for `ready` (channels already subscribed are resubscribed
   * by ioredis itself on reconnect).
   */
  function ready(s: Subscriber): Promise<void> {
    if (s.status === 'ready') return Promise.resolve();
    // One listener however many topics wait (an outage can hold many).
    return (waitingReady ??= new Promise<void>((resolve) =>
      s.once('ready', () => {
        waitingReady = undefined;
        resolve();
      }),
    ));
  }

  /** One (S)SUBSCRIBE of `channels` (on a Cluster, all in one slot). */
  function subscribeTo(s: Subscriber, channels: string[]): Promise<unknown> {
    return cluster ? (s as Cluster).ssubscribe(...channels) : (s as Redis).subscribe(...channels);
  }

  /**
   * Topics first wanted during this turn, on connection `s`. A socket that opens with a
   * thousand topics, or a page of them, would cost one SUBSCRIBE each (and Redis one reply
   * each); they go out together after the turn, as few commands as Redis allows, and each
   * topic's promise settles with the command that named it.
   */
  let joining: { s: Subscriber; topics: string[]; sent: Promise<Map<string, Promise<unknown>>> } | undefined;

  function join(s: Subscriber, topic: string): Promise<unknown> {
    if (joining === undefined || joining.s !== s) {
      const batch: NonNullable<typeof joining> = { s, topics: [], sent: undefined as never };
      batch.sent = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => {
          // Topics wanted from now on make the next batch, whatever this one waits for.
          if (joining === batch) joining = undefined;
          return ready(s);
        })
        .then(() => {
          const calls = new Map<string, Promise<unknown>>();
          // Still wanted, and still this connection (not detached meanwhile)? The rest resolve
          // with nothing to confirm.
          const wanted = new Map<string, string>();
          for (const t of batch.topics) if (counts.has(t) && sub === s) wanted.set(channelOf(prefix, t), t);
          inBatches([...wanted.keys()], (channels) => {
            const call = subscribeTo(s, channels);
            for (const channel of channels) calls.set(wanted.get(channel)!, call);
          }, cluster);
          return calls;
        });
      joining = batch;
    }
    joining.topics.push(topic);
    return joining.sent.then((calls) => calls.get(topic));
  }

  function subscribe(topic: string): Promise<void> {
    const channel = channelOf(prefix, topic);
    // Wanted again before its UNSUBSCRIBE went out: it never leaves.
    leaving.delete(channel);
    const call = join(subscriber(), topic);
    const confirmed = runner.watch(call, 'subscribe', 'the SUBSCRIBE to', channel).then(
      () => {
        pending.delete(topic);
        if (counts.has(topic)) baseline(topic);
      },
      (error: unknown) => {
        pending.delete(topic);
        throw error;
      },
    );
    pending.set(topic, confirmed);
    return confirmed;
  }

  /**
   * Channels whose last local subscriber left during this turn. A closing socket can release
   * thousands of topics at once; one command per channel would block this process (and Redis)
   * for as long as it takes to write and answer each. They go out together after the turn, as
   * few commands as Redis allows.
   */
  const leaving = new Set<string>();

  function unsubscribe(topic: string): void {
    if (sub === undefined) return;
    if (leaving.size === 0) setImmediate(flushLeaving);
    leaving.add(channelOf(prefix, topic));
  }

  function flushLeaving(): void {
    const s = sub;
    const channels = [...leaving];
    leaving.clear();
    if (s === undefined) return;
    inBatches(channels, (batch) => {
      const call = (cluster ? (s as Cluster).sunsubscribe(...batch) : (s as Redis).unsubscribe(...batch)) as Promise<unknown>;
      call.catch((error: unknown) => {
        if (metrics !== undefined) metrics.redisError('unsubscribe');
        logWarning(`${LOG} UNSUBSCRIBE of ${batch.length} channel(s) failed`, logger, error);
      });
    }, cluster);
  }

  function idle(a: Attachment, topic: string): void {
    if (!a.topics.delete(topic)) return;
    const count = (counts.get(topic) ?? 1) - 1;
    if (count > 0) {
      counts.set(topic, count);
      return;
    }
    counts.delete(topic);
    relays.delete(topic);
    unsubscribe(topic);
  }

  return {
    get active() {
      return attachments.size > 0;
    },

    attach(sink) {
      const a: Attachment = { sink, topics: new Set() };
      attachments.add(a);
      let detached = false;
      return {
        topicActive(topic) {
          if (detached || a.topics.has(topic)) return pending.get(topic);
          a.topics.add(topic);
          const count = counts.get(topic) ?? 0;
          counts.set(topic, count + 1);
          if (count === 0) relays.set(topic, { seq: 0, epoch: undefined, heard: 0, heardEpoch: undefined, held: undefined, ending: undefined });
          return count === 0 ? subscribe(topic) : pending.get(topic);
        },
        topicIdle(topic) {
          idle(a, topic);
        },
        async detach() {
          if (detached) return;
          detached = true;
          for (const topic of [...a.topics]) idle(a, topic);
          attachments.delete(a);
          if (attachments.size === 0 && sub !== undefined) {
            const s = sub;
            sub = undefined;
            lost = false;
            waitingReady = undefined;
            leaving.clear();
            s.disconnect();
          }
        },
      };
    },
  };
}
