/**
 * Running our scripts on a user's ioredis client: EVALSHA with an EVAL fallback, and a deadline
 * of our own, because the client may have no `commandTimeout` and would otherwise queue commands
 * forever while Redis is down (reference-notes B W8).
 */
import type { Cluster, Redis } from 'ioredis';
import { gaplessError } from '../core/errors.js';
import type { LuaScript } from './scripts.generated.js';

/** What `createReplay` accepts: a standalone client or a Cluster client. */
export type RedisClient = Redis | Cluster;

export type ScriptArg = string | number | Buffer;

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * One script call. The body travels only when the server does not know the script yet
 * (NOSCRIPT: first call after a restart or SCRIPT FLUSH); EVAL also caches it for next time.
 */
export function runScript(redis: RedisClient, script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
  return redis.evalsha(script.sha, script.numberOfKeys, ...keys, ...args).catch((error: unknown) => {
    if (!isNoScript(error)) throw error;
    return redis.eval(script.lua, script.numberOfKeys, ...keys, ...args);
  });
}

/**
 * Deadlines for calls that all share one timeout, so they expire in the order they started:
 * a FIFO and one timer for its head, instead of a timer per call (publish is a hot path).
 */
export interface Deadlines {
  /** `promise`, or a TIMEOUT rejection after the timeout. The command cannot be recalled: its late outcome is dropped. */
  watch<T>(promise: Promise<T>, what: () => string): Promise<T>;
}

interface Pending {
  at: number;
  settled: boolean;
  fail: () => void;
}

export function createDeadlines(ms: number): Deadlines {
  const queue: Pending[] = [];
  let head = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function expire(): void {
    timer = undefined;
    const now = performance.now();
    while (head < queue.length) {
      const p = queue[head]!;
      if (!p.settled && p.at > now) break;
      head++;
      if (!p.settled) p.fail();
    }
    if (head === queue.length) queue.length = head = 0;
    else if (head > 1024 && head * 2 > queue.length) queue.splice(0, head), (head = 0);
    arm();
  }

  function arm(): void {
    if (timer !== undefined || head === queue.length) return;
    timer = setTimeout(expire, Math.max(0, queue[head]!.at - performance.now()) + 1);
    // Pending Redis calls keep the process alive, not our deadline timer.
    timer.unref?.();
  }

  return {
    watch<T>(promise: Promise<T>, what: () => string): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const p: Pending = {
          at: performance.now() + ms,
          settled: false,
          fail: () => reject(gaplessError('error', 'TIMEOUT', `Redis did not answer ${what()} within ${ms} ms (timeout option)`)),
        };
        queue.push(p);
        arm();
        promise.then(
          (value) => {
            p.settled = true;
            resolve(value);
          },
          (error: unknown) => {
            p.settled = true;
            reject(error);
          },
        );
      });
    },
  };
}
