import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeSockets, server, type FakeSocket } from '../../test/helpers/fake-socket.js';
import { backoffDelay, openDelay } from './backoff.js';
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

  it('builds the default url from window.location and path, wss on https pages', () => {
    const f = fakeSockets();
    // A global `location` alone is not a page: the seed's client reads `window.location`.
    vi.stubGlobal('location', { protocol: 'https:', host: 'wrong.test' });
    vi.stubGlobal('window', { location: { protocol: 'https:', host: 'example.test:8443' } });
    try {
      createConnection({ WebSocket: f.WebSocket }).close();
      createConnection({ WebSocket: f.WebSocket, path: '/live' }).close();
      vi.stubGlobal('window', { location: { protocol: 'http:', host: 'localhost:5173' } });
      createConnection({ WebSocket: f.WebSocket }).close();
    } finally {
      vi.unstubAllGlobals();
    }
    expect(f.sockets.map((s) => s.url)).toEqual(['wss://example.test:8443/ws', 'wss://example.test:8443/live', 'ws://localhost:5173/ws']);
  });

  it('a fake window (as in the seed client tests) is a browser: the global WebSocket opens to its origin', () => {
    const f = fakeSockets();
    vi.stubGlobal('WebSocket', f.WebSocket);
    vi.stubGlobal('window', { location: { protocol: 'http:', host: 'app.test' } });
    try {
      const conn = connect();
      expect(f.sockets.map((s) => s.url)).toEqual(['ws://app.test/ws']);
      conn.close();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('a native shell (a window without location) that passes url uses the global WebSocket', () => {
    const f = fakeSockets();
    vi.stubGlobal('WebSocket', f.WebSocket);
    vi.stubGlobal('window', {});
    try {
      const conn = connect({ url: URL });
      expect(f.sockets.map((s) => s.url)).toEqual([URL]);
      conn.close();
      // Without url there is no origin to connect to: inert.
      expect(connect().closed).toBe(true);
      expect(f.sockets).toHaveLength(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('reconnects after a drop with full-jitter exponential delays, capped, reset by a socket that stayed open 1 s', () => {
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
    // A server that accepts and drops at once does not reset the backoff.
    f.last().open();
    f.last().drop();
    vi.advanceTimersByTime(698);
    expect(f.sockets.length).toBe(6);
    vi.advanceTimersByTime(1);
    expect(f.sockets.length).toBe(7);
    // One that worked for a second does.
    f.last().open();
    vi.advanceTimersByTime(1000);
    f.last().drop();
    vi.advanceTimersByTime(98);
    expect(f.sockets.length).toBe(7);
    vi.advanceTimersByTime(1);
    expect(f.sockets.length).toBe(8);
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
  it('without a window or an explicit WebSocket, connect() opens nothing and stores keep their initial value', () => {
    // A server may define document-like globals and a WebSocket (Node 22): only `window` makes a page.
    vi.stubGlobal('document', {});
    vi.stubGlobal('location', { protocol: 'http:', host: 'ssr.test' });
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
    vi.stubGlobal('window', { location: { protocol: 'http:', host: 'app.test' } });
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

  it('a subscribe released in the same tick leaves the server unsubscribed', () => {
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

  it('a replay frame with primitive data on an on() topic never throws', () => {
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

/** The server side closes the socket with `code` (1006: the path died without a close frame). */
function closeWith(s: FakeSocket, code: number): void {
  s.readyState = 3;
  (s.onclose as ((event: { code: number }) => void) | null)?.({ code });
}

const PING = (interval: number) => JSON.stringify({ type: 'ping', interval });

describe('heartbeat', () => {
  it('answers every ping but the one a socket gets as it opens; pings reach no store and no listener', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const live: unknown[] = [];
    const replayed: unknown[] = [];
    const stops = [on('t', { connection: conn }).subscribe((e) => e && live.push(e)), onReplay('t', { since: 0, connection: conn }).subscribe((e) => e && replayed.push(e))];
    f.last().open();
    f.last().take();
    // The server counts silence from the open: the first ping needs no answer.
    f.last().receive(PING(15000));
    expect(f.last().take()).toEqual([]);
    f.last().receive(PING(15000));
    f.last().receive('{"type":"ping","interval":15000,"topic":"t","event":"m","data":1}');
    expect(f.last().take()).toEqual([{ type: 'pong' }, { type: 'pong' }]);
    // A new socket starts over: its first ping again goes unanswered, the next is answered.
    conn.reconnect();
    f.last().open();
    f.last().take();
    f.last().receive(PING(15000));
    f.last().receive(PING(15000));
    expect(f.last().take()).toEqual([{ type: 'pong' }]);
    expect(live).toEqual([]);
    expect(replayed).toEqual([]);
    stops.forEach((s) => s());
    conn.close();
  });

  it('drops a socket silent for interval + grace after a ping and reconnects; frames keep it alive', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, heartbeatGrace: 500 });
    f.last().open();
    f.last().receive(PING(1000));
    // Frames every 1000 ms (less than 1500) for 10 s: the socket lives.
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(1000);
      f.last().receive(i % 2 === 0 ? PING(1000) : server.plain('x', 'm', i));
    }
    expect(f.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1499);
    expect(f.sockets[0]!.closedByClient).toBe(false);
    vi.advanceTimersByTime(1);
    expect(f.sockets[0]!.closedByClient).toBe(true);
    // It had worked: a blip, so the new socket comes within base / 2 (250 ms), not the backoff.
    // Not within base / 10 as after a 1006: every socket a server pinged in one sweep passes
    // its deadline in the same instant, and the wider window spreads that crowd.
    vi.advanceTimersByTime(250);
    expect(f.sockets).toHaveLength(2);
    conn.close();
  });

  it('after the deadline every store resumes from its position on the new socket', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, heartbeatGrace: 500 });
    const got: (number | undefined)[] = [];
    const stop = onReplay('chat', { since: { seq: 0, epoch: 'E' }, connection: conn }).subscribe((e) => e && got.push(e.seq));
    f.last().open();
    const req = f.last().take()[1]!;
    f.last().receive(PING(1000));
    f.last().receive(server.end('chat', req.reqId as number, { seq: 0, epoch: 'E' }));
    f.last().receive(server.live('chat', 'm', 1, 1, 'E'));
    f.last().receive(server.live('chat', 'm', 2, 2, 'E'));
    vi.advanceTimersByTime(1500);
    vi.advanceTimersByTime(250);
    expect(f.sockets).toHaveLength(2);
    f.last().open();
    expect(f.last().take()).toEqual([
      { type: 'subscribe-batch', topics: ['chat'] },
      { type: 'replay', topic: 'chat', since: 2, epoch: 'E', reqId: expect.any(Number) },
    ]);
    expect(got).toEqual([1, 2]);
    stop();
    conn.close();
  });

  it('uses one timer per connection, re-armed lazily: frames set no timers', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const stop = on('t', { connection: conn }).subscribe(() => {});
    f.last().open();
    f.last().receive(PING(15000));
    expect(vi.getTimerCount()).toBe(1);
    const set = vi.spyOn(globalThis, 'setTimeout');
    const clear = vi.spyOn(globalThis, 'clearTimeout');
    for (let s = 1; s <= 1000; s++) f.last().receive(server.live('t', 'm', s, s, 'E'));
    for (let i = 0; i < 10; i++) f.last().receive(PING(15000));
    expect(set).not.toHaveBeenCalled();
    expect(clear).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(1);
    stop();
    conn.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a server that never pings arms no deadline: a silent socket stays', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const stop = on('t', { connection: conn }).subscribe(() => {});
    f.last().open();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(600_000);
    expect(f.sockets).toHaveLength(1);
    expect(f.last().closedByClient).toBe(false);
    stop();
    conn.close();
  });

  it('heartbeat: false arms no deadline but still answers pings', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, heartbeat: false });
    f.last().open();
    f.last().receive(PING(1000));
    f.last().receive(PING(1000));
    expect(f.last().take()).toEqual([{ type: 'pong' }]);
    vi.advanceTimersByTime(600_000);
    expect(f.sockets).toHaveLength(1);
    expect(f.last().closedByClient).toBe(false);
    conn.close();
  });

  it('a dead socket is terminated when the implementation can (Node ws), not left to a close handshake', () => {
    const f = fakeSockets();
    let terminated = 0;
    class Terminable extends f.WebSocket {
      terminate(): void {
        terminated++;
        this.readyState = 3;
      }
    }
    const conn = createConnection({ url: URL, WebSocket: Terminable, heartbeatGrace: 100 });
    f.last().open();
    f.last().receive(PING(100));
    vi.advanceTimersByTime(200);
    expect(terminated).toBe(1);
    expect(f.sockets[0]!.closedByClient).toBe(false);
    conn.close();
  });
});

describe('reconnect policy', () => {
  let f: ReturnType<typeof fakeSockets>;
  beforeEach(() => {
    f = fakeSockets();
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
  });

  /** Ms until `ok()` holds (bounded). */
  function msUntil(ok: () => boolean): number {
    let waited = 0;
    while (!ok() && waited < 100_000) {
      vi.advanceTimersByTime(1);
      waited++;
    }
    return waited;
  }

  /** Ms until the next socket is created (bounded). */
  function waitForSocket(): number {
    const before = f.sockets.length;
    return msUntil(() => f.sockets.length !== before);
  }

  it('a socket that worked and died without a close frame (1006) is replaced within base / 10', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 } });
    f.last().open();
    vi.advanceTimersByTime(5000);
    closeWith(f.last(), 1006);
    expect(waitForSocket()).toBe(49);
    conn.close();
  });

  it('a server going away or restarting (1001, 1012, 1013) gets the full backoff', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 } });
    const waits: number[] = [];
    for (const code of [1001, 1012, 1013]) {
      f.last().open();
      vi.advanceTimersByTime(5000);
      closeWith(f.last(), code);
      waits.push(waitForSocket());
    }
    expect(waits).toEqual([499, 499, 499]);
    conn.close();
  });

  /** Every attempt fails without opening (the path is still down) until `until` ms after `from`; returns the attempts' times. */
  function failUntil(from: number, until: number): number[] {
    const times: number[] = [];
    while (true) {
      const waited = waitForSocket();
      const at = (times.at(-1) ?? from) + waited;
      times.push(at);
      if (at >= until || waited >= 100_000) return times.map((t) => t - from);
      closeWith(f.last(), 1006);
    }
  }

  it('after a blip whose first retry fails, retries once per base / 2 for 4 * base, then climbs the exponential backoff (herd protection)', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 } });
    f.last().open();
    vi.advanceTimersByTime(5000);
    closeWith(f.last(), 1006);
    const waits = [waitForSocket()];
    // The server is really gone: each attempt fails without opening.
    for (let i = 0; i < 10; i++) {
      closeWith(f.last(), 1006);
      waits.push(waitForSocket());
    }
    // At 49 ms, then at the end of each 250 ms slot up to 2 s (Math.random is 0.999), then the backoff from its start.
    expect(waits).toEqual([49, 450, 250, 250, 250, 250, 250, 250, 499, 999, 1998]);
    conn.close();
  });

  it('the quick retries land one in each base / 2 slot after the blip, at most 8, whatever the jitter', () => {
    for (const r of [0.5, 0.999]) {
      vi.spyOn(Math, 'random').mockReturnValue(r);
      const g = fakeSockets();
      f = g;
      const conn = createConnection({ url: URL, WebSocket: g.WebSocket, backoff: { base: 500, max: 30000 } });
      g.last().open();
      vi.advanceTimersByTime(5000);
      closeWith(g.last(), 1006);
      const from = Date.now();
      const slots: number[] = [];
      // Attempts until the first one at or after 2 s, which is the backoff's.
      while (slots.length === 0 || slots.at(-1)! < 8) {
        waitForSocket();
        slots.push(Math.floor((Date.now() - from) / 250));
        closeWith(g.last(), 1006);
      }
      // The first within 50 ms, then one in each later slot before 2 s; the backoff's comes after.
      expect(slots.slice(0, -1)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      conn.close();
    }
  });

  it('an outage of 1 s after a blip ends with the client back within base / 2 of the path returning, whatever the jitter', () => {
    for (const r of [0, 0.3, 0.7, 0.999]) {
      vi.spyOn(Math, 'random').mockReturnValue(r);
      const g = fakeSockets();
      f = g;
      const conn = createConnection({ url: URL, WebSocket: g.WebSocket, backoff: { base: 500, max: 30000 } });
      g.last().open();
      vi.advanceTimersByTime(5000);
      closeWith(g.last(), 1006);
      const times = failUntil(Date.now(), Date.now() + 1000);
      // The first attempt after the outage opens, and came less than one slot after it.
      expect(times.at(-1)! - 1000).toBeGreaterThanOrEqual(0);
      expect(times.at(-1)! - 1000).toBeLessThan(250);
      conn.close();
    }
  });

  it('a heartbeat deadline is a blip too, its first retry spread over base / 2: quick retries follow it while the path stays down', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 }, heartbeatGrace: 500 });
    f.last().open();
    f.last().receive(PING(1000));
    vi.advanceTimersByTime(1500);
    expect(f.sockets[0]!.closedByClient).toBe(true);
    const times = failUntil(Date.now(), Date.now() + 2000);
    // A 1006 would be retried by 49 ms (base / 10); a deadline, which a server's whole sweep of
    // sockets passes together, by 249 ms (base / 2), at the same jitter.
    expect(times.slice(0, 3)).toEqual([249, 499, 749]);
    conn.close();
  });

  it('a close frame during the quick retries (the server going away) ends them: the backoff takes over', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 } });
    f.last().open();
    vi.advanceTimersByTime(5000);
    closeWith(f.last(), 1006);
    const waits = [waitForSocket()];
    f.last().open();
    closeWith(f.last(), 1012);
    waits.push(waitForSocket());
    closeWith(f.last(), 1006);
    waits.push(waitForSocket());
    expect(waits).toEqual([49, 499, 999]);
    conn.close();
  });

  it('a socket that never worked gets no quick retries: a failed first connect waits out the backoff', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 } });
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      closeWith(f.last(), 1006);
      waits.push(waitForSocket());
    }
    expect(waits).toEqual([499, 999, 1998]);
    conn.close();
  });

  it('a socket that dies young (1006 within 1 s of opening) is not a blip: no fast reconnect loop', () => {
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 } });
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      f.last().open();
      closeWith(f.last(), 1006);
      waits.push(waitForSocket());
    }
    expect(waits).toEqual([499, 999, 1998]);
    conn.close();
  });

  describe('open timeout', () => {
    // A connect whose SYN the server's full accept queue dropped hangs for up to ~50 s of SYN
    // retransmits; the fake socket hangs the same way: it never opens and never closes.

    it('openDelay is uniform in [t, 2t), t = base * 2^slow capped at 8 * base', () => {
      vi.spyOn(Math, 'random').mockReturnValue(0);
      expect([0, 1, 2, 3, 4, 50].map((slow) => openDelay(100, slow))).toEqual([100, 200, 400, 800, 800, 800]);
      vi.spyOn(Math, 'random').mockReturnValue(0.999);
      expect([0, 1, 2, 3, 4, 50].map((slow) => openDelay(100, slow))).toEqual([199, 399, 799, 1599, 1599, 1599]);
    });

    it('an attempt that never opens is closed after its jittered timeout and counts as a failed attempt: the next follows the backoff', () => {
      const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 }, openTimeout: 1000 });
      const seen = states(conn);
      // floor(1.999 * 1000), then the backoff's first delay, floor(0.999 * 500).
      expect(msUntil(() => f.sockets[0]!.closedByClient)).toBe(1999);
      expect(f.sockets).toHaveLength(1);
      expect(waitForSocket()).toBe(499);
      // The second times out too (after a doubled timeout) and the backoff climbs.
      expect(msUntil(() => f.sockets[1]!.closedByClient)).toBe(3998);
      expect(waitForSocket()).toBe(999);
      expect(seen).toEqual(['connecting']);
      conn.close();
    });

    it('an abandoned socket that opens, speaks or closes late is ignored; the next attempt gets the subscriptions and the queue', () => {
      const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 }, openTimeout: 1000 });
      const seen = states(conn);
      const got: unknown[] = [];
      const stop = on('t', { connection: conn }).subscribe((e) => e && got.push(e));
      conn.send('queued');
      const late = f.last();
      vi.advanceTimersByTime(1999);
      expect(late.closedByClient).toBe(true);
      late.open();
      late.receive(server.plain('t', 'm', 1));
      late.drop();
      expect(late.sent).toEqual([]);
      expect(got).toEqual([]);
      expect(seen).toEqual(['connecting']);
      // Its late close scheduled nothing: the backoff's attempt is the only one.
      expect(waitForSocket()).toBe(499);
      expect(f.sockets).toHaveLength(2);
      f.last().open();
      expect(f.last().sent).toEqual([JSON.stringify({ type: 'subscribe-batch', topics: ['t'] }), 'queued']);
      expect(seen).toEqual(['connecting', 'open']);
      stop();
      conn.close();
    });

    it('doubles while attempts keep timing out, up to 8 times the option, and starts over after an open', () => {
      const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 10, max: 10 }, openTimeout: 100 });
      const timeouts: number[] = [];
      for (let i = 0; i < 6; i++) {
        timeouts.push(msUntil(() => f.last().closedByClient));
        waitForSocket();
      }
      expect(timeouts).toEqual([199, 399, 799, 1599, 1599, 1599]);
      // This one opens before its deadline, which is then gone: an open socket is never cut.
      vi.advanceTimersByTime(1000);
      f.last().open();
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(10_000);
      expect(f.last().closedByClient).toBe(false);
      // The server restarts: the next attempt's timeout is back at the start.
      closeWith(f.last(), 1012);
      expect(waitForSocket()).toBe(9);
      expect(msUntil(() => f.last().closedByClient)).toBe(199);
      conn.close();
    });

    it('an attempt that fails before its deadline leaves no deadline behind to cut the next socket', () => {
      const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 10, max: 10 }, openTimeout: 1000 });
      vi.advanceTimersByTime(100);
      f.last().drop();
      expect(vi.getTimerCount()).toBe(1);
      expect(waitForSocket()).toBe(9);
      f.last().open();
      vi.advanceTimersByTime(5000);
      expect(f.sockets).toHaveLength(2);
      expect(f.last().closedByClient).toBe(false);
      conn.close();
    });

    it('the quick retries after a blip stop at the first attempt that times out: the backoff takes over', () => {
      const conn = createConnection({ url: URL, WebSocket: f.WebSocket, backoff: { base: 500, max: 30000 }, openTimeout: 100 });
      f.last().open();
      vi.advanceTimersByTime(5000);
      closeWith(f.last(), 1006);
      expect(waitForSocket()).toBe(49);
      expect(msUntil(() => f.last().closedByClient)).toBe(199);
      // The next quick slot would be 251 ms away; the backoff's first delay is 499.
      expect(waitForSocket()).toBe(499);
      // A later attempt that fails at once does not bring the quick retries back.
      closeWith(f.last(), 1006);
      expect(waitForSocket()).toBe(999);
      conn.close();
    });

    it('is 4000 ms by default; openTimeout: false sets no timer and an attempt waits as long as the socket does', () => {
      vi.spyOn(Math, 'random').mockReturnValue(0);
      const byDefault = createConnection({ url: URL, WebSocket: f.WebSocket });
      expect(msUntil(() => f.last().closedByClient)).toBe(4000);
      byDefault.close();
      const g = fakeSockets();
      const off = createConnection({ url: URL, WebSocket: g.WebSocket, openTimeout: false });
      const seen = states(off);
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(600_000);
      expect(g.sockets).toHaveLength(1);
      expect(g.last().closedByClient).toBe(false);
      g.last().open();
      expect(seen).toEqual(['connecting', 'open']);
      off.close();
    });

    it('an invalid openTimeout throws a RangeError with INVALID_OPTION, also where no socket would be opened (SSR)', () => {
      for (const openTimeout of [0, -1, 1.5, NaN, Infinity, '4000', true, null]) {
        const bad = { url: URL, WebSocket: f.WebSocket, openTimeout: openTimeout as unknown as number };
        const error = expect.objectContaining({ name: 'RangeError', code: 'INVALID_OPTION', message: expect.stringContaining('openTimeout must be a positive integer (ms) or false') });
        expect(() => createConnection(bad)).toThrow(error);
        expect(() => connect(bad)).toThrow(error);
        expect(() => createConnection({ url: URL, openTimeout: openTimeout as unknown as number })).toThrow(error);
      }
      expect(f.sockets).toHaveLength(0);
    });
  });
});

describe('replay timeouts on one socket', () => {
  it('two in a row drop the socket; the stores resume on the next one', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, replayTimeout: 1000, backoff: { base: 100, max: 100 } });
    const stop = onReplay('chat', { since: { seq: 3, epoch: 'E' }, connection: conn }).subscribe(() => {});
    f.last().open();
    // The path died after the open: nothing comes back.
    vi.advanceTimersByTime(1999);
    expect(f.sockets[0]!.frames().filter((x) => x.type === 'replay')).toHaveLength(2);
    expect(f.sockets[0]!.closedByClient).toBe(false);
    vi.advanceTimersByTime(1);
    expect(f.sockets[0]!.closedByClient).toBe(true);
    expect(f.sockets[0]!.frames().filter((x) => x.type === 'replay')).toHaveLength(2);
    vi.advanceTimersByTime(50);
    expect(f.sockets).toHaveLength(2);
    f.last().open();
    expect(f.last().take()).toEqual([
      { type: 'subscribe-batch', topics: ['chat'] },
      { type: 'replay', topic: 'chat', since: 3, epoch: 'E', reqId: expect.any(Number) },
    ]);
    stop();
    conn.close();
  });

  it('a replay frame between two timeouts proves the path: the count starts over', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket, replayTimeout: 1000 });
    f.last().open();
    const a = onReplay('a', { since: { seq: 0, epoch: 'E' }, connection: conn }).subscribe(() => {});
    const b = onReplay('b', { since: { seq: 0, epoch: 'E' }, connection: conn }).subscribe(() => {});
    const [ra, rb] = f.last().frames().filter((x) => x.type === 'replay') as { reqId: number }[];
    f.last().receive(server.end('a', ra!.reqId, { seq: 0, epoch: 'E' }));
    vi.advanceTimersByTime(1000); // b times out once
    const rb2 = f.last().frames().filter((x) => x.type === 'replay').at(-1) as { reqId: number };
    expect(rb2.reqId).not.toBe(rb!.reqId);
    f.last().receive(server.msg('b', rb2.reqId, 1, 'm', 1));
    vi.advanceTimersByTime(1000); // silent again: the second timeout, but not in a row
    expect(f.sockets).toHaveLength(1);
    expect(f.last().closedByClient).toBe(false);
    a();
    b();
    conn.close();
  });
});

describe('on(topic, event)', () => {
  it('filters the live events of a topic by event name; the value is the whole event', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    const created: unknown[] = [];
    const all: unknown[] = [];
    const stops = [on('todos', 'created', { connection: conn }).subscribe((e) => e && created.push(e)), on('todos', { connection: conn }).subscribe((e) => e && all.push(e.event))];
    f.last().open();
    expect(f.last().take()).toEqual([{ type: 'subscribe-batch', topics: ['todos'] }]);
    f.last().receive(server.live('todos', 'created', { text: 'a' }, 1, 'E'));
    f.last().receive(server.live('todos', 'deleted', { text: 'a' }, 2, 'E'));
    f.last().receive(server.plain('todos', 'created', { text: 'b' }));
    f.last().receive(server.plain('other', 'created', { text: 'c' }));
    expect(created).toEqual([
      { topic: 'todos', event: 'created', data: { text: 'a' }, seq: 1, epoch: 'E' },
      { topic: 'todos', event: 'created', data: { text: 'b' } },
    ]);
    expect(all).toEqual(['created', 'deleted', 'created']);
    stops.forEach((s) => s());
    conn.close();
  });

  it('scan folds only the named event; an invalid event name throws a TypeError', () => {
    const f = fakeSockets();
    const conn = createConnection({ url: URL, WebSocket: f.WebSocket });
    let texts: string[] = [];
    const stop = on<{ text: string }>('todos', 'created', { connection: conn })
      .scan<string[]>([], (list, e) => [...list, e.data.text])
      .subscribe((v) => (texts = v));
    f.last().open();
    for (const [event, text] of [['created', 'a'], ['updated', 'x'], ['created', 'b']] as const) f.last().receive(server.plain('todos', event, { text }));
    expect(texts).toEqual(['a', 'b']);
    expect(() => on('todos', 'bad"name')).toThrow(TypeError);
    expect(() => on('todos', '')).toThrow(TypeError);
    stop();
    conn.close();
  });
});
