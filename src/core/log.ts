/** The one place the server side reports what it caught instead of throwing out of a socket handler. */
export function logError(what: string, error: unknown): void {
  console.error(`[gapless-replay] ${what}:`, error);
}
