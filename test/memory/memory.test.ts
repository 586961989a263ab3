/** Behaviour only the in-memory buffer has: options, LRU, maxBytes, the ring, process lives. */
import { describe, expect, it } from 'vitest';
import { createReplay } from '../../src/memory/index.js';
import type { ReplayPlatform } from '../../src/core/types.js';
import { RecordingPlatform } from '../helpers/recording-platform.js';

const platform = new RecordingPlatform();

describe('createReplay options', () => {
  it.each([
    [{ size: 0 }, 'size must be a positive integer, got 0'],
    [{ size: 1.5 }, 'size must be a positive integer, got 1.5'],
    [{ size: '10' }, 'size must be a positive integer, got "10"'],
    [{ maxTopics: -1 }, 'maxTopics must be a positive integer, got -1'],
    [{ maxBytes: 0 }, 'maxBytes must be a positive integer, got 0'],
    [{ maxBytes: NaN }, 'maxBytes must be a positive integer, got NaN'],
  ])('rejects %o with a message naming the option', (options, message) => {
    expect(() => createReplay(options as never)).toThrow(message);
    expect(() => createReplay(options as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', name: 'RangeError' }));
  });

  it('rejects options that are not an object', () => {
    expect(() => createReplay(5 as never)).toThrow('options must be an object, got 5');
  });

  it('keeps 1000 entries per topic by default', () => {
    const replay = createReplay();
    for (let i = 1; i <= 1001; i++) replay.publish(platform, 't', 'e', i);
    const entries = replay.since('t', 0);
    expect(entries).toHaveLength(1000);
    expect(entries[0]!.seq).toBe(2);
  });
});

describe('ring buffer', () => {
  it('serves every window correctly while it wraps many times', () => {
    const size = 7;
    const replay = createReplay({ size });
    for (let n = 1; n <= 60; n++) {
      replay.publish(platform, 't', n % 2 ? 'odd' : 'even', n);
      for (const since of [0, n - 8, n - 7, n - 3, n - 1, n]) {
        if (since < 0) continue;
        const expected = [];
        for (let s = Math.max(since + 1, n - size + 1); s <= n; s++) expected.push({ seq: s, topic: 't', event: s % 2 ? 'odd' : 'even', data: s });
        expect(replay.since('t', since)).toEqual(expected);
      }
    }
  });
});

describe('LRU', () => {
  it('evicts the least recently used topic with entries, and its epoch ends', () => {
    const replay = createReplay({ maxTopics: 2 });
    replay.publish(platform, 'a', 'e', 1);
    replay.publish(platform, 'b', 'e', 1);
    const aEpoch = replay.position('a').epoch; // a is now the most recently used
    const bEpoch = replay.position('b').epoch;
    replay.seq('a');
    replay.publish(platform, 'c', 'e', 1);
    expect(replay.seq('a')).toBe(1);
    expect(replay.position('a').epoch).toBe(aEpoch);
    expect(replay.seq('b')).toBe(0);
    expect(replay.position('b').epoch).not.toBe(bEpoch);
  });

  it.each([
    ['seq', (r: ReturnType<typeof createReplay>) => r.seq('a')],
    ['position', (r: ReturnType<typeof createReplay>) => r.position('a')],
    ['positions', (r: ReturnType<typeof createReplay>) => r.positions(['a'])],
    ['since', (r: ReturnType<typeof createReplay>) => r.since('a', 0)],
    ['replay', (r: ReturnType<typeof createReplay>) => r.replay('ws', 'a', 0, new RecordingPlatform())],
    ['publish', (r: ReturnType<typeof createReplay>) => r.publish(platform, 'a', 'e', 2)],
  ])('counts %s as a use', (_label, use) => {
    const replay = createReplay({ maxTopics: 2 });
    replay.publish(platform, 'a', 'e', 1);
    replay.publish(platform, 'b', 'e', 1);
    void use(replay);
    replay.publish(platform, 'c', 'e', 1);
    expect(replay.seq('a')).toBeGreaterThan(0);
    expect(replay.seq('b')).toBe(0);
  });

  it('never evicts a topic with entries for reads of unknown topics, however many', () => {
    const replay = createReplay({ maxTopics: 2 });
    replay.publish(platform, 'a', 'e', 1);
    const epoch = replay.position('a').epoch;
    for (let i = 0; i < 1000; i++) {
      replay.position(`unknown-${i}`);
      void replay.replay('ws', `probe-${i}`, 0, new RecordingPlatform());
    }
    expect(replay.position('a')).toEqual({ seq: 1, epoch });
  });

  it('never displaces an epoch fixed by position with replays of unknown topics, however many', async () => {
    const replay = createReplay({ maxTopics: 2 });
    const ssr = replay.position('page');
    const probe = new RecordingPlatform();
    for (let i = 0; i < 1000; i++) await replay.replay('ws', `probe-${i}`, 0, probe);
    expect(probe.take().every((f) => f.event === 'end' && (f.data as { epoch?: string }).epoch === undefined)).toBe(true);
    expect(replay.position('page')).toEqual(ssr);
    replay.publish(platform, 'page', 'e', 1);
    expect(replay.position('page')).toEqual({ seq: 1, epoch: ssr.epoch });
  });

  it('evicts exactly the least recently used topic under interleaved publishes, reads and replays', () => {
    const replay = createReplay({ maxTopics: 3 });
    replay.publish(platform, 'a', 'e', 1);
    replay.publish(platform, 'b', 'e', 1);
    replay.publish(platform, 'c', 'e', 1); // a b c
    void replay.replay('ws', 'b', 0, new RecordingPlatform()); // a c b
    replay.position('a'); // c b a
    replay.publish(platform, 'd', 'e', 1); // evicts c: b a d
    replay.since('b', 0); // a d b
    replay.positions(['zz']); // a read of a topic without entries uses nothing
    replay.publish(platform, 'e', 'e', 1); // evicts a: d b e
    replay.publish(platform, 'd', 'e', 2); // b e d
    replay.publish(platform, 'f', 'e', 1); // evicts b: e d f
    // Reads of topics without entries change nothing, so these can be checked in any order.
    expect(['a', 'b', 'c'].map((t) => replay.seq(t))).toEqual([0, 0, 0]);
    expect(['d', 'e', 'f'].map((t) => replay.seq(t))).toEqual([2, 1, 1]);
  });

  it('keeps the exact use order over long runs of uses, removals and evictions', () => {
    // A model of the order beside the buffer: most recently used last. Thousands of uses keep
    // the buffer's bookkeeping of the order wrapping, compacting and growing.
    const maxTopics = 5;
    const size = 50;
    const replay = createReplay({ maxTopics, size });
    const order: string[] = [];
    const seqs = new Map<string, number>();
    const use = (topic: string) => {
      order.splice(order.indexOf(topic), 1);
      order.push(topic);
    };
    let state = 12345;
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    for (let step = 0; step < 20_000; step++) {
      const topic = 't' + next(9);
      const op = next(10);
      const known = seqs.has(topic);
      if (op < 4) {
        if (!known && order.length >= maxTopics) seqs.delete(order.shift()!);
        if (known) use(topic);
        else order.push(topic);
        seqs.set(topic, (seqs.get(topic) ?? 0) + 1);
        expect(replay.publish(platform, topic, 'e', step)).toBe(seqs.get(topic));
      } else if (op < 6) {
        if (known) use(topic);
        expect(replay.seq(topic)).toBe(seqs.get(topic) ?? 0);
      } else if (op < 8) {
        if (known) use(topic);
        expect(replay.position(topic).seq).toBe(seqs.get(topic) ?? 0);
      } else if (op < 9) {
        if (known) use(topic);
        expect(replay.since(topic, 0)).toHaveLength(Math.min(seqs.get(topic) ?? 0, size));
      } else {
        if (known) order.splice(order.indexOf(topic), 1);
        seqs.delete(topic);
        replay.clearTopic(topic);
      }
    }
    for (let t = 0; t < 9; t++) expect(replay.seq('t' + t)).toBe(seqs.get('t' + t) ?? 0);
  });

  it('bounds the epochs fixed for topics without entries by maxTopics', () => {
    const replay = createReplay({ maxTopics: 3 });
    const first = replay.position('x0').epoch;
    expect(replay.position('x0').epoch).toBe(first);
    for (let i = 1; i <= 3; i++) replay.position(`x${i}`);
    expect(replay.position('x0').epoch).not.toBe(first);
  });
});

describe('maxBytes', () => {
  it('drops the oldest entries once a topic holds more bytes, and replay reports evicted', async () => {
    // Each entry: event "e" (1 byte) + JSON "\"xxxxxxxx\"" (10 bytes) = 11 bytes.
    const replay = createReplay({ maxBytes: 33 });
    const p = new RecordingPlatform();
    for (let i = 1; i <= 5; i++) replay.publish(p, 't', 'e', 'x'.repeat(8));
    expect(replay.since('t', 0).map((e) => e.seq)).toEqual([3, 4, 5]);
    await replay.replay('ws', 't', 1, p, 'r');
    expect(p.take().map((f) => [f.event, (f.data as { seq?: number }).seq])).toEqual([
      ['truncated', 5],
      ['msg', 3],
      ['msg', 4],
      ['msg', 5],
      ['end', 5],
    ]);
  });

  it('counts UTF-8 bytes, not UTF-16 units', () => {
    const replay = createReplay({ maxBytes: 1 + 2 + 6 });
    replay.publish(platform, 't', 'e', '日本');
    expect(() => replay.publish(platform, 't', 'e', '日本語')).toThrow(expect.objectContaining({ code: 'ENTRY_TOO_LARGE' }));
  });

  it('throws ENTRY_TOO_LARGE for a single oversized entry and consumes no seq', () => {
    const replay = createReplay({ maxBytes: 20 });
    replay.publish(platform, 't', 'e', 1);
    expect(() => replay.publish(platform, 't', 'e', 'y'.repeat(50))).toThrow('entry of 53 bytes exceeds maxBytes 20');
    expect(replay.publish(platform, 't', 'e', 2)).toBe(2);
    expect(replay.since('t', 0).map((e) => e.data)).toEqual([1, 2]);
  });

  it('keeps counting correctly when the ring also overwrites by size', () => {
    const replay = createReplay({ size: 2, maxBytes: 100 });
    for (let i = 0; i < 50; i++) replay.publish(platform, 't', 'e', 'z'.repeat(10));
    expect(replay.since('t', 0).map((e) => e.seq)).toEqual([49, 50]);
    replay.publish(platform, 't', 'e', 'w'.repeat(60));
    expect(replay.since('t', 0).map((e) => e.seq)).toEqual([50, 51]);
    replay.publish(platform, 't', 'e', 'v'.repeat(60));
    expect(replay.since('t', 0).map((e) => e.seq)).toEqual([52]);
  });
});

describe('idempotency ids', () => {
  it('remembers at most 100,000: one more forgets the oldest (a repeat of it stores again) while a recent one still repeats', () => {
    const MAX_IDS = 100_000;
    const replay = createReplay();
    // Delivers nowhere: a recording platform would keep every one of the frames.
    const discard: ReplayPlatform = { publish: () => true, send: () => true };
    const publish = (i: number) => replay.publish(discard, 't', 'e', i, { id: `id${i}` });
    for (let i = 0; i < MAX_IDS; i++) publish(i);
    // At the bound nothing is forgotten yet.
    expect(publish(0)).toBe(1);
    expect(publish(MAX_IDS)).toBe(MAX_IDS + 1);
    expect(publish(0)).toBe(MAX_IDS + 2);
    expect(publish(MAX_IDS)).toBe(MAX_IDS + 1);
    expect(replay.seq('t')).toBe(MAX_IDS + 2);
  });
});

describe('process lives', () => {
  it('gives a restarted buffer new epochs, so old positions are reset, not silently reused', async () => {
    const before = createReplay();
    for (let i = 1; i <= 3; i++) before.publish(platform, 'chat', 'e', i);
    const old = before.position('chat');
    const after = createReplay();
    for (let i = 1; i <= 5; i++) after.publish(platform, 'chat', 'e', `new ${i}`);
    const p = new RecordingPlatform();
    await after.replay('ws', 'chat', old, p, 'r');
    expect(p.take().map((f) => [f.event, (f.data as { reason?: string }).reason])).toEqual([
      ['truncated', 'reset'],
      ['end', undefined],
    ]);
  });
});

describe('serialize once', () => {
  it('serializes a payload once for storage, live delivery and every replay', async () => {
    const replay = createReplay();
    const p = new RecordingPlatform();
    const stringify = JSON.stringify;
    let calls = 0;
    JSON.stringify = ((...args: Parameters<typeof stringify>) => {
      calls++;
      return stringify(...args);
    }) as typeof JSON.stringify;
    try {
      replay.publish(p, 't', 'e', { big: 'x'.repeat(100) });
      const afterPublish = calls;
      for (let i = 0; i < 5; i++) await replay.replay('ws', 't', 0, p);
      expect(afterPublish).toBe(1);
      expect(calls).toBe(1);
    } finally {
      JSON.stringify = stringify;
    }
    expect(p.take()).toHaveLength(10);
  });
});

describe('SSR handoff', () => {
  it('replays a message published between the position read and the data load', async () => {
    const replay = createReplay();
    const p = new RecordingPlatform();
    const db: string[] = [];
    const publish = (text: string) => {
      db.push(text);
      replay.publish(p, 'chat', 'created', text);
    };
    publish('before');
    // load(): position first, then the data; a publish lands in between.
    const position = replay.position('chat');
    publish('during load');
    const messages = [...db];
    publish('after load');
    await replay.replay('ws', 'chat', position, p, 'r');
    const replayed = p.take().filter((f) => f.event === 'msg').map((f) => (f.data as { data: string }).data);
    // The page loaded 'before' and 'during load'; the replay brings what it may have missed,
    // from the position read before the load, so 'during load' is covered either way.
    expect(replayed).toEqual(['during load', 'after load']);
    // What the page shows: its load, then what the replay adds (a store drops the seq it has).
    expect([...new Set([...messages, ...replayed])]).toEqual(['before', 'during load', 'after load']);
  });

  it('rejects (never throws) a replay given no usable platform', async () => {
    const replay = createReplay();
    const result = replay.replay('ws', 'chat', 0, undefined as never);
    await expect(result).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(replay.handle('ws', { type: 'replay', topic: 'chat', since: 0 }, null as never)).toBe(true);
  });
});
