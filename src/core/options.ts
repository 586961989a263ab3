/** Option validation shared by every backend: one message shape, one code. */
import { gaplessError, describe } from './errors.js';

export function positiveIntOption(name: string, value: unknown, fallback: number): number;
export function positiveIntOption(name: string, value: unknown, fallback: undefined): number | undefined;
export function positiveIntOption(name: string, value: unknown, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw gaplessError('range', 'INVALID_OPTION', `${name} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

export function nonNegativeIntOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw gaplessError('range', 'INVALID_OPTION', `${name} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

export function optionsObject(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw gaplessError('type', 'INVALID_OPTION', `${name} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}
