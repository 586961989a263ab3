/** `on(topic)`: a store of a topic's live events, as they come. */
import { describe, gaplessError } from '../core/errors.js';
import { isSystemTopic, isValidTopic } from '../core/names.js';
import { defaultConnection, type Connection, type LiveEvent } from './connection.js';
import { cell, withScan, type EventStore } from './store.js';

export interface OnOptions {
  /** Connection to use. Default: the shared one (`connect()`); none during SSR. */
  connection?: Connection;
}

export function on<T = unknown>(topic: string, options?: OnOptions): EventStore<LiveEvent<T>> {
  if (!isValidTopic(topic) || isSystemTopic(topic)) throw gaplessError('type', 'INVALID_TOPIC', `on topic must be a valid, non-system topic, got ${describe(topic)}`);
  const events = cell<LiveEvent<T> | null>(null, (self) => {
    const conn = options?.connection ?? defaultConnection();
    if (conn === undefined || conn.closed) return () => {};
    // The parsed frame is the event: nothing else is allocated per message.
    const unlisten = conn.listen(topic, self.set as (frame: LiveEvent) => void);
    return () => {
      unlisten();
      self.value = null;
    };
  });
  return withScan(events.store);
}
