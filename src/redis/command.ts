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
 * Deadlines for calls that share one timeout. The calls in flight sit in a set (a settled call
 * leaves it at once, so nothing outlives its reply), and one timer, running only while calls are
 * in flight, sweeps it every tenth of the timeout: no timer per call on the publish hot path.
 * A call fails between `timeout` and `1.1 × timeout` after it started.
 */
export interface Deadlines {
  /** `promise`, or a TIMEOUT rejection after the timeout. The command cannot be recalled: its late outcome is dropped. */
  watch<T>(promise: Promise<T>, what: () => string): Promise<T>;
}

interface Pending {
  readonly at: number;
  readonly fail: () => void;
}

export function createDeadlines(ms: number): Deadlines {
  const inFlight = new Set<Pending>();
  const period = Math.max(5, Math.ceil(ms / 10));
  let timer: ReturnType<typeof setInterval> | undefined;

  function sweep(): void {
    const now = performance.now();
    for (const p of inFlight) {
      if (p.at <= now) {
        inFlight.delete(p);
        p.fail();
      }
    }
    if (inFlight.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  return {
    watch<T>(promise: Promise<T>, what: () => string): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const p: Pending = {
          at: performance.now() + ms,
          fail: () => reject(gaplessError('error', 'TIMEOUT', `Redis did not answer ${what()} within ${ms} ms (timeout option)`)),
        };
        inFlight.add(p);
        if (timer === undefined) {
          timer = setInterval(sweep, period);
          // Pending Redis calls keep the process alive, not our deadline timer.
          timer.unref?.();
        }
        promise.then(
          (value) => {
            inFlight.delete(p);
            resolve(value);
          },
          (error: unknown) => {
            inFlight.delete(p);
            reject(error);
          },
        );
      });
    },
  };
}
