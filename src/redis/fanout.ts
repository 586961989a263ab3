/**
 * Live delivery across instances (DESIGN §6). The publish script PUBLISHes every entry (SPUBLISH
 * on Cluster, so a topic's channel lives on its shard) from inside the script, so the order on
 * the channel is the seq order. Each instance subscribes, on one duplicated connection, only to
 * the topics that have local subscribers, and relays what arrives to its platform.
 *
 * Pub/sub is at-most-once: while the subscriber connection is down, frames are lost. ioredis
 * resubscribes when it reconnects; clients see the seq gap on the next frame and replay it.
 * Nothing is delivered twice: one subscription per topic per instance, whatever the number of
 * local sockets or attached platforms.
 */
import type { Cluster, Redis } from 'ioredis';
import type { FanoutAttachment, FanoutSink } from '../core/types.js';
import type { RedisClient, Runner } from './command.js';
import { channelOf, topicOfChannel } from './keys.js';

const LOG = '[gapless-replay] fan-out:';

interface Attachment {
  sink: FanoutSink;
  topics: Set<string>;
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
export function parseMessage(message: string): { seq: number; epoch: string; event: string; json: string } | undefined {
  const a = message.indexOf('\n');
  const b = message.indexOf('\n', a + 1);
  const c = message.indexOf('\n', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const seq = Number(message.slice(0, a));
  if (!Number.isSafeInteger(seq)) return undefined;
  return { seq, epoch: message.slice(a + 1, b), event: message.slice(b + 1, c), json: message.slice(c + 1) };
}

export function createFanoutHub(redis: RedisClient, prefix: string, runner: Runner): FanoutHub {
  const cluster = redis.isCluster;
  const attachments = new Set<Attachment>();
  /** Attachments that have each topic active: a topic is subscribed while its count is > 0. */
  const counts = new Map<string, number>();
  /** Subscribe calls not yet confirmed, so a second activation waits for the same one. */
  const pending = new Map<string, Promise<void>>();
  let sub: Subscriber | undefined;
  let lost = false;
  let waitingReady: Promise<void> | undefined;

  function onMessage(channel: string, message: string): void {
    const topic = topicOfChannel(prefix, channel);
    if (topic === undefined) return;
    const frame = parseMessage(message);
    if (frame === undefined) {
      console.warn(LOG, `dropped a malformed message on ${channel}`);
      return;
    }
    for (const a of attachments) {
      if (!a.topics.has(topic)) continue;
      try {
        a.sink.deliver(topic, frame.event, frame.json, frame.seq, frame.epoch);
      } catch (error) {
        console.error(LOG, `delivery on ${topic} failed:`, error);
      }
    }
  }

  function subscriber(): Subscriber {
    if (sub !== undefined) return sub;
    // A connection of our own: a subscribed connection can run nothing else. Commands wait
    // through outages (our deadline bounds the caller) and ioredis resubscribes on reconnect.
    const options = { autoResubscribe: true, enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false };
    sub = cluster
      ? (redis as Cluster).duplicate(undefined, { shardedSubscribers: true, redisOptions: { ...(redis as Cluster).options.redisOptions, ...options } })
      : (redis as Redis).duplicate(options);
    sub.on(cluster ? 'smessage' : 'message', onMessage);
    sub.on('error', (error: Error) => {
      if (!lost) console.warn(LOG, 'subscriber connection error:', error.message);
    });
    sub.on('close', () => {
      if (lost || attachments.size === 0) return;
      lost = true;
      console.warn(LOG, 'subscriber connection lost; resubscribing when it is back (clients replay the gap)');
    });
    sub.on('ready', () => {
      if (!lost) return;
      lost = false;
      console.warn(LOG, `subscriber connection back; resubscribed to ${counts.size} topic(s)`);
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

  function subscribe(topic: string): Promise<void> {
    const channel = channelOf(prefix, topic);
    const s = subscriber();
    const call = ready(s).then(() => {
      // Still wanted, and still this connection (not detached meanwhile)?
      if (!counts.has(topic) || sub !== s) return undefined;
      return cluster ? (s as Cluster).ssubscribe(channel) : (s as Redis).subscribe(channel);
    });
    const confirmed = runner.watch(call, 'the SUBSCRIBE to', channel).then(
      () => {
        pending.delete(topic);
      },
      (error: unknown) => {
        pending.delete(topic);
        throw error;
      },
    );
    pending.set(topic, confirmed);
    return confirmed;
  }

  function unsubscribe(topic: string): void {
    if (sub === undefined) return;
    const channel = channelOf(prefix, topic);
    const call = (cluster ? (sub as Cluster).sunsubscribe(channel) : (sub as Redis).unsubscribe(channel)) as Promise<unknown>;
    call.catch((error: unknown) => console.warn(LOG, `UNSUBSCRIBE ${channel} failed:`, error));
  }

  function idle(a: Attachment, topic: string): void {
    if (!a.topics.delete(topic)) return;
    const count = (counts.get(topic) ?? 1) - 1;
    if (count > 0) {
      counts.set(topic, count);
      return;
    }
    counts.delete(topic);
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
            s.disconnect();
          }
        },
      };
    },
  };
}
