/** Gate verdicts: one gate run per store activation, and revocation. Real sockets on 127.0.0.1. */
import { describe, expect, it } from 'vitest';
import { createReplay } from '../../src/memory/index.js';
import { useWsServer } from '../helpers/ws-server.js';

const harness = useWsServer();
const { setup, client } = harness;

function counting(verdict: (topic: string) => boolean | string) {
  const calls: string[] = [];
  return { calls, subscribe: (_ws: unknown, topic: string) => (calls.push(topic), verdict(topic)) };
}

describe('gate verdicts', () => {
  it('runs the gate once for a subscribe followed by a replay of the same topic', async () => {
    const replay = createReplay();
    const gate = counting(() => true);
    const { platform } = await setup({ replay, hooks: { subscribe: gate.subscribe } });
    replay.publish(platform, 'chat', 'e', 1);
    const c = await client();
    c.send({ type: 'subscribe', topic: 'chat' });
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'r' });
    expect((await c.replayed('r')).map((f) => f.event)).toEqual(['msg', 'end']);
    expect(gate.calls).toEqual(['chat']);
    // Later replays while subscribed (gap recovery) reuse it too.
    c.send({ type: 'replay', topic: 'chat', since: 0, reqId: 'again' });
    await c.replayed('again');
    expect(gate.calls).toEqual(['chat']);
  });

  it('reuses a denial for the replay that follows the subscribe, once', async () => {
    const replay = createReplay();
    const gate = counting(() => 'NOT_A_MEMBER');
    await setup({ replay, hooks: { subscribe: gate.subscribe } });
    const c = await client();
    c.send({ type: 'subscribe', topic: 'secret', ref: 1 });
    c.send({ type: 'replay', topic: 'secret', since: 0, reqId: 'r' });
    await c.replayed('r');
    expect(c.frames).toEqual([
      { type: 'subscribe-denied', topic: 'secret', ref: 1, reason: 'NOT_A_MEMBER' },
      { topic: '__replay:secret', event: 'denied', data: { reqId: 'r', code: 'NOT_A_MEMBER' } },
      { topic: '__replay:secret', event: 'end', data: { reqId: 'r', denied: true } },
    ]);
    expect(gate.calls).toEqual(['secret']);
    // A replay on its own (no subscribe before it) asks the gate.
    c.send({ type: 'replay', topic: 'secret', since: 0, reqId: 'alone' });
    await c.replayed('alone');
    expect(gate.calls).toEqual(['secret', 'secret']);
  });

  it('revocation stops delivery at once, tells the client, and makes the next replay ask the gate again', async () => {
    const replay = createReplay();
    let allowed = true;
    const gate = counting(() => allowed);
    const { platform, wss } = await setup({ replay, hooks: { subscribe: gate.subscribe } });
    const c = await client();
    c.send({ type: 'subscribe', topic: 'room' });
    await c.take(1);
    const [ws] = wss.clients;
    allowed = false;
    platform.unsubscribe(ws!, 'room', { reason: 'KICKED' });
    expect(platform.subscribers('room')).toBe(0);
    replay.publish(platform, 'room', 'e', 'after');
    c.send({ type: 'replay', topic: 'room', since: 0, reqId: 'r' });
    await c.replayed('r');
    expect(c.frames).toEqual([
      { type: 'subscribed', topic: 'room' },
      { type: 'unsubscribed', topic: 'room', reason: 'KICKED' },
      { topic: '__replay:room', event: 'denied', data: { reqId: 'r', code: 'FORBIDDEN' } },
      { topic: '__replay:room', event: 'end', data: { reqId: 'r', denied: true } },
    ]);
    expect(gate.calls).toEqual(['room', 'room']);
  });

  it('revocation stops a replay of that topic in progress', async () => {
    const replay = createReplay();
    const { platform, wss } = await setup({ replay, maxBackpressure: 256 * 1024 });
    const payload = 'p'.repeat(16 * 1024);
    for (let i = 0; i < 1000; i++) replay.publish(platform, 'room', 'e', payload);
    const c = await client();
    c.send({ type: 'subscribe', topic: 'room' });
    await c.take(1);
    const raw = (c.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    c.send({ type: 'replay', topic: 'room', since: 0, reqId: 'r' });
    const [ws] = wss.clients;
    // The replay is under way and waiting for the reader.
    await expect.poll(() => ws!.bufferedAmount, { timeout: 10_000 }).toBeGreaterThan(64 * 1024);
    platform.unsubscribe(ws!, 'room', { reason: 'KICKED' });
    c.send({ type: 'subscribe', topic: 'other', ref: 'next' });
    raw.resume();
    await c.until((f) => f.some((x) => x.ref === 'next'), 20_000);
    const msgs = c.frames.filter((f) => f.event === 'msg').map((f) => (f.data as { seq: number }).seq);
    expect(msgs.length).toBeGreaterThan(0);
    expect(msgs.length).toBeLessThan(1000);
    expect(msgs).toEqual(Array.from({ length: msgs.length }, (_, i) => i + 1));
    expect(c.frames.filter((f) => f.event === 'end')).toEqual([]);
    expect(c.frames.filter((f) => f.type !== undefined)).toEqual([
      { type: 'subscribed', topic: 'room' },
      { type: 'unsubscribed', topic: 'room', reason: 'KICKED' },
      { type: 'subscribed', topic: 'other', ref: 'next' },
    ]);
  });

  it('asks the gate again when a revocation lands while an async gate is deciding', async () => {
    let answers = [true, false];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const calls: number[] = [];
    const { platform, wss } = await setup({
      hooks: {
        subscribe: async () => {
          calls.push(calls.length);
          const answer = answers[calls.length - 1]!;
          if (calls.length === 1) await held;
          return answer;
        },
      },
    });
    const c = await client();
    c.send({ type: 'subscribe', topic: 'room', ref: 1 });
    await expect.poll(() => calls.length).toBe(1);
    platform.unsubscribe([...wss.clients][0]!, 'room', { reason: 'KICKED' });
    release();
    expect(await c.take(1)).toEqual([{ type: 'subscribe-denied', topic: 'room', ref: 1, reason: 'FORBIDDEN' }]);
    expect(calls).toHaveLength(2);
    expect(platform.subscribers('room')).toBe(0);
    answers = [];
  });

  it('unsubscribe without a reason sends nothing', async () => {
    const { platform, wss } = await setup({});
    const c = await client();
    c.send({ type: 'subscribe', topic: 'room' });
    await c.take(1);
    platform.unsubscribe([...wss.clients][0]!, 'room');
    platform.publish('room', 'e', 1);
    c.send({ type: 'subscribe', topic: 'other', ref: 'probe' });
    await c.take(2);
    expect(c.frames).toEqual([{ type: 'subscribed', topic: 'room' }, { type: 'subscribed', topic: 'other', ref: 'probe' }]);
    expect(() => platform.unsubscribe([...wss.clients][0]!, 'room', { reason: 5 as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
