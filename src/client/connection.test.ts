import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeSockets, server, type FakeSocket } from '../../test/helpers/fake-socket.js';
import { backoffDelay } from './backoff.js';
import { connect, createConnection, type ConnectionState } from './connection.js';
import { on } from './live-store.js';
import { onReplay } from './replay-store.js';

const URL = 'ws://127.0.0.1:1/ws';

function states(conn: { status: { subscribe(run: (s: ConnectionState) => void): () => void } }): ConnectionState[] {
  const seen: ConnectionState[] = [];
  conn.status.subscribe((s) => seen.push(s));
  return seen;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('connection lifecycle', () => {
  it('opens one socket to the url at creation and reports connecting, then open', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const seen = states(conn);
    expect(f.sockets.map((s) => s.url)).toEqual([URL]);
    f.last().open();
    expect(seen).toEqual(['connecting', 'open']);
    conn.close();
    expect(seen).toEqual(['connecting', 'open', 'closed']);
  });

  it('builds the default url from the page origin and path, wss on https pages', () => {
    const f = fakeSockets();
    vi.stubGlobal('location', { protocol: 'https:', host: 'example.test:8443' });
    try {
      createConnection({ WebSocket: f.WebSocket }).close();
      createConnection({ WebSocket: f.WebSocket, path: '/live' }).close();
      vi.stubGlobal('location', { protocol: 'http:', host: 'localhost:5173' });
      createConnection({ WebSocket: f.WebSocket }).close();
    } finally {
      vi.unstubAllGlobals();
    }
    expect(f.sockets.map((s) => s.url)).toEqual(['wss://example.test:8443/ws', 'wss://example.test:8443/live', 'ws://localhost:5173/ws']);
  });

  it('reconnects after a drop with full-jitter exponential delays, capped, reset by a successful open', () => {
    const f = fakeSockets();
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 100, max: 700 } });
    const seen = states(conn);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      f.last().drop();
      const before = f.sockets.length;
      let waited = 0;
      while (f.sockets.length === before && waited < 10_000) {
        vi.advanceTimersByTime(1);
        waited++;
      }
      waits.push(waited);
    }
    // floor(0.999 * min(700, 100 * 2^n))
    expect(waits).toEqual([99, 199, 399, 699, 699]);
    f.last().open();
    f.last().drop();
    vi.advanceTimersByTime(98);
    expect(f.sockets.length).toBe(6);
    vi.advanceTimersByTime(1);
    expect(f.sockets.length).toBe(7);
    expect(seen.at(-1)).toBe('connecting');
    expect(seen).not.toContain('closed');
    conn.close();
  });

  it('backoffDelay is uniform in [0, min(max, base * 2^attempt))', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(backoffDelay(3, 500, 30000)).toBe(0);
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    expect(backoffDelay(0, 500, 30000)).toBe(250);
    expect(backoffDelay(3, 500, 30000)).toBe(2000);
    expect(backoffDelay(20, 500, 30000)).toBe(15000);
    expect(backoffDelay(5000, 500, 30000)).toBe(15000);
  });

  it('a status subscriber that closes the connection on open does not break the open handler', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const stop = on('t', { connection: conn }).subscribe(() => {});
    conn.status.subscribe((s) => s === 'open' && conn.close());
    expect(() => f.last().open()).not.toThrow();
    expect(f.last().sent).toEqual([]);
    stop();
  });

  it('reconnect() drops the socket and opens a new one at once, without backoff', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    f.last().open();
    conn.reconnect();
    expect(f.sockets.length).toBe(2);
    expect(f.sockets[0]!.closedByClient).toBe(true);
    conn.close();
  });

  it('starts over when the browser reports the network gone or back, and stops listening after close()', () => {
    const f = fakeSockets();
    const target = new EventTarget();
    vi.stubGlobal('addEventListener', target.addEventListener.bind(target));
    vi.stubGlobal('removeEventListener', target.removeEventListener.bind(target));
    try {
      const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
      f.last().open();
      target.dispatchEvent(new Event('offline'));
      expect(f.sockets.length).toBe(2);
      expect(f.sockets[0]!.closedByClient).toBe(true);
      target.dispatchEvent(new Event('online'));
      expect(f.sockets.length).toBe(3);
      conn.close();
      target.dispatchEvent(new Event('online'));
      expect(f.sockets.length).toBe(3);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('close() stops reconnecting, and send() then returns false', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    f.last().open();
    conn.close();
    vi.advanceTimersByTime(60_000);
    expect(f.sockets.length).toBe(1);
    expect(conn.send({ a: 1 })).toBe(false);
  });

  it('a constructor that throws is retried with backoff, not thrown to the caller', () => {
    let calls = 0;
    class Broken {
      constructor() {
        calls++;
        throw new Error('bad url');
      }
    }
    const conn = createConnection({ url: URL, WebSocket: Broken, backoff: { base: 10, max: 10 } });
    vi.advanceTimersByTime(100);
    expect(calls).toBeGreaterThan(2);
    conn.close();
  });
});

describe('shared and independent connections', () => {
  it('connect() returns one connection per url; createConnection() always a new one', () => {
    const f = fakeSockets();
    const a = connect({ url: URL, WebSocket: f.WebSocket });
    expect(connect({ url: URL, WebSocket: f.WebSocket })).toBe(a);
    const b = createConnection({ url: URL, WebSocket: f.WebSocket });
    expect(b).not.toBe(a);
    expect(f.sockets.length).toBe(2);
    a.close();
    b.close();
  });

  it('close() on the shared connection resets it: a later connect() opens a new one', () => {
    const f = fakeSockets();
    const a = connect({ url: URL, WebSocket: f.WebSocket });
    a.close();
    const b = connect({ url: URL, WebSocket: f.WebSocket });
    expect(b).not.toBe(a);
    expect(f.sockets.length).toBe(2);
    b.close();
  });

  it('on() and onReplay() use the last shared connection by default', () => {
    const f = fakeSockets();
    const conn = connect({ url: URL, WebSocket: f.WebSocket });
    f.last().open();
    const stop = on('news').subscribe(() => {});
    expect(f.last().take()).toEqual([{ type: 'subscribe', topic: 'news' }]);
    stop();
    conn.close();
  });
});

describe('no socket during SSR', () => {
  it('without a document or an explicit WebSocket, connect() opens nothing and stores keep their initial value', () => {
    const spy = vi.fn();
    vi.stubGlobal('WebSocket', spy);
    try {
      const conn = connect({ url: URL });
      const seen = states(conn);
      const values: unknown[] = [];
      const stop = onReplay('chat', { since: 3 }).scan(['ssr'], (l, e) => [...l, e.event]).subscribe((v) => values.push(v));
      const statuses: unknown[] = [];
      onReplay('chat', { since: 3 }).status.subscribe((s) => statuses.push(s.state));
      // Even given the (inert) connection explicitly, a store stays idle on the server.
      const explicit = onReplay('chat', { since: 3, connection: conn });
      const stopExplicit = explicit.subscribe(() => {});
      explicit.status.subscribe((s) => statuses.push(s.state))();
      stopExplicit();
      on('chat').subscribe((v) => values.push(v))();
      stop();
      expect(spy).not.toHaveBeenCalled();
      expect(seen).toEqual(['closed']);
      expect(values).toEqual([['ssr'], null]);
      expect(statuses).toEqual(['idle', 'idle']);
      expect(conn.send('x')).toBe(false);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('importing the client module constructs no socket', async () => {
    const spy = vi.fn();
    vi.stubGlobal('WebSocket', spy);
    vi.stubGlobal('document', {});
    try {
      vi.resetModules();
      await import('./index.js');
      expect(spy).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('subscriptions', () => {
  let f: ReturnType<typeof fakeSockets>;
  beforeEach(() => {
    f = fakeSockets();
  });

  it('are ref-counted: one subscribe for two stores, one unsubscribe after the last', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    f.last().open();
    const a = on('t', { connection: conn }).subscribe(() => {});
    const b = on('t', { connection: conn }).subscribe(() => {});
    a();
    a(); // unsubscribing twice is harmless
    expect(f.last().take()).toEqual([{ type: 'subscribe', topic: 't' }]);
    b();
    expect(f.last().take()).toEqual([{ type: 'unsubscribe', topic: 't' }]);
    conn.close();
  });

  it('a subscribe released in the same tick leaves the server unsubscribed (reference A W21)', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    f.last().open();
    on('t', { connection: conn }).subscribe(() => {})();
    expect(f.last().take()).toEqual([{ type: 'subscribe', topic: 't' }, { type: 'unsubscribe', topic: 't' }]);
    conn.close();
  });

  it('are re-sent as one subscribe-batch after a reconnect, before anything else', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 1, max: 1 } });
    f.last().open();
    const stops = ['a', 'b', 'c'].map((t) => on(t, { connection: conn }).subscribe(() => {}));
    conn.send({ type: 'app' });
    f.last().drop();
    conn.send({ type: 'queued' });
    vi.advanceTimersByTime(5);
    f.last().open();
    expect(f.last().take()).toEqual([{ type: 'subscribe-batch', topics: ['a', 'b', 'c'] }, { type: 'queued' }]);
    stops.forEach((s) => s());
    conn.close();
  });

  it('a subscribe-batch holds at most 256 topics per frame', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const topics = Array.from({ length: 300 }, (_, i) => 't' + i);
    const stops = topics.map((t) => on(t, { connection: conn }).subscribe(() => {}));
    f.last().open();
    const frames = f.last().take();
    expect(frames.map((fr) => (fr.topics as string[]).length)).toEqual([256, 44]);
    expect(frames.flatMap((fr) => fr.topics as string[])).toEqual(topics);
    stops.forEach((s) => s());
    conn.close();
  });

  it('a subscribe-batch of long topics is split so that no frame passes 32 KiB', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const topics = Array.from({ length: 200 }, (_, i) => String(i).padStart(256, 'é'));
    const stops = topics.map((t) => on(t, { connection: conn }).subscribe(() => {}));
    f.last().open();
    const sent = f.last().sent;
    expect(sent.length).toBeGreaterThan(1);
    for (const text of sent) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(32 * 1024);
    expect(f.last().frames().flatMap((fr) => fr.topics as string[])).toEqual(topics);
    stops.forEach((s) => s());
    conn.close();
  });

  it('send() queues app frames until the socket opens, then sends them in order', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    expect(conn.send({ n: 1 })).toBe(true);
    expect(conn.send('raw')).toBe(true);
    f.last().open();
    expect(f.last().sent).toEqual(['{"n":1}', 'raw']);
    conn.close();
  });
});

describe('live frames', () => {
  it('cost one JSON.parse each, and the parsed frame is the event every subscriber gets', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const got: unknown[][] = [[], []];
    const store = on('t', { connection: conn });
    const stops = got.map((list) => store.subscribe((e) => e && list.push(e)));
    f.last().open();
    const parse = vi.spyOn(JSON, 'parse');
    f.last().receive(server.live('t', 'm', { x: 1 }, 1, 'E'));
    f.last().receive(server.plain('t', 'm', 'no seq'));
    expect(parse).toHaveBeenCalledTimes(2);
    expect(got[0]).toEqual([
      { topic: 't', event: 'm', data: { x: 1 }, seq: 1, epoch: 'E' },
      { topic: 't', event: 'm', data: 'no seq' },
    ]);
    expect(got[0]![0]).toBe(got[1]![0]);
    stops.forEach((s) => s());
    conn.close();
  });

  it('ignores unparseable text, binary data, non-objects and frames of other topics', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const got: unknown[] = [];
    const stop = on('t', { connection: conn }).subscribe((e) => e && got.push(e));
    f.last().open();
    for (const text of ['{', 'null', '3', '"s"', '[1]', '{"type":"subscribed","topic":"t"}', server.plain('u', 'm', 1)]) f.last().receive(text);
    f.last().onmessage?.({ data: new ArrayBuffer(2) });
    expect(got).toEqual([]);
    stop();
    conn.close();
  });

  it('a replay frame with primitive data on an on() topic never throws (reference A W16)', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const stop = onReplay('x', { since: 0, connection: conn }).subscribe(() => {});
    f.last().open();
    expect(() => f.last().receive('{"topic":"__replay:x","event":"msg","data":"str"}')).not.toThrow();
    expect(() => f.last().receive('{"topic":"__replay:x","event":"end","data":7}')).not.toThrow();
    stop();
    conn.close();
  });
});

export type { FakeSocket };
