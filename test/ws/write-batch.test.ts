/**
 * Frames the platform writes to one socket in one synchronous run leave in one write to the
 * kernel, over real sockets on 127.0.0.1, counted on the server's TCP socket.
 */
import { describe, expect, it } from 'vitest';
import type { WebSocket, WebSocketServer } from 'ws';
import { createReplay } from '../../src/memory/index.js';
import { watchWrites, type WriteWatch } from '../helpers/socket-writes.js';
import { useWsServer, type TestClient } from '../helpers/ws-server.js';

const { setup, client } = useWsServer();

/** Watches the server side of the only open socket, from now on. */
function serverWrites(wss: WebSocketServer): WriteWatch {
  const [ws] = wss.clients as Set<WebSocket>;
  return watchWrites((ws as unknown as { _socket: unknown })._socket);
}

/** A client whose first heartbeat ping has arrived, so nothing else is on its way. */
async function settledClient(): Promise<TestClient> {
  const c = await client();
  await expect.poll(() => c.pings.length).toBe(1);
  return c;
}

describe('writes per socket', () => {
  it('sends a replay answer of 50 frames in one write', async () => {
    const replay = createReplay();
    const { platform, wss } = await setup({ replay });
    for (let i = 1; i <= 50; i++) replay.publish(platform, 'chat', 'created', { i });
    const c = await settledClient();
    const writes = serverWrites(wss);
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'r' });
    const frames = await c.replayed('r');
    expect(frames.map((f) => (f.data as { seq: number }).seq)).toEqual([...Array.from({ length: 50 }, (_, i) => i + 1), 50]);
    // One write, or a few where a stalled process ran past a replay slice (4 ms) and the answer
    // went on in the next turn; one write per frame would be 51.
    expect(writes.handoffs.length).toBeGreaterThanOrEqual(1);
    expect(writes.handoffs.length).toBeLessThanOrEqual(5);
  });

  it('sends the live frames of one synchronous burst to a subscriber in one write, each in order', async () => {
    const replay = createReplay();
    const { platform, wss } = await setup({ replay });
    const c = await settledClient();
    c.send({ type: 'subscribe', topic: 'chat', ref: 1 });
    await c.take(1);
    const writes = serverWrites(wss);
    for (let i = 1; i <= 20; i++) replay.publish(platform, 'chat', 'created', { i });
    const frames = await c.take(21);
    expect(frames.slice(1).map((f) => [f.seq, (f.data as { i: number }).i])).toEqual(Array.from({ length: 20 }, (_, i) => [i + 1, i + 1]));
    expect(writes.handoffs).toHaveLength(1);
  });

  it('hands a long answer to the kernel as it goes instead of holding it to the end of a slice', async () => {
    const replay = createReplay();
    const { platform, wss } = await setup({ replay });
    const payload = 'p'.repeat(4000);
    for (let i = 0; i < 500; i++) replay.publish(platform, 'big', 'e', payload);
    const c = await settledClient();
    const writes = serverWrites(wss);
    c.send({ type: 'replay', topic: 'big', since: 0, reqId: 'r' });
    const frames = await c.replayed('r', 20_000);
    expect(frames).toHaveLength(501);
    // About 2 MB: held frames go to the kernel every 64 KiB, so dozens of writes. (Once the kernel
    // is full, Node queues the rest itself and writes it in one go, bounded by the replay's pace.)
    expect(writes.handoffs.length).toBeGreaterThan(20);
    expect(Math.max(...writes.handoffs.map((h) => h.bytes))).toBeLessThanOrEqual(256 * 1024 + 4200);
  });

  it('does not close a reading subscriber for a burst that its held frames alone would put over maxBackpressure', async () => {
    const replay = createReplay();
    const maxBackpressure = 64 * 1024;
    const { platform, wss } = await setup({ replay, maxBackpressure });
    const c = await settledClient();
    c.send({ type: 'subscribe', topic: 'chat', ref: 1 });
    await c.take(1);
    const writes = serverWrites(wss);
    // 96 KiB in one run: held until the run ends, it would pass the limit and close the socket.
    const payload = 'p'.repeat(4 * 1024);
    for (let i = 1; i <= 24; i++) replay.publish(platform, 'chat', 'e', payload);
    const frames = await c.take(25);
    expect(frames.slice(1).map((f) => f.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect([...wss.clients][0]!.readyState).toBe(1);
    expect(writes.handoffs.length).toBeGreaterThan(1);
  });
});
