import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeSockets, server as S } from '../../test/helpers/fake-socket.js';
import { createConnection, type Connection, type LiveEvent } from './connection.js';
import { onReplay, type ReplayStatus, type ReplayStore } from './replay-store.js';

const URL = 'ws://127.0.0.1:1/ws';
const T = 'chat';

let f: ReturnType<typeof fakeSockets>;
let conn: Connection;

beforeEach(() => {
  vi.useFakeTimers();
  f = fakeSockets();
  conn = createConnection({ url: URL, WebSocket: f.WebSocket, replayTimeout: 1000, backoff: { base: 100, max: 100 } });
});
afterEach(() => {
  conn.close();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Subscribes and records what reaches subscribers (events as `event:seq` strings and raw) and status. */
function watch(store: ReplayStore) {
  const events: LiveEvent[] = [];
  const statuses: ReplayStatus[] = [];
  const stopEvents = store.subscribe((e) => e && events.push(e));
  const stopStatus = store.status.subscribe((s) => statuses.push(s));
  return {
    events,
    statuses,
    names: () => events.map((e) => `${e.event}:${e.seq ?? '-'}`),
    status: () => statuses[statuses.length - 1]!,
    stop() {
      stopEvents();
      stopStatus();
    },
  };
}

function sock() {
  return f.last();
}

/** The reqId of the last replay request the client sent (plain or last batch item). */
function lastReq(): { since: number; epoch?: string; reqId: number } {
  const frames = sock().frames().filter((x) => x.type === 'replay' || x.type === 'replay-batch');
  const fr = frames[frames.length - 1]!;
  const item = fr.type === 'replay' ? fr : (fr.items as Record<string, unknown>[]).at(-1)!;
  return item as { since: number; epoch?: string; reqId: number };
}

describe('activation', () => {
  it('subscribes, then asks for a replay from since with its epoch and a reqId; state replaying', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 4, epoch: 'E1' }, connection: conn }));
    const [sub, rep] = sock().take();
    expect(sub).toEqual({ type: 'subscribe', topic: T });
    expect(rep).toEqual({ type: 'replay', topic: T, since: 4, epoch: 'E1', reqId: expect.any(Number) });
    expect(w.status()).toEqual({ state: 'replaying', seq: 4, epoch: 'E1' });
  });

  it('waits for the socket to open when activated before it, then asks once', () => {
    const w = watch(onReplay(T, { since: 0, connection: conn }));
    expect(sock().sent).toEqual([]);
    sock().open();
    expect(sock().take()).toEqual([{ type: 'subscribe-batch', topics: [T] }, { type: 'replay', topic: T, since: 0, reqId: expect.any(Number) }]);
    expect(w.status().state).toBe('replaying');
  });

  it('rejects a since that is not a seq or a position with a TypeError', () => {
    for (const since of [undefined, null, -1, 1.5, NaN, 1e21, '3', { seq: 1 }, { seq: -1, epoch: 'E' }, { seq: 1, epoch: 'bad epoch!' }]) {
      expect(() => onReplay(T, { since } as never), String(since)).toThrow(TypeError);
    }
    expect(() => onReplay(T, undefined as never)).toThrow(TypeError);
    expect(() => onReplay('__replay:chat', { since: 0 })).toThrow(TypeError);
    expect(() => onReplay('a"b', { since: 0 })).toThrow(TypeError);
  });

  it('is idle with no subscriber, and subscribers get null before any event', () => {
    const store = onReplay(T, { since: 0, connection: conn });
    const first: unknown[] = [];
    store.status.subscribe((s) => first.push(s))();
    store.subscribe((v) => first.push(v))();
    expect(first).toEqual([{ state: 'idle', seq: 0, epoch: undefined }, null]);
  });
});

describe('replay then live', () => {
  it('delivers replayed messages in order with seq, then goes live at the end position', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 1, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().receive(S.msg(T, reqId, 2, 'created', { id: 2 }));
    // A foreign server's replayed undefined: no data key at all.
    sock().receive(`{"topic":"__replay:chat","event":"msg","data":{"reqId":${reqId},"seq":3,"event":"created"}}`);
    sock().receive(S.end(T, reqId, { seq: 3, epoch: 'E' }));
    expect(w.events).toEqual([
      { topic: T, event: 'created', data: { id: 2 }, seq: 2 },
      // replayed undefined data arrives as null, as it does live
      { topic: T, event: 'created', data: null, seq: 3 },
    ]);
    expect(w.status()).toEqual({ state: 'live', outcome: 'ok', seq: 3, epoch: 'E' });
    sock().receive(S.live(T, 'created', { id: 4 }, 4, 'E'));
    expect(w.names()).toEqual(['created:2', 'created:3', 'created:4']);
    expect(w.status().seq).toBe(4);
  });

  it('buffers live frames that arrive during the replay and merges them by seq after end', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    // Published after the snapshot (4, 5) and inside it (2): a store that drops live frames during the replay loses 4 and 5.
    sock().receive(S.live(T, 'm', 'two', 2, 'E'));
    sock().receive(S.msg(T, reqId, 1, 'm', 'one'));
    sock().receive(S.live(T, 'm', 'four', 4, 'E'));
    sock().receive(S.msg(T, reqId, 2, 'm', 'two'));
    sock().receive(S.msg(T, reqId, 3, 'm', 'three'));
    sock().receive(S.live(T, 'm', 'five', 5, 'E'));
    expect(w.names()).toEqual(['m:1', 'm:2', 'm:3']);
    sock().receive(S.end(T, reqId, { seq: 3, epoch: 'E' }));
    expect(w.events.map((e) => e.data)).toEqual(['one', 'two', 'three', 'four', 'five']);
    expect(w.status()).toMatchObject({ state: 'live', seq: 5 });
  });

  it('delivers each replayed seq at most once, even when a server repeats or goes back', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 1, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    for (const s of [1, 2, 2, 3, 2]) sock().receive(S.msg(T, reqId, s, 'm', s));
    sock().receive(S.end(T, reqId, { seq: 3, epoch: 'E' }));
    expect(w.names()).toEqual(['m:2', 'm:3']);
  });

  it('holds at most 4096 live frames while a replay is outstanding; the dropped ones come back by replay', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    for (let s = 1; s <= 5000; s++) sock().receive(S.live(T, 'm', s, s, 'E'));
    sock().take();
    sock().receive(S.end(T, reqId, { seq: 0, epoch: 'E' }));
    // 1..2048 were dropped: the first held frame (2049) is a gap, so the store asks from 0.
    expect(w.events).toEqual([]);
    const again = sock().take();
    expect(again).toEqual([{ type: 'replay', topic: T, since: 0, epoch: 'E', reqId: expect.any(Number) }]);
    const r = again[0]!.reqId as number;
    for (let s = 1; s <= 2048; s++) sock().receive(S.msg(T, r, s, 'm', s));
    sock().receive(S.end(T, r, { seq: 2048, epoch: 'E' }));
    expect(w.events.map((e) => e.seq)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
    expect(w.status()).toMatchObject({ state: 'live', seq: 5000 });
  });

  it('in live mode, drops a seq it already has', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { seq: 0, epoch: 'E' }));
    sock().receive(S.live(T, 'm', 1, 1, 'E'));
    sock().receive(S.live(T, 'm', 1, 1, 'E'));
    expect(w.names()).toEqual(['m:1']);
  });

  it('a live seq gap starts a new replay from the last seq and merges the held frame after it', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { seq: 0, epoch: 'E' }));
    sock().take();
    sock().receive(S.live(T, 'm', 1, 1, 'E'));
    sock().receive(S.live(T, 'm', 3, 3, 'E'));
    const [req] = sock().take();
    expect(req).toEqual({ type: 'replay', topic: T, since: 1, epoch: 'E', reqId: expect.any(Number) });
    expect(w.status().state).toBe('replaying');
    const reqId = req!.reqId as number;
    sock().receive(S.msg(T, reqId, 2, 'm', 2));
    sock().receive(S.msg(T, reqId, 3, 'm', 3));
    sock().receive(S.end(T, reqId, { seq: 3, epoch: 'E' }));
    expect(w.names()).toEqual(['m:1', 'm:2', 'm:3']);
    expect(w.status()).toMatchObject({ state: 'live', outcome: 'ok', seq: 3 });
  });

  it('an epoch change starts a replay from the old position; the reset emits truncated, then the new epoch flows', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 5, epoch: 'OLD' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { seq: 5, epoch: 'OLD' }));
    sock().take();
    sock().receive(S.live(T, 'm', 'n1', 1, 'NEW'));
    const [req] = sock().take();
    expect(req).toMatchObject({ type: 'replay', since: 5, epoch: 'OLD' });
    const reqId = req!.reqId as number;
    sock().receive(S.truncated(T, reqId, 'reset', 1, 1, 'NEW'));
    sock().receive(S.end(T, reqId, { seq: 1, epoch: 'NEW', truncated: true }));
    sock().receive(S.live(T, 'm', 'n2', 2, 'NEW'));
    expect(w.names()).toEqual(['truncated:1', 'm:2']);
    expect(w.events[0]).toEqual({ topic: T, event: 'truncated', data: null, seq: 1 });
    expect(w.status()).toEqual({ state: 'live', outcome: 'truncated', reason: 'reset', seq: 2, epoch: 'NEW' });
    // A late frame of the retired epoch is stale: no new replay, no delivery.
    sock().receive(S.live(T, 'm', 'late', 6, 'OLD'));
    expect(sock().take()).toEqual([]);
    expect(w.names()).toEqual(['truncated:1', 'm:2']);
  });

  it('a frame held from an epoch the server no longer has is dropped after one replay, not asked about forever', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'A' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { seq: 0, epoch: 'A' }));
    sock().take();
    // A frame of epoch B arrives (B has since died too: the server restarted into C).
    sock().receive(S.live(T, 'm', 'b1', 1, 'B'));
    const req = lastReq();
    sock().receive(S.truncated(T, req.reqId, 'reset', 1, 0, 'C'));
    sock().receive(S.end(T, req.reqId, { seq: 0, epoch: 'C', truncated: true }));
    expect(sock().take().filter((x) => x.type === 'replay')).toHaveLength(1);
    expect(w.status()).toMatchObject({ state: 'live', seq: 0, epoch: 'C' });
    sock().receive(S.live(T, 'm', 'c1', 1, 'C'));
    expect(w.names()).toEqual(['truncated:0', 'm:1']);
    expect(w.events.at(-1)!.data).toBe('c1');
  });

  it('a bare seq (seed form) asks without epoch and adopts the epoch the end names', () => {
    sock().open();
    const w = watch(onReplay(T, { since: 2, connection: conn }));
    const req = lastReq();
    expect(req).toEqual({ type: 'replay', topic: T, since: 2, reqId: expect.any(Number) });
    sock().receive(S.end(T, req.reqId, { seq: 2, epoch: 'E' }));
    expect(w.status()).toEqual({ state: 'live', outcome: 'ok', seq: 2, epoch: 'E' });
  });
});

describe('truncation', () => {
  it('an end from another epoch without truncation (a handler that dropped our epoch) is reported as a reset', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 3, epoch: 'OLD' }, connection: conn }));
    const { reqId } = lastReq();
    sock().receive(S.msg(T, reqId, 4, 'm', 4));
    sock().receive(S.end(T, reqId, { seq: 4, epoch: 'NEW' }));
    expect(w.names()).toEqual(['m:4', 'truncated:4']);
    expect(w.status()).toEqual({ state: 'live', outcome: 'truncated', reason: 'reset', seq: 4, epoch: 'NEW' });
  });
  it('leading truncated frame (evicted): the kept messages, then a synthetic truncated event, then live', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 1, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().receive(S.live(T, 'm', 7, 7, 'E'));
    sock().receive(S.truncated(T, reqId, 'evicted', 5, 6, 'E'));
    sock().receive(S.msg(T, reqId, 5, 'm', 5));
    sock().receive(S.msg(T, reqId, 6, 'm', 6));
    sock().receive(S.end(T, reqId, { seq: 6, epoch: 'E', truncated: true }));
    expect(w.names()).toEqual(['m:5', 'm:6', 'truncated:6', 'm:7']);
    expect(w.statuses.find((s) => s.state === 'live')).toEqual({ state: 'live', outcome: 'truncated', reason: 'evicted', seq: 6, epoch: 'E' });
  });

  it('a truncated replay cut short after its first messages still reports truncated at the next end', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().receive(S.truncated(T, reqId, 'evicted', 3, 6, 'E'));
    sock().receive(S.msg(T, reqId, 3, 'm', 3));
    sock().drop();
    vi.advanceTimersByTime(100);
    sock().open();
    const again = lastReq();
    expect(again).toMatchObject({ since: 3, epoch: 'E' });
    for (const s of [4, 5, 6]) sock().receive(S.msg(T, again.reqId, s, 'm', s));
    sock().receive(S.end(T, again.reqId, { seq: 6, epoch: 'E' }));
    expect(w.names()).toEqual(['m:3', 'm:4', 'm:5', 'm:6', 'truncated:6']);
    expect(w.status()).toMatchObject({ state: 'live', outcome: 'truncated', reason: 'evicted' });
  });

  it('end.truncated alone (the core plugin shape) is understood too', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 1, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().receive(S.msg(T, reqId, 9, 'm', 9));
    sock().receive(S.end(T, reqId, { seq: 9, epoch: 'E', truncated: true }));
    expect(w.names()).toEqual(['m:9', 'truncated:9']);
    expect(w.status()).toMatchObject({ state: 'live', outcome: 'truncated', reason: 'evicted' });
  });

  it('the Redis seed shape (truncated with null data and no reqId) is understood', () => {
    sock().open();
    const w = watch(onReplay(T, { since: 1, connection: conn }));
    sock().receive('{"topic":"__replay:chat","event":"truncated","data":null}');
    sock().receive(S.msg(T, undefined, 4, 'm', 4));
    sock().receive(S.end(T, undefined, {}));
    expect(w.names()).toEqual(['m:4', 'truncated:4']);
  });
});

describe('never stuck', () => {
  it('retries a replay with a fresh reqId when no end comes within replayTimeout, and ignores the stale answer', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const first = lastReq().reqId;
    vi.advanceTimersByTime(999);
    expect(sock().frames().filter((x) => x.type === 'replay')).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const second = lastReq().reqId;
    expect(second).not.toBe(first);
    expect(w.status()).toMatchObject({ state: 'replaying', outcome: 'error', reason: 'TIMEOUT' });
    sock().receive(S.msg(T, first, 1, 'm', 'stale'));
    sock().receive(S.end(T, first, { seq: 1, epoch: 'E' }));
    expect(w.events).toEqual([]);
    expect(w.status().state).toBe('replaying');
    sock().receive(S.msg(T, second, 1, 'm', 'fresh'));
    sock().receive(S.end(T, second, { seq: 1, epoch: 'E' }));
    expect(w.events.map((e) => e.data)).toEqual(['fresh']);
    expect(w.status()).toMatchObject({ state: 'live', outcome: 'ok' });
  });

  it('a socket that dies mid-replay: the request is asked again after reconnect, from the last seq received', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().receive(S.msg(T, reqId, 1, 'm', 1));
    sock().drop();
    vi.advanceTimersByTime(100);
    sock().open();
    expect(sock().take()).toEqual([
      { type: 'subscribe-batch', topics: [T] },
      { type: 'replay', topic: T, since: 1, epoch: 'E', reqId: expect.any(Number) },
    ]);
    const again = lastReq().reqId;
    sock().receive(S.msg(T, again, 2, 'm', 2));
    sock().receive(S.end(T, again, { seq: 2, epoch: 'E' }));
    expect(w.names()).toEqual(['m:1', 'm:2']);
  });

  it('end {error}: stays replaying with outcome error, retries after a backoff', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { error: 'BACKEND_ERROR' }));
    expect(w.status()).toEqual({ state: 'replaying', outcome: 'error', reason: 'BACKEND_ERROR', seq: 0, epoch: 'E' });
    sock().take();
    vi.advanceTimersByTime(49);
    expect(sock().take()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sock().take()).toEqual([{ type: 'replay', topic: T, since: 0, epoch: 'E', reqId: expect.any(Number) }]);
    sock().receive(S.end(T, lastReq().reqId, { seq: 0, epoch: 'E' }));
    expect(w.status()).toMatchObject({ state: 'live', outcome: 'ok' });
  });
});

describe('resume after reconnect', () => {
  it('live stores re-request from their last seq; all stores resume with one replay-batch after the subscribe-batch', () => {
    sock().open();
    const a = watch(onReplay('a', { since: { seq: 0, epoch: 'A' }, connection: conn }));
    const b = watch(onReplay('b', { since: { seq: 3, epoch: 'B' }, connection: conn }));
    const reqs = sock().frames().filter((x) => x.type === 'replay');
    sock().receive(S.end('a', reqs[0]!.reqId as number, { seq: 0, epoch: 'A' }));
    sock().receive(S.live('a', 'm', 1, 1, 'A'));
    // b is still replaying when the socket dies
    sock().drop();
    sock().receive(S.live('a', 'm', 'after close', 2, 'A')); // a dead socket's frame is ignored
    vi.advanceTimersByTime(100);
    sock().open();
    const frames = sock().take();
    expect(frames).toEqual([
      { type: 'subscribe-batch', topics: ['a', 'b'] },
      {
        type: 'replay-batch',
        items: [
          { topic: 'a', since: 1, epoch: 'A', reqId: expect.any(Number) },
          { topic: 'b', since: 3, epoch: 'B', reqId: expect.any(Number) },
        ],
      },
    ]);
    const [ia, ib] = frames[1]!.items as { reqId: number }[];
    sock().receive(S.msg('a', ia!.reqId, 2, 'm', 2));
    sock().receive(S.end('a', ia!.reqId, { seq: 2, epoch: 'A' }));
    sock().receive(S.end('b', ib!.reqId, { seq: 3, epoch: 'B' }));
    expect(a.names()).toEqual(['m:1', 'm:2']);
    expect(a.status().state).toBe('live');
    expect(b.status().state).toBe('live');
  });

  it('a replay-batch holds at most 256 items per frame', () => {
    const stores = Array.from({ length: 300 }, (_, i) => onReplay('t' + i, { since: 0, connection: conn }).subscribe(() => {}));
    sock().open();
    const batches = sock().frames().filter((x) => x.type === 'replay-batch');
    expect(batches.map((x) => (x.items as unknown[]).length)).toEqual([256, 44]);
    stores.forEach((s) => s());
  });
});

describe('denied', () => {
  it('ends in the denied state with a synthetic denied event, releases the live subscription and stops asking', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().take();
    sock().receive(S.denied(T, reqId, 'FORBIDDEN'));
    sock().receive(S.end(T, reqId, { denied: true }));
    expect(w.events).toEqual([{ topic: T, event: 'denied', data: null, seq: 0 }]);
    expect(w.status()).toEqual({ state: 'denied', reason: 'FORBIDDEN', seq: 0, epoch: 'E' });
    expect(sock().take()).toEqual([{ type: 'unsubscribe', topic: T }]);
    vi.advanceTimersByTime(60_000);
    sock().drop();
    vi.advanceTimersByTime(200);
    sock().open();
    expect(sock().take()).toEqual([]);
    expect(w.status().state).toBe('denied');
  });

  it('a remount after a denial asks again', () => {
    sock().open();
    const store = onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn });
    const w = watch(store);
    const { reqId } = lastReq();
    sock().receive(S.end(T, reqId, { denied: true }));
    w.stop();
    sock().take();
    const w2 = watch(store);
    expect(sock().take()).toEqual([{ type: 'subscribe', topic: T }, { type: 'replay', topic: T, since: 0, epoch: 'E', reqId: expect.any(Number) }]);
    expect(w2.status().state).toBe('replaying');
  });
});

describe('several stores, reqIds and seed servers', () => {
  it('two stores on one topic each get only their own replay', () => {
    sock().open();
    const a = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const b = watch(onReplay(T, { since: { seq: 2, epoch: 'E' }, connection: conn }));
    const [ra, rb] = sock().frames().filter((x) => x.type === 'replay') as { reqId: number }[];
    expect(ra!.reqId).not.toBe(rb!.reqId);
    expect(sock().frames().filter((x) => x.type === 'subscribe')).toHaveLength(1);
    for (const s of [1, 2, 3]) sock().receive(S.msg(T, ra!.reqId, s, 'm', s));
    sock().receive(S.msg(T, rb!.reqId, 3, 'm', 3));
    sock().receive(S.end(T, rb!.reqId, { seq: 3, epoch: 'E' }));
    sock().receive(S.end(T, ra!.reqId, { seq: 3, epoch: 'E' }));
    expect(a.names()).toEqual(['m:1', 'm:2', 'm:3']);
    expect(b.names()).toEqual(['m:3']);
  });

  it('replay frames without reqId go to the oldest outstanding request of the topic', () => {
    sock().open();
    const a = watch(onReplay(T, { since: 0, connection: conn }));
    const b = watch(onReplay(T, { since: 0, connection: conn }));
    sock().receive(S.msg(T, undefined, 1, 'm', 1));
    sock().receive(S.end(T, undefined, {}));
    expect(a.names()).toEqual(['m:1']);
    expect(a.status().state).toBe('live');
    expect(b.status().state).toBe('replaying');
    sock().receive(S.msg(T, undefined, 1, 'm', 1));
    sock().receive(S.end(T, undefined, {}));
    expect(b.names()).toEqual(['m:1']);
    expect(b.status()).toMatchObject({ state: 'live', seq: 1 });
  });

  it('live frames without epoch are delivered as they come, held during a replay, and never move the position', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().receive(S.plain(T, 'm', 'held', 99));
    expect(w.events).toEqual([]);
    sock().receive(S.end(T, reqId, { seq: 0, epoch: 'E' }));
    sock().receive(S.plain(T, 'm', 'live'));
    expect(w.events.map((e) => e.data)).toEqual(['held', 'live']);
    expect(w.status().seq).toBe(0);
    sock().receive(S.live(T, 'm', 'one', 1, 'E'));
    expect(w.events.map((e) => e.data)).toEqual(['held', 'live', 'one']);
  });
});

describe('remounts and scan', () => {
  it('scan folds each event once across unmount and remount: the remount resumes from the last seq', () => {
    sock().open();
    const store = onReplay<number>(T, { since: { seq: 0, epoch: 'E' }, connection: conn });
    const list = store.scan<number[]>([], (acc, e) => (e.event === 'm' ? [...acc, e.data] : acc));
    const seen: number[][] = [];
    let stop = list.subscribe((v) => seen.push(v));
    let { reqId } = lastReq();
    sock().receive(S.msg(T, reqId, 1, 'm', 1));
    sock().receive(S.end(T, reqId, { seq: 1, epoch: 'E' }));
    sock().receive(S.live(T, 'm', 2, 2, 'E'));
    stop();
    expect(sock().frames().at(-1)).toEqual({ type: 'unsubscribe', topic: T });
    stop = list.subscribe((v) => seen.push(v));
    ({ reqId } = lastReq());
    expect(lastReq()).toMatchObject({ since: 2, epoch: 'E' });
    // Replaying from the original since instead would fold 1 and 2 again.
    sock().receive(S.msg(T, reqId, 3, 'm', 3));
    sock().receive(S.end(T, reqId, { seq: 3, epoch: 'E' }));
    expect(seen.at(-1)).toEqual([1, 2, 3]);
    stop();
  });

  it('a teardown and re-activation right after end leaves the new cycle working (stale frames dropped)', () => {
    sock().open();
    const store = onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn });
    let w = watch(store);
    const old = lastReq().reqId;
    sock().receive(S.end(T, old, { seq: 0, epoch: 'E' }));
    w.stop();
    w = watch(store);
    const fresh = lastReq().reqId;
    expect(fresh).not.toBe(old);
    sock().receive(S.msg(T, old, 1, 'm', 'stale'));
    sock().receive(S.end(T, old, { seq: 1, epoch: 'E' }));
    expect(w.status().state).toBe('replaying');
    sock().receive(S.msg(T, fresh, 1, 'm', 'fresh'));
    sock().receive(S.end(T, fresh, { seq: 1, epoch: 'E' }));
    expect(w.events.map((e) => e.data)).toEqual(['fresh']);
    expect(w.status().state).toBe('live');
  });

  it('a cycle torn down before the socket opened sends nothing when it opens: one request for the live cycle', () => {
    const store = onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn });
    watch(store).stop();
    const w = watch(store);
    sock().open();
    expect(sock().take()).toEqual([{ type: 'subscribe-batch', topics: [T] }, { type: 'replay', topic: T, since: 0, epoch: 'E', reqId: expect.any(Number) }]);
    expect(w.status().state).toBe('replaying');
  });

  it('status is idle after the last subscriber leaves and keeps the position', () => {
    sock().open();
    const store = onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn });
    const seen: ReplayStatus[] = [];
    store.status.subscribe((s) => seen.push(s));
    const stop = store.subscribe(() => {});
    sock().receive(S.end(T, lastReq().reqId, { seq: 4, epoch: 'E' }));
    stop();
    expect(seen.map((s) => s.state)).toEqual(['idle', 'replaying', 'live', 'idle']);
    expect(seen.at(-1)).toMatchObject({ seq: 4, epoch: 'E' });
  });
});

describe('Svelte store contract', () => {
  it("works with svelte/store's get and derived, and a destructured subscribe", async () => {
    const { get, derived } = await import('svelte/store');
    sock().open();
    const store = onReplay<number>(T, { since: { seq: 0, epoch: 'E' }, connection: conn });
    expect(get(store)).toBeNull();
    expect(get(store.status).state).toBe('idle');
    const count = derived(store.scan(0, (n) => n + 1), (n) => n * 10);
    const seen: number[] = [];
    const { subscribe } = count;
    const stop = subscribe((v) => seen.push(v));
    const { reqId } = lastReq();
    sock().receive(S.msg(T, reqId, 1, 'm', 1));
    sock().receive(S.end(T, reqId, { seq: 1, epoch: 'E' }));
    sock().receive(S.live(T, 'm', 2, 2, 'E'));
    expect(seen).toEqual([0, 10, 20]);
    stop();
    stop();
  });
});

describe('replay timeouts measure silence, not duration', () => {
  it('a slow reader receiving 5,000 frames over 5 s (replayTimeout 1 s) completes without a re-send', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().take();
    for (let s = 1; s <= 5000; s++) {
      vi.advanceTimersByTime(1);
      sock().receive(S.msg(T, reqId, s, 'm', s));
    }
    vi.advanceTimersByTime(999);
    sock().receive(S.end(T, reqId, { seq: 5000, epoch: 'E' }));
    expect(sock().take()).toEqual([]);
    expect(w.events).toHaveLength(5000);
    expect(w.statuses.some((s) => s.outcome === 'error')).toBe(false);
    expect(w.status()).toEqual({ state: 'live', outcome: 'ok', seq: 5000, epoch: 'E' });
  });

  it('a request that goes silent mid-replay is asked again from the last seq it delivered', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().take();
    vi.advanceTimersByTime(900);
    sock().receive(S.msg(T, reqId, 1, 'm', 1));
    vi.advanceTimersByTime(999);
    expect(sock().take()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sock().take()).toEqual([{ type: 'replay', topic: T, since: 1, epoch: 'E', reqId: expect.any(Number) }]);
    expect(w.status()).toMatchObject({ state: 'replaying', outcome: 'error', reason: 'TIMEOUT', seq: 1 });
  });
});

describe('denial from the subscription path', () => {
  const subscribeDenied = (topic: string, reason: string) => JSON.stringify({ type: 'subscribe-denied', topic, reason });
  const unsubscribed = (topic: string, reason: string) => JSON.stringify({ type: 'unsubscribed', topic, reason });

  it('subscribe-denied moves every replaying store on the topic to denied at once, once, and the late replay answer is ignored', () => {
    sock().open();
    const a = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const b = watch(onReplay(T, { since: { seq: 2, epoch: 'E' }, connection: conn }));
    const other = watch(onReplay('other', { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const [ra, rb] = sock().frames().filter((x) => x.type === 'replay') as { reqId: number }[];
    sock().take();
    sock().receive(subscribeDenied(T, 'LOGIN_REQUIRED'));
    for (const w of [a, b]) {
      expect(w.events).toEqual([{ topic: T, event: 'denied', data: null, seq: w === a ? 0 : 2 }]);
      expect(w.status()).toMatchObject({ state: 'denied', reason: 'LOGIN_REQUIRED' });
    }
    expect(other.status().state).toBe('replaying');
    // The replay answers still in flight, with and without reqId: no second denied.
    for (const r of [ra!.reqId, rb!.reqId, undefined]) {
      sock().receive(S.denied(T, r, 'FORBIDDEN'));
      sock().receive(S.end(T, r, { denied: true }));
    }
    expect(a.names()).toEqual(['denied:0']);
    expect(b.names()).toEqual(['denied:2']);
    expect(a.status().reason).toBe('LOGIN_REQUIRED');
    expect(sock().take()).toEqual([{ type: 'unsubscribe', topic: T }]);
    // Nothing more is asked, on this socket or after a reconnect.
    vi.advanceTimersByTime(60_000);
    sock().drop();
    vi.advanceTimersByTime(200);
    sock().open();
    expect(sock().frames().filter((x) => x.type === 'replay' || x.type === 'replay-batch')).toEqual([
      { type: 'replay', topic: 'other', since: 0, epoch: 'E', reqId: expect.any(Number) },
    ]);
  });

  it('unsubscribed (revocation) moves a live store to denied and it stops taking live frames', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { seq: 0, epoch: 'E' }));
    sock().receive(S.live(T, 'm', 1, 1, 'E'));
    sock().receive(unsubscribed(T, 'KICKED'));
    expect(w.names()).toEqual(['m:1', 'denied:1']);
    expect(w.status()).toEqual({ state: 'denied', reason: 'KICKED', seq: 1, epoch: 'E' });
    sock().receive(S.live(T, 'm', 2, 2, 'E'));
    sock().receive(S.live(T, 'm', 4, 4, 'E'));
    expect(w.names()).toEqual(['m:1', 'denied:1']);
    expect(sock().frames().filter((x) => x.type === 'replay')).toHaveLength(1);
  });

  it('a denial of another topic, or without a topic, changes nothing', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    sock().receive(subscribeDenied('elsewhere', 'FORBIDDEN'));
    sock().receive('{"type":"subscribe-denied","reason":"INVALID_TOPIC"}');
    sock().receive('{"type":"unsubscribed","topic":7}');
    expect(w.events).toEqual([]);
    expect(w.status().state).toBe('replaying');
  });
});

describe('one status transition function', () => {
  it('emits status only on real change: repeated asks and already-delivered seqs emit nothing', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    const { reqId } = lastReq();
    sock().receive(S.end(T, reqId, { seq: 0, epoch: 'E' }));
    sock().receive(S.live(T, 'm', 1, 1, 'E'));
    sock().receive(S.live(T, 'm', 1, 1, 'E'));
    // A gap asks; a second gap while replaying holds the frame; the answer goes live.
    sock().receive(S.live(T, 'm', 3, 3, 'E'));
    sock().receive(S.live(T, 'm', 4, 4, 'E'));
    const r = lastReq().reqId;
    sock().receive(S.msg(T, r, 2, 'm', 2));
    sock().receive(S.end(T, r, { seq: 2, epoch: 'E' }));
    const seen = w.statuses.map((s) => `${s.state}:${s.seq}`);
    expect(seen).toEqual(['replaying:0', 'live:0', 'live:1', 'replaying:1', 'live:2', 'live:3', 'live:4']);
    for (let i = 1; i < w.statuses.length; i++) expect(w.statuses[i]).not.toEqual(w.statuses[i - 1]);
  });

  it('a retry after end {error} and a resume after a reconnect, both still replaying, emit nothing new', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'E' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { error: 'BACKEND_ERROR' }));
    vi.advanceTimersByTime(50); // the retry is sent
    sock().drop();
    vi.advanceTimersByTime(100);
    sock().open(); // the resume is sent
    expect(sock().frames().filter((x) => x.type === 'replay')).toHaveLength(1);
    expect(w.statuses).toEqual([
      { state: 'replaying', seq: 0, epoch: 'E' },
      { state: 'replaying', outcome: 'error', reason: 'BACKEND_ERROR', seq: 0, epoch: 'E' },
    ]);
  });
});

describe('an end without epoch: the server holds no state for the topic', () => {
  it('holds {seq: 0, epoch: undefined} without truncated, then adopts the epoch of a first live frame at seq 1', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 0, epoch: 'PENDING' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { seq: 0 }));
    expect(w.status()).toEqual({ state: 'live', outcome: 'ok', seq: 0, epoch: undefined });
    sock().take();
    sock().receive(S.live(T, 'm', 'one', 1, 'NEW'));
    sock().receive(S.live(T, 'm', 'two', 2, 'NEW'));
    expect(sock().take()).toEqual([]);
    expect(w.names()).toEqual(['m:1', 'm:2']);
    expect(w.status()).toEqual({ state: 'live', outcome: 'ok', seq: 2, epoch: 'NEW' });
  });

  it('a first live frame above seq 1 is a gap: replay from 0 in its epoch, nothing truncated', () => {
    sock().open();
    const w = watch(onReplay(T, { since: 0, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { seq: 0 }));
    sock().take();
    sock().receive(S.live(T, 'm', 3, 3, 'NEW'));
    const [req] = sock().take();
    expect(req).toEqual({ type: 'replay', topic: T, since: 0, epoch: 'NEW', reqId: expect.any(Number) });
    for (const s of [1, 2, 3]) sock().receive(S.msg(T, req!.reqId as number, s, 'm', s));
    sock().receive(S.end(T, req!.reqId as number, { seq: 3, epoch: 'NEW' }));
    expect(w.names()).toEqual(['m:1', 'm:2', 'm:3']);
    expect(w.status()).toEqual({ state: 'live', outcome: 'ok', seq: 3, epoch: 'NEW' });
  });

  it('a store holding messages gets a reset when the server has no state for its topic', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 5, epoch: 'OLD' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, { seq: 0 }));
    expect(w.names()).toEqual(['truncated:0']);
    expect(w.status()).toEqual({ state: 'live', outcome: 'truncated', reason: 'reset', seq: 0, epoch: undefined });
    sock().receive(S.live(T, 'm', 1, 1, 'NEW'));
    expect(w.names()).toEqual(['truncated:0', 'm:1']);
  });

  it('a seed end with neither seq nor epoch keeps the store position and epoch', () => {
    sock().open();
    const w = watch(onReplay(T, { since: { seq: 2, epoch: 'E' }, connection: conn }));
    sock().receive(S.end(T, lastReq().reqId, {}));
    expect(w.status()).toEqual({ state: 'live', outcome: 'ok', seq: 2, epoch: 'E' });
  });
});
