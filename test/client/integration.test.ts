/**
 * The client against the real `ws` platform and the in-memory buffer, over loopback.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createConnection, onReplay, type Connection, type ConnectOptions, type LiveEvent, type ReplayStatus } from '../../src/client/index.js';
import { createReplay, type MemoryReplay } from '../../src/memory/index.js';
import { createPlatform, type Platform, type WsHooks } from '../../src/ws/index.js';
import { cleanupAfterEach, until } from '../helpers/lifecycle.js';

interface Server {
  url: string;
  port: number;
  replay: MemoryReplay;
  platform: Platform;
  wss: WebSocketServer;
  /** Every control frame type each socket sent, in order. */
  received: string[][];
  stop(): Promise<void>;
}

const cleanups = cleanupAfterEach();

async function startServer(options: { port?: number; replay?: MemoryReplay; hooks?: WsHooks<WebSocket, Platform>; noReplay?: boolean; maxBackpressure?: number } = {}): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0 });
  await once(wss, 'listening');
  const replay = options.replay ?? createReplay({ size: 1000 });
  const received: string[][] = [];
  wss.on('connection', (ws) => {
    const list: string[] = [];
    received.push(list);
    ws.on('message', (data) => {
      const type = (JSON.parse(String(data)) as { type?: string }).type;
      // Heartbeat answers come and go with the server's timer: not part of what these tests compare.
      if (type !== undefined && type !== 'pong') list.push(type);
    });
  });
  const platform = createPlatform(wss, {
    ...(options.noReplay ? {} : { replay }),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(options.maxBackpressure ? { maxBackpressure: options.maxBackpressure } : {}),
  });
  const port = (wss.address() as AddressInfo).port;
  let stopped = false;
  const server: Server = {
    url: `ws://127.0.0.1:${port}/ws`,
    port,
    replay,
    platform,
    wss,
    received,
    async stop() {
      if (stopped) return;
      stopped = true;
      await platform.close();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  cleanups.push(() => server.stop());
  return server;
}

function client(url: string, options: Partial<ConnectOptions> = {}): Connection {
  const conn = createConnection({ url, WebSocket: WebSocket as unknown as ConnectOptions['WebSocket'], replayTimeout: 2000, backoff: { base: 20, max: 100 }, ...options });
  cleanups.push(() => conn.close());
  return conn;
}

/** Mounts a scan store that records every event, and its status. */
function mount(store: ReturnType<typeof onReplay>) {
  const list = store.scan<LiveEvent[]>([], (acc, e) => {
    acc.push(e);
    return acc;
  });
  let events: LiveEvent[] = [];
  let status: ReplayStatus | undefined;
  const stopList = list.subscribe((v) => (events = v));
  const stopStatus = store.status.subscribe((s) => (status = s));
  const view = {
    get events() {
      return events;
    },
    get status() {
      return status!;
    },
    data: () => events.filter((e) => e.event === 'm').map((e) => e.data),
    names: () => events.map((e) => e.event),
    stop() {
      stopList();
      stopStatus();
    },
  };
  cleanups.push(() => view.stop());
  return view;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('client on the real ws platform', () => {
  it('delivers messages published before connect, during the replay and after, exactly once and in order', async () => {
    const server = await startServer();
    const { replay, platform } = server;
    for (let i = 1; i <= 5; i++) replay.publish(platform, 'chat', 'm', i - 5); // before the SSR read
    const ssr = replay.position('chat');
    let n = 0;
    for (; n < 20; n++) replay.publish(platform, 'chat', 'm', n); // the SSR gap
    // Keep publishing through connect, subscribe, replay and handoff.
    const publisher = setInterval(() => {
      if (n < 300) replay.publish(platform, 'chat', 'm', n++);
    }, 1);
    cleanups.push(() => clearInterval(publisher));
    const view = mount(onReplay('chat', { since: ssr, connection: client(server.url) }));
    await until('all 300 messages', () => n === 300 && view.data().length === 300);
    clearInterval(publisher);
    expect(view.data()).toEqual(range(0, 299));
    expect(view.events.map((e) => e.seq)).toEqual(range(6, 305));
    expect(view.status).toEqual({ state: 'live', outcome: 'ok', seq: 305, epoch: ssr.epoch });
  });

  it('a socket dropped mid-replay resumes from the last seq it got', async () => {
    const server = await startServer();
    const { replay, platform } = server;
    const ssr = replay.position('feed');
    for (let i = 1; i <= 200; i++) replay.publish(platform, 'feed', 'm', i);
    const conn = client(server.url);
    const store = onReplay('feed', { since: ssr, connection: conn });
    let dropped = false;
    // Drop the socket from inside the 50th replayed message: the rest of that replay is lost with it.
    const stop = store.subscribe((e) => {
      if (e?.seq === 50 && !dropped) {
        dropped = true;
        conn.reconnect();
      }
    });
    cleanups.push(stop);
    const view = mount(store);
    await until('caught up', () => view.status?.state === 'live' && view.status.seq === 200);
    expect(dropped).toBe(true);
    expect(view.data()).toEqual(range(1, 200));
    // The second socket asked from 50, not from the start.
    expect(server.received.length).toBe(2);
  });

  it('a socket the server kills in the middle of a replay ends with the full sequence', async () => {
    const server = await startServer();
    const { replay, platform } = server;
    const ssr = replay.position('big');
    for (let i = 1; i <= 500; i++) replay.publish(platform, 'big', 'm', i);
    // The first socket dies after 120 replayed frames have been written to it.
    let written = 0;
    let victim: WebSocket | undefined;
    server.wss.on('connection', (ws) => {
      if (victim !== undefined) return;
      victim = ws;
      const send = ws.send.bind(ws) as (...args: unknown[]) => void;
      (ws as { send: unknown }).send = (data: unknown, ...rest: unknown[]) => {
        if (String(data).includes('"event":"msg"') && ++written > 120) {
          ws.terminate();
          return;
        }
        send(data, ...rest);
      };
    });
    const view = mount(onReplay('big', { since: ssr, connection: client(server.url) }));
    await until('caught up', () => view.status?.state === 'live' && view.status.seq === 500);
    expect(written).toBeGreaterThan(120);
    expect(view.data()).toEqual(range(1, 500));
    expect(server.received.length).toBe(2);
  });

  it('a server restart (new buffer, new epoch) reports truncated with reason reset, then flows in the new epoch', async () => {
    const first = await startServer();
    const ssr = first.replay.position('news');
    first.replay.publish(first.platform, 'news', 'm', 'a1');
    const conn = client(first.url);
    const view = mount(onReplay('news', { since: ssr, connection: conn }));
    await until('first live', () => view.status?.state === 'live' && view.status.seq === 1);
    await first.stop();
    await until('connection lost', () => view.status.state === 'live' && statusOf(conn) !== 'open');
    const second = await startServer({ port: first.port });
    second.replay.publish(second.platform, 'news', 'm', 'b1');
    second.replay.publish(second.platform, 'news', 'm', 'b2');
    const epoch2 = second.replay.position('news').epoch;
    await until('reset', () => view.status?.epoch === epoch2);
    second.replay.publish(second.platform, 'news', 'm', 'b3');
    await until('b3', () => view.data().includes('b3'));
    expect(view.names()).toEqual(['m', 'truncated', 'm']);
    expect(view.data()).toEqual(['a1', 'b3']);
    expect(view.status).toEqual({ state: 'live', outcome: 'truncated', reason: 'reset', seq: 3, epoch: epoch2 });
  });

  it('a denied topic ends in the denied state with a synthetic denied event', async () => {
    const server = await startServer({ hooks: { subscribe: (_ws, topic) => topic !== 'secret' } });
    server.replay.publish(server.platform, 'secret', 'm', 'hidden');
    const view = mount(onReplay('secret', { since: 0, connection: client(server.url) }));
    await until('denied', () => view.status?.state === 'denied');
    expect(view.events).toEqual([{ topic: 'secret', event: 'denied', data: null, seq: 0 }]);
    expect(view.status).toEqual({ state: 'denied', reason: 'FORBIDDEN', seq: 0, epoch: undefined });
  });

  it('a revocation by server code ends a live store in denied, and later publishes to the topic never reach it', async () => {
    const server = await startServer();
    const { replay, platform } = server;
    const ssr = replay.position('room');
    replay.publish(platform, 'room', 'm', 1);
    const conn = client(server.url);
    const view = mount(onReplay('room', { since: ssr, connection: conn }));
    // A store on another topic of the same socket: frames of one socket arrive in order, so once
    // its message is here, a `room` frame sent before it would be here too.
    const other = mount(onReplay('other', { since: replay.position('other'), connection: conn }));
    await until('both live', () => view.status?.state === 'live' && view.data().length === 1 && other.status?.state === 'live');
    const [ws] = server.wss.clients;
    const sent: string[] = [];
    const send = ws!.send.bind(ws) as (...args: unknown[]) => void;
    (ws as { send: unknown }).send = (data: unknown, ...rest: unknown[]) => {
      sent.push(String(data));
      send(data, ...rest);
    };
    expect(platform.subscribers('room')).toBe(1);

    platform.unsubscribe(ws!, 'room', { reason: 'kicked' });
    expect(sent).toEqual(['{"type":"unsubscribed","topic":"room","reason":"kicked"}']);
    expect(platform.subscribers('room')).toBe(0);
    await until('denied', () => view.status.state === 'denied');
    expect(view.status).toEqual({ state: 'denied', reason: 'kicked', seq: 1, epoch: ssr.epoch });
    expect(view.names()).toEqual(['m', 'denied']);

    replay.publish(platform, 'room', 'm', 2);
    replay.publish(platform, 'other', 'm', 'after');
    await until('the message on the other topic', () => other.data().length === 1);
    expect(sent.slice(1).every((frame) => !frame.includes('"topic":"room"'))).toBe(true);
    expect(view.data()).toEqual([1]);
    expect(view.status.state).toBe('denied');
  });

  it('a server that never answers the first request is asked again after replayTimeout (seed-style message hook)', async () => {
    let asked = 0;
    const replay = createReplay();
    const server = await startServer({
      replay,
      noReplay: true,
      hooks: {
        message(ws, { data, platform }) {
          const msg = JSON.parse(String(data)) as { type: string; topic: string; since: number; epoch?: string; reqId: number };
          if (msg.type !== 'replay' || ++asked === 1) return; // the first request is lost
          void replay.replay(ws, msg.topic, msg.epoch ? { seq: msg.since, epoch: msg.epoch } : msg.since, platform, msg.reqId);
        },
      },
    });
    const ssr = replay.position('slow');
    replay.publish(server.platform, 'slow', 'm', 1);
    const started = Date.now();
    const view = mount(onReplay('slow', { since: ssr, connection: client(server.url, { replayTimeout: 150 }) }));
    await until('live', () => view.status?.state === 'live');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(asked).toBe(2);
    expect(view.data()).toEqual([1]);
    replay.publish(server.platform, 'slow', 'm', 2);
    await until('live 2', () => view.data().length === 2);
    expect(view.data()).toEqual([1, 2]);
  });

  it('two onReplay stores on one topic each get only their own replay', async () => {
    const server = await startServer();
    const { replay, platform } = server;
    const p0 = replay.position('t');
    for (let i = 1; i <= 3; i++) replay.publish(platform, 't', 'm', i);
    const p3 = replay.position('t');
    for (let i = 4; i <= 5; i++) replay.publish(platform, 't', 'm', i);
    const conn = client(server.url);
    const a = mount(onReplay('t', { since: p0, connection: conn }));
    const b = mount(onReplay('t', { since: p3, connection: conn }));
    await until('both live', () => a.status?.state === 'live' && b.status?.state === 'live');
    replay.publish(platform, 't', 'm', 6);
    await until('6 in both', () => a.data().length === 6 && b.data().length === 3);
    expect(a.data()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.data()).toEqual([4, 5, 6]);
  });

  it('a scan store unmounted and remounted folds every message exactly once', async () => {
    const server = await startServer();
    const { replay, platform } = server;
    const ssr = replay.position('room');
    replay.publish(platform, 'room', 'm', 1);
    const conn = client(server.url);
    const store = onReplay<number>('room', { since: ssr, connection: conn });
    const list = store.scan<number[]>([], (acc, e) => (e.event === 'm' ? [...acc, e.data] : acc));
    let value: number[] = [];
    let status: ReplayStatus | undefined;
    store.status.subscribe((s) => (status = s));
    let stop = list.subscribe((v) => (value = v));
    await until('1', () => value.length === 1 && status?.state === 'live');
    replay.publish(platform, 'room', 'm', 2);
    await until('2', () => value.length === 2);
    stop();
    replay.publish(platform, 'room', 'm', 3); // while unmounted
    replay.publish(platform, 'room', 'm', 4);
    stop = list.subscribe((v) => (value = v));
    cleanups.push(stop);
    await until('remount live', () => status?.state === 'live' && status.seq === 4);
    replay.publish(platform, 'room', 'm', 5);
    await until('5', () => value.length === 5);
    expect(value).toEqual([1, 2, 3, 4, 5]);
  });

  it('after the server drops every socket, all stores resume with one replay-batch after one subscribe-batch', async () => {
    const server = await startServer();
    const { replay, platform } = server;
    const topics = ['x', 'y', 'z'];
    const conn = client(server.url);
    const shared = topics.map((t) => mount(onReplay(t, { since: replay.position(t), connection: conn })));
    await until('live', () => shared.every((v) => v.status?.state === 'live'));
    const socketsBefore = server.received.length;
    for (const ws of server.wss.clients) ws.terminate();
    for (const t of topics) for (let i = 1; i <= 3; i++) replay.publish(platform, t, 'm', `${t}${i}`);
    await until('caught up', () => shared.every((v) => v.data().length === 3 && v.status.state === 'live'));
    expect(shared.map((v) => v.data())).toEqual(topics.map((t) => [`${t}1`, `${t}2`, `${t}3`]));
    const resumed = server.received.slice(socketsBefore).find((l) => l.includes('replay-batch'));
    expect(resumed).toEqual(['subscribe-batch', 'replay-batch']);
  });
});

function statusOf(conn: Connection): string {
  let s = '';
  conn.status.subscribe((v) => (s = v))();
  return s;
}
