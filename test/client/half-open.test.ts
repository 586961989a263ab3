/**
 * The client against the real `ws` platform over a path that goes half-open for real: a TCP
 * proxy that stops forwarding both ways and closes nothing. Found by the heartbeat deadline, or,
 * from a server that never pings, by two replay timeouts in a row; and a server that never pings
 * on a path that stays fine costs the client nothing.
 */
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createConnection, type ConnectionState, type ConnectOptions } from '../../src/client/index.js';
import { watchStore, type WatchedStore } from '../helpers/store-watch.js';
import { createReplay } from '../../src/memory/index.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startServer, type TestServer } from '../helpers/ws-server.js';
import type { PlatformOptions } from '../../src/ws/index.js';
import { cleanupAfterEach, until } from '../helpers/lifecycle.js';

const cleanups = cleanupAfterEach();

interface Life {
  /** When a `close` event was seen on this end. */
  closedAt?: number;
  /** When the client itself dropped the socket. */
  droppedAt?: number;
  /** Every frame received on this end, as text, with when it came. */
  frames: { at: number; text: string }[];
}

/** One life per socket the server accepted, in order. */
function serverLives(server: TestServer): Life[] {
  const lives: Life[] = [];
  server.wss.on('connection', (ws) => {
    const life: Life = { frames: [] };
    lives.push(life);
    ws.on('message', (data) => life.frames.push({ at: Date.now(), text: String(data) }));
    ws.on('close', () => (life.closedAt = Date.now()));
  });
  return lives;
}

/**
 * A socket class for the client that records one life per socket in `lives`. Its first socket
 * goes to `first` when given (the path that will die); later ones go where the client asks (a
 * phone that switched networks finds a new path). `onDrop` runs the moment the client drops a
 * socket itself: the next socket can replay and catch up within a few ms, before a poll would
 * see that anything was missing.
 */
function routedSocket(lives: Life[], first?: string, onDrop?: () => void): ConnectOptions['WebSocket'] {
  class Routed extends WebSocket {
    readonly life: Life = { frames: [] };
    constructor(url: string) {
      super(lives.length === 0 && first !== undefined ? first : url);
      lives.push(this.life);
      this.on('message', (data) => this.life.frames.push({ at: Date.now(), text: String(data) }));
      this.on('close', () => (this.life.closedAt ??= Date.now()));
    }
    override terminate(): void {
      this.dropped();
      super.terminate();
    }
    override close(code?: number): void {
      this.dropped();
      super.close(code);
    }
    private dropped(): void {
      if (this.life.droppedAt !== undefined) return;
      this.life.droppedAt = Date.now();
      onDrop?.();
    }
  }
  return Routed as unknown as ConnectOptions['WebSocket'];
}

/** The fault really happened: the client dropped the socket itself, after the cut, and neither end had seen a close event before that. */
function expectDroppedByClient(client: Life, server: Life, cutAt: number): void {
  expect(client.droppedAt).toBeGreaterThanOrEqual(cutAt);
  expect(client.closedAt === undefined || client.closedAt >= client.droppedAt!).toBe(true);
  expect(server.closedAt).toBeUndefined();
}

const ascending = (count: number, from = 0) => Array.from({ length: count }, (_, i) => from + i);

interface LivePath {
  readonly proxy: TcpProxy;
  readonly serverSide: Life[];
  readonly clientSide: Life[];
  /** The store that was live before the test broke anything. */
  readonly view: WatchedStore;
  /** Messages published so far. */
  readonly published: number;
  /** Another store on the topic, from the same start. */
  watch(): WatchedStore;
  /** Publishes 30 more, stops, and expects each of `views` to end with every message once, in order. */
  finish(views: WatchedStore[]): Promise<void>;
}

/**
 * A client whose first socket goes through a TCP proxy the test can cut, with a store live on
 * `feed` while one message is published every 10 ms. `onDrop` runs when the client drops a socket.
 */
async function liveOverProxy(platform: PlatformOptions, client: Omit<ConnectOptions, 'url' | 'WebSocket'>, onDrop: (path: LivePath) => void): Promise<LivePath> {
  const replay = createReplay({ size: 10_000 });
  const server = await startServer({ ...platform, replay });
  cleanups.push(() => server.stop());
  const serverSide = serverLives(server);
  const proxy = await startTcpProxy(Number(new URL(server.url).port));
  cleanups.push(() => proxy.close());
  const clientSide: Life[] = [];
  const conn = createConnection({ ...client, url: server.url, WebSocket: routedSocket(clientSide, `ws://127.0.0.1:${proxy.port}/ws`, () => onDrop(path)) });
  cleanups.push(() => conn.close());

  const ssr = replay.position('feed');
  const watch = () => {
    const view = watchStore('feed', ssr, conn);
    cleanups.push(() => view.stop());
    return view;
  };
  let n = 0;
  const publisher = setInterval(() => replay.publish(server.platform, 'feed', 'm', n++), 10);
  cleanups.push(() => clearInterval(publisher));
  const path: LivePath = {
    proxy,
    serverSide,
    clientSide,
    view: watch(),
    get published() {
      return n;
    },
    watch,
    async finish(views) {
      const target = n + 30;
      await until('30 more published', () => n >= target);
      clearInterval(publisher);
      const last = n;
      for (const view of views) {
        await until('caught up', () => view.status?.state === 'live' && view.status.seq === ssr.seq + last);
        expect(view.events.map((e) => e.data)).toEqual(ascending(last));
        expect(view.events.map((e) => e.seq)).toEqual(ascending(last, ssr.seq + 1));
        expect(view.status).toEqual({ state: 'live', outcome: 'ok', seq: ssr.seq + last, epoch: ssr.epoch });
      }
    },
  };
  await until('live with messages', () => path.view.status?.state === 'live' && path.view.events.length >= 20);
  return path;
}

describe('heartbeat over a half-open path', () => {
  it('the client notices by its deadline, reconnects, and its store ends with every message once, in order', async () => {
    let missingAtDrop: number | undefined;
    const { proxy, serverSide, clientSide, view, finish } = await liveOverProxy(
      // The server's own timeout is long, so that only the client can end the dead socket here.
      { heartbeat: { interval: 300, timeout: 10_000 } },
      // Generous beside the 300 ms pings, so that a loaded machine's pauses are not taken for a dead path.
      { heartbeatGrace: 1500, replayTimeout: 30_000, backoff: { base: 20, max: 100 } },
      (path) => (missingAtDrop ??= path.published - path.view.events.length),
    );

    expect(clientSide).toHaveLength(1);
    const cutAt = Date.now();
    proxy.cut();
    await until('a second socket', () => clientSide.length === 2);
    expectDroppedByClient(clientSide[0]!, serverSide[0]!, cutAt);
    expect(missingAtDrop).toBeGreaterThan(0);

    // Recovery: messages kept flowing through the cut; the store gets every one once, in order.
    await finish([view]);
  });
});

describe('a server that never pings', () => {
  it('a path cut while a replay is outstanding: two replay timeouts drop the socket, and both stores end with every message once, in order', async () => {
    const REPLAY_TIMEOUT = 300;
    let late: WatchedStore | undefined;
    let atDrop: { at: number; reason: string | undefined } | undefined;
    const { proxy, serverSide, clientSide, view, watch, finish } = await liveOverProxy(
      { heartbeat: false },
      { replayTimeout: REPLAY_TIMEOUT, backoff: { base: 20, max: 100 } },
      () => (atDrop ??= { at: Date.now(), reason: late?.status?.reason }),
    );

    const cutAt = Date.now();
    proxy.cut();
    // Its replay request goes into the dead path. The live store has nothing outstanding and,
    // with no pings, no deadline: only the replay timeouts can find the dead path.
    const askedAt = Date.now();
    late = watch();
    await until('a second socket', () => clientSide.length === 2);

    // The fault really happened: no ping ever came (no deadline was armed), the server never
    // got the late store's requests, and the socket went only after two full replay timeouts,
    // with the store reporting the timeout.
    expectDroppedByClient(clientSide[0]!, serverSide[0]!, cutAt);
    expect(clientSide[0]!.frames.filter((f) => f.text.startsWith('{"type":"ping"'))).toEqual([]);
    expect(serverSide[0]!.frames.filter((f) => f.text.includes('"replay'))).toHaveLength(1);
    expect(atDrop!.at - askedAt).toBeGreaterThanOrEqual(2 * REPLAY_TIMEOUT);
    expect(atDrop!.reason).toBe('TIMEOUT');

    await finish([view, late]);
    expect(clientSide).toHaveLength(2);
  });

  it('arms no deadline: a socket idle for seconds stays the only one, and the next message arrives on it', async () => {
    const IDLE = 3000;
    const replay = createReplay();
    const server = await startServer({ replay, heartbeat: false });
    cleanups.push(() => server.stop());
    const serverSide = serverLives(server);
    const clientSide: Life[] = [];
    // A grace this short would end an idle socket within a fraction of the wait below, were any
    // deadline armed without a ping.
    const conn = createConnection({ url: server.url, WebSocket: routedSocket(clientSide), heartbeatGrace: 50 });
    cleanups.push(() => conn.close());
    const states: ConnectionState[] = [];
    cleanups.push(conn.status.subscribe((s) => states.push(s)));

    const ssr = replay.position('feed');
    const view = watchStore('feed', ssr, conn);
    cleanups.push(() => view.stop());
    replay.publish(server.platform, 'feed', 'm', 'before');
    await until('live with the first message', () => view.status?.state === 'live' && view.events.length === 1);

    const lastFrame = () => Math.max(...[...clientSide, ...serverSide].flatMap((life) => life.frames.map((f) => f.at)));
    await until(`${IDLE} ms without a frame either way`, () => Date.now() - lastFrame() >= IDLE, IDLE + 5000);
    expect(clientSide).toHaveLength(1);
    expect(serverSide).toHaveLength(1);
    expect(clientSide[0]!.droppedAt).toBeUndefined();
    expect(serverSide[0]!.closedAt).toBeUndefined();
    expect(states).toEqual(['connecting', 'open']);

    replay.publish(server.platform, 'feed', 'm', 'after');
    await until('the message published after the silence', () => view.events.length === 2);
    expect(view.events.map((e) => e.data)).toEqual(['before', 'after']);
    expect(clientSide).toHaveLength(1);
    expect(serverSide).toHaveLength(1);
  });
});
