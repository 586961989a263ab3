/**
 * The shared platform does not depend on import order: a buffer registered after the platform
 * was created (the first request hit a route that does not import it) is served from then on,
 * and a replay request that nothing can serve is answered, never dropped.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createReplay } from '../../src/memory/index.js';
import { createReplay as createRedisReplay } from '../../src/redis/index.js';
import { attach, closePlatform, getPlatform, registerHooks, registerReplay } from '../../src/ws/index.js';
import { useRedis } from '../helpers/redis-server.js';
import { TestClient } from '../helpers/ws-server.js';

const redis = useRedis();
const servers: Server[] = [];
const clients: TestClient[] = [];
const connections: Redis[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.terminate();
  await closePlatform();
  for (const r of connections.splice(0)) r.disconnect();
  await Promise.all(servers.splice(0).map((s) => (s.closeAllConnections(), new Promise<void>((resolve) => s.close(() => resolve())))));
  vi.restoreAllMocks();
});

async function listen(): Promise<string> {
  const server = createServer((_req, res) => res.end('a page that imports no buffer'));
  servers.push(server);
  attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
}

async function client(url: string): Promise<TestClient> {
  const c = await TestClient.connect(url);
  clients.push(c);
  return c;
}

describe('registerReplay and import order', () => {
  it('answers replays that nothing can serve with end {error: NO_REPLAY_BUFFER}, per item, and says once how to fix it', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    getPlatform();
    const c = await client(await listen());
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'one' });
    c.send({ type: 'replay-batch', items: [{ topic: 'a', since: 0, reqId: 'x' }, { topic: 'b"', since: 0, reqId: 'y' }, { topic: 'c', since: 3 }] });
    await c.until((f) => f.length >= 4);
    expect(c.frames).toEqual([
      { topic: '__replay:chat', event: 'end', data: { reqId: 'one', error: 'NO_REPLAY_BUFFER' } },
      { topic: '__replay:a', event: 'end', data: { reqId: 'x', error: 'NO_REPLAY_BUFFER' } },
      { type: 'error', code: 'INVALID_TOPIC', reqId: 'y' },
      { topic: '__replay:c', event: 'end', data: { error: 'NO_REPLAY_BUFFER' } },
    ]);
    const told = error.mock.calls.filter((call) => String(call[1]).includes('registerReplay'));
    expect(told).toHaveLength(1);
    expect((told[0]![1] as { code: string }).code).toBe('NO_REPLAY_BUFFER');
  });

  it('serves replays with a buffer registered after the platform was created and a socket opened', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const platform = getPlatform();
    const c = await client(await listen());
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'early' });
    await c.replayed('early');
    const replay = createReplay();
    registerReplay(replay);
    replay.publish(platform, 'chat', 'created', 'm1');
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'late' });
    expect(await c.replayed('late')).toEqual([
      { topic: '__replay:chat', event: 'msg', data: { reqId: 'late', seq: 1, event: 'created', data: 'm1' } },
      { topic: '__replay:chat', event: 'end', data: { reqId: 'late', seq: 1, epoch: replay.position('chat').epoch } },
    ]);
  });

  it('leaves replay frames to hooks.message when it exists and no buffer is registered (the seed handler)', async () => {
    const seen: string[] = [];
    registerHooks({ message: (_ws, { data }) => void seen.push(String(data)) });
    const c = await client(await listen());
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'seed' });
    await expect.poll(() => seen).toHaveLength(1);
    expect(JSON.parse(seen[0]!)).toEqual({ type: 'replay', topic: 'chat', since: 0, reqId: 'seed' });
    expect(c.frames).toEqual([]);
  });

  it('attaches a late Redis buffer\'s relay at once, for topics subscribed before it was registered', async () => {
    const prefix = `late-${Date.now()}:`;
    const platform = getPlatform();
    const c = await client(await listen());
    c.send({ type: 'subscribe', topic: 'room' });
    await c.take(1);
    const mine = new Redis(redis.server().port, '127.0.0.1');
    const theirs = new Redis(redis.server().port, '127.0.0.1');
    connections.push(mine, theirs);
    registerReplay(createRedisReplay(mine, { prefix }));
    // Another instance publishes; only the relay can bring its frame here.
    const other = createRedisReplay(theirs, { prefix });
    const nowhere = { publish: () => false, send: () => false };
    await vi.waitFor(async () => {
      expect(await theirs.pubsub('NUMSUB', `${prefix}{room}:c`)).toEqual([`${prefix}{room}:c`, 1]);
    });
    const seq = await other.publish(nowhere, 'room', 'said', 'hi');
    const frames = await c.take(2);
    const { epoch } = await other.position('room');
    expect(frames[1]).toEqual({ topic: 'room', event: 'said', data: 'hi', seq, epoch });
    expect(platform.subscribers('room')).toBe(1);
  });
});
