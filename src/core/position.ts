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
 * Splits a `since` argument into its seq and (when given) its epoch.
 * Returns `null` for anything that is not a safe non-negative integer or a position.
 */
export function parseSince(since: unknown): { seq: number; epoch: string | undefined } | null {
  if (isValidSeq(since)) return { seq: since, epoch: undefined };
  if (isPosition(since)) return { seq: since.seq, epoch: since.epoch };
  return null;
}

/**
 * How a received seq relates to the last one held in the same epoch:
 * `'old'` (already seen), `'next'` (exactly one ahead) or `'gap'` (something is missing).
 */
export function compareSeq(last: number, seq: number): 'old' | 'next' | 'gap' {
  return seq <= last ? 'old' : seq === last + 1 ? 'next' : 'gap';
}
