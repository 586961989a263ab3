/**
 * What the buffers and the platform report, and the closed sets of label values they report
 * with. This module holds no registry: a component given no `metrics` option keeps `undefined`
 * as its sink and calls nothing, so metrics cost nothing when they are not asked for.
 */
import { describe, gaplessError } from '../core/errors.js';
import type { TruncationReason } from '../core/codes.js';

/** Which component reports: the backend's name is a label of the series it feeds. */
export type MetricsScope = 'memory' | 'redis' | 'platform';

export type ReplayOutcome = 'ok' | 'truncated' | 'denied' | 'error';

/**
 * Why a socket closed. Codes of the close frame map as: 1000 and 1005 `normal`, 1001
 * `going_away`, 1008 `policy`, 1009 `payload_too_large`, 1013 `backpressure`; a socket the
 * platform terminated for a missed heartbeat is `heartbeat`; everything else is `other`.
 */
export type CloseReason = 'backpressure' | 'heartbeat' | 'payload_too_large' | 'policy' | 'normal' | 'going_away' | 'other';

/** The Redis calls whose failures are counted apart; `other` for any call not named here. */
export type RedisCommand = 'publish' | 'read' | 'subscribe' | 'unsubscribe' | 'clear' | 'other';

export const TRUNCATION_REASONS: readonly TruncationReason[] = ['evicted', 'reset', 'invalid'];
/** Denial codes counted by name; an app's own codes are counted as `other` (labels stay bounded). */
export const DENIAL_CODES = ['FORBIDDEN', 'INVALID_TOPIC', 'LIMIT', 'INTERNAL_ERROR', 'other'] as const;
/** Codes of the errors the server catches and logs instead of throwing. */
export const ERROR_CODES = ['BACKEND_ERROR', 'TIMEOUT', 'INTERNAL_ERROR', 'other'] as const;
/** The error codes a replay can end with (`end {error}`). */
export const REPLAY_ERROR_CODES = ['BACKEND_ERROR', 'TIMEOUT', 'other'] as const;
export const CLOSE_REASONS: readonly CloseReason[] = ['backpressure', 'heartbeat', 'payload_too_large', 'policy', 'normal', 'going_away', 'other'];
export const REDIS_COMMANDS: readonly RedisCommand[] = ['publish', 'read', 'subscribe', 'unsubscribe', 'clear', 'other'];

export type DenialLabel = (typeof DENIAL_CODES)[number];
export type ErrorLabel = (typeof ERROR_CODES)[number];

/** The label value a code is counted under: itself when it is in `known`, else `other`. */
export function labelOf<T extends string>(known: readonly T[], code: string): T {
  return (known as readonly string[]).includes(code) ? (code as T) : ('other' as T);
}

/** The close reason of a close code (see `CloseReason`). */
export function closeReasonOf(code: number): CloseReason {
  switch (code) {
    case 1000:
    case 1005:
      return 'normal';
    case 1001:
      return 'going_away';
    case 1008:
      return 'policy';
    case 1009:
      return 'payload_too_large';
    case 1013:
      return 'backpressure';
    default:
      return 'other';
  }
}

/**
 * The reporting interface. Durations are measured by the caller: when `timeNext` is true as an
 * operation starts, the caller reads `performance.now()` and passes it to the report, else it
 * passes -1. Each report moves `timeNext` on, so an operation costs the caller one property read
 * and one call. The in-memory and platform scopes sample: a clock read costs about a tenth of
 * an in-memory publish and a fiftieth of a short in-memory replay, and latency quantiles need a
 * sample, not every operation; they time every operation while operations are rare and a few
 * hundred a second at most when they are not. The Redis scope times every one (a round trip
 * dwarfs the clock). Counters always count every operation.
 */
export interface MetricsSink {
  /** Whether the operation starting now is to be timed (see above). */
  readonly timeNext: boolean;
  /** One entry stored (it got a seq). */
  published(started: number): void;
  /**
   * One replay request answered. `reason`: the truncation reason, the denial code, or the
   * error code, by outcome; `messages` and `bytes`: the `msg` frames sent and their length.
   */
  replayed(outcome: ReplayOutcome, reason: string | undefined, messages: number, bytes: number, started: number): void;
  socketOpened(): void;
  socketClosed(reason: CloseReason): void;
  subscribed(): void;
  unsubscribed(): void;
  /** A subscribe request denied, with its code. */
  denied(code: string): void;
  /** An error the server caught and logged, with its code. */
  error(code: string): void;
  redisError(command: RedisCommand): void;
  /** The fan-out's subscriber connection came back and resubscribed. */
  fanoutResubscribed(): void;
  /** After a resubscribe, one topic's missed entries were read and `messages` of them relayed. */
  fanoutCaughtUp(messages: number): void;
}

/** Under this key a registry from `createMetrics()` hands out its sinks, one per scope. */
export const METRICS_SINK = Symbol.for('gapless-replay.metricsSink');

interface SinkSource {
  [METRICS_SINK](scope: MetricsScope): MetricsSink;
}

/** Reads a `metrics` option: `undefined` (report nothing) or a registry from `createMetrics()`. */
export function metricsOption(value: unknown, scope: MetricsScope): MetricsSink | undefined {
  if (value === undefined) return undefined;
  const open = (value as Partial<SinkSource> | null)?.[METRICS_SINK];
  if (typeof open !== 'function') {
    throw gaplessError('type', 'INVALID_OPTION', `metrics must be a registry from createMetrics(), got ${describe(value)}`);
  }
  return open.call(value, scope);
}
