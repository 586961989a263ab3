import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { gaplessError, isGaplessError } from './errors.js';

/** A real ECONNREFUSED: a port that was just listening and is closed again. */
async function refused(): Promise<Error> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return new Promise((resolve) => connect(port, '127.0.0.1').once('error', resolve));
}

describe('isGaplessError', () => {
  it('matches the errors gaplessError made, by code when one is given', () => {
    const error = gaplessError('range', 'INVALID_OPTION', 'size must be a positive integer, got 0');
    expect(error).toBeInstanceOf(RangeError);
    expect(isGaplessError(error)).toBe(true);
    expect(isGaplessError(error, 'INVALID_OPTION')).toBe(true);
    expect(isGaplessError(error, 'TIMEOUT')).toBe(false);
  });

  it('does not match a system error that has a string code of its own', async () => {
    const error = await refused();
    expect((error as Error & { code: string }).code).toBe('ECONNREFUSED'); // the fault is real
    expect(isGaplessError(error)).toBe(false);
  });

  it('does not match errors or objects that only copy the shape', () => {
    expect(isGaplessError(Object.assign(new Error('x'), { code: 'TIMEOUT' }))).toBe(false);
    expect(isGaplessError(Object.assign(new Error('x'), { code: 'TIMEOUT' }), 'TIMEOUT')).toBe(false);
    expect(isGaplessError({ name: 'Error', message: 'x', code: 'TIMEOUT' })).toBe(false);
    expect(isGaplessError(null)).toBe(false);
  });

  it("matches another copy of the library's errors (the brand is a registered symbol)", () => {
    const foreign = Object.defineProperty(Object.assign(new TypeError('x'), { code: 'INVALID_TOPIC' }), Symbol.for('gapless-replay.error'), { value: true });
    expect(isGaplessError(foreign, 'INVALID_TOPIC')).toBe(true);
  });
});
