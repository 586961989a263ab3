import { describe, expect, it } from 'vitest';
import { assertTopic, hasSafeChars, isSystemTopic, isValidEvent, isValidTopic } from './names.js';

describe('names', () => {
  it.each([
    ['plain ASCII', 'chat/room-1', true],
    ['non-ASCII and a surrogate pair', 'café 🎉', true],
    ['a space and punctuation', "a b:c{d}'", true],
    ['a quote', 'a"b', false],
    ['a backslash', 'a\\b', false],
    ['NUL', 'a\u0000', false],
    ['unit separator 0x1F', 'a\u001f', false],
    ['DEL 0x7F', 'a\u007f', false],
    ['a lone high surrogate', 'a\ud83c', false],
    ['a lone low surrogate', '\udf89b', false],
    ['a reversed pair', '\udf89\ud83c', false],
  ])('%s: hasSafeChars is %s', (_label, value, expected) => {
    expect(hasSafeChars(value)).toBe(expected);
  });

  it('bounds topic length to 1-256 and event length to 1-64 UTF-16 units', () => {
    expect(isValidTopic('x'.repeat(256))).toBe(true);
    expect(isValidTopic('x'.repeat(257))).toBe(false);
    expect(isValidTopic('')).toBe(false);
    expect(isValidEvent('e'.repeat(64))).toBe(true);
    expect(isValidEvent('e'.repeat(65))).toBe(false);
    expect(isValidTopic(undefined)).toBe(false);
  });

  it('names system topics and throws a typed, actionable error', () => {
    expect(isSystemTopic('__replay:chat')).toBe(true);
    expect(isSystemTopic('_chat')).toBe(false);
    expect(() => assertTopic('a"b')).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC', name: 'TypeError' }));
    expect(() => assertTopic(5)).toThrow(/got 5$/);
  });
});
