/**
 * The client against the real `ws` platform over a path that breaks the way a network blip
 * does: every connection closes without a close frame and new ones are refused for a while.
 */
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFaultProxy } from '../../bench/load/fault-proxy.js';
import { createConnection, type ConnectOptions } from '../../src/client/index.js';
import { watchStore } from '../helpers/store-watch.js';
import { createReplay } from '../../src/memory/index.js';
import { startServer } from '../helpers/ws-server.js';
import { cleanupAfterEach, until } from '../helpers/lifecycle.js';

const cleanups = cleanupAfterEach();

interface Attempt {
  at: number;
  opened: boolean;
  code?: number;
}

describe('reconnect after a network blip', () => {
  it('retries quickly but not in a loop while the path refuses, then the store ends with every message once, in order', async () => {
    const OUTAGE = 1000;
    const replay = createReplay({ size: 10_000 });
    const server = await startServer({ replay });
    cleanups.push(() => server.stop());
    const proxy = await startFaultProxy(Number(new URL(server.url).port));
    cleanups.push(() => proxy.close());

    const attempts: Attempt[] = [];
    class Recorded extends WebSocket {
      constructor(url: string) {
        super(url);
        const attempt: Attempt = { at: Date.now(), opened: false };
        attempts.push(attempt);
        this.on('open', () => (attempt.opened = true));
        this.on('close', (code) => (attempt.code = code));
      }
    }
    // base 100: quick retries one per 50 ms for 400 ms, then the backoff.
    const conn = createConnection({ url: `ws://127.0.0.1:${proxy.port}/ws`, WebSocket: Recorded as unknown as ConnectOptions['WebSocket'], backoff: { base: 100, max: 1000 } });
    cleanups.push(() => conn.close());
    const ssr = replay.position('feed');
    const view = watchStore('feed', ssr, conn);
    cleanups.push(() => view.stop());

    let n = 0;
    const publisher = setInterval(() => replay.publish(server.platform, 'feed', 'm', n++), 10);
    cleanups.push(() => clearInterval(publisher));
    // Worked for over a second before the blip: only then is a loss a blip.
    await until('live with messages for over a second', () => view.status?.state === 'live' && view.events.length >= 20 && Date.now() - attempts[0]!.at > 1200);

    const cutAt = Date.now();
    proxy.fault('storm', OUTAGE);
    await until('a socket open after the outage', () => attempts.length > 1 && attempts.at(-1)!.opened);
    // The fault really happened: the working socket closed without a close frame, and every
    // attempt made while the path refused failed without opening.
    expect(attempts[0]!.code).toBe(1006);
    const during = attempts.slice(1).filter((a) => a.at < cutAt + OUTAGE - 20);
    expect(during.every((a) => !a.opened)).toBe(true);
    // Quick retries (one per 50 ms slot for 400 ms; at least 5 even with late timers), where
    // one early retry and the backoff from its start would make about 3; then the backoff,
    // no tight loop.
    expect(during.filter((a) => a.at < cutAt + 500).length).toBeGreaterThanOrEqual(5);
    expect(during.length).toBeLessThanOrEqual(20);

    const target = n + 30;
    await until('30 more published', () => n >= target);
    clearInterval(publisher);
    const last = n;
    await until('caught up', () => view.status?.state === 'live' && view.status.seq === ssr.seq + last);
    expect(view.events.map((e) => e.data)).toEqual(Array.from({ length: last }, (_, i) => i));
    expect(view.status).toEqual({ state: 'live', outcome: 'ok', seq: ssr.seq + last, epoch: ssr.epoch });
  });
});
