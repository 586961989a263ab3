/** The server heartbeat over real sockets on 127.0.0.1, with a real dead path (no FIN, no RST). */
import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { delay, useWsServer } from '../helpers/ws-server.js';

const FAST = { interval: 300, timeout: 300 };

let proxy: TcpProxy | undefined;
const harness = useWsServer({
  endClients: 'terminate',
  async beforeStop() {
    await proxy?.close();
    proxy = undefined;
  },
});
const { setup, client } = harness;

describe('server heartbeat', () => {
  it('pings right after open with its interval, then every interval', async () => {
    await setup({ heartbeat: FAST });
    const c = await client();
    await c.until(() => c.pings.length >= 1);
    expect(c.pings[0]).toEqual({ type: 'ping', interval: 300 });
    const first = Date.now();
    await c.until(() => c.pings.length >= 3, 5000);
    // Two more pings take about two intervals (never fewer than two intervals less one sweep step).
    expect(Date.now() - first).toBeGreaterThanOrEqual(2 * 300 - 75 - 20);
    expect(c.frames).toEqual([]);
  });

  it('asks no answer of the ping at open: no protocol ping then, and a socket that answers only later pings stays', async () => {
    const { platform } = await setup({ heartbeat: FAST });
    const socket = new WebSocket(harness.server.url, { autoPong: false });
    const protocolPings: number[] = [];
    let jsonPings = 0;
    socket.on('ping', () => protocolPings.push(jsonPings));
    socket.on('message', (data) => {
      if (!String(data).startsWith('{"type":"ping"')) return;
      // The ping at open goes unanswered, as the Gapless client leaves it; every later one is answered.
      if (++jsonPings > 1) socket.send('{"type":"pong"}');
    });
    await new Promise((resolve) => socket.once('open', resolve));
    let closed = false;
    socket.on('close', () => (closed = true));
    await expect.poll(() => jsonPings, { timeout: 5000 }).toBeGreaterThanOrEqual(4);
    expect(closed).toBe(false);
    expect(platform.connections).toBe(1);
    // Protocol pings come with every ping of the interval (each noted with the JSON pings seen
    // so far, which arrive first), never with the one at open.
    expect(protocolPings.length).toBeGreaterThanOrEqual(2);
    expect(protocolPings[0]).toBe(2);
    socket.terminate();
  });

  it('keeps a socket that answers with pong frames only, and never hands pongs to hooks.message', async () => {
    const messages: string[] = [];
    const { platform } = await setup({ heartbeat: FAST, hooks: { message: (_ws, { data }) => void messages.push(String(data)) } });
    // A client that does not answer protocol pings: only its JSON pongs keep it alive.
    const socket = new WebSocket(harness.server.url, { autoPong: false });
    socket.on('message', (data) => {
      if (String(data).startsWith('{"type":"ping"')) socket.send('{"type":"pong"}');
    });
    await new Promise((resolve) => socket.once('open', resolve));
    let closed = false;
    socket.on('close', () => (closed = true));
    await delay(3 * (FAST.interval + FAST.timeout));
    expect(closed).toBe(false);
    expect(platform.connections).toBe(1);
    socket.send('app frame');
    await expect.poll(() => messages).toEqual(['app frame']);
    socket.terminate();
  });

  it('terminates a silent socket after interval + timeout', async () => {
    const { platform, wss } = await setup({ heartbeat: FAST });
    // Timed on the server side, where the silence is counted from.
    const serverSide = new Promise<number>((resolve) =>
      wss.once('connection', (ws) => {
        const opened = performance.now();
        ws.once('close', () => resolve(performance.now() - opened));
      }),
    );
    const socket = new WebSocket(harness.server.url, { autoPong: false });
    await new Promise((resolve) => socket.once('open', resolve));
    const code = await new Promise<number>((resolve) => socket.once('close', resolve));
    // Never early (a millisecond of slack for the two listeners' clock reads).
    expect(await serverSide).toBeGreaterThanOrEqual(FAST.interval + FAST.timeout - 1);
    // Terminated, not closed: no close frame was sent (1006 on this side).
    expect(code).toBe(1006);
    await expect.poll(() => platform.connections).toBe(0);
  });

  it('terminates a half-open socket and releases its subscriptions', async () => {
    const { platform } = await setup({ heartbeat: FAST });
    const healthy = await client();
    healthy.send({ type: 'subscribe', topic: 'room' });
    await healthy.take(1);
    const before = { connections: platform.connections, subscribers: platform.subscribers('room') };
    expect(before).toEqual({ connections: 1, subscribers: 1 });

    proxy = await startTcpProxy(Number(new URL(harness.server.url).port));
    const victim = await client(`ws://127.0.0.1:${proxy.port}/ws`);
    let victimClosed = false;
    void victim.closed.then(() => (victimClosed = true));
    victim.send({ type: 'subscribe', topic: 'room' });
    await victim.take(1);
    expect(platform.subscribers('room')).toBe(2);

    proxy.cut();
    const cutAt = Date.now();
    // The fault is real: the path carries nothing and neither end has seen a close.
    platform.publish('room', 'e', 1);
    await healthy.take(2);
    await delay(100);
    expect(victim.frames).toHaveLength(1);
    expect(victimClosed).toBe(false);
    expect(victim.socket.readyState).toBe(WebSocket.OPEN);
    expect(platform.connections).toBe(2);

    await expect.poll(() => platform.connections, { timeout: 10_000 }).toBe(before.connections);
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(FAST.interval + FAST.timeout - 100);
    expect(platform.subscribers('room')).toBe(before.subscribers);
    // The healthy socket answers protocol pings (ws does by itself), so it stays.
    platform.publish('room', 'e', 2);
    expect((await healthy.take(3))[2]).toEqual({ topic: 'room', event: 'e', data: 2 });
    // The client was never told: noticing is the client's own heartbeat's job.
    expect(victimClosed).toBe(false);
  });

  it('sends no ping and terminates nothing with heartbeat: false', async () => {
    const { platform } = await setup({ heartbeat: false });
    const socket = new WebSocket(harness.server.url, { autoPong: false });
    const frames: string[] = [];
    socket.on('message', (data) => frames.push(String(data)));
    await new Promise((resolve) => socket.once('open', resolve));
    await delay(500);
    expect(frames).toEqual([]);
    expect(platform.connections).toBe(1);
    socket.terminate();
  });

  it('rejects bad heartbeat options', async () => {
    const { createPlatform } = await import('../../src/ws/index.js');
    const { wss } = await setup({ heartbeat: false });
    expect(() => createPlatform(wss, { heartbeat: { interval: 0 } })).toThrow('heartbeat.interval must be a positive integer, got 0');
    expect(() => createPlatform(wss, { heartbeat: 5 as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('stops its timer on close()', async () => {
    const started = vi.spyOn(globalThis, 'setInterval');
    const cleared = vi.spyOn(globalThis, 'clearInterval');
    const { platform } = await setup({ heartbeat: FAST });
    expect(started).toHaveBeenCalledTimes(1);
    const timer = started.mock.results[0]!.value as NodeJS.Timeout;
    await platform.close();
    expect(cleared).toHaveBeenCalledWith(timer);
    started.mockRestore();
    cleared.mockRestore();
  });
});
