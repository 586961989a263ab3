/** Reconnect and retry delays. */

export interface BackoffOptions {
  /** Delay scale of the first retry, in ms. Default 500. */
  base?: number;
  /** Cap on any delay, in ms. Default 30000. */
  max?: number;
}

/**
 * Exponential backoff with full jitter: a uniform delay in `[0, min(max, base * 2^attempt))`.
 * Full jitter spreads a crowd of clients that lost the same server, so they do not all
 * come back in the same instant.
 */
export function backoffDelay(attempt: number, base: number, max: number): number {
  return Math.floor(Math.random() * Math.min(max, base * 2 ** Math.min(attempt, 30)));
}

/**
 * The wait before reconnecting after a network blip: a uniform delay in `[0, base / 10)`
 * (0–50 ms by default). A blip leaves the server up, so the full backoff would only add
 * latency to the catch-up; the jitter still spreads clients that lost the same path at once.
 */
export function blipDelay(base: number): number {
  return Math.floor((Math.random() * base) / 10);
}
