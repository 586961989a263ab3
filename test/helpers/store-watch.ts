/** A replay store watched the way a page watches it: every event it delivered, and its latest status. */
import { onReplay, type Connection, type LiveEvent, type ReplayStatus } from '../../src/client/index.js';
import type { Since } from '../../src/core/types.js';

export interface WatchedStore {
  /** Every event delivered, in order. */
  readonly events: LiveEvent[];
  /** The latest status, `undefined` before the first. */
  readonly status: ReplayStatus | undefined;
  stop(): void;
}

export function watchStore(topic: string, since: Since, connection: Connection): WatchedStore {
  const store = onReplay(topic, { since, connection });
  let events: LiveEvent[] = [];
  let status: ReplayStatus | undefined;
  const stops = [store.scan<LiveEvent[]>([], (list, e) => (list.push(e), list)).subscribe((v) => (events = v)), store.status.subscribe((s) => (status = s))];
  return {
    get events() {
      return events;
    },
    get status() {
      return status;
    },
    stop: () => stops.forEach((stop) => stop()),
  };
}
