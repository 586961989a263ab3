/**
 * The contract every replay buffer keeps (API, wire frames, edge rules), written once and run against
 * each backend. Every call is awaited, so the synchronous memory buffer and the async Redis
 * buffer share it; differences are declared as capabilities, never branched on by name.
 */
import { describe, expect, it } from 'vitest';
import type { AnyReplay, Since } from '../../src/core/types.js';
import { ForeignPlatform, RecordingPlatform } from '../helpers/recording-platform.js';

export interface ContractBackend {
  /** A fresh, empty buffer that shares nothing with earlier ones (its own prefix on Redis). */
  create(options?: { size?: number; maxEntryBytes?: number }): Promise<AnyReplay>;
}

const EPOCH = /^[0-9A-Za-z_-]{1,32}$/;

function frames(platform: RecordingPlatform, ws = 'ws') {
  return platform.take(ws).map((f) => ('type' in f ? f : { topic: f.topic, event: f.event, data: f.data }));
}

export function describeReplayContract(name: string, backend: ContractBackend): void {
  describe(`${name}: replay buffer contract`, () => {
    async function filled(count: number, options?: { size?: number }, topic = 'chat') {
      const replay = await backend.create(options);
      const platform = new RecordingPlatform();
      for (let i = 1; i <= count; i++) await replay.publish(platform, topic, 'created', { n: i });
      const { epoch } = await replay.position(topic);
      platform.live.length = 0;
      return { replay, platform, epoch };
    }

    describe('publish', () => {
      it('assigns seq 1, 2, 3 without holes and returns it', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        expect(await replay.publish(platform, 'chat', 'created', { a: 1 })).toBe(1);
        expect(await replay.publish(platform, 'chat', 'created', { a: 2 })).toBe(2);
        expect(await replay.publish(platform, 'other', 'created', 'x')).toBe(1);
        expect(await replay.seq('chat')).toBe(2);
        expect(await replay.seq('never')).toBe(0);
      });

      it('delivers live after storing, stamped with the buffer seq and epoch', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        await replay.publish(platform, 'chat', 'created', { text: 'hi' });
        const { epoch } = await replay.position('chat');
        expect(epoch).toMatch(EPOCH);
        expect(platform.live).toEqual([{ topic: 'chat', event: 'created', data: { text: 'hi' }, seq: 1, epoch }]);
      });

      it.each([
        ['an empty topic', '', 'e', 'INVALID_TOPIC'],
        ['a topic with a quote', 'a"b', 'e', 'INVALID_TOPIC'],
        ['a topic with a backslash', 'a\\b', 'e', 'INVALID_TOPIC'],
        ['a topic with a newline', 'a\nb', 'e', 'INVALID_TOPIC'],
        ['a topic with DEL', 'a\x7fb', 'e', 'INVALID_TOPIC'],
        ['a 257-character topic', 'x'.repeat(257), 'e', 'INVALID_TOPIC'],
        ['a non-string topic', 42, 'e', 'INVALID_TOPIC'],
        ['an empty event', 'chat', '', 'INVALID_EVENT'],
        ['a 65-character event', 'chat', 'e'.repeat(65), 'INVALID_EVENT'],
        ['an event with a control character', 'chat', 'a\u0001', 'INVALID_EVENT'],
      ])('throws for %s and consumes no seq', async (_label, topic, event, code) => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        await replay.publish(platform, 'chat', 'created', 1);
        await expect(async () => replay.publish(platform, topic as string, event, 2)).rejects.toMatchObject({ code });
        expect(await replay.publish(platform, 'chat', 'created', 3)).toBe(2);
        expect(platform.live.map((f) => f.seq)).toEqual([1, 2]);
      });

      it('accepts non-ASCII topics and events', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        expect(await replay.publish(platform, 'chat/日本語 🎉', 'créé', 1)).toBe(1);
        expect(await replay.since('chat/日本語 🎉', 0)).toEqual([{ seq: 1, topic: 'chat/日本語 🎉', event: 'créé', data: 1 }]);
      });

      it.each([
        ['a BigInt', () => 1n],
        ['a cycle', () => { const o: Record<string, unknown> = {}; o.self = o; return o; }],
      ])('throws UNSERIALIZABLE for %s and consumes no seq', async (_label, make) => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        await expect(async () => replay.publish(platform, 'chat', 'created', make())).rejects.toMatchObject({ code: 'UNSERIALIZABLE' });
        expect(await replay.seq('chat')).toBe(0);
        expect(await replay.publish(platform, 'chat', 'created', 'ok')).toBe(1);
        expect(platform.live).toHaveLength(1);
      });

      it('throws ENTRY_TOO_LARGE for an entry over maxEntryBytes, counted in UTF-8 bytes, and consumes no seq', async () => {
        const replay = await backend.create({ maxEntryBytes: 20 });
        const platform = new RecordingPlatform();
        // Event "e" (1 byte) + JSON "\"xxx…\"": 1 + 2 + n bytes.
        expect(await replay.publish(platform, 'chat', 'e', 'x'.repeat(17))).toBe(1);
        await expect(async () => replay.publish(platform, 'chat', 'e', 'x'.repeat(18))).rejects.toThrow('entry of 21 bytes exceeds maxEntryBytes 20 (topic "chat", event "e")');
        // 6 UTF-16 units, 21 UTF-8 bytes: a limit counted in units would let it through.
        await expect(async () => replay.publish(platform, 'chat', 'e', '日本語日本語')).rejects.toMatchObject({ code: 'ENTRY_TOO_LARGE', name: 'RangeError' });
        await expect(async () => replay.publish(platform, 'chat', 'e', 'y'.repeat(5_000_000))).rejects.toMatchObject({ code: 'ENTRY_TOO_LARGE' });
        expect(await replay.publish(platform, 'chat', 'e', 'ok')).toBe(2);
        expect(platform.live.map((f) => f.seq)).toEqual([1, 2]);
        expect((await replay.since('chat', 0)).map((e) => e.data)).toEqual(['x'.repeat(17), 'ok']);
      });

      it('accepts an entry of exactly 1 MiB by default and rejects one byte more', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        const fits = 'x'.repeat(1024 * 1024 - 3);
        expect(await replay.publish(platform, 'big', 'e', fits)).toBe(1);
        await expect(async () => replay.publish(platform, 'big', 'e', fits + 'x')).rejects.toMatchObject({ code: 'ENTRY_TOO_LARGE' });
        expect(await replay.seq('big')).toBe(1);
      });

      it.each([[0], [-1], [1.5], ['1024'], [null]])('rejects maxEntryBytes = %s at construction, naming the option', async (value) => {
        await expect(backend.create({ maxEntryBytes: value as number })).rejects.toMatchObject({
          code: 'INVALID_OPTION',
          message: expect.stringMatching(/^maxEntryBytes must be a positive integer, got /),
        });
      });

      it('stores and sends undefined, functions and symbols as null, live and on replay', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        await replay.publish(platform, 'chat', 'a');
        await replay.publish(platform, 'chat', 'b', () => 1);
        await replay.publish(platform, 'chat', 'c', Symbol('s'));
        expect(platform.live.map((f) => f.data)).toEqual([null, null, null]);
        expect((await replay.since('chat', 0)).map((e) => e.data)).toEqual([null, null, null]);
        await replay.replay('ws', 'chat', 0, platform, 'r');
        const msgs = frames(platform).filter((f) => f.event === 'msg');
        expect(msgs.map((f) => f.data)).toEqual([
          { reqId: 'r', seq: 1, event: 'a', data: null },
          { reqId: 'r', seq: 2, event: 'b', data: null },
          { reqId: 'r', seq: 3, event: 'c', data: null },
        ]);
      });

      it('runs toJSON once, at publish, and protects history from later mutation', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        let calls = 0;
        const item = { text: 'first', toJSON() { calls++; return { text: this.text }; } };
        await replay.publish(platform, 'chat', 'created', item);
        item.text = 'rewritten';
        await replay.replay('ws', 'chat', 0, platform);
        await replay.replay('ws', 'chat', 0, platform);
        const entries = await replay.since('chat', 0);
        expect(calls).toBe(1);
        expect(entries[0]!.data).toEqual({ text: 'first' });
        expect(frames(platform).filter((f) => f.event === 'msg').map((f) => (f.data as { data: unknown }).data)).toEqual([{ text: 'first' }, { text: 'first' }]);
      });

      it('keeps the entry when the platform throws, so the seq has no hole', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        const failing = Object.assign(new RecordingPlatform(), {
          publishJson() {
            throw new Error('socket layer down');
          },
        });
        await replay.publish(platform, 'chat', 'created', 1);
        await expect(async () => replay.publish(failing, 'chat', 'created', 2)).rejects.toThrow('socket layer down');
        expect(await replay.publish(platform, 'chat', 'created', 3)).toBe(3);
        expect((await replay.since('chat', 0)).map((e) => e.data)).toEqual([1, 2, 3]);
      });

      it('works with a platform that has only publish and send (svelte-adapter-uws)', async () => {
        const replay = await backend.create();
        const platform = new ForeignPlatform();
        await replay.publish(platform, 'chat', 'created', { text: 'hi' });
        const { epoch } = await replay.position('chat');
        expect(platform.published).toEqual([['chat', 'created', { text: 'hi' }, { seq: 1, epoch }]]);
        await replay.replay('ws', 'chat', 0, platform, 'r1');
        expect(platform.sent).toEqual([
          ['ws', '__replay:chat', 'msg', { reqId: 'r1', seq: 1, event: 'created', data: { text: 'hi' } }],
          ['ws', '__replay:chat', 'end', { reqId: 'r1', seq: 1, epoch }],
        ]);
      });

      it('rejects a missing platform before consuming a seq', async () => {
        const replay = await backend.create();
        await expect(async () => replay.publish(undefined as never, 'chat', 'created', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        expect(await replay.seq('chat')).toBe(0);
      });
    });

    describe('position', () => {
      it('fixes the epoch of a topic with no state, and the first publish keeps it', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        const before = await replay.position('fresh');
        expect(before).toEqual({ seq: 0, epoch: expect.stringMatching(EPOCH) });
        expect(await replay.position('fresh')).toEqual(before);
        await replay.publish(platform, 'fresh', 'created', 1);
        expect(await replay.position('fresh')).toEqual({ seq: 1, epoch: before.epoch });
        await replay.replay('ws', 'fresh', before, platform, 'r');
        expect(frames(platform).map((f) => f.event)).toEqual(['msg', 'end']);
      });

      it('positions() reads many topics at once', async () => {
        const { replay, epoch } = await filled(3);
        const result = await replay.positions(['chat', 'empty']);
        expect(result.chat).toEqual({ seq: 3, epoch });
        expect(result.empty).toEqual({ seq: 0, epoch: expect.stringMatching(EPOCH) });
        expect(Object.keys(result).sort()).toEqual(['chat', 'empty']);
      });

      it('gives each topic life its own epoch: clearTopic and clear start new ones', async () => {
        const { replay, platform, epoch } = await filled(2);
        await replay.publish(platform, 'other', 'e', 1);
        const otherEpoch = (await replay.position('other')).epoch;
        await replay.clearTopic('chat');
        const afterTopic = await replay.position('chat');
        expect(afterTopic.seq).toBe(0);
        expect(afterTopic.epoch).not.toBe(epoch);
        expect((await replay.position('other')).epoch).toBe(otherEpoch);
        await replay.clear();
        expect(await replay.seq('other')).toBe(0);
        expect((await replay.position('other')).epoch).not.toBe(otherEpoch);
      });
    });

    describe('since', () => {
      it('returns entries after since, ascending, in the seed shape', async () => {
        const { replay, epoch } = await filled(4);
        expect(await replay.since('chat', 2)).toEqual([
          { seq: 3, topic: 'chat', event: 'created', data: { n: 3 } },
          { seq: 4, topic: 'chat', event: 'created', data: { n: 4 } },
        ]);
        expect(await replay.since('chat', { seq: 3, epoch })).toEqual([{ seq: 4, topic: 'chat', event: 'created', data: { n: 4 } }]);
        expect(await replay.since('chat', 4)).toEqual([]);
        expect(await replay.since('nothing', 0)).toEqual([]);
      });

      it('returns copies: mutating them does not change history', async () => {
        const { replay } = await filled(1);
        const [entry] = await replay.since('chat', 0);
        (entry!.data as { n: number }).n = 99;
        entry!.event = 'changed';
        expect(await replay.since('chat', 0)).toEqual([{ seq: 1, topic: 'chat', event: 'created', data: { n: 1 } }]);
      });

      it.each([[-1], [NaN], [1.5], ['3'], [1e21], [Infinity], [null], [{}], [{ seq: 1 }]])('returns [] for since = %s', async (since) => {
        const { replay } = await filled(3);
        expect(await replay.since('chat', since as number)).toEqual([]);
      });

      it('returns [] for a position from another epoch', async () => {
        const { replay } = await filled(3);
        expect(await replay.since('chat', { seq: 1, epoch: 'someotherepoch' })).toEqual([]);
      });
    });

    describe('replay frames', () => {
      it('sends msg frames in seq order then one end, each with the reqId', async () => {
        const { replay, platform, epoch } = await filled(3);
        await replay.replay('ws', 'chat', 1, platform, 'req-1');
        expect(frames(platform)).toEqual([
          { topic: '__replay:chat', event: 'msg', data: { reqId: 'req-1', seq: 2, event: 'created', data: { n: 2 } } },
          { topic: '__replay:chat', event: 'msg', data: { reqId: 'req-1', seq: 3, event: 'created', data: { n: 3 } } },
          { topic: '__replay:chat', event: 'end', data: { reqId: 'req-1', seq: 3, epoch } },
        ]);
      });

      it('answers a caught-up client with end only, and end without reqId is an object', async () => {
        const { replay, platform, epoch } = await filled(2);
        await replay.replay('ws', 'chat', { seq: 2, epoch }, platform);
        expect(frames(platform)).toEqual([{ topic: '__replay:chat', event: 'end', data: { seq: 2, epoch } }]);
      });

      it('reports evicted entries with a leading truncated frame, then what is left', async () => {
        const { replay, platform, epoch } = await filled(5, { size: 3 });
        await replay.replay('ws', 'chat', { seq: 1, epoch }, platform, 7);
        expect(frames(platform)).toEqual([
          { topic: '__replay:chat', event: 'truncated', data: { reqId: 7, reason: 'evicted', oldest: 3, seq: 5, epoch } },
          { topic: '__replay:chat', event: 'msg', data: { reqId: 7, seq: 3, event: 'created', data: { n: 3 } } },
          { topic: '__replay:chat', event: 'msg', data: { reqId: 7, seq: 4, event: 'created', data: { n: 4 } } },
          { topic: '__replay:chat', event: 'msg', data: { reqId: 7, seq: 5, event: 'created', data: { n: 5 } } },
          { topic: '__replay:chat', event: 'end', data: { reqId: 7, seq: 5, epoch, truncated: true } },
        ]);
      });

      it('is not truncated when since is exactly one before the oldest buffered entry', async () => {
        const { replay, platform } = await filled(5, { size: 3 });
        await replay.replay('ws', 'chat', 2, platform, 'r');
        expect(frames(platform).map((f) => f.event)).toEqual(['msg', 'msg', 'msg', 'end']);
      });

      it('reports reset for a position from another epoch, with no msg', async () => {
        const { replay, platform, epoch } = await filled(3);
        await replay.replay('ws', 'chat', { seq: 1, epoch: 'zzzzzzzzzzzz' }, platform, 'r');
        expect(frames(platform)).toEqual([
          { topic: '__replay:chat', event: 'truncated', data: { reqId: 'r', reason: 'reset', oldest: 1, seq: 3, epoch } },
          { topic: '__replay:chat', event: 'end', data: { reqId: 'r', seq: 3, epoch, truncated: true } },
        ]);
      });

      it('reports reset for a since above the current seq (seed form and position form)', async () => {
        const { replay, platform, epoch } = await filled(3);
        await replay.replay('ws', 'chat', 10, platform, 'a');
        await replay.replay('ws', 'chat', { seq: 4, epoch }, platform, 'b');
        // A position above the seq in the same epoch proves a lost write: a backend that can lose
        // writes (Redis) ends that epoch, so the end names the position to continue from.
        const sent = frames(platform);
        const now = (sent[3]!.data as { epoch: string }).epoch;
        expect(sent).toEqual([
          { topic: '__replay:chat', event: 'truncated', data: { reqId: 'a', reason: 'reset', oldest: 1, seq: 3, epoch } },
          { topic: '__replay:chat', event: 'end', data: { reqId: 'a', seq: 3, epoch, truncated: true } },
          { topic: '__replay:chat', event: 'truncated', data: { reqId: 'b', reason: 'reset', oldest: 1, seq: 3, epoch: now } },
          { topic: '__replay:chat', event: 'end', data: { reqId: 'b', seq: 3, epoch: now, truncated: true } },
        ]);
        expect(await replay.position('chat')).toEqual({ seq: 3, epoch: now });
      });

      it('reports reset, with seq 0 and no epoch, for a topic with no state when the client holds a seq > 0', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        await replay.replay('ws', 'unknown', { seq: 5, epoch: 'gone' }, platform, 'r');
        await replay.replay('ws', 'unknown', 5, platform, 's');
        expect(frames(platform)).toEqual([
          { topic: '__replay:unknown', event: 'truncated', data: { reqId: 'r', reason: 'reset', oldest: 1, seq: 0 } },
          { topic: '__replay:unknown', event: 'end', data: { reqId: 'r', seq: 0, truncated: true } },
          { topic: '__replay:unknown', event: 'truncated', data: { reqId: 's', reason: 'reset', oldest: 1, seq: 0 } },
          { topic: '__replay:unknown', event: 'end', data: { reqId: 's', seq: 0, truncated: true } },
        ]);
      });

      it('answers a replay of a topic with no state with seq 0 and no epoch, and creates no state', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        await replay.replay('ws', 'unknown', 0, platform, 'r');
        await replay.replay('ws', 'unknown', { seq: 0, epoch: 'someepoch' }, platform, 's');
        expect(frames(platform)).toEqual([
          { topic: '__replay:unknown', event: 'end', data: { reqId: 'r', seq: 0 } },
          { topic: '__replay:unknown', event: 'end', data: { reqId: 's', seq: 0 } },
        ]);
        // Two position reads agree: the replays fixed nothing, the first position read did.
        const first = await replay.position('unknown');
        expect(await replay.position('unknown')).toEqual(first);
        await replay.replay('ws', 'unknown', first, platform, 't');
        expect(frames(platform)).toEqual([{ topic: '__replay:unknown', event: 'end', data: { reqId: 't', seq: 0, epoch: first.epoch } }]);
      });

      it('remembers an idempotency id: a repeat stores and delivers nothing and returns the first seq', async () => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        expect(await replay.publish(platform, 'chat', 'e', 'a', { id: 'one' })).toBe(1);
        expect(await replay.publish(platform, 'chat', 'e', 'b')).toBe(2);
        expect(await replay.publish(platform, 'chat', 'e', 'a again', { id: 'one' })).toBe(1);
        // Another id, the same id on another topic: both new.
        expect(await replay.publish(platform, 'chat', 'e', 'c', { id: 'two' })).toBe(3);
        expect(await replay.publish(platform, 'other', 'e', 'd', { id: 'one' })).toBe(1);
        expect((await replay.since('chat', 0)).map((e) => e.data)).toEqual(['a', 'b', 'c']);
        expect(platform.live.map((f) => [f.topic, f.seq, f.data])).toEqual([['chat', 1, 'a'], ['chat', 2, 'b'], ['chat', 3, 'c'], ['other', 1, 'd']]);
      });

      it.each([[''], ['x'.repeat(129)], [5], [null]])('rejects the idempotency id %j and consumes no seq', async (id) => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        await expect(async () => replay.publish(platform, 'chat', 'e', 1, { id: id as string })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('1 to 128 characters') });
        expect(await replay.publish(platform, 'chat', 'e', 1, { id: 'x'.repeat(128) })).toBe(1);
      });

      it('reports reset after clearTopic to a client holding the old position', async () => {
        const { replay, platform, epoch } = await filled(3);
        await replay.clearTopic('chat');
        await replay.publish(platform, 'chat', 'created', { n: 'new' });
        await replay.replay('ws', 'chat', { seq: 1, epoch }, platform, 'r');
        const sent = frames(platform);
        expect(sent.map((f) => f.event)).toEqual(['truncated', 'end']);
        expect((sent[0]!.data as { reason: string }).reason).toBe('reset');
        expect((sent[1]!.data as { epoch: string }).epoch).not.toBe(epoch);
      });

      it.each([[-1], [NaN], [1.5], ['3'], [1e21], [null], [undefined], [{ seq: 1 }]])('reports invalid for since = %s, with no msg, and still ends', async (since) => {
        const { replay, platform, epoch } = await filled(3);
        // Not a Since on purpose: what a wire frame can carry is checked at run time too.
        await replay.replay('ws', 'chat', since as Since, platform, 'r');
        expect(frames(platform)).toEqual([
          { topic: '__replay:chat', event: 'truncated', data: { reqId: 'r', reason: 'invalid', oldest: 1, seq: 3, epoch } },
          { topic: '__replay:chat', event: 'end', data: { reqId: 'r', seq: 3, epoch, truncated: true } },
        ]);
      });

      it.each([
        ['sync', (code: string | null) => code],
        ['async', (code: string | null) => Promise.resolve(code)],
      ])('answers a %s denial with denied then end, disclosing nothing', async (_label, answer) => {
        const { replay, platform } = await filled(3);
        platform.gate = (topic) => answer(topic === 'chat' ? 'FORBIDDEN' : null);
        await replay.replay('ws', 'chat', 0, platform, 'r');
        expect(frames(platform)).toEqual([
          { topic: '__replay:chat', event: 'denied', data: { reqId: 'r', code: 'FORBIDDEN' } },
          { topic: '__replay:chat', event: 'end', data: { reqId: 'r', denied: true } },
        ]);
      });

      it('denies with INTERNAL_ERROR when the gate throws or rejects', async () => {
        const { replay, platform } = await filled(1);
        platform.gate = () => {
          throw new Error('db down');
        };
        await replay.replay('ws', 'chat', 0, platform, 1);
        platform.gate = () => Promise.reject(new Error('db down'));
        await replay.replay('ws', 'chat', 0, platform, 2);
        expect(frames(platform).map((f) => f.data)).toEqual([
          { reqId: 1, code: 'INTERNAL_ERROR' },
          { reqId: 1, denied: true },
          { reqId: 2, code: 'INTERNAL_ERROR' },
          { reqId: 2, denied: true },
        ]);
      });

      it.each([
        ['a quote', 'ch"at'],
        ['a backslash', 'ch\\at'],
        ['a control character', 'ch\u0000at'],
        ['a non-string', 12],
        ['an empty string', ''],
        ['a 300-character string', 'x'.repeat(300)],
      ])('answers a topic with %s with an error frame and nothing else', async (_label, topic) => {
        const replay = await backend.create();
        const platform = new RecordingPlatform();
        await expect(replay.replay('ws', topic as string, 0, platform, 'r')).resolves.toBeUndefined();
        expect(platform.take()).toEqual([{ type: 'error', code: 'INVALID_TOPIC', reqId: 'r' }]);
      });

      it.each([
        ['a 65-character string', 'x'.repeat(65)],
        ['a string with a newline', 'a\nb'],
        ['an empty string', ''],
        ['a fraction', 1.5],
        ['an unsafe integer', 2 ** 60],
        ['an object', { id: 1 }],
      ])('treats a reqId that is %s as absent', async (_label, reqId) => {
        const { replay, platform, epoch } = await filled(1);
        await replay.replay('ws', 'chat', 0, platform, reqId as string);
        expect(frames(platform)).toEqual([
          { topic: '__replay:chat', event: 'msg', data: { seq: 1, event: 'created', data: { n: 1 } } },
          { topic: '__replay:chat', event: 'end', data: { seq: 1, epoch } },
        ]);
      });

      it('keeps reqIds that are 64-character strings with quotes, or safe integers', async () => {
        const { replay, platform } = await filled(1);
        const long = '"\\'.repeat(32);
        await replay.replay('ws', 'chat', 1, platform, long);
        await replay.replay('ws', 'chat', 1, platform, 0);
        expect(frames(platform).map((f) => (f.data as { reqId: unknown }).reqId)).toEqual([long, 0]);
      });
    });

    describe('handle', () => {
      it.each([
        ['a parsed object', (f: object) => f],
        ['a string', (f: object) => JSON.stringify(f)],
        ['a Buffer', (f: object) => Buffer.from(JSON.stringify(f))],
        ['an ArrayBuffer', (f: object) => new TextEncoder().encode(JSON.stringify(f)).buffer],
      ])('serves a replay request given as %s', async (_label, encode) => {
        const { replay, platform, epoch } = await filled(2);
        expect(replay.handle('ws', encode({ type: 'replay', topic: 'chat', since: 1, epoch, reqId: 'h' }), platform)).toBe(true);
        await expect.poll(() => platform.sent.get('ws')?.length ?? 0).toBe(2);
        expect(frames(platform)).toEqual([
          { topic: '__replay:chat', event: 'msg', data: { reqId: 'h', seq: 2, event: 'created', data: { n: 2 } } },
          { topic: '__replay:chat', event: 'end', data: { reqId: 'h', seq: 2, epoch } },
        ]);
      });

      it.each([
        ['unparseable text', '{"type":"replay",'],
        ['an app frame', { type: 'chat', text: 'hi' }],
        ['a subscribe frame', { type: 'subscribe', topic: 'chat' }],
        ['null', null],
        ['a number', 5],
        ['an array', [{ type: 'replay' }]],
        ['JSON of an array', '[1,2]'],
      ])('returns false for %s and sends nothing', async (_label, frame) => {
        const { replay, platform } = await filled(1);
        expect(replay.handle('ws', frame, platform)).toBe(false);
        expect(platform.take()).toEqual([]);
      });

      it('answers each item of a replay-batch as one replay, in order', async () => {
        const { replay, platform, epoch } = await filled(2);
        await replay.publish(platform, 'b', 'e', 'x');
        const bEpoch = (await replay.position('b')).epoch;
        const items = [
          { topic: 'chat', since: 1, epoch, reqId: 1 },
          { topic: 'bad"topic', since: 0, reqId: 2 },
          { topic: 'b', since: 0, epoch: bEpoch, reqId: 3 },
        ];
        expect(replay.handle('ws', { type: 'replay-batch', items }, platform)).toBe(true);
        await expect.poll(() => platform.sent.get('ws')?.length ?? 0).toBe(5);
        expect(frames(platform)).toEqual([
          { topic: '__replay:chat', event: 'msg', data: { reqId: 1, seq: 2, event: 'created', data: { n: 2 } } },
          { topic: '__replay:chat', event: 'end', data: { reqId: 1, seq: 2, epoch } },
          { type: 'error', code: 'INVALID_TOPIC', reqId: 2 },
          { topic: '__replay:b', event: 'msg', data: { reqId: 3, seq: 1, event: 'e', data: 'x' } },
          { topic: '__replay:b', event: 'end', data: { reqId: 3, seq: 1, epoch: bEpoch } },
        ]);
      });

      it.each([
        ['items that are not an array', { type: 'replay-batch', items: 'chat', reqId: 'q' }],
        ['more than 256 items', { type: 'replay-batch', items: Array.from({ length: 257 }, () => ({ topic: 'chat', since: 0 })), reqId: 'q' }],
        ['an item that is not an object', { type: 'replay-batch', items: [{ topic: 'chat', since: 0 }, 'chat'], reqId: 'q' }],
      ])('rejects a replay-batch with %s as INVALID_FRAME', async (_label, frame) => {
        const { replay, platform } = await filled(1);
        expect(replay.handle('ws', frame, platform)).toBe(true);
        await expect.poll(() => platform.sent.get('ws')?.length ?? 0).toBe(1);
        expect(platform.take()).toEqual([{ type: 'error', code: 'INVALID_FRAME', reqId: 'q' }]);
      });
    });
  });
}
