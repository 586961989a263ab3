/** The one place a payload becomes JSON. Called once per publish. */
import { gaplessError } from './errors.js';

/**
 * JSON text of `data`. Values JSON maps to `undefined` (undefined, functions, symbols)
 * become `null`, so live and replayed frames carry the same shape; `toJSON` runs here only.
 */
export function serializeData(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw gaplessError('type', 'UNSERIALIZABLE', `data cannot be serialized to JSON: ${(error as Error).message}`, error);
  }
  return json === undefined ? 'null' : json;
}

/** UTF-8 byte length without Buffer, so the core stays free of Node APIs. */
export function utf8Length(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) i++, bytes += 2;
    else bytes += 2;
  }
  return bytes;
}
