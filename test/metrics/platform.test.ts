/**
 * A real platform and buffer (in memory, and in a real Redis) over real WebSockets on
 * 127.0.0.1, driven through every outcome the metrics count: publishes, replays that end ok,
 * evicted, reset, invalid, denied and (Redis) with an error, a subscribe denial, a hook that
 * throws, and sockets closed for each reason: backpressure, a missed heartbeat, a frame too
 * large, too many queued frames, a normal close and a server shutdown. The exposition is read
 * through a real Prometheus text parser and every counter is asserted exactly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { WebSocket } from 'ws';
import type { AnyReplay } from '../../src/core/types.js';
import { createReplay as createMemoryReplay } from '../../src/memory/index.js';
import { createMetrics, registerPromClient, type Metrics } from '../../src/metrics/index.js';
import { createReplay as createRedisReplay } from '../../src/redis/index.js';
import { gapless } from '../../src/vite/index.js';
import type { WsHooks } from '../../src/ws/hooks.js';
import { attach, closePlatform, getPlatform, registerHooks, registerLogger, registerMetrics, type Platform } from '../../src/ws/index.js';
import { useRedis } from '../helpers/redis-server.js';
import { delay, TestClient, useWsServer, type Frame } from '../helpers/ws-server.js';
import { recordingLogger } from './recording-logger.js';
import { scrape } from './scrape.js';

const harness = useWsServer({ endClients: 'terminate' });
const redis = useRedis();

const HOOKS: WsHooks<WebSocket, Platform> = {
  subscribe: (_ws, topic) => (topic.startsWith('secret') ? 'FORBIDDEN' : true),
  message(_ws, { data }) {
    const text = String(data);
    if (text === 'throw') throw new Error('the hook failed');
    // Keeps the socket busy for good: its later frames queue up.
    if (text === 'hang') return new Promise<void>(() => {});
  },
};

// A generous timeout: a loaded machine's stalls must not cut off the sockets that do answer.
const LIMITS = { heartbeat: { interval: 300, timeout: 2000 }, maxBackpressure: 64 * 1024, maxPayload: 4096, maxQueuedFrames: 4 };

let consoleSpies: MockInstance[] = [];
beforeEach(() => {
  consoleSpies = (['log', 'info', 'warn', 'error'] as const).map((level) => vi.spyOn(console, level).mockImplementation(() => {}));
});
afterEach(() => {
  consoleSpies.forEach((spy) => spy.mockRestore());
});

/** Stops the client's TCP socket from reading: the server's writes pile up. */
function pauseReading(c: TestClient): { resume(): void } {
  const raw = (c.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  raw.pause();
  return { resume: () => raw.resume() };
}

const events = (frames: Frame[]) => frames.map((f) => f.event);

interface Backend {
  name: 'memory' | 'redis';
  create(metrics: Metrics): AnyReplay;
}

const BACKENDS: Backend[] = [
  { name: 'memory', create: (metrics) => createMemoryReplay({ size: 3, metrics }) },
  {
    name: 'redis',
    // The Redis buffer's own series (publishes, Redis errors) are not asserted here; the
    // platform counts every replay it answers whichever buffer serves it.
    create: () => createRedisReplay(redis.client(), { size: 3, timeout: 400, prefix: `metrics-${Date.now()}:` }),
  },
];

describe.each(BACKENDS)('a platform with a registry, $name buffer', (backend) => {
  it('counts sockets, subscriptions, denials, caught errors, closes by reason and replays by outcome, exactly', async () => {
    const metrics = createMetrics();
    const logger = recordingLogger();
    const replay = backend.create(metrics);
    const { platform, url } = await harness.setup({ replay, metrics, logger, hooks: HOOKS, ...LIMITS });
    const read = () => scrape(metrics.text());

    // A subscriber, denied one topic; its msg frames are measured as they arrive.
    const a = await harness.client();
    const msgBytes: number[] = [];
    a.socket.on('message', (data: Buffer) => {
      if (data.includes('"event":"msg"')) msgBytes.push(data.length);
    });
    a.send({ type: 'subscribe', topic: 'chat', ref: 1 });
    a.send({ type: 'subscribe', topic: 'secret', ref: 2 });
    await a.take(2);
    expect(a.frames.map((f) => f.type)).toEqual(['subscribed', 'subscribe-denied']);
    const keeper = await harness.client();
    keeper.send({ type: 'subscribe', topic: 'chat', ref: 1 });
    await keeper.take(1);
    expect(read().value('gapless_sockets_open')).toBe(2);
    expect(read().value('gapless_subscriptions')).toBe(2);

    for (let i = 1; i <= 5; i++) await replay.publish(platform, 'chat', 'message', { i });
    await a.take(7);
    const { epoch } = await replay.position('chat');

    const ask = async (reqId: string, frame: Frame) => {
      a.send({ type: 'replay', reqId, ...frame });
      return events(await a.replayed(reqId));
    };
    expect(await ask('ok', { topic: 'chat', since: 4, epoch })).toEqual(['msg', 'end']);
    expect(await ask('evicted', { topic: 'chat', since: 0 })).toEqual(['truncated', 'msg', 'msg', 'msg', 'end']);
    expect(await ask('reset', { topic: 'fresh', since: 7 })).toEqual(['truncated', 'end']);
    expect(await ask('invalid', { topic: 'chat', since: -1 })).toEqual(['truncated', 'end']);
    expect(await ask('denied', { topic: 'secret', since: 0 })).toEqual(['denied', 'end']);
    a.send({ type: 'replay', topic: '', since: 0, reqId: 'no-topic' });
    await a.until((f) => f.some((x) => x.type === 'error'));
    expect(a.frames.at(-1)).toEqual({ type: 'error', code: 'INVALID_TOPIC', reqId: 'no-topic' });
    expect(msgBytes).toHaveLength(4);

    let errorReplays = 0;
    if (backend.name === 'redis') {
      // Redis stops answering: the read passes the buffer's timeout.
      redis.server().pause();
      try {
        a.send({ type: 'replay', topic: 'chat', since: 5, epoch, reqId: 'error' });
        expect(await a.replayed('error')).toEqual([{ topic: '__replay:chat', event: 'end', data: { reqId: 'error', error: 'TIMEOUT' } }]);
      } finally {
        redis.server().resume();
      }
      errorReplays = 1;
    }

    // A hook that throws: logged with its code, counted, the socket kept.
    a.send('throw');
    await expect.poll(() => read().value('gapless_errors_total', { code: 'INTERNAL_ERROR' })).toBe(1);

    // Backpressure: a subscriber that stops reading while live frames pile up.
    const slow = await harness.client();
    slow.send({ type: 'subscribe', topic: 'big', ref: 1 });
    await slow.take(1);
    const paused = pauseReading(slow);
    const payload = 'p'.repeat(16 * 1024);
    for (let i = 0; i < 1000 && platform.subscribers('big') > 0; i++) {
      platform.publish('big', 'e', payload);
      if (i % 20 === 19) await delay(1);
    }
    // The fault happened: the platform gave up on the socket.
    expect(platform.subscribers('big')).toBe(0);
    paused.resume();
    expect((await slow.closed).code).toBe(1013);

    // A peer that answers no ping at all (not even at the protocol level) is cut off.
    const silent = new WebSocket(url, { autoPong: false });
    const silentClosed = new Promise<number>((resolve) => silent.once('close', resolve));
    await new Promise((resolve) => silent.once('open', resolve));
    expect(await silentClosed).toBe(1006);

    // A frame over maxPayload; frames queued past maxQueuedFrames.
    const big = await harness.client();
    big.send('x'.repeat(5000));
    expect((await big.closed).code).toBe(1009);
    const flood = await harness.client();
    flood.send('hang');
    for (let i = 0; i < 6; i++) flood.send(`queued ${i}`);
    expect((await flood.closed).code).toBe(1008);

    // A normal close by the client, then the server shuts down with one socket left.
    a.close();
    await a.closed;
    await expect.poll(() => read().value('gapless_sockets_open')).toBe(1);
    await platform.close();
    await keeper.closed;

    const s = read();
    expect(s.value('gapless_sockets_open')).toBe(0);
    expect(s.value('gapless_subscriptions')).toBe(0);
    expect(s.series('gapless_socket_closes_total')).toEqual([
      { labels: { reason: 'backpressure' }, value: 1 },
      { labels: { reason: 'heartbeat' }, value: 1 },
      { labels: { reason: 'payload_too_large' }, value: 1 },
      { labels: { reason: 'policy' }, value: 1 },
      { labels: { reason: 'normal' }, value: 1 },
      { labels: { reason: 'going_away' }, value: 1 },
      { labels: { reason: 'other' }, value: 0 },
    ]);
    expect(s.series('gapless_denials_total')).toEqual([
      { labels: { code: 'FORBIDDEN' }, value: 1 },
      { labels: { code: 'INVALID_TOPIC' }, value: 0 },
      { labels: { code: 'LIMIT' }, value: 0 },
      { labels: { code: 'INTERNAL_ERROR' }, value: 0 },
      { labels: { code: 'other' }, value: 0 },
    ]);
    expect(s.series('gapless_replays_total')).toEqual([
      { labels: { outcome: 'ok' }, value: 1 },
      { labels: { outcome: 'truncated', reason: 'evicted' }, value: 1 },
      { labels: { outcome: 'truncated', reason: 'reset' }, value: 1 },
      { labels: { outcome: 'truncated', reason: 'invalid' }, value: 1 },
      { labels: { outcome: 'denied', reason: 'FORBIDDEN' }, value: 1 },
      { labels: { outcome: 'denied', reason: 'INVALID_TOPIC' }, value: 1 },
      { labels: { outcome: 'denied', reason: 'LIMIT' }, value: 0 },
      { labels: { outcome: 'denied', reason: 'INTERNAL_ERROR' }, value: 0 },
      { labels: { outcome: 'denied', reason: 'other' }, value: 0 },
      { labels: { outcome: 'error', reason: 'BACKEND_ERROR' }, value: 0 },
      { labels: { outcome: 'error', reason: 'TIMEOUT' }, value: errorReplays },
      { labels: { outcome: 'error', reason: 'other' }, value: 0 },
    ]);
    expect(s.value('gapless_replayed_messages_total')).toBe(4);
    expect(s.value('gapless_replayed_bytes_total')).toBe(msgBytes.reduce((sum, n) => sum + n, 0));
    // Replays that end ok or truncated are timed: all four when they wait on Redis; a sample
    // when the buffer answers at once, which starts with the first and thins out only when
    // replays come less than 10 ms apart.
    const timed = s.histogram('gapless_replay_duration_seconds').count;
    if (backend.name === 'redis') expect(timed).toBe(4);
    else expect(timed >= 1 && timed <= 4).toBe(true);
    expect(s.series('gapless_errors_total')).toEqual([
      { labels: { code: 'BACKEND_ERROR' }, value: 0 },
      { labels: { code: 'TIMEOUT' }, value: errorReplays },
      { labels: { code: 'INTERNAL_ERROR' }, value: 1 },
      { labels: { code: 'other' }, value: 0 },
    ]);
    if (backend.name === 'memory') expect(s.value('gapless_publishes_total', { backend: 'memory' })).toBe(5);

    // Everything went to the logger, with the prefix and the code; nothing to the console.
    const errors = logger.messages('error');
    expect(errors).toContain('[gapless-replay] message hook (INTERNAL_ERROR): the hook failed');
    if (backend.name === 'redis') expect(errors.some((m) => m.startsWith('[gapless-replay] replay failed (TIMEOUT): '))).toBe(true);
    expect(logger.messages('warn')).toContain('[gapless-replay] socket error (WS_ERR_UNSUPPORTED_MESSAGE_LENGTH): Max payload size exceeded');
    if (backend.name === 'memory') for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();

    // prom-client's registry shows the same values.
    const register = new Registry();
    registerPromClient(metrics, register);
    const theirs = scrape(await register.metrics());
    for (const [name, family] of s.families) {
      if (family.type === 'HISTOGRAM') expect(theirs.histogram(name).count).toBe(s.histogram(name).count);
      else expect(theirs.series(name)).toEqual(s.series(name));
    }
  });
});

describe('the shared platform', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await closePlatform();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
  });

  it('reports into a registry and a logger registered after sockets opened, counting those sockets too', async () => {
    server = createServer();
    attach(server);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
    let failUpgrades = false;
    registerHooks({
      upgrade: () => {
        if (failUpgrades) throw Object.assign(new Error('session store down'), { code: 'ECONNREFUSED' });
        return {};
      },
    });
    const early = await TestClient.connect(url);
    early.send({ type: 'subscribe', topic: 'chat', ref: 1 });
    await early.take(1);

    const metrics = createMetrics();
    const logger = recordingLogger();
    registerMetrics(metrics);
    registerLogger(logger);
    const read = () => scrape(metrics.text());
    expect(read().value('gapless_sockets_open')).toBe(1);
    expect(read().value('gapless_subscriptions')).toBe(1);

    failUpgrades = true;
    const refused = new WebSocket(url);
    refused.on('error', () => {});
    const status = await new Promise<number | undefined>((resolve) =>
      refused.once('unexpected-response', (req, res) => {
        resolve(res.statusCode);
        req.destroy();
      }),
    );
    expect(status).toBe(500);
    expect(logger.messages('error')).toEqual(['[gapless-replay] upgrade hook threw; refusing the WebSocket upgrade with 500 (ECONNREFUSED): session store down']);
    expect(read().value('gapless_errors_total', { code: 'other' })).toBe(1);

    early.close();
    await early.closed;
    await expect.poll(() => read().value('gapless_sockets_open')).toBe(0);
    expect(read().value('gapless_subscriptions')).toBe(0);
    expect(read().value('gapless_socket_closes_total', { reason: 'normal' })).toBe(1);
    expect(getPlatform().connections).toBe(0);
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
  });

  it("sends the Vite plugin's warnings to the logger given to the plugin", () => {
    const logger = recordingLogger();
    const plugin = gapless({ logger });
    (plugin.configureServer as (server: unknown) => void)({ httpServer: null });
    expect(logger.lines).toEqual([
      ['warn', '[gapless-replay] Vite runs in middleware mode (no httpServer): call attach(yourServer) from gapless-replay/ws yourself', []],
    ]);
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
  });

  it('refuses a metrics value that is not a registry, and a logger without warn and error', () => {
    expect(() => registerMetrics({} as never)).toThrow(/^metrics must be a registry from createMetrics\(\), got /);
    expect(() => registerLogger({ warn() {} } as never)).toThrow(/^logger must be an object with warn and error functions, got /);
  });
});
