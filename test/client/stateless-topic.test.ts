/**
 * A replay of a topic the server holds no state for is answered `end {seq: 0}` without an epoch
 * (a replay creates no server state). The store then waits in no epoch and takes the epoch of
 * the first live frame, with nothing reported as truncated: the real in-memory buffer behind the
 * in-process transport.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConnection, onReplay, type Connection, type LiveEvent, type ReplayStatus } from '../../src/client/index.js';
import { createReplay, type MemoryReplay } from '../../src/memory/index.js';
import { FakeServer, type Pipe } from '../helpers/fake-server.js';

let replay: MemoryReplay;
let server: FakeServer;
let conn: Connection;
let pipe: Pipe;
/** Replay requests the client sent, parsed. */
let replays: Record<string, unknown>[];
/** A platform no socket listens on: publishes the client never sees live. */
const nowhere = { publish() {}, publishJson() {}, send() {}, sendText: () => true };

beforeEach(() => {
  vi.useFakeTimers();
  replay = createReplay({ size: 100 });
  server = new FakeServer(replay);
  conn = createConnection({ url: 'ws://fake/ws', WebSocket: server.WebSocket });
  pipe = server.pending()[0]!;
  replays = [];
  const send = pipe.send.bind(pipe);
  pipe.send = (text) => {
    const frame = JSON.parse(text) as Record<string, unknown>;
    if (frame.type === 'replay') replays.push(frame);
    send(text);
  };
  server.accept(pipe);
});
afterEach(() => {
  conn.close();
  vi.useRealTimers();
});

function mount(since: { seq: number; epoch: string }) {
  const events: LiveEvent[] = [];
  const statuses: ReplayStatus[] = [];
  const store = onReplay('news', { since, connection: conn });
  const stops = [store.subscribe((e) => e && events.push(e)), store.status.subscribe((s) => statuses.push(s))];
  return { events, statuses, stop: () => stops.forEach((s) => s()) };
}

/** Every frame through, replies at once. */
function pump(): void {
  while (!server.quiet()) {
    while (pipe.toServer.length > 0) server.serveOne(pipe);
    while (pipe.toClient.length > 0) server.deliverOne(pipe);
  }
}

describe('a topic the server holds no state for', () => {
  it('the store holds {seq: 0, no epoch}, then takes the epoch of the first live frame at seq 1; nothing truncated', () => {
    // The page's position came from a pending epoch the server no longer has.
    const view = mount({ seq: 0, epoch: 'gone' });
    server.serveOne(pipe); // subscribe
    server.serveOne(pipe, 'blank'); // replay
    server.deliverOne(pipe);
    expect(view.statuses.at(-1)).toEqual({ state: 'live', outcome: 'ok', seq: 0, epoch: undefined });
    for (let i = 1; i <= 3; i++) replay.publish(server.platform, 'news', 'm', i);
    pump();
    const { epoch } = replay.position('news');
    expect(view.events.map((e) => [e.seq, e.data])).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(view.statuses.at(-1)).toEqual({ state: 'live', outcome: 'ok', seq: 3, epoch });
    expect(view.statuses.some((s) => s.outcome === 'truncated')).toBe(false);
    // Seq 1 needed no second request.
    expect(replays).toHaveLength(1);
    view.stop();
  });

  it('a first live frame above seq 1 is a gap: the store replays from 0 in that epoch and misses nothing', () => {
    const view = mount({ seq: 0, epoch: 'gone' });
    server.serveOne(pipe); // subscribe
    server.serveOne(pipe, 'blank'); // replay: answered before 1 and 2 were published
    replay.publish(nowhere, 'news', 'm', 1);
    replay.publish(nowhere, 'news', 'm', 2);
    replay.publish(server.platform, 'news', 'm', 3);
    pump();
    const { epoch } = replay.position('news');
    expect(replays.slice(1)).toEqual([{ type: 'replay', topic: 'news', since: 0, epoch, reqId: expect.any(Number) }]);
    expect(view.events.map((e) => [e.seq, e.data])).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(view.statuses.at(-1)).toEqual({ state: 'live', outcome: 'ok', seq: 3, epoch });
    expect(view.statuses.some((s) => s.outcome === 'truncated')).toBe(false);
    view.stop();
  });
});
