/**
 * The only place Redis key and channel names are built. Every key of a topic carries the hash
 * tag `{<topic>}`, so each script touches one Cluster slot; the prefix may not contain braces,
 * or its own `{` would become the hash tag.
 */
import { gaplessError, describe } from '../core/errors.js';

export const DEFAULT_PREFIX = 'gapless:';

export interface TopicKeys {
  /** Stream of entries; also the counter (entry IDs are `0-<seq>`). */
  readonly stream: string;
  /** The epoch of the stream's current life (`~<epoch>` while pending). */
  readonly epoch: string;
}

export function prefixOption(value: unknown): string {
  if (value === undefined) return DEFAULT_PREFIX;
  if (typeof value !== 'string' || value.includes('{') || value.includes('}')) {
    throw gaplessError('type', 'INVALID_OPTION', `prefix must be a string without '{' or '}' (keys are hash-tagged per topic), got ${describe(value)}`);
  }
  return value;
}

/**
 * `<prefix>{<topic>}:`. Redis hashes the text between the first `{` and the next `}`, so a topic
 * that starts with `}` would give an empty tag (and keys in different slots): it gets a leading
 * `\\`, which no valid topic contains, so the mapping stays one-to-one.
 */
function base(prefix: string, topic: string): string {
  return prefix + (topic.charCodeAt(0) === 0x7d ? '{\\' : '{') + topic + '}:';
}

export function topicKeys(prefix: string, topic: string): TopicKeys {
  const b = base(prefix, topic);
  return { stream: b + 's', epoch: b + 'e' };
}

/** The key remembering which seq an idempotency id got: in the topic's slot, expiring with the window. */
export function idKey(prefix: string, topic: string, id: string): string {
  return base(prefix, topic) + 'i:' + id;
}

/** The fan-out channel of a topic; the publish script derives the same name from the stream key. */
export function channelOf(prefix: string, topic: string): string {
  return base(prefix, topic) + 'c';
}

/** The topic a fan-out channel belongs to, or `undefined` for a channel that is not ours. */
export function topicOfChannel(prefix: string, channel: string): string | undefined {
  if (!channel.startsWith(prefix + '{') || !channel.endsWith('}:c')) return undefined;
  const start = prefix.length + (channel.charCodeAt(prefix.length + 1) === 0x5c ? 2 : 1);
  return channel.slice(start, -3);
}

/** A SCAN MATCH pattern for every key under `prefix`, with glob characters escaped. */
export function scanPattern(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
}

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster maps keys to slots with. */
const CRC16 = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1;
    table[i] = c & 0xffff;
  }
  return table;
})();

/**
 * The Cluster slot of a key or shard channel: the CRC16 of its hash tag (the text between the
 * first `{` and the next `}`, when not empty) or of the whole name, UTF-8 encoded, mod 16384.
 * Commands that name many channels (SSUBSCRIBE, SUNSUBSCRIBE) must keep to one slot.
 */
export function slotOf(name: string): number {
  const open = name.indexOf('{');
  if (open >= 0) {
    const close = name.indexOf('}', open + 1);
    if (close > open + 1) name = name.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(name)) crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >> 8) ^ byte) & 0xff]!;
  return crc & 16383;
}
