/**
 * What `createReplay` accepts as its Redis connection, reduced to one shape: an ioredis Redis or
 * Cluster client, with or without a `keyPrefix` of its own, or the seed extension's client
 * wrapper (`{ redis, key(), duplicate() }`, as its `createRedisClient` returns it).
 *
 * Prefixes stack in this order: the client's ioredis `keyPrefix`, then the wrapper's `key()`,
 * then our `prefix` option, then `{<topic>}:`. ioredis adds its `keyPrefix` to the keys of
 * commands but not to PUBLISH/SUBSCRIBE channels or SCAN patterns, so those are built from the
 * whole prefix, on a subscriber connection that has no `keyPrefix`.
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { describe, gaplessError } from '../core/errors.js';
import type { RedisClient } from './command.js';

/** The seed extension's client wrapper: only these members are used. */
export interface SeedRedisClient {
  readonly redis: Redis;
  key(key: string): string;
  duplicate(overrides?: RedisOptions): Redis;
}

export interface Connection {
  readonly redis: RedisClient;
  /** Our prefix as the keys of commands carry it (ioredis adds the client's `keyPrefix` itself). */
  readonly prefix: string;
  /** The whole prefix as Redis names keys and channels: for channels and SCAN patterns. */
  readonly redisPrefix: string;
  /** A new connection of the same configuration for pub/sub, with no `keyPrefix`. */
  duplicate(options: RedisOptions): Redis | Cluster;
}

function isClient(value: unknown): value is RedisClient {
  return typeof (value as { evalsha?: unknown } | null)?.evalsha === 'function';
}

function isSeedClient(value: unknown): value is SeedRedisClient {
  const v = value as Partial<SeedRedisClient> | null;
  return typeof v?.key === 'function' && typeof v.duplicate === 'function' && isClient(v.redis);
}

function assertNoBraces(what: string, value: string): void {
  if (value.includes('{') || value.includes('}')) {
    throw gaplessError('type', 'INVALID_ARGUMENT', `${what} must not contain '{' or '}' (keys are hash-tagged per topic, and a brace in front would become the tag), got ${describe(value)}`);
  }
}

/** `prefix` is the validated `prefix` option. */
export function connectionOf(input: unknown, prefix: string): Connection {
  const seed = isSeedClient(input) ? input : undefined;
  const redis = seed?.redis ?? input;
  if (!isClient(redis)) {
    throw gaplessError('type', 'INVALID_ARGUMENT', `redis must be an ioredis Redis or Cluster client, or the client wrapper of createRedisClient(), got ${describe(input)}`);
  }
  const own = (redis.options as { keyPrefix?: unknown }).keyPrefix;
  const clientPrefix = typeof own === 'string' ? own : '';
  assertNoBraces('the client keyPrefix', clientPrefix);
  const keyed = seed === undefined ? prefix : seed.key(prefix);
  if (typeof keyed !== 'string') throw gaplessError('type', 'INVALID_ARGUMENT', `key() of the redis client wrapper must return a string, got ${describe(keyed)}`);
  assertNoBraces('the key() prefix of the redis client wrapper', keyed);
  return {
    redis,
    prefix: keyed,
    redisPrefix: clientPrefix + keyed,
    duplicate(options) {
      if (redis.isCluster) {
        const cluster = redis as Cluster;
        return cluster.duplicate(undefined, { keyPrefix: '', shardedSubscribers: true, redisOptions: { ...cluster.options.redisOptions, ...options, keyPrefix: '' } });
      }
      const withoutPrefix = { ...options, keyPrefix: '' };
      return seed !== undefined ? seed.duplicate(withoutPrefix) : (redis as Redis).duplicate(withoutPrefix);
    },
  };
}
