/** Reconnect and retry delays. */

export interface BackoffOptions {
  /**
   * Delay scale of the first retry, in ms. Default 500. After a network blip it also sets the
   * quick retries: the first within `base / 10` (`base / 2` after a missed heartbeat deadline),
   * then one per `base / 2` for `4 * base` (2 s).
   */
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
 *
 * A blip found by a missed heartbeat deadline (`crowded`) waits in `[0, base / 2)` instead.
 * A server pings its sockets in sweeps, so sockets that opened together (after a restart, or
 * after the last reconnect storm) are pinged in the same instant; when their path dies, all
 * their deadlines pass in the same millisecond, and thousands of connects inside 50 ms overflow
 * the server's accept queue (each overflowed SYN costs its client a 1 s retransmit, then 3 s).
 * After a deadline of 10 s or more, a quarter second more spreads them at no visible cost.
 */
export function blipDelay(base: number, crowded = false): number {
  return Math.floor((Math.random() * base) / (crowded ? 2 : 10));
}

/**
 * The wait before the next quick retry, `sinceBlip` ms after a blip whose retries have failed
 * so far (the path is still down), or `undefined` once the quick retries are over and the
 * exponential backoff takes on.
 *
 * The `4 * base` ms after the blip are cut into slots of `base / 2`, and each client retries
 * once at a uniform point of the next slot: a short outage ends with every client back within
 * one or two slots, instead of far out on the backoff because its one quick retry came too
 * early. A crowd's attempts spread evenly over each slot, so the server never meets them all
 * in one instant, and a client makes at most 8 attempts before backing off.
 */
export function quickDelay(sinceBlip: number, base: number): number | undefined {
  const slot = base / 2;
  const next = Math.floor(sinceBlip / slot) + 1;
  if (next * slot >= 4 * base) return undefined;
  return Math.floor((next + Math.random()) * slot - sinceBlip);
}

/**
 * How long a connecting attempt may take before it is abandoned, after `slow` attempts in a row
 * that timed out: a uniform delay in `[t, 2t)` with `t = base * 2^slow`, `t` at most `8 * base`.
 *
 * A server whose listen queue overflows drops SYNs, and the attempt waits on the kernel's SYN
 * retransmits for tens of seconds although a fresh connect might get in at once: the timeout
 * cuts that wait short. The jitter keeps a crowd that started together from abandoning and
 * retrying together. The doubling is for a server that accepts but takes longer than `t` to
 * answer: a fixed timeout would abandon every attempt just before it would have opened.
 */
export function openDelay(base: number, slow: number): number {
  return Math.floor((1 + Math.random()) * base * 2 ** Math.min(slow, 3));
}
