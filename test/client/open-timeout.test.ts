/**
 * The client against a listener on 127.0.0.1 that accepts TCP connections and never answers
 * the WebSocket upgrade, as a server whose accept queue overflowed leaves a connect hanging:
 * the socket stays CONNECTING until something gives up on it.
 */
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createConnection, type ConnectionState, type ConnectOptions } from '../../src/client/index.js';
import { createReplay } from '../../src/memory/index.js';
import { watchStore } from '../helpers/store-watch.js';
import { startServer } from '../helpers/ws-server.js';
import { cleanupAfterEach, until } from '../helpers/lifecycle.js';

const cleanups = cleanupAfterEach();

interface Held {
  at: number;
  /** When the client closed the connection it gave up on. */
  closedAt?: number;
}

/** Holds every connection without a byte in reply until `answer()`; from then on forwards new ones to `target`. */
async function startSilentListener(target: number) {
  const held: Held[] = [];
  const sockets = new Set<Socket>();
  let answering = false;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (!answering) {
      const entry: Held = { at: Date.now() };
      held.push(entry);
      socket.on('close', () => (entry.closedAt = Date.now()));
      // Reads (and ignores) the upgrade request: a socket nobody reads never hears the FIN.
      socket.resume();
      return;
    }
    const upstream = tcpConnect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => {});
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`,
    held,
    answer: () => (answering = true),
  };
}

function statesOf(conn: { status: { subscribe(run: (s: ConnectionState) => void): () => void } }): ConnectionState[] {
  const seen: ConnectionState[] = [];
  cleanups.push(conn.status.subscribe((s) => seen.push(s)));
  return seen;
}

const Ws = WebSocket as unknown as ConnectOptions['WebSocket'];

interface Attempt {
  at: number;
  /** When the client closed it. */
  closedAt?: number;
}

/** Records when each attempt started and when the client closed it, on the client's own clock. */
function recordedWebSocket(attempts: Attempt[]): ConnectOptions['WebSocket'] {
  return class extends WebSocket {
    readonly attempt: Attempt = { at: Date.now() };
    constructor(url: string) {
      super(url);
      attempts.push(this.attempt);
    }
    override close(code?: number): void {
      this.attempt.closedAt ??= Date.now();
      super.close(code);
    }
  } as unknown as ConnectOptions['WebSocket'];
}

describe('open timeout against a listener that never answers the upgrade', () => {
  it('closes each hanging attempt after its timeout, which doubles, and opens once the server answers; the store catches up', async () => {
    const OPEN_TIMEOUT = 100;
    const replay = createReplay({ size: 1000 });
    const server = await startServer({ replay });
    cleanups.push(() => server.stop());
    const listener = await startSilentListener(Number(new URL(server.url).port));
    const ssr = replay.position('feed');
    for (let i = 0; i < 5; i++) replay.publish(server.platform, 'feed', 'm', i);

    const attempts: Attempt[] = [];
    const conn = createConnection({ url: listener.url, WebSocket: recordedWebSocket(attempts), openTimeout: OPEN_TIMEOUT, backoff: { base: 20, max: 100 } });
    cleanups.push(() => conn.close());
    const seen = statesOf(conn);
    const view = watchStore('feed', ssr, conn);
    cleanups.push(() => view.stop());

    await until('three hanging attempts given up', () => attempts.filter((a) => a.closedAt !== undefined).length >= 3);
    // Each waited at least its timeout's lower bound: t = 100, 200, 400 ms.
    attempts.slice(0, 3).forEach((a, k) => expect(a.closedAt! - a.at).toBeGreaterThanOrEqual(OPEN_TIMEOUT * 2 ** k - 1));
    // They were real connections the listener accepted, and the client's close reached it.
    await until('the listener saw them closed', () => listener.held.filter((h) => h.closedAt !== undefined).length >= 3);
    expect(seen).toEqual(['connecting']);

    const answeredAt = Date.now();
    listener.answer();
    await until('open', () => seen.at(-1) === 'open');
    // At most the attempt already hanging (t = 800 ms at most, jittered to under 1600) plus a
    // backoff; without the timeout it would hang for good (next test).
    expect(Date.now() - answeredAt).toBeLessThan(5000);
    // Every attempt the client gave up on was closed by it, none left hanging on the server.
    await until('every held connection closed', () => listener.held.every((h) => h.closedAt !== undefined));

    replay.publish(server.platform, 'feed', 'm', 5);
    await until('caught up', () => view.status?.state === 'live' && view.events.length === 6);
    expect(view.events.map((e) => e.data)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('with openTimeout: false the one attempt keeps hanging', async () => {
    const listener = await startSilentListener(1);
    const conn = createConnection({ url: listener.url, WebSocket: Ws, openTimeout: false, backoff: { base: 20, max: 100 } });
    cleanups.push(() => conn.close());
    const seen = statesOf(conn);
    await until('accepted', () => listener.held.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(listener.held).toHaveLength(1);
    expect(listener.held[0]!.closedAt).toBeUndefined();
    expect(seen).toEqual(['connecting']);
  });
});
