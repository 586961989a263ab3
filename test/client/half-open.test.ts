/**
 * The client against the real `ws` platform with a short heartbeat, over a path that goes
 * half-open for real: a TCP proxy that stops forwarding both ways and closes nothing.
 */
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createConnection, type ConnectOptions } from '../../src/client/index.js';
import { watchStore } from '../helpers/store-watch.js';
import { createReplay } from '../../src/memory/index.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { startServer } from '../helpers/ws-server.js';
import { cleanupAfterEach, until } from '../helpers/lifecycle.js';

const cleanups = cleanupAfterEach();

interface Life {
  /** When a `close` event was seen on this end. */
  closedAt?: number;
  /** When the client itself dropped the socket. */
  droppedAt?: number;
  /** Messages published but not yet in the store when the client dropped the socket. */
  missingAtDrop?: number;
}

describe('heartbeat over a half-open path', () => {
  it('the client notices by its deadline, reconnects, and its store ends with every message once, in order', async () => {
    const INTERVAL = 300;
    const replay = createReplay({ size: 10_000 });
    // The server's own timeout is long, so that only the client can end the dead socket here.
    const server = await startServer({ replay, heartbeat: { interval: INTERVAL, timeout: 10_000 } });
    cleanups.push(() => server.stop());
    const serverSide: Life[] = [];
    server.wss.on('connection', (ws) => {
      const life: Life = {};
      serverSide.push(life);
      ws.on('close', () => (life.closedAt = Date.now()));
    });
    const proxy = await startTcpProxy(Number(new URL(server.url).port));
    cleanups.push(() => proxy.close());

    // The first socket takes the path that will die; the reconnect finds a new one (as a phone
    // that switched networks does).
    const clientSide: Life[] = [];
    class Routed extends WebSocket {
      readonly life: Life = {};
      constructor(url: string) {
        super(clientSide.length === 0 ? `ws://127.0.0.1:${proxy.port}/ws` : url);
        clientSide.push(this.life);
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
      // Counted here, not after the reconnect: the next socket replays and catches up within a
      // few ms, often before a poll could see it, and then nothing would look missing.
      private dropped(): void {
        if (this.life.droppedAt !== undefined) return;
        this.life.droppedAt = Date.now();
        this.life.missingAtDrop = n - view.events.length;
      }
    }
    const conn = createConnection({
      url: server.url,
      WebSocket: Routed as unknown as ConnectOptions['WebSocket'],
      // Generous beside the 300 ms pings, so that a loaded machine's pauses are not taken for a dead path.
      heartbeatGrace: 1500,
      replayTimeout: 30_000,
      backoff: { base: 20, max: 100 },
    });
    cleanups.push(() => conn.close());

    const ssr = replay.position('feed');
    const view = watchStore('feed', ssr, conn);
    cleanups.push(() => view.stop());

    let n = 0;
    const publisher = setInterval(() => replay.publish(server.platform, 'feed', 'm', n++), 10);
    cleanups.push(() => clearInterval(publisher));
    await until('live with messages', () => view.status?.state === 'live' && view.events.length >= 20);

    expect(clientSide).toHaveLength(1);
    const cutAt = Date.now();
    proxy.cut();
    await until('a second socket', () => clientSide.length === 2);
    const first = clientSide[0]!;
    // The fault really happened: the client dropped the socket itself, after the cut, and
    // neither end had seen a close event before that.
    expect(first.droppedAt).toBeGreaterThanOrEqual(cutAt);
    expect(first.closedAt === undefined || first.closedAt >= first.droppedAt!).toBe(true);
    expect(serverSide[0]!.closedAt).toBeUndefined();
    expect(first.missingAtDrop).toBeGreaterThan(0);

    // Recovery: messages kept flowing through the cut; the store gets every one once, in order.
    const target = n + 30;
    await until('30 more published', () => n >= target);
    clearInterval(publisher);
    const last = n;
    await until('caught up', () => view.status?.state === 'live' && view.status.seq === ssr.seq + last);
    expect(view.events.map((e) => e.data)).toEqual(Array.from({ length: last }, (_, i) => i));
    expect(view.events.map((e) => e.seq)).toEqual(Array.from({ length: last }, (_, i) => ssr.seq + i + 1));
    expect(view.status).toEqual({ state: 'live', outcome: 'ok', seq: ssr.seq + last, epoch: ssr.epoch });
  });
});
