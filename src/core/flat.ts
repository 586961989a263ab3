/** Strings kept and copied many times (stored entries, cached frame parts) are kept flat. */
/**
 * `s` as one flat string. Concatenation and `JSON.stringify` build a tree of parts (a V8 cons
 * string) that costs extra heap while kept and that every later copy (the socket write, a
 * longer frame) walks again; reading a character makes V8 flatten it once, in place, and the
 * garbage collector then drops the emptied tree node.
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}
