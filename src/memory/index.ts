/**
 * @module gapless-replay
 * The in-memory replay buffer (the default backend) and the shared types.
 */
export { createReplay, type MemoryReplay, type MemoryReplayOptions } from './replay.js';
export type { Entry, Replay, AsyncReplay, AnyReplay, ReplayPlatform, SubscribeVerdict } from '../core/types.js';
export type { Position, Since } from '../core/position.js';
export type { PublishOptions } from '../core/idempotency.js';
export type { ErrorCode, TruncationReason } from '../core/codes.js';
export { isGaplessError, type GaplessError } from '../core/errors.js';
export { isValidTopic, isValidEvent } from '../core/names.js';
