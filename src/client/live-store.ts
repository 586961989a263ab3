/** `on(topic)` and `on(topic, event)`: a store of a topic's live events, as they come. */
import { describe, gaplessError } from '../core/errors.js';
import { isSystemTopic, isValidEvent, isValidTopic } from '../core/names.js';
import { defaultConnection, type Connection, type LiveEvent } from './connection.js';
import { cell, withScan, type EventStore } from './store.js';

export interface OnOptions {
  /** Connection to use. Default: the shared one (`connect()`); none during SSR. */
  connection?: Connection;
}

/** Every live event of `topic`. */
export function on<T = unknown>(topic: string, options?: OnOptions): EventStore<LiveEvent<T>>;
/**
 * Only the live events of `topic` named `event` (the seed's filtered form). Each value is the
 * whole event, so the seed's `$store.data` reads the same.
 */
export function on<T = unknown>(topic: string, event: string, options?: OnOptions): EventStore<LiveEvent<T>>;
export function on<T = unknown>(topic: string, eventOrOptions?: string | OnOptions, maybeOptions?: OnOptions): EventStore<LiveEvent<T>> {
  if (!isValidTopic(topic) || isSystemTopic(topic)) throw gaplessError('type', 'INVALID_TOPIC', `on topic must be a valid, non-system topic, got ${describe(topic)}`);
  const event = typeof eventOrOptions === 'string' ? eventOrOptions : undefined;
  const options = typeof eventOrOptions === 'string' ? maybeOptions : eventOrOptions;
  if (event !== undefined && !isValidEvent(event)) throw gaplessError('type', 'INVALID_EVENT', `on event must be a valid event name, got ${describe(event)}`);
  const events = cell<LiveEvent<T> | null>(null, (self) => {
    const conn = options?.connection ?? defaultConnection();
    if (conn === undefined || conn.closed) return () => {};
    // The parsed frame is the event: nothing else is allocated per message.
    const deliver = self.set as (frame: LiveEvent) => void;
    const unlisten = conn.listen(topic, event === undefined ? deliver : (frame) => frame.event === event && deliver(frame));
    return () => {
      unlisten();
      self.value = null;
    };
  });
  return withScan(events.store);
}
