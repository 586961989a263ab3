/**
 * @module gapless-replay/redis
 * The Redis-backed replay buffer: shared by every instance on one Redis or Cluster, durable as
 * Redis is. Pass your own ioredis client; ioredis is an optional peer dependency, imported here
 * only for types.
 */
export { createReplay, type RedisReplay, type RedisReplayOptions } from './replay.js';
export type { RedisClient } from './command.js';
export type { SeedRedisClient } from './client.js';
export type { Entry, AsyncReplay, ReplayPlatform, SubscribeVerdict } from '../core/types.js';
export type { Position, Since } from '../core/position.js';
export type { PublishOptions } from '../core/idempotency.js';
export type { ErrorCode, TruncationReason } from '../core/codes.js';
export { isGaplessError, type GaplessError } from '../core/errors.js';
