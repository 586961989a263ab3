/**
 * The library's one way out to a log. Every warning, and every error the server catches
 * instead of throwing out of a socket handler, goes through a `Logger`; the console is only the
 * default, and this is the only module that touches it.
 */
import { describe, gaplessError } from './errors.js';

/**
 * Where warnings and caught errors go; `console` fits, and so does a wrapper around pino or
 * winston. `message` is complete on its own: the `[gapless-replay]` prefix, what failed, the
 * error's code and its message. `details` hold the error itself, for its stack.
 */
export interface Logger {
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

const PREFIX = '[gapless-replay]';

/** The logger when the app gives none. */
export const consoleLogger: Logger = {
  warn: (message, ...details) => console.warn(message, ...details),
  error: (message, ...details) => console.error(message, ...details),
};

/** Reads a `logger` option: an object with `warn` and `error` functions, or the console by default. */
export function loggerOption(value: unknown): Logger {
  if (value === undefined) return consoleLogger;
  const logger = value as Partial<Logger> | null;
  if (typeof logger?.warn !== 'function' || typeof logger.error !== 'function') {
    throw gaplessError('type', 'INVALID_OPTION', `logger must be an object with warn and error functions, got ${describe(value)}`);
  }
  return logger as Logger;
}

/**
 * The code an error is logged and counted under: its own `code` when it has a string one (a
 * Gapless error, a Node system error such as ECONNRESET), else `fallback`, which says whose
 * failure it was (BACKEND_ERROR for Redis, INTERNAL_ERROR for an app's hook).
 */
export function errorCode(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : fallback;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : describe(error);
}

/** A logger that throws must not turn a caught error into an uncaught one inside a socket handler. */
function safely(write: () => void): void {
  try {
    write();
  } catch {
    // Nowhere left to report it.
  }
}

/**
 * Logs an error the server caught instead of throwing: `[gapless-replay] <what> (<code>):
 * <message>`, with the error as a detail.
 */
export function logError(what: string, error: unknown, logger: Logger = consoleLogger, fallback = 'INTERNAL_ERROR'): void {
  const code = errorCode(error, fallback);
  safely(() => logger.error(`${PREFIX} ${what} (${code}): ${messageOf(error)}`, error));
}

/** Logs a warning: `[gapless-replay] <message>`, with `error` as a detail when there is one. */
export function logWarning(message: string, logger: Logger = consoleLogger, error?: unknown): void {
  if (error === undefined) safely(() => logger.warn(`${PREFIX} ${message}`));
  else safely(() => logger.warn(`${PREFIX} ${message} (${errorCode(error, 'ERROR')}): ${messageOf(error)}`, error));
}
