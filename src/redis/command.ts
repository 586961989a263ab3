/**
 * Running our scripts on a user's ioredis client: EVALSHA with an EVAL fallback, and a deadline
 * of our own, because the client may have no `commandTimeout` and would otherwise queue commands
 * forever while Redis is down, leaving every caller waiting with it.
 */
import type { Cluster, Redis } from 'ioredis';
import { describe, gaplessError } from '../core/errors.js';
import type { MetricsSink, RedisCommand } from '../metrics/sink.js';
import type { LuaScript } from './scripts.generated.js';

/** What `createReplay` accepts: a standalone client or a Cluster client. */
export type RedisClient = Redis | Cluster;

export type ScriptArg = string | number | Buffer;

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Calls to Redis with a deadline of our own. Every call shares one timeout, so the calls in
 * flight sit in a set (a settled call leaves it at once) swept by one timer that runs only while
 * calls are in flight: no timer, closure or extra promise layer per call on the publish path.
 * A call fails between `timeout` and `1.1 × timeout` after it started; the command itself
 * cannot be recalled from ioredis, so its late outcome is dropped.
 */
export interface Runner {
  /**
   * One script call: EVALSHA, and on NOSCRIPT (first call after a restart or SCRIPT FLUSH) one
   * EVAL, which caches the script again. `what` and `topic` name the call in a TIMEOUT error;
   * a failure counts as a failed `read`.
   */
  script(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[], what: string, topic: string): Promise<unknown>;
  /**
   * A publish script call whose last argument is `flags`, a string whose first character is
   * `0`. Once the command has been written, that character becomes `1` for any later send of the
   * same command (an ioredis resend after a lost reply, a Cluster retry): the script then looks
   * for an earlier run before appending. On a standalone client the publishes of one event-loop
   * turn after its first share one socket write (a pipeline, as auto-pipelining does), still one
   * EVALSHA each.
   */
  publish(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[], flags: string, what: string, topic: string): Promise<unknown>;
  /**
   * The same publish followed by `WAIT replicas <ms>` in one pipeline (one round trip, on the
   * topic's node in a Cluster). Resolves with the script's reply and the number of replicas that
   * acknowledged it. WAIT gets half the time left, so that too few replicas are reported before
   * the deadline; after NOSCRIPT the fallback EVAL is followed by its own WAIT.
   */
  publishReplicated(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[], flags: string, replicas: number, what: string, topic: string): Promise<[unknown, number]>;
  /**
   * Many calls of one script, each with its own reply and NOSCRIPT fallback: on a standalone
   * client one pipeline (one socket write, one round trip); on Cluster, where a pipeline cannot
   * span nodes, concurrent calls, written before any reply arrives (one round trip per shard,
   * in parallel).
   */
  scripts(script: LuaScript, calls: readonly ScriptCall[], what: string): Promise<unknown>[];
  /** Any other call, under the same deadline; a failure counts under `command`. */
  watch<T>(promise: Promise<T>, command: RedisCommand, what: string, topic: string): Promise<T>;
}

/** One call of a script in `Runner.scripts`; `topic` names it in a TIMEOUT error. */
export interface ScriptCall {
  readonly keys: readonly string[];
  readonly args: readonly ScriptArg[];
  readonly topic: string;
}

interface Pending {
  readonly at: number;
  /** What a failure of the call is counted as. */
  readonly command: RedisCommand;
  readonly what: string;
  readonly topic: string;
  readonly reject: (error: unknown) => void;
}

/** `metrics`: where failed and timed-out calls are counted, by command. */
export function createRunner(redis: RedisClient, ms: number, metrics: MetricsSink | undefined): Runner {
  const inFlight = new Set<Pending>();
  const period = Math.max(5, Math.ceil(ms / 10));
  let timer: ReturnType<typeof setInterval> | undefined;

  function sweep(): void {
    const now = performance.now();
    for (const p of inFlight) {
      if (p.at > now) continue;
      fail(p, gaplessError('error', 'TIMEOUT', `Redis did not answer ${p.what} ${describe(p.topic)} within ${ms} ms (timeout option)`));
    }
    if (inFlight.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  /** Rejects a call still in flight (a call already settled or timed out is not counted twice). */
  function fail(p: Pending, error: unknown): void {
    if (!inFlight.delete(p)) return;
    if (metrics !== undefined) metrics.redisError(p.command);
    p.reject(error);
  }

  function track(p: Pending): void {
    inFlight.add(p);
    if (timer === undefined) {
      timer = setInterval(sweep, period);
      // Pending Redis calls keep the process alive, not our deadline timer.
      timer.unref?.();
    }
  }

  function evalsha(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[], p: Pending, resolve: (v: unknown) => void): (error: Error | null, value?: unknown) => void {
    return (error, value) => {
      if (error === null || error === undefined) {
        if (inFlight.delete(p)) resolve(value);
      } else if (isNoScript(error)) {
        redis.eval(script.lua, script.numberOfKeys, ...keys, ...args).then(
          (v) => inFlight.delete(p) && resolve(v),
          (e: unknown) => fail(p, e),
        );
      } else {
        fail(p, error);
      }
    };
  }

  /**
   * The flag flip. ioredis serializes a command's arguments each time it writes it, so changing
   * an argument in place after the first write changes only later sends: the flag travels as a
   * one-byte Buffer (the only mutable argument type ioredis accepts). The flip waits one
   * setImmediate after our write, so that a write that ioredis's own auto-pipelining scheduled
   * for this turn has happened too. (A Buffer switches ioredis to its buffer encoding, a few µs
   * per command; a Command built by us could take a replaceable string instead, but ioredis's
   * Command class is not reachable without importing ioredis at run time.)
   */
  let flips: Buffer[] = [];
  const flipAll = () => {
    const list = flips;
    flips = [];
    for (const flag of list) flag[0] = 0x31;
  };
  function flipLater(flag: Buffer): void {
    if (flips.length === 0) setImmediate(flipAll);
    flips.push(flag);
  }

  /**
   * Publishes of the current turn after its first: written together by one pipeline when the
   * turn's microtasks are done. The first goes out at once, so a lone publish pays no pipeline.
   */
  let batch: ReturnType<Redis['pipeline']> | undefined;
  let batchFlips: Buffer[] = [];
  const pipelines = !redis.isCluster;
  let turnOpen = false;
  function endTurn(): void {
    turnOpen = false;
    if (batch === undefined) return;
    const pipeline = batch;
    const written = batchFlips;
    batch = undefined;
    batchFlips = [];
    // Each command settles through its own callback; the pipeline's promise only repeats them.
    pipeline.exec().catch(() => {});
    for (const flag of written) flipLater(flag);
  }

  function run(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[], command: RedisCommand, what: string, topic: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const p: Pending = { at: performance.now() + ms, command, what, topic, reject };
      track(p);
      const settle = evalsha(script, keys, args, p, resolve);
      redis.evalsha(script.sha, script.numberOfKeys, ...keys, ...args).then((v) => settle(null, v), (e: Error) => settle(e));
    });
  }

  return {
    script(script, keys, args, what, topic) {
      return run(script, keys, args, 'read', what, topic);
    },

    publish(script, keys, args, flags, what, topic) {
      const flag = Buffer.from(flags);
      const all = [...args, flag];
      if (!pipelines || !turnOpen) {
        if (pipelines) {
          turnOpen = true;
          // The publishes called in the same synchronous run join this batch. process.nextTick
          // runs before promise callbacks, so publishes from promise chains start a batch of their own.
          process.nextTick(endTurn);
        }
        const call = run(script, keys, all, 'publish', what, topic);
        flipLater(flag);
        return call;
      }
      return new Promise((resolve, reject) => {
        const p: Pending = { at: performance.now() + ms, command: 'publish', what, topic, reject };
        track(p);
        batch ??= (redis as Redis).pipeline();
        (batch.evalsha as (...parts: unknown[]) => unknown).call(batch, script.sha, script.numberOfKeys, ...keys, ...all, evalsha(script, keys, all, p, resolve));
        batchFlips.push(flag);
      });
    },

    publishReplicated(script, keys, args, flags, replicas, what, topic) {
      const flag = Buffer.from(flags);
      const all = [...args, flag];
      return new Promise((resolve, reject) => {
        const p: Pending = { at: performance.now() + ms, command: 'publish', what, topic, reject };
        track(p);
        const send = (loaded: boolean): void => {
          const pipeline = redis.pipeline();
          if (loaded) pipeline.evalsha(script.sha, script.numberOfKeys, ...keys, ...all);
          else pipeline.eval(script.lua, script.numberOfKeys, ...keys, ...all);
          // WAIT 0 would block forever: at least 1 ms.
          pipeline.wait(replicas, Math.max(1, Math.floor((p.at - performance.now()) / 2)));
          pipeline.exec().then(
            (results) => {
              const [error, reply] = results?.[0] ?? [new Error('missing pipeline reply')];
              if (loaded && isNoScript(error)) return send(false);
              const [waitError, acked] = results?.[1] ?? [new Error('missing pipeline reply')];
              if (error || waitError) fail(p, error ?? waitError);
              else if (inFlight.delete(p)) resolve([reply, acked as number]);
            },
            (error: unknown) => fail(p, error),
          );
          flipLater(flag);
        };
        send(true);
      });
    },
    scripts(script, calls, what) {
      if (!pipelines || calls.length < 2) return calls.map((c) => run(script, c.keys, c.args, 'read', what, c.topic));
      const pipeline = (redis as Redis).pipeline();
      const replies = calls.map(
        (c) =>
          new Promise<unknown>((resolve, reject) => {
            const p: Pending = { at: performance.now() + ms, command: 'read', what, topic: c.topic, reject };
            track(p);
            (pipeline.evalsha as (...parts: unknown[]) => unknown).call(pipeline, script.sha, script.numberOfKeys, ...c.keys, ...c.args, evalsha(script, c.keys, c.args, p, resolve));
          }),
      );
      // Each call settles through its own callback; the pipeline's promise only repeats them.
      pipeline.exec().catch(() => {});
      return replies;
    },

    watch(promise, command, what, topic) {
      return new Promise((resolve, reject) => {
        const p: Pending = { at: performance.now() + ms, command, what, topic, reject };
        track(p);
        promise.then(
          (value) => {
            if (inFlight.delete(p)) resolve(value);
          },
          (error: unknown) => fail(p, error),
        );
      });
    },
  };
}
