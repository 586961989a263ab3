import { describe, expect, it } from 'vitest';
import { endFrame, liveFrame, msgFrame, replayHead, seqText } from './frames.js';

describe('seqText', () => {
  it('writes every seq exactly as String() does, across the table boundaries', () => {
    const edges = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1009, 1010, 1099, 1100, 9999, 10000, 99999, 100000, 999999, 1000000, 1000001, 1001000, 1234567, 99999999, 999999999];
    for (const n of edges) expect(seqText(n)).toBe(String(n));
  });

  it('falls back to String() beyond 1e9 and for values that are not seqs', () => {
    for (const n of [1e9, 2 ** 31, 2 ** 53 - 1, 1e21, -1, -0, 1.5, 1000.5, NaN, Infinity]) expect(seqText(n)).toBe(String(n));
  });

  it('agrees with String() on a seeded spread of values', () => {
    let x = 12345;
    for (let i = 0; i < 2000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const n = x % 1_500_000_000;
      expect(seqText(n)).toBe(String(n));
    }
  });
});

describe('frames built from reused parts', () => {
  it('live frames follow each change of topic, event and epoch', () => {
    const cases: [string, string, string, number, string | undefined][] = [
      ['chat', 'created', '{"a":1}', 1, 'e1'],
      ['chat', 'created', '{"a":2}', 2, 'e1'],
      ['chat', 'deleted', 'null', 3, 'e1'],
      ['news', 'deleted', '"x"', 1234, 'e2'],
      ['chat', 'created', '[]', 1000001, 'e1'],
      ['chat', 'created', '{}', 7, undefined],
    ];
    for (const [topic, event, json, seq, epoch] of cases) {
      const expected = JSON.stringify(epoch === undefined ? { topic, event, data: JSON.parse(json), seq } : { topic, event, data: JSON.parse(json), seq, epoch });
      expect(liveFrame(topic, event, json, seq, epoch)).toBe(expected);
    }
  });

  it('live frames stay exact when round-robin over topics alternates with runs of one topic', () => {
    // Parts are kept only after repeating: cover a part kept, then replaced, then kept again,
    // and an epoch that changes while the topic repeats.
    const cases: [string, string, number, string][] = [];
    for (let round = 0; round < 3; round++) {
      for (let t = 0; t < 4; t++) cases.push(['room:' + t, 'message', round * 4 + t + 1, 'ep' + t]);
      for (let k = 0; k < 3; k++) cases.push(['room:9', round === 1 ? 'edited' : 'message', 100 + k, k === 2 ? 'fresh' : 'ep9']);
    }
    for (const [topic, event, seq, epoch] of cases) {
      const json = `{"n":${seq}}`;
      expect(liveFrame(topic, event, json, seq, epoch)).toBe(JSON.stringify({ topic, event, data: { n: seq }, seq, epoch }));
    }
  });

  it('msg frames follow each change of event and request', () => {
    const a = replayHead('chat', 'msg', '"reqId":"a",');
    const b = replayHead('news', 'msg', '');
    expect(msgFrame(a, 5, 'created', '{"x":1}')).toBe('{"topic":"__replay:chat","event":"msg","data":{"reqId":"a","seq":5,"event":"created","data":{"x":1}}}');
    expect(msgFrame(a, 6, 'deleted', 'null')).toBe('{"topic":"__replay:chat","event":"msg","data":{"reqId":"a","seq":6,"event":"deleted","data":null}}');
    expect(msgFrame(b, 1000, 'deleted', '2')).toBe('{"topic":"__replay:news","event":"msg","data":{"seq":1000,"event":"deleted","data":2}}');
    expect(msgFrame(a, 7, 'created', '[]')).toBe('{"topic":"__replay:chat","event":"msg","data":{"reqId":"a","seq":7,"event":"created","data":[]}}');
    expect(endFrame('chat', '', { seq: 1234567, epoch: 'e1' })).toBe('{"topic":"__replay:chat","event":"end","data":{"seq":1234567,"epoch":"e1"}}');
  });
});
