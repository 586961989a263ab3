/**
 * Reading what clients send. Wire input never throws: each function returns a value,
 * or `undefined` for input that is not what it claims to be.
 */
import type { ReqId } from './frames.js';

export const MAX_REQID_LENGTH = 64;
/** Most items one replay-batch or subscribe-batch frame may carry. */
export const MAX_BATCH_ITEMS = 256;

const CONTROL_TYPES: ReadonlySet<string> = new Set(['subscribe', 'unsubscribe', 'subscribe-batch', 'replay', 'replay-batch', 'pong']);

/** A reqId (or subscribe ref): a string of 1-64 characters without control characters, or a safe integer; anything else is treated as absent. */
export function normalizeReqId(value: unknown): ReqId | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== 'string' || value.length < 1 || value.length > MAX_REQID_LENGTH) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return undefined;
  }
  return value;
}

const decoder = new TextDecoder();

/**
 * A frame as a plain object: accepts a parsed object, JSON text, a Buffer/Uint8Array or an
 * ArrayBuffer. Returns `undefined` for anything unparseable or not a JSON object.
 */
export function decodeFrame(input: unknown): Record<string, unknown> | undefined {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (input instanceof Uint8Array) text = decoder.decode(input);
  else if (input instanceof ArrayBuffer) text = decoder.decode(new Uint8Array(input));
  else if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input as Record<string, unknown>;
  else return undefined;
  // App frames are often not JSON objects at all; skip the parse for them.
  if (!/^\s*\{/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export type ControlType = 'subscribe' | 'unsubscribe' | 'subscribe-batch' | 'replay' | 'replay-batch' | 'pong';

/** The frame's control type, or `undefined` for app frames (which go to `hooks.message`). */
export function controlType(frame: Record<string, unknown>): ControlType | undefined {
  const type = frame.type;
  return typeof type === 'string' && CONTROL_TYPES.has(type) ? (type as ControlType) : undefined;
}

export function isReplayType(type: ControlType | undefined): type is 'replay' | 'replay-batch' {
  return type === 'replay' || type === 'replay-batch';
}

/** The items of a batch frame, or `undefined` when it is not an array of at most 256 entries. */
export function batchItems(value: unknown): unknown[] | undefined {
  return Array.isArray(value) && value.length <= MAX_BATCH_ITEMS ? value : undefined;
}
