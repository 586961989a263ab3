import { describe, expect, it } from 'vitest';
import { batchItems, controlType, decodeFrame, normalizeReqId } from './parse.js';
import { planReplay } from './serve.js';
import { endFrame } from './frames.js';

describe('normalizeReqId', () => {
  it.each([
    ['a short string', 'abc', 'abc'],
    ['64 characters', 'q'.repeat(64), 'q'.repeat(64)],
    ['65 characters', 'q'.repeat(65), undefined],
    ['quotes and backslashes', '"\\', '"\\'],
    ['a tab', 'a\tb', undefined],
    ['DEL', 'a\u007f', undefined],
    ['zero', 0, 0],
    ['a negative safe integer', -5, -5],
    ['a fraction', 0.5, undefined],
    ['2^53', 2 ** 53, undefined],
    ['null', null, undefined],
    ['a boolean', true, undefined],
  ])('%s', (_label, value, expected) => {
    expect(normalizeReqId(value)).toBe(expected);
  });
});

describe('decodeFrame', () => {
  it('decodes objects, strings, Buffers and ArrayBuffers, and nothing else', () => {
    const text = '{"type":"replay"}';
    expect(decodeFrame(text)).toEqual({ type: 'replay' });
    expect(decodeFrame(Buffer.from(text))).toEqual({ type: 'replay' });
    expect(decodeFrame(new TextEncoder().encode(text).buffer)).toEqual({ type: 'replay' });
    expect(decodeFrame({ type: 'x' })).toEqual({ type: 'x' });
    expect(decodeFrame('  {"a":1}')).toEqual({ a: 1 });
    for (const bad of ['{', 'null', '[1]', '"s"', '', 7, null, undefined, [1]]) expect(decodeFrame(bad)).toBeUndefined();
  });

  it('classifies control frames', () => {
    expect(controlType({ type: 'replay-batch' })).toBe('replay-batch');
    expect(controlType({ type: 'Replay' })).toBeUndefined();
    expect(controlType({ type: ['replay'] })).toBeUndefined();
    expect(batchItems(new Array(256).fill({}))).toHaveLength(256);
    expect(batchItems(new Array(257).fill({}))).toBeUndefined();
  });
});

describe('planReplay', () => {
  const snap = { seq: 10, epoch: 'e1', oldest: 4 };
  it.each([
    ['caught up', 10, undefined, { reason: undefined, from: 11 }],
    ['within the buffer', 5, 'e1', { reason: undefined, from: 6 }],
    ['one before the oldest', 3, 'e1', { reason: undefined, from: 4 }],
    ['before the oldest', 2, 'e1', { reason: 'evicted', from: 4 }],
    ['another epoch', 5, 'e2', { reason: 'reset', from: Infinity }],
    ['ahead of the counter', 11, undefined, { reason: 'reset', from: Infinity }],
    ['negative', -1, undefined, { reason: 'invalid', from: Infinity }],
    ['an unusable epoch', 5, false, { reason: 'invalid', from: Infinity }],
  ] as const)('%s', (_label, since, epoch, plan) => {
    expect(planReplay(since, epoch, snap)).toEqual(plan);
  });
});

describe('endFrame', () => {
  it('is valid JSON with or without a reqId and optional fields', () => {
    expect(JSON.parse(endFrame('t', '', {}))).toEqual({ topic: '__replay:t', event: 'end', data: {} });
    expect(JSON.parse(endFrame('t', '"reqId":1,', {}))).toEqual({ topic: '__replay:t', event: 'end', data: { reqId: 1 } });
    expect(JSON.parse(endFrame('t', '"reqId":"a",', { error: 'TIMEOUT' }))).toEqual({ topic: '__replay:t', event: 'end', data: { reqId: 'a', error: 'TIMEOUT' } });
  });
});

describe('seqText', () => {
  it('writes every seq exactly as String() does, across the table boundaries', async () => {
    const { seqText } = await import('./frames.js');
    const values = [0, 1, 9, 10, 999, 1000, 1001, 1010, 10_000, 99_999, 100_000, 999_999, 1_000_000, 1_000_001, 1_001_000, 12_345_678, 999_999_999, 1e9, 2 ** 31, 2 ** 53 - 1];
    for (const v of values) expect(seqText(v)).toBe(String(v));
    for (let v = 0; v < 3_000_000; v += 997) expect(seqText(v)).toBe(String(v));
  });
});
