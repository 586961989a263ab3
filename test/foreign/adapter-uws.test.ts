/**
 * What our buffer and client guarantee on svelte-adapter-uws's own platform, whose
 * `platform.publish` sends live frames without the buffer's seq and epoch (the README's section
 * "On svelte-adapter-uws's platform" states the same list). The server is the seed's: replays are
 * answered in `hooks.ws` with `replay.replay(ws, msg.topic, msg.since, platform, msg.reqId)`.
 */
import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createReplay } from '../../src/memory/index.js';
import { createConnection, onReplay, type Connection, type LiveEvent, type ReplayStatus, type ReplayStore } from '../../src/client/index.js';
import type { Position } from '../../src/core/types.js';
import { startAdapterUwsServer, type AdapterUwsServer, type UwsHooks, type UwsPlatform } from './adapter-uws-server.js';
import { cleanupAfterEach } from '../helpers/lifecycle.js';

interface Msg {
  id: string;
}

type Replay = ReturnType<typeof createReplay>;

const cleanups = cleanupAfterEach();

/**
 * The seed's `hooks.ws` `message` handler. With `subscribeBatch`, it also answers the client's
 * `subscribe-batch` frame, which svelte-adapter-uws 0.3 does not understand (the README's advice).
 */
function seedHooks(replay: Replay, options: { subscribeBatch: boolean; beforeReplay?: (platform: UwsPlatform) => void }): UwsHooks & { replays: number } {
  const hooks = {
    replays: 0,
    message(ws, { data, platform }) {
      const msg = JSON.parse(Buffer.from(data).toString());
      if (options.subscribeBatch && msg.type === 'subscribe-batch') {
        for (const topic of msg.topics) ws.subscribe(topic);
        return;
      }
      if (msg.type === 'replay') {
        hooks.replays++;
        options.beforeReplay?.(platform);
        void replay.replay(ws, msg.topic, msg.since, platform, msg.reqId);
      }
    },
  } satisfies UwsHooks & { replays: number };
  return hooks;
}

async function start(hooks: UwsHooks): Promise<AdapterUwsServer> {
  const server = await startAdapterUwsServer(hooks);
  cleanups.push(() => server.stop());
  return server;
}

function connection(server: AdapterUwsServer): Connection {
  const conn = createConnection({ url: server.url, WebSocket, backoff: { base: 10, max: 50 } });
  cleanups.push(() => conn.close());
  return conn;
}

/** Subscribes to the store (activating it) and records `[id, seq]` per event; a live frame has no seq. */
function record(store: ReplayStore<Msg>): { events: [string, number | undefined][]; status: () => ReplayStatus } {
  const events: [string, number | undefined][] = [];
  let status: ReplayStatus | undefined;
  cleanups.push(store.subscribe((e: LiveEvent<Msg> | null) => {
    if (e !== null) events.push([e.event === 'created' ? e.data.id : e.event, e.seq]);
  }));
  cleanups.push(store.status.subscribe((s) => (status = s)));
  return { events, status: () => status! };
}

async function until(what: string, check: () => boolean): Promise<void> {
  await vi.waitFor(() => {
    if (!check()) throw new Error(`still waiting for ${what}`);
  }, { timeout: 10_000, interval: 10 });
}

function publish(replay: Replay, platform: UwsPlatform, ...ids: string[]): void {
  for (const id of ids) replay.publish(platform, 'chat', 'created', { id });
}

describe('on svelte-adapter-uws platform semantics (live frames carry no seq and no epoch)', () => {
  it('its publish sends the bare envelope: the buffer\'s seq and epoch are dropped', async () => {
    const replay = createReplay();
    const server = await start(seedHooks(replay, { subscribeBatch: true }));
    const raw = new WebSocket(server.url);
    cleanups.push(() => raw.terminate());
    const frames: string[] = [];
    raw.on('message', (data) => frames.push(data.toString()));
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send(JSON.stringify({ type: 'subscribe', topic: 'chat' }));
    await until('the subscription', () => server.platform.subscribers('chat') === 1);
    publish(replay, server.platform, 'a');
    await until('the live frame', () => frames.length === 1);
    expect(replay.position('chat').seq).toBe(1);
    expect(frames).toEqual(['{"topic":"chat","event":"created","data":{"id":"a"}}']);
  });

  it('holds: what was published in the SSR gap is replayed once, in order, then live frames follow', async () => {
    const replay = createReplay();
    const server = await start(seedHooks(replay, { subscribeBatch: true }));
    const position: Position = replay.position('chat');
    publish(replay, server.platform, 'a', 'b', 'c'); // after SSR, before the socket
    const store = onReplay<Msg>('chat', { since: position, connection: connection(server) });
    const { events, status } = record(store);
    await until('the replay', () => status().state === 'live');
    publish(replay, server.platform, 'd');
    await until('the live frame', () => events.length === 4);
    expect(events).toEqual([['a', 1], ['b', 2], ['c', 3], ['d', undefined]]);
  });

  it('does not hold: a message published between the subscribe and the replay is delivered twice', async () => {
    const replay = createReplay();
    let raced = false;
    const hooks = seedHooks(replay, {
      subscribeBatch: true,
      beforeReplay(platform) {
        // The socket is subscribed already: this publish reaches it live AND lands in the replay.
        if (!raced) publish(replay, platform, 'race');
        raced = true;
      },
    });
    const server = await start(hooks);
    const store = onReplay<Msg>('chat', { since: replay.position('chat'), connection: connection(server) });
    const { events, status } = record(store);
    await until('both copies', () => events.length === 2 && status().state === 'live');
    // Replayed with its seq, then the live copy held during the replay: nothing ties them together.
    expect(events).toEqual([['race', 1], ['race', undefined]]);
    expect(status()).toMatchObject({ state: 'live', outcome: 'ok', seq: 1 });
  });

  /** A server on the seed hooks with 'a' stored, and a store on 'chat' from before it, live after replaying it. */
  async function replayedA(options: { subscribeBatch: boolean }) {
    const replay = createReplay();
    const hooks = seedHooks(replay, options);
    const server = await start(hooks);
    const position = replay.position('chat');
    publish(replay, server.platform, 'a');
    const conn = connection(server);
    const { events, status } = record(onReplay<Msg>('chat', { since: position, connection: conn }));
    await until('the replay', () => status().state === 'live');
    return { replay, hooks, server, conn, events, status };
  }

  it('does not hold: after a reconnect the store re-delivers by replay what it already got live', async () => {
    const { replay, hooks, server, conn, events, status } = await replayedA({ subscribeBatch: true });
    publish(replay, server.platform, 'b', 'c');
    await until('the live frames', () => events.length === 3);
    // Live frames without an epoch never move the position: it is still the replay's.
    expect(status().seq).toBe(1);
    conn.reconnect();
    await until('the second replay', () => hooks.replays === 2 && status().state === 'live' && events.length === 5);
    expect(events).toEqual([['a', 1], ['b', undefined], ['c', undefined], ['b', 2], ['c', 3]]);
    expect(status().seq).toBe(3);
  });

  it('does not hold: a live frame the platform drops goes unnoticed until the next reconnect', async () => {
    const replay = createReplay();
    const hooks = seedHooks(replay, { subscribeBatch: true });
    const server = await start(hooks);
    const conn = connection(server);
    const { events, status } = record(onReplay<Msg>('chat', { since: replay.position('chat'), connection: conn }));
    await until('the replay', () => status().state === 'live');
    server.dropPublishes(1);
    publish(replay, server.platform, 'lost', 'next');
    await until('the next live frame', () => events.length === 1);
    // The fault happened: 'lost' is stored (seq 1) but never reached the store...
    expect(replay.since('chat', 0).map((e) => e.data)).toEqual([{ id: 'lost' }, { id: 'next' }]);
    expect(events).toEqual([['next', undefined]]);
    // ...and nothing noticed: no replay was asked for, the store says it is live.
    expect(hooks.replays).toBe(1);
    expect(status()).toMatchObject({ state: 'live', outcome: 'ok' });
    conn.reconnect();
    await until('the replay after the reconnect', () => hooks.replays === 2 && events.length === 3);
    expect(events).toEqual([['next', undefined], ['lost', 1], ['next', 2]]);
  });

  it('does not hold without a subscribe-batch handler: svelte-adapter-uws 0.3 ignores the frame, so no live frames arrive', async () => {
    // Activated before the socket opens, as on every page load: it subscribes with subscribe-batch.
    const { replay, server, conn, events, status } = await replayedA({ subscribeBatch: false });
    expect(server.platform.subscribers('chat')).toBe(0);
    // A store activated on the open socket subscribes with a single `subscribe`, which the adapter
    // understands: its frame, published after the chat frame on the same socket, marks the point
    // by which a chat frame would have arrived.
    const probe = record(onReplay<Msg>('other', { since: 0, connection: conn }));
    await until('the probe subscription', () => server.platform.subscribers('other') === 1 && probe.status().state === 'live');
    publish(replay, server.platform, 'b');
    replay.publish(server.platform, 'other', 'created', { id: 'probe' });
    await until('the probe frame', () => probe.events.length === 1);
    expect(events).toEqual([['a', 1]]);
    expect(status()).toMatchObject({ state: 'live', outcome: 'ok', seq: 1 });
  });
});
