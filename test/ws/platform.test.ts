/** The `ws` platform over real sockets on 127.0.0.1: exact frames, order, limits. */
import { describe, expect, it } from 'vitest';
import { createReplay } from '../../src/memory/index.js';
import { delay, useWsServer, type TestClient } from '../helpers/ws-server.js';

const harness = useWsServer();
const { setup, client } = harness;

/** Stops the client's TCP socket from reading, so the server's writes pile up. */
function pauseReading(c: TestClient): { resume(): void } {
  const raw = (c.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  raw.pause();
  return raw;
}

describe('subscriptions', () => {
  it('acknowledges a subscribe with its ref and delivers live frames with the buffer seq and epoch', async () => {
    const replay = createReplay();
    const { platform } = await setup({ replay });
    const c = await client();
    c.send({ type: 'subscribe', topic: 'chat', ref: 1 });
    expect(await c.take(1)).toEqual([{ type: 'subscribed', topic: 'chat', ref: 1 }]);
    replay.publish(platform, 'chat', 'created', { text: 'hi' });
    const { epoch } = replay.position('chat');
    expect((await c.take(2))[1]).toEqual({ topic: 'chat', event: 'created', data: { text: 'hi' }, seq: 1, epoch });
  });

  it('sends one serialization of a live frame to every subscriber', async () => {
    const replay = createReplay();
    const { platform } = await setup({ replay });
    const subs = await Promise.all([client(), client(), client()]);
    for (const c of subs) c.send({ type: 'subscribe', topic: 'chat' });
    await Promise.all(subs.map((c) => c.take(1)));
    let calls = 0;
    replay.publish(platform, 'chat', 'created', { toJSON: () => (calls++, { v: 1 }) });
    const got = await Promise.all(subs.map(async (c) => (await c.take(2))[1]));
    expect(calls).toBe(1);
    expect(new Set(got.map((f) => JSON.stringify(f))).size).toBe(1);
  });

  it('denies invalid topics without echoing them, and system topics', async () => {
    await setup();
    const c = await client();
    c.send({ type: 'subscribe', topic: 'bad"topic', ref: 'a' });
    c.send({ type: 'subscribe', topic: '__replay:chat', ref: 'b' });
    c.send({ type: 'subscribe', topic: 42, ref: 'c' });
    expect(await c.take(3)).toEqual([
      { type: 'subscribe-denied', ref: 'a', reason: 'INVALID_TOPIC' },
      { type: 'subscribe-denied', topic: '__replay:chat', ref: 'b', reason: 'INVALID_TOPIC' },
      { type: 'subscribe-denied', ref: 'c', reason: 'INVALID_TOPIC' },
    ]);
  });

  it.each([
    ['false', () => false, 'FORBIDDEN'],
    ['a reason string', () => 'NOT_A_MEMBER', 'NOT_A_MEMBER'],
    ['a throw', () => { throw new Error('db down'); }, 'INTERNAL_ERROR'],
    ['a rejection', () => Promise.reject(new Error('db down')), 'INTERNAL_ERROR'],
    ['an async false', async () => false, 'FORBIDDEN'],
  ])('denies when the subscribe hook returns %s', async (_label, hook, reason) => {
    await setup({ hooks: { subscribe: hook } });
    const c = await client();
    c.send({ type: 'subscribe', topic: 'secret', ref: 9 });
    expect(await c.take(1)).toEqual([{ type: 'subscribe-denied', topic: 'secret', ref: 9, reason }]);
    expect(harness.server.platform.subscribers('secret')).toBe(0);
  });

  it('answers a subscribe-batch topic by topic and stops delivery after unsubscribe', async () => {
    const { platform } = await setup({ hooks: { subscribe: (_ws, topic) => topic !== 'no' } });
    const c = await client();
    c.send({ type: 'subscribe-batch', topics: ['a', 'no', 'b'], ref: 'r' });
    expect(await c.take(3)).toEqual([
      { type: 'subscribed', topic: 'a', ref: 'r' },
      { type: 'subscribe-denied', topic: 'no', ref: 'r', reason: 'FORBIDDEN' },
      { type: 'subscribed', topic: 'b', ref: 'r' },
    ]);
    c.send({ type: 'unsubscribe', topic: 'a' });
    await expect.poll(() => platform.subscribers('a')).toBe(0);
    platform.publish('a', 'e', 1);
    platform.publish('b', 'e', 2);
    expect((await c.take(4))[3]).toEqual({ topic: 'b', event: 'e', data: 2 });
  });

  it('rejects a subscribe-batch that is not an array of at most 256 topics', async () => {
    await setup();
    const c = await client();
    c.send({ type: 'subscribe-batch', topics: Array.from({ length: 257 }, (_, i) => `t${i}`), ref: 'r' });
    expect(await c.take(1)).toEqual([{ type: 'subscribe-denied', ref: 'r', reason: 'INVALID_FRAME' }]);
  });

  it('runs an async subscribe hook to completion before serving the next frame, so the replay misses nothing', async () => {
    const replay = createReplay();
    let release!: () => void;
    const hookDone = new Promise<void>((resolve) => (release = resolve));
    const { platform, wss } = await setup({ replay, hooks: { subscribe: () => hookDone.then(() => true) } });
    const c = await client();
    await expect.poll(() => wss.clients.size).toBe(1);
    let received = 0;
    [...wss.clients][0]!.on('message', () => received++);
    replay.publish(platform, 'chat', 'created', 1);
    const { epoch } = replay.position('chat');
    c.send({ type: 'subscribe', topic: 'chat' });
    c.send({ type: 'replay', topic: 'chat', since: 1, epoch, reqId: 'r' });
    // The race window is open: the server holds both frames while the gate is still deciding.
    await expect.poll(() => received).toBe(2);
    expect(c.frames).toEqual([]);
    // Published now: neither live (not subscribed yet) nor lost.
    replay.publish(platform, 'chat', 'created', 2);
    release();
    const frames = await c.replayed('r');
    expect(c.frames[0]).toEqual({ type: 'subscribed', topic: 'chat' });
    expect(frames).toEqual([
      { topic: '__replay:chat', event: 'msg', data: { reqId: 'r', seq: 2, event: 'created', data: 2 } },
      { topic: '__replay:chat', event: 'end', data: { reqId: 'r', seq: 2, epoch } },
    ]);
  });
});

describe('replay requests', () => {
  it('routes replay frames to the attached buffer, checking the subscribe gate first', async () => {
    const replay = createReplay();
    const { platform } = await setup({ replay, hooks: { subscribe: (_ws, topic) => (topic === 'secret' ? 'FORBIDDEN' : true) } });
    replay.publish(platform, 'secret', 'e', 'classified');
    replay.publish(platform, 'open', 'e', 'hello');
    const c = await client();
    c.send({ type: 'replay-batch', items: [{ topic: 'secret', since: 0, reqId: 's' }, { topic: 'open', since: 0, reqId: 'o' }] });
    await c.replayed('o');
    expect(c.frames).toEqual([
      { topic: '__replay:secret', event: 'denied', data: { reqId: 's', code: 'FORBIDDEN' } },
      { topic: '__replay:secret', event: 'end', data: { reqId: 's', denied: true } },
      { topic: '__replay:open', event: 'msg', data: { reqId: 'o', seq: 1, event: 'e', data: 'hello' } },
      { topic: '__replay:open', event: 'end', data: { reqId: 'o', seq: 1, epoch: replay.position('open').epoch } },
    ]);
  });

  it('leaves replay frames to the seed hooks.ws message handler when no buffer is attached', async () => {
    const replay = createReplay();
    const { platform } = await setup({
      hooks: {
        message(ws, { data, platform }) {
          const msg = JSON.parse(Buffer.from(data).toString());
          if (msg.type === 'replay') {
            replay.replay(ws, msg.topic, msg.since, platform, msg.reqId);
            return;
          }
        },
      },
    });
    replay.publish(platform, 'chat', 'created', { text: 'a' });
    const c = await client();
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'seed' });
    expect(await c.replayed('seed')).toEqual([
      { topic: '__replay:chat', event: 'msg', data: { reqId: 'seed', seq: 1, event: 'created', data: { text: 'a' } } },
      { topic: '__replay:chat', event: 'end', data: { reqId: 'seed', seq: 1, epoch: replay.position('chat').epoch } },
    ]);
  });

  it('answers hostile replay input with clear frames and keeps serving', async () => {
    const replay = createReplay();
    const { platform } = await setup({ replay });
    replay.publish(platform, 'chat', 'e', 1);
    const c = await client();
    c.send({ type: 'replay', topic: 'a"b\u0000', since: 0, reqId: 'x' });
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'y'.repeat(5000) });
    c.send({ type: 'replay', topic: 'chat', since: '3', reqId: 'z' });
    c.send({ type: 'replay-batch', items: 'nope' });
    c.send({ type: 'replay', topic: 'chat', since: 1, reqId: 'last' });
    await c.replayed('last');
    const epoch = replay.position('chat').epoch;
    expect(c.frames).toEqual([
      { type: 'error', code: 'INVALID_TOPIC', reqId: 'x' },
      { topic: '__replay:chat', event: 'msg', data: { seq: 1, event: 'e', data: 1 } },
      { topic: '__replay:chat', event: 'end', data: { seq: 1, epoch } },
      { topic: '__replay:chat', event: 'truncated', data: { reqId: 'z', reason: 'invalid', oldest: 1, seq: 1, epoch } },
      { topic: '__replay:chat', event: 'end', data: { reqId: 'z', seq: 1, epoch, truncated: true } },
      { type: 'error', code: 'INVALID_FRAME' },
      { topic: '__replay:chat', event: 'end', data: { reqId: 'last', seq: 1, epoch } },
    ]);
  });

  it('paces a replay to a reader that does not read instead of queueing it, and finishes it once the reader reads', async () => {
    const replay = createReplay();
    const maxBackpressure = 256 * 1024;
    const { platform, wss } = await setup({ replay, maxBackpressure });
    const payload = 'p'.repeat(16 * 1024);
    for (let i = 0; i < 1000; i++) replay.publish(platform, 'big', 'e', payload);
    const c = await client();
    const raw = pauseReading(c);
    c.send({ type: 'replay', topic: 'big', since: 0, reqId: 'r' });
    const [ws] = wss.clients;
    // The kernel buffers fill, then the server's own queue: it must stay near a quarter of the limit.
    await expect.poll(() => ws!.bufferedAmount, { timeout: 10_000 }).toBeGreaterThan(maxBackpressure / 4);
    let most = 0;
    for (let i = 0; i < 20; i++) {
      most = Math.max(most, ws!.bufferedAmount);
      await delay(10);
    }
    expect(most).toBeLessThan(maxBackpressure / 4 + 20 * 1024);
    expect(ws!.readyState).toBe(1);
    raw.resume();
    const frames = await c.replayed('r', 20_000);
    expect(frames.map((f) => (f.data as { seq: number }).seq)).toEqual([...Array.from({ length: 1000 }, (_, i) => i + 1), 1000]);
  });

  it('ends a paced in-memory replay at the last seq sent when the entries still to send were evicted meanwhile', async () => {
    const replay = createReplay({ size: 400 });
    const { platform, wss } = await setup({ replay, maxBackpressure: 256 * 1024 });
    const payload = 'p'.repeat(32 * 1024);
    for (let i = 0; i < 400; i++) replay.publish(platform, 'big', 'e', payload);
    const { epoch } = replay.position('big');
    const c = await client();
    const raw = pauseReading(c);
    c.send({ type: 'replay', topic: 'big', since: 0, reqId: 'r' });
    const [ws] = wss.clients;
    await expect.poll(() => ws!.bufferedAmount, { timeout: 10_000 }).toBeGreaterThan(64 * 1024);
    // While the replay waits for its reader, every entry it had still to send is overwritten.
    for (let i = 0; i < 400; i++) replay.publish(platform, 'big', 'e', 'new');
    raw.resume();
    const frames = await c.replayed('r', 20_000);
    const msgs = frames.filter((f) => f.event === 'msg').map((f) => (f.data as { seq: number }).seq);
    expect(msgs.length).toBeGreaterThan(0);
    expect(msgs.length).toBeLessThan(400);
    expect(msgs).toEqual(Array.from({ length: msgs.length }, (_, i) => i + 1));
    // `end` names exactly what was sent: the client asks for the rest (and learns of the eviction).
    expect(frames.at(-1)).toEqual({ topic: '__replay:big', event: 'end', data: { reqId: 'r', seq: msgs.length, epoch } });
  });

  it('closes a socket whose buffered live output passes maxBackpressure with 1013, leaving a contiguous prefix', async () => {
    const replay = createReplay();
    const { platform, wss } = await setup({ replay, maxBackpressure: 256 * 1024 });
    const c = await client();
    c.send({ type: 'subscribe', topic: 'big' });
    await c.take(1);
    const raw = pauseReading(c);
    const [ws] = wss.clients;
    const payload = 'p'.repeat(16 * 1024);
    let published = 0;
    while (ws!.readyState === 1 && published < 10_000) {
      replay.publish(platform, 'big', 'e', payload);
      published++;
      if (published % 50 === 0) await delay(1);
    }
    expect(ws!.readyState).not.toBe(1);
    raw.resume();
    expect((await c.closed).code).toBe(1013);
    const seqs = c.frames.slice(1).map((f) => f.seq);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs.length).toBeLessThanOrEqual(published);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });
});

describe('robustness and limits', () => {
  it('passes app frames, binary frames and malformed JSON to the message hook unchanged, in order', async () => {
    const seen: [string, boolean][] = [];
    await setup({
      hooks: {
        async message(_ws, { data, isBinary }) {
          await delay(5);
          seen.push([Buffer.from(data).toString(), isBinary]);
        },
      },
    });
    const c = await client();
    c.send('{"type":"chat","text":"hi"}');
    c.send('{not json');
    c.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    c.send('[1,2,3]');
    await expect.poll(() => seen.length).toBe(4);
    expect(seen).toEqual([
      ['{"type":"chat","text":"hi"}', false],
      ['{not json', false],
      ['\u0001\u0002\u0003', true],
      ['[1,2,3]', false],
    ]);
  });

  it('survives hooks that throw or reject', async () => {
    const replay = createReplay();
    await setup({
      replay,
      hooks: {
        message() {
          throw new Error('app bug');
        },
        open: () => Promise.reject(new Error('open bug')),
      },
    });
    const c = await client();
    c.send('{"type":"app"}');
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'after' });
    expect((await c.replayed('after')).map((f) => f.event)).toEqual(['end']);
  });

  it('closes a socket that sends a frame over maxPayload with 1009', async () => {
    await setup({ maxPayload: 1024 });
    const c = await client();
    c.send('x'.repeat(2048));
    expect((await c.closed).code).toBe(1009);
  });

  it('waits for an async open hook before handling the socket frames', async () => {
    const order: string[] = [];
    await setup({
      hooks: {
        async open() {
          await delay(50);
          order.push('open');
        },
        message(_ws, { data }) {
          order.push(Buffer.from(data).toString());
        },
      },
    });
    const c = await client();
    c.send('first');
    await expect.poll(() => order).toEqual(['open', 'first']);
  });

  it('calls the close hook and forgets the socket subscriptions', async () => {
    const closes: number[] = [];
    const { platform } = await setup({ hooks: { close: (_ws, { code }) => void closes.push(code) } });
    const c = await client();
    c.send({ type: 'subscribe', topic: 't' });
    await c.take(1);
    expect(platform.subscribers('t')).toBe(1);
    c.socket.close(4000);
    await expect.poll(() => closes).toEqual([4000]);
    expect(platform.subscribers('t')).toBe(0);
    expect(platform.connections).toBe(0);
  });

  it('close() closes every socket with 1001 and resolves when they are gone', async () => {
    const { platform } = await setup();
    const a = await client();
    const b = await client();
    await expect.poll(() => platform.connections).toBe(2);
    await platform.close();
    expect(platform.connections).toBe(0);
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
  });

  it('rejects bad topics, events and options from server code with clear errors', async () => {
    const { platform } = await setup();
    expect(() => platform.publish('a"b', 'e', 1)).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
    expect(() => platform.publish('t', '', 1)).toThrow(expect.objectContaining({ code: 'INVALID_EVENT' }));
    expect(() => platform.publish('t', 'e', 1n)).toThrow(expect.objectContaining({ code: 'UNSERIALIZABLE' }));
    expect(() => platform.publish('t', 'e', 1, { seq: -1 })).toThrow('options.seq must be a safe non-negative integer, got -1');
    const { createPlatform } = await import('../../src/ws/index.js');
    expect(() => createPlatform(harness.server.wss, { maxBackpressure: 0 })).toThrow('maxBackpressure must be a positive integer, got 0');
    expect(() => createPlatform(harness.server.wss, { replay: {} as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('send() delivers one envelope to one socket', async () => {
    const { platform, wss } = await setup();
    const c = await client();
    await expect.poll(() => wss.clients.size).toBe(1);
    const [ws] = wss.clients;
    expect(platform.send(ws!, 'direct', 'hello', { a: 1 })).toBe(true);
    expect(await c.take(1)).toEqual([{ topic: 'direct', event: 'hello', data: { a: 1 } }]);
  });
});
