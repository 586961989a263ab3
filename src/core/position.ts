/** Positions in a topic's stream and the one place that compares them. */

/** A point in one life (epoch) of a topic's counter. A seq means nothing without its epoch. */
export interface Position {
  readonly seq: number;
  readonly epoch: string;
}

/** What a caller may pass as `since`: a bare seq (seed form) or a position. */
export type Since = number | Position;

const EPOCH_PATTERN = /^[0-9A-Za-z_-]{1,32}$/;

/** Epochs are short and need no JSON escaping, so frames can carry them by concatenation. */
export function isValidEpoch(epoch: unknown): epoch is string {
  return typeof epoch === 'string' && EPOCH_PATTERN.test(epoch);
}

export function isValidSeq(seq: unknown): seq is number {
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0;
}

export function isPosition(value: unknown): value is Position {
  return typeof value === 'object' && value !== null && isValidSeq((value as Position).seq) && isValidEpoch((value as Position).epoch);
}

/**
 * The one reading of a requested position, for `since()`, `replay()` and the wire: `since` is a
 * bare seq (seed form) or a `{seq, epoch}` position; `epoch` is the wire frame's separate field
 * (absent or `null`: the request names no epoch). Returns `null` when the request cannot name a
 * position: a seq that is not a safe non-negative integer, a position without a valid epoch, or
 * an epoch field that cannot be an epoch.
 */
export function parseSince(since: unknown, epoch?: unknown): { seq: number; epoch: string | undefined } | null {
  if (typeof since === 'object' && since !== null) return isPosition(since) ? { seq: since.seq, epoch: since.epoch } : null;
  if (!isValidSeq(since)) return null;
  if (epoch === undefined || epoch === null) return { seq: since, epoch: undefined };
  return isValidEpoch(epoch) ? { seq: since, epoch } : null;
}

/**
 * `true` when a parsed position can be served from a topic whose life is `epoch`: a bare seq
 * names no life and is read in the current one; a position from another life has nothing to
 * read (its seqs were reused), so `since()` returns no entries and a replay reports a reset.
 */
export function inEpoch(from: { epoch: string | undefined }, epoch: string): boolean {
  return from.epoch === undefined || from.epoch === epoch;
}

/**
 * How a received seq relates to the last one held in the same epoch:
 * `'old'` (already seen), `'next'` (exactly one ahead) or `'gap'` (something is missing).
 */
export function compareSeq(last: number, seq: number): 'old' | 'next' | 'gap' {
  return seq <= last ? 'old' : seq === last + 1 ? 'next' : 'gap';
}
