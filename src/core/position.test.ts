import { describe, expect, it } from 'vitest';
import { inEpoch, parseSince } from './position.js';

describe('parseSince', () => {
  it.each([
    ['a bare seq', 3, undefined, { seq: 3, epoch: undefined }],
    ['a bare seq with a null epoch field', 3, null, { seq: 3, epoch: undefined }],
    ['a bare seq with the wire epoch field', 3, 'e', { seq: 3, epoch: 'e' }],
    ['a position', { seq: 3, epoch: 'e' }, undefined, { seq: 3, epoch: 'e' }],
    ['a position, ignoring the wire field', { seq: 3, epoch: 'e' }, 'other', { seq: 3, epoch: 'e' }],
    ['a position without an epoch', { seq: 3 }, undefined, null],
    ['a position with an epoch that cannot be one', { seq: 3, epoch: 'a b' }, undefined, null],
    ['an epoch field that is a number', 3, 5, null],
    ['an epoch field that cannot be an epoch', 3, 'x'.repeat(33), null],
    ['a negative seq', -1, undefined, null],
    ['a fraction', 1.5, undefined, null],
    ['a numeric string', '3', undefined, null],
    ['an unsafe integer', 2 ** 53, undefined, null],
    ['null', null, undefined, null],
  ] as const)('%s', (_label, since, epoch, expected) => {
    expect(parseSince(since, epoch)).toEqual(expected);
  });

  it('serves a bare seq in any life and a position only in its own', () => {
    expect(inEpoch({ epoch: undefined }, 'e1')).toBe(true);
    expect(inEpoch({ epoch: 'e1' }, 'e1')).toBe(true);
    expect(inEpoch({ epoch: 'e0' }, 'e1')).toBe(false);
  });
});
