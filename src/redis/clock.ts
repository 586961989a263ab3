/**
 * Redis's clock as seen from this process, for publish fences. A publish carries the time, on
 * Redis's clock, from which it must write nothing: the moment its caller stops waiting. Redis
 * checks it with `TIME` inside the script, so a command that ran late (queued behind a stalled
 * server, resent after a reconnect) stores nothing that its caller was told had failed.
 *
 * The offset between the clocks is only known within a round trip: a reply stamped with Redis
 * time `t` and received at local time `l` proves offset >= t - l (Redis ran the command before the
 * reply arrived). Fences use the best such bound, aged by the drift, so they fall no later than
 * the caller's deadline really is; the error only makes them earlier (by up to the round trip, plus the margin below),
 * which turns a few last-moment successes into definite failures and never the other way round.
 * Every publish reply refreshes the bound; after `STALE_MS` without one, a `TIME` call does.
 */
import type { RedisClient, Runner } from './command.js';

/** Longest a bound is used before it is measured again. */
const STALE_MS = 60_000;
/**
 * How far two clocks may drift apart per millisecond (1000 ppm, twice what NTP may slew), plus
 * one millisecond for the rounding of microseconds.
 */
const DRIFT = 1e-3;

export interface RedisClock {
  /** The fence for a call whose caller gives up at local time `deadline` (performance.now() ms), or `undefined` before the first measure. */
  fence(deadline: number): number | undefined;
  /** A reply stamped with Redis time `redisUs` (microseconds) has just arrived. */
  observe(redisUs: number): void;
  /** Measures the offset with a `TIME` call, before a publish to `topic` (named in a TIMEOUT). */
  sync(topic: string): Promise<void>;
}

export function createClock(redis: RedisClient, runner: Runner): RedisClock {
  /** Lower bound of (Redis µs - local µs), and the local time it was measured. */
  let offset = 0;
  let at = -Infinity;
  let syncing: Promise<void> | undefined;

  function observe(redisUs: number): void {
    const now = performance.now();
    const bound = redisUs - now * 1000;
    // Every bound was true when measured; the best one still holds once aged by the drift. A
    // loose one (a reply that waited behind WAIT or a busy event loop) does not replace it.
    const aged = offset - (now - at) * DRIFT * 1000;
    offset = at === -Infinity || bound > aged ? bound : aged;
    at = now;
  }

  return {
    fence(deadline) {
      const age = performance.now() - at;
      if (age > STALE_MS) return undefined;
      return Math.floor((deadline - 1 - age * DRIFT) * 1000 + offset);
    },
    observe,
    sync(topic) {
      return (syncing ??= runner
        .watch(redis.time(), 'other', 'the clock read (TIME) before a publish to', topic)
        .then(([seconds, micros]) => observe(Number(seconds) * 1e6 + Number(micros)))
        .finally(() => (syncing = undefined)));
    },
  };
}
