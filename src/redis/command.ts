/**
 * Running our scripts on a user's ioredis client: EVALSHA with an EVAL fallback, and a deadline
 * of our own, because the client may have no `commandTimeout` and would otherwise queue commands
 * forever while Redis is down, leaving every caller waiting with it.
 */
import type { Socket } from 'node:net';
import type { Cluster, Command as IoredisCommand, Redis } from 'ioredis';
import { describe, gaplessError } from '../core/errors.js';
import type { MetricsSink, RedisCommand } from '../metrics/sink.js';
import type { LuaScript } from './scripts.generated.js';

/** Most commands held for one socket write (see `write` in createRunner). */
const WRITE_BATCH = 16;

/** What `createReplay` accepts: a standalone client or a Cluster client. */
export type RedisClient = Redis | Cluster;

export type ScriptArg = string | number;

type CommandClass = typeof IoredisCommand;

/**
 * ioredis's Command class from the client's own copy of ioredis, which is not imported at run
 * time. (The client's `constructor` is ioredis's EventEmitter mixin, not its class.) A pipeline
 * that is never executed hands over the command that one of its command methods builds.
 */
function commandClassOf(redis: RedisClient): CommandClass {
  const pipeline = redis.pipeline() as unknown as { sendCommand(command: object): unknown; ping(): unknown };
  let found: unknown;
  pipeline.sendCommand = (command) => {
    found = command.constructor;
    return pipeline;
  };
  pipeline.ping();
  if (typeof found !== 'function') throw gaplessError('type', 'INVALID_ARGUMENT', 'redis must be an ioredis 5 or 6 client: its pipeline built no command');
  return found as CommandClass;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Calls to Redis with a deadline of our own. Every call shares one timeout, so the calls in
 * flight sit in a set (a settled call leaves it at once) swept by one timer that runs only while
 * calls are in flight: no timer per call. A publish is an ioredis command built here, so that
 * its resend flag can be a string.
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
   * `0`. Once the command has gone to ioredis, that character becomes `1` for any later send of
   * the same command (an ioredis resend after a lost reply, a Cluster retry): the script then
   * looks for an earlier run before appending. On a standalone client the publishes made in
   * one synchronous run of code share one socket write, still one EVALSHA each. Resolves with `settle(reply)`.
   */
  publish<T>(script: LuaScript, keys: readonly string[], args: readonly ScriptArg[], flags: string, what: string, topic: string, settle: (reply: unknown) => T | Promise<T>): Promise<T>;
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

  /**
   * Calls past their deadline, failed once this turn's I/O has run: timers run before the event
   * loop reads sockets, so a reply that arrived in time while this process was busy still wins.
   */
  let expired: Pending[] = [];

  function sweep(): void {
    const now = performance.now();
    for (const p of inFlight) {
      if (p.at > now) continue;
      if (expired.length === 0) setImmediate(expire);
      expired.push(p);
    }
    if (inFlight.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  function expire(): void {
    const list = expired;
    expired = [];
    for (const p of list) fail(p, gaplessError('error', 'TIMEOUT', `Redis did not answer ${p.what} ${describe(p.topic)} within ${ms} ms (timeout option)`));
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

    const Command = commandClassOf(redis);
  const options = { replyEncoding: 'utf8' as const, keyPrefix: (redis.options as { keyPrefix?: string }).keyPrefix };

  /**
   * A publish script command, EVALSHA or (`loaded` false, after NOSCRIPT) EVAL. Its last
   * argument is `flags`; `sent` marks it a resend for any later write. It passes every key it is
   * given: the publish script takes an optional key after the ones it always has.
   */
  function publishCommand(script: LuaScript, loaded: boolean, keys: readonly string[], args: readonly ScriptArg[], flags: string): InstanceType<CommandClass> {
    return new Command(loaded ? 'evalsha' : 'eval', [loaded ? script.sha : script.lua, keys.length, ...keys, ...args, flags], options);
  }

  /**
   * The flag flip. ioredis serializes a command's arguments each time it writes it (a resend
   * after a reconnect, a Cluster redirection), so replacing the flags argument once the command
   * has gone to ioredis changes only later sends. A command still queued (client not connected)
   * then goes out marked as a resend the first time too: the script looks for an earlier run and
   * finds none, which costs a read and is never wrong.
   */
  function sent(command: InstanceType<CommandClass>, flags: string): void {
    command.args[command.args.length - 1] = '1' + flags.slice(1);
  }

  /**
   * On a standalone client the commands sent in one synchronous run of code leave together, as
   * with ioredis's auto-pipelining but without its bookkeeping per command: the first corks the
   * connection's socket, and it is uncorked after `WRITE_BATCH` commands or by a
   * process.nextTick, whichever comes first. Publishes made in callbacks that one reply read
   * resolved (many concurrent callers, each publishing again when its last one settled) run in
   * one such run too.
   *
   * Why a cap: held to the end of the run, a burst of 64 publishes went out as one write, Redis
   * ran all 64 while this process waited, and then this process handled all 64 replies while
   * Redis waited: the two took turns, and 64 callers publishing in a loop reached half the
   * throughput of uncorked raw calls. Writes of 16 let Redis start on the first ones while the
   * rest are still being built (93–106 % of the raw calls' throughput), and still spare Redis
   * most of the reads (its CPU per publish fell too, to 0.87–1.02× the raw calls').
   */
  const corks = !redis.isCluster;
  let corked: Socket | undefined;
  /** Commands written since the socket was corked. */
  let held = 0;
  const uncork = () => {
    const socket = corked;
    if (socket === undefined) return;
    corked = undefined;
    socket.uncork();
  };
  function write(command: InstanceType<CommandClass>): void {
    if (corks && corked === undefined) {
      const socket = (redis as Redis).stream;
      if (socket?.writable) {
        socket.cork();
        corked = socket;
        held = 0;
        process.nextTick(uncork);
      }
    }
    redis.sendCommand(command);
    if (corked !== undefined && ++held === WRITE_BATCH) uncork();
  }

  /**
   * Sends a publish; `done` gets its reply unless the deadline failed it first. The EVAL after a
   * NOSCRIPT hands its reply over as directly as the EVALSHA would have: publishes resolve in the
   * order Redis ran them, whichever of them had to load the script.
   */
  function sendPublish(script: LuaScript, loaded: boolean, keys: readonly string[], args: readonly ScriptArg[], flags: string, p: Pending, done: (reply: unknown) => void): void {
    const command = publishCommand(script, loaded, keys, args, flags);
    write(command);
    sent(command, flags);
    (command.promise as Promise<unknown>).then(
      (reply) => {
        if (inFlight.delete(p)) done(reply);
      },
      (error: unknown) => {
        if (loaded && isNoScript(error) && inFlight.has(p)) sendPublish(script, false, keys, args, flags, p, done);
        else fail(p, error);
      },
    );
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

    publish(script, keys, args, flags, what, topic, settle) {
      return new Promise((resolve, reject) => {
        const p: Pending = { at: performance.now() + ms, command: 'publish', what, topic, reject };
        track(p);
        sendPublish(script, true, keys, args, flags, p, (reply) => {
          try {
            resolve(settle(reply));
          } catch (error) {
            reject(error);
          }
        });
      });
    },

    publishReplicated(script, keys, args, flags, replicas, what, topic) {
      return new Promise((resolve, reject) => {
        const p: Pending = { at: performance.now() + ms, command: 'publish', what, topic, reject };
        track(p);
        const send = (loaded: boolean): void => {
          const command = publishCommand(script, loaded, keys, args, flags);
          const pipeline = redis.pipeline();
          (pipeline as unknown as { sendCommand(command: InstanceType<CommandClass>): unknown }).sendCommand(command);
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
          sent(command, flags);
        };
        send(true);
      });
    },
    scripts(script, calls, what) {
      if (redis.isCluster || calls.length < 2) return calls.map((c) => run(script, c.keys, c.args, 'read', what, c.topic));
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
