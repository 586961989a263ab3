/**
 * Epochs name one life of a topic's counter: 64 random bits (two 32-bit words, each written as
 * 7 base-36 digits, 14 characters). Collisions between two lives of one topic are out of reach,
 * and the text needs no escaping.
 */
const words = new Uint32Array(2);

export function newEpoch(): string {
  globalThis.crypto.getRandomValues(words);
  return words[0]!.toString(36).padStart(7, '0') + words[1]!.toString(36).padStart(7, '0');
}
