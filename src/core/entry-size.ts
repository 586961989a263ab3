/** How big a stored entry is, and the one check of an entry against a byte limit. */
import { describe, gaplessError } from './errors.js';
import { utf8Length } from './serialize.js';

/** Default of `maxEntryBytes`: one entry is at most 1 MiB. */
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;

/** An entry's size as every byte limit counts it: the UTF-8 length of its event name and its JSON. */
export function entryBytes(event: string, json: string): number {
  return utf8Length(event) + utf8Length(json);
}

/**
 * Throws ENTRY_TOO_LARGE when the entry is over `max` bytes (`option` names the limit in the
 * message). A UTF-16 unit is 1 to 3 UTF-8 bytes, so only an entry near the limit is counted, and
 * a huge one (a 50 MB payload) is refused without walking it.
 */
export function assertEntrySize(event: string, json: string, max: number, option: string, topic: string): void {
  const units = event.length + json.length;
  if (units * 3 <= max) return;
  const huge = units > 4 * max;
  const bytes = huge ? units : entryBytes(event, json);
  if (bytes > max) {
    throw gaplessError('range', 'ENTRY_TOO_LARGE', `entry of ${huge ? 'at least ' : ''}${bytes} bytes exceeds ${option} ${max} (topic ${describe(topic)}, event ${describe(event)})`);
  }
}
