import type { ErrorCode } from './codes.js';

/** Every error Gapless throws on purpose: a built-in error class with a stable `code`. */
export type GaplessError = Error & { readonly code: ErrorCode };

type ErrorKind = 'type' | 'range' | 'error';

/**
 * Marks the errors this library made, so that a system error with a string `code` of its own
 * (ECONNREFUSED, an ioredis error) is not taken for one. A registered symbol: an app often has
 * two copies of the library (bundled and in node_modules), and each must know the other's errors.
 */
const BRAND = Symbol.for('gapless-replay.error');

/** The one factory for thrown errors, so every error carries its code the same way. */
export function gaplessError(kind: ErrorKind, code: ErrorCode, message: string, cause?: unknown): GaplessError {
  const options = cause === undefined ? undefined : { cause };
  const error = kind === 'type' ? new TypeError(message, options) : kind === 'range' ? new RangeError(message, options) : new Error(message, options);
  Object.defineProperty(error, BRAND, { value: true });
  return Object.assign(error, { code });
}

/** `true` when `error` is one this library threw (and has `code`, when given). */
export function isGaplessError(error: unknown, code?: ErrorCode): error is GaplessError {
  return error instanceof Error && (error as { [BRAND]?: unknown })[BRAND] === true && (code === undefined || (error as GaplessError).code === code);
}

/** Renders a value for an error message without throwing on odd inputs. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
