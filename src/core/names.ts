/**
 * The character and length rules for topics and event names: no control character, `"` or `\`;
 * topics 1-256 UTF-16 units, event names 1-64.
 * Valid names never need JSON escaping, which is what lets frames be built by
 * concatenation instead of a `JSON.stringify` per frame.
 */
import { gaplessError, describe } from './errors.js';

export const MAX_TOPIC_LENGTH = 256;
export const MAX_EVENT_LENGTH = 64;
/** Prefix of system topics; wire subscribes to them are denied. */
export const SYSTEM_PREFIX = '__';
/** Replay frames for topic T travel on `__replay:T`. */
export const REPLAY_PREFIX = '__replay:';

/**
 * No code point below 0x20, no 0x7F, `"` or `\`, and no lone surrogate (it cannot be
 * encoded as UTF-8, so the client would receive a different name than the server stored).
 */
export function hasSafeChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x7f) return false;
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c > 0xdbff) return false;
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

export function isValidTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && topic.length >= 1 && topic.length <= MAX_TOPIC_LENGTH && hasSafeChars(topic);
}

export function isValidEvent(event: unknown): event is string {
  return typeof event === 'string' && event.length >= 1 && event.length <= MAX_EVENT_LENGTH && hasSafeChars(event);
}

export function isSystemTopic(topic: string): boolean {
  return topic.startsWith(SYSTEM_PREFIX);
}

export function assertTopic(topic: unknown): asserts topic is string {
  if (!isValidTopic(topic)) {
    throw gaplessError('type', 'INVALID_TOPIC', `topic must be a string of 1-${MAX_TOPIC_LENGTH} characters without control characters, '"' or '\\', got ${describe(topic)}`);
  }
}

export function assertEvent(event: unknown): asserts event is string {
  if (!isValidEvent(event)) {
    throw gaplessError('type', 'INVALID_EVENT', `event must be a string of 1-${MAX_EVENT_LENGTH} characters without control characters, '"' or '\\', got ${describe(event)}`);
  }
}
