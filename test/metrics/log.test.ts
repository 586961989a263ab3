import { describe, expect, it } from 'vitest';
import { consoleLogger, errorCode, logError, loggerOption, logWarning, type Logger } from '../../src/core/log.js';
import { gaplessError, isGaplessError } from '../../src/core/errors.js';
import { recordingLogger as recorder } from './recording-logger.js';

describe('logger option', () => {
  it('is the console when none is given, and any object with warn and error otherwise', () => {
    expect(loggerOption(undefined)).toBe(consoleLogger);
    expect(loggerOption(console)).toBe(console);
    const mine = recorder();
    expect(loggerOption(mine)).toBe(mine);
  });

  it('refuses a logger without warn and error functions', () => {
    for (const value of [null, {}, { warn() {} }, { warn: 1, error() {} }, 'console']) {
      let error: unknown;
      try {
        loggerOption(value);
      } catch (e) {
        error = e;
      }
      expect(isGaplessError(error, 'INVALID_OPTION')).toBe(true);
      expect((error as Error).message).toMatch(/^logger must be an object with warn and error functions, got /);
    }
  });
});

describe('logError', () => {
  it("writes the prefix, what failed, the error's own code and its message, with the error as a detail", () => {
    const log = recorder();
    const timeout = gaplessError('error', 'TIMEOUT', 'Redis did not answer a read of "chat" within 2000 ms (timeout option)');
    logError('replay of "chat" failed', timeout, log, 'BACKEND_ERROR');
    expect(log.lines).toEqual([
      ['error', '[gapless-replay] replay of "chat" failed (TIMEOUT): Redis did not answer a read of "chat" within 2000 ms (timeout option)', [timeout]],
    ]);
  });

  it('names the fallback code for an error that carries none', () => {
    const log = recorder();
    const redisError = new Error('ERR wrong number of arguments');
    logError('publish', redisError, log, 'BACKEND_ERROR');
    logError('subscribe hook', 'a thrown string', log);
    expect(log.lines.map(([, message]) => message)).toEqual([
      '[gapless-replay] publish (BACKEND_ERROR): ERR wrong number of arguments',
      '[gapless-replay] subscribe hook (INTERNAL_ERROR): a thrown string',
    ]);
  });

  it('keeps a logger that throws from turning a caught error into an uncaught one', () => {
    const throwing: Logger = {
      warn() {
        throw new Error('disk full');
      },
      error() {
        throw new Error('disk full');
      },
    };
    expect(() => logError('frame handler', new Error('x'), throwing)).not.toThrow();
    expect(() => logWarning('note', throwing)).not.toThrow();
  });
});

describe('logWarning', () => {
  it('writes the prefix and the message, and the code and message of an attached error', () => {
    const log = recorder();
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    logWarning('fan-out: subscriber connection lost', log);
    logWarning('fan-out: resubscribe failed', log, reset);
    expect(log.lines).toEqual([
      ['warn', '[gapless-replay] fan-out: subscriber connection lost', []],
      ['warn', '[gapless-replay] fan-out: resubscribe failed (ECONNRESET): read ECONNRESET', [reset]],
    ]);
  });
});

describe('errorCode', () => {
  it("is the error's own string code, else the fallback", () => {
    expect(errorCode(gaplessError('range', 'LIMIT', 'x'), 'INTERNAL_ERROR')).toBe('LIMIT');
    expect(errorCode(new Error('x'), 'BACKEND_ERROR')).toBe('BACKEND_ERROR');
    expect(errorCode({ code: 42 }, 'INTERNAL_ERROR')).toBe('INTERNAL_ERROR');
    expect(errorCode(undefined, 'INTERNAL_ERROR')).toBe('INTERNAL_ERROR');
  });
});
