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
 * `promise`, or a TIMEOUT rejection after `ms`. The command itself cannot be recalled: its late
 * outcome is dropped (and a late rejection is caught, so it is never unhandled).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(gaplessError('error', 'TIMEOUT', `Redis did not answer ${what} within ${ms} ms (timeout option)`)), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
