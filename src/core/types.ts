/** The public shapes every backend and the platform share. */
import type { PublishOptions } from './idempotency.js';
import type { Position, Since } from './position.js';

export type { Position, Since, PublishOptions };

/** A buffered message as `since()` returns it: a copy, safe to mutate. */
export interface Entry<T = unknown> {
  seq: number;
  topic: string;
  event: string;
  data: T;
}

/** What `subscribe` hooks and `checkSubscribe` return: `null` allows, a string names the denial. */
export type SubscribeVerdict = string | null;

/**
 * What a replay buffer needs from a platform. svelte-adapter-uws's platform fits;
 * `gapless-replay/ws` also implements the serialize-once methods, which the buffers use when present.
 */
export interface ReplayPlatform<WS = unknown> {
  publish(topic: string, event: string, data: unknown, options?: { seq?: number; epoch?: string }): unknown;
  send(ws: WS, topic: string, event: string, data: unknown): unknown;
  checkSubscribe?(ws: WS, topic: string): SubscribeVerdict | undefined | Promise<SubscribeVerdict | undefined>;
  /**
   * Fan out a live frame whose data is already JSON text (`json`), stamped with the buffer's
   * position. Lets a publish serialize its payload exactly once.
   */
  publishJson?(topic: string, event: string, json: string, seq: number, epoch: string): void;
  /**
   * Send one complete, already-serialized frame to one socket. Returns `false` when the socket
   * is gone or was closed for backpressure, so a replay stops instead of leaving a silent hole.
   */
  sendText?(ws: WS, frame: string): boolean;
}

/** The in-memory buffer (`gapless-replay`): every method but `replay` is synchronous. */
export interface Replay {
  /**
   * Store, then deliver live with `{seq, epoch}`. Returns the assigned seq. With `{ id }`, a repeat
   * of the same id on the same topic within `idempotencyWindow` stores and delivers nothing and
   * returns the first publish's seq.
   */
  publish(platform: ReplayPlatform, topic: string, event: string, data?: unknown, options?: PublishOptions): number;
  /** Current seq, 0 when the topic has no state. */
  seq(topic: string): number;
  /**
   * Current position. Read it BEFORE loading SSR data. Fixes the epoch of a topic with no state
   * (only this and `positions` do: a replay of an unknown topic creates nothing).
   */
  position(topic: string): Position;
  /** Positions of many topics at once. */
  positions(topics: readonly string[]): Record<string, Position>;
  /** Copies of the entries with seq > since, ascending; `[]` for an invalid since or another epoch. */
  since(topic: string, since: Since): Entry[];
  /**
   * Send one replay answer (`truncated` when needed, the `msg` frames, `end`) to one socket.
   * Values that do not match the types (from the wire) are still checked: they get an error
   * or `truncated` frame, never a rejection.
   */
  replay(ws: unknown, topic: string, since: Since, platform: ReplayPlatform, reqId?: string | number): Promise<void>;
  /**
   * `true` when `frame` (a message as a socket received it, text or parsed) was a replay or
   * replay-batch request, answered in the background; `false` for anything else.
   */
  handle(ws: unknown, frame: unknown, platform: ReplayPlatform): boolean;
  clear(): void;
  clearTopic(topic: string): void;
}

/** The Redis buffer (`gapless-replay/redis`): the same contract, every method async. */
export interface AsyncReplay {
  /**
   * Store, then deliver live with `{seq, epoch}`; resolves with the assigned seq. With `{ id }`, a
   * repeat of the same id on the same topic within `idempotencyWindow` stores and delivers nothing
   * and resolves with the first publish's seq. A TIMEOUT rejection is never stored afterwards;
   * NOT_REPLICATED (with `replicas`) means the entry may exist: retry with the same id.
   */
  publish(platform: ReplayPlatform, topic: string, event: string, data?: unknown, options?: PublishOptions): Promise<number>;
  seq(topic: string): Promise<number>;
  position(topic: string): Promise<Position>;
  positions(topics: readonly string[]): Promise<Record<string, Position>>;
  since(topic: string, since: Since): Promise<Entry[]>;
  replay(ws: unknown, topic: string, since: Since, platform: ReplayPlatform, reqId?: string | number): Promise<void>;
  handle(ws: unknown, frame: unknown, platform: ReplayPlatform): boolean;
  clear(): Promise<void>;
  clearTopic(topic: string): Promise<void>;
}

export type AnyReplay = Replay | AsyncReplay;

/**
 * Live delivery across instances. A buffer that fans out through a shared
 * backend (Redis pub/sub) implements `attachFanout`; a platform created with such a buffer
 * calls it once and then reports which topics have local subscribers.
 */
export interface FanoutSink {
  /** Deliver one live frame to this instance's local subscribers of `topic`. */
  deliver(topic: string, event: string, json: string, seq: number, epoch: string): void;
}

export interface FanoutAttachment {
  /**
   * `topic` gained its first local subscriber. The platform awaits this before it acknowledges
   * the subscribe or serves the socket's next frame, so that a replay read after it cannot
   * miss a frame published in between: were the relay still subscribing, a frame published
   * after the read but before the relay is live would reach the client neither way.
   */
  topicActive(topic: string): void | Promise<void>;
  /** `topic` lost its last local subscriber. */
  topicIdle(topic: string): void;
  /** Stop relaying; resolves when the backend connection used for it is released. */
  detach(): Promise<void>;
}

export interface FanoutSource {
  attachFanout(sink: FanoutSink): FanoutAttachment;
}
