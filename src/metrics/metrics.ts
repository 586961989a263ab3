/**
 * The registry of `gapless-replay/metrics`: every series the buffers and the platform report,
 * declared once with its closed label set, and the sinks that feed them.
 */
import {
  CLOSE_REASONS,
  DENIAL_CODES,
  ERROR_CODES,
  METRICS_SINK,
  REDIS_COMMANDS,
  REPLAY_ERROR_CODES,
  TRUNCATION_REASONS,
  labelOf,
  type CloseReason,
  type MetricsScope,
  type MetricsSink,
  type RedisCommand,
  type ReplayOutcome,
} from './sink.js';
import { observe, Registry, type HistogramFamily, type Labels, type ScalarFamily } from './registry.js';

/** The content type of `text()`, for the `Content-Type` header of a `/metrics` response. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface Metrics {
  /** The Prometheus text exposition (format 0.0.4) of every series, read now. */
  text(): string;
  /** `text/plain; version=0.0.4; charset=utf-8` */
  readonly contentType: typeof CONTENT_TYPE;
}

type Backend = 'memory' | 'redis';
const BACKENDS: readonly Backend[] = ['memory', 'redis'];

/**
 * Latency buckets in seconds, 1 µs to 5 s: an in-memory publish takes about a microsecond, a
 * Redis round trip a few hundred, and a Redis timeout (default 2 s) lands in the last bucket.
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 0.5, 1, 2.5, 5,
];

/**
 * How the in-memory and platform scopes sample what they time (see `MetricsSink.timeNext`):
 * one operation in `mask + 1`, where the mask doubles while timed operations come less than
 * `SAMPLE_GAP_MS` apart and halves once they come more than four times that apart. A busy
 * buffer then times a few hundred operations a second whatever its rate (at a million
 * publishes a second, counting one in 32 still cost about 3 % of publish throughput, mostly
 * clock reads), and a quiet one times every operation, so its quantiles are not starved.
 */
const SAMPLE_GAP_MS = 10;
const MAX_SAMPLE_MASK = 4095;
/**
 * A buffer that goes quiet after a busy spell would wait for thousands of operations before its
 * next timed one; a timer, armed only while sampling is sparse, starts timing every operation
 * again once none was timed for this long.
 */
const SAMPLE_RESET_MS = 1000;

/** `[{name: v}]` for each value. */
function each(name: string, values: readonly string[]): Labels[] {
  return values.map((v) => ({ [name]: v }));
}

/** Slot of each replay outcome and reason, in the order of the series of `gapless_replays_total`. */
function replaySeries(): { series: Labels[]; slots: Record<ReplayOutcome, Record<string, number>> } {
  const series: Labels[] = [{ outcome: 'ok' }];
  const slots: Record<ReplayOutcome, Record<string, number>> = { ok: { '': 0 }, truncated: {}, denied: {}, error: {} };
  const add = (outcome: ReplayOutcome, reasons: readonly string[]) => {
    for (const reason of reasons) {
      slots[outcome][reason] = series.length;
      series.push({ outcome, reason });
    }
  };
  add('truncated', TRUNCATION_REASONS);
  add('denied', DENIAL_CODES);
  add('error', REPLAY_ERROR_CODES);
  return { series, slots };
}

function indexOf<T extends string>(values: readonly T[]): Record<T, number> {
  return Object.fromEntries(values.map((v, i) => [v, i])) as Record<T, number>;
}

/** The series every sink writes to. */
interface Series {
  publishes: ScalarFamily;
  publishDuration: HistogramFamily;
  replays: ScalarFamily;
  replayedMessages: ScalarFamily;
  replayedBytes: ScalarFamily;
  replayDuration: HistogramFamily;
  denials: ScalarFamily;
  errors: ScalarFamily;
  socketsOpen: ScalarFamily;
  subscriptions: ScalarFamily;
  closes: ScalarFamily;
  redisErrors: ScalarFamily;
  resubscribes: ScalarFamily;
  catchups: ScalarFamily;
  catchupMessages: ScalarFamily;
}

const replayLayout = replaySeries();
const denialSlot = indexOf(DENIAL_CODES);
const errorSlot = indexOf(ERROR_CODES);
const closeSlot = indexOf(CLOSE_REASONS);
const redisSlot = indexOf(REDIS_COMMANDS);

function declare(registry: Registry): Series {
  const backends = each('backend', BACKENDS);
  return {
    publishes: registry.counter('gapless_publishes_total', 'Entries stored by publish (each got a seq), by backend.', backends),
    publishDuration: registry.histogram(
      'gapless_publish_duration_seconds',
      'Time from publish() to the entry stored and handed to the platform. In-memory publishes are sampled, a few hundred a second at most.',
      DURATION_BUCKETS,
    ),
    replays: registry.counter(
      'gapless_replays_total',
      'Replay requests answered, by outcome: ok; truncated by reason (evicted, reset, invalid); denied by code; error by code.',
      replayLayout.series,
    ),
    replayedMessages: registry.counter('gapless_replayed_messages_total', 'msg frames sent in answer to replay requests.'),
    replayedBytes: registry.counter(
      'gapless_replayed_bytes_total',
      'Length of the msg frames sent in answer to replay requests (string length: UTF-8 bytes for ASCII text).',
    ),
    replayDuration: registry.histogram(
      'gapless_replay_duration_seconds',
      'Time from a replay request to its end frame, for replays that end ok or truncated. Replays answered without waiting on a backend are sampled, a few hundred a second at most.',
      DURATION_BUCKETS,
    ),
    denials: registry.counter('gapless_denials_total', 'Subscribe requests denied, by code (codes an app defines count as other).', each('code', DENIAL_CODES)),
    errors: registry.counter('gapless_errors_total', 'Errors the server caught and logged instead of throwing, by code.', each('code', ERROR_CODES)),
    socketsOpen: registry.gauge('gapless_sockets_open', 'WebSocket connections open on the platform.'),
    subscriptions: registry.gauge('gapless_subscriptions', 'Subscriptions held by open sockets (one per socket and topic).'),
    closes: registry.counter('gapless_socket_closes_total', 'WebSocket connections closed, by reason.', each('reason', CLOSE_REASONS)),
    redisErrors: registry.counter('gapless_redis_errors_total', 'Redis calls that failed or timed out, by command.', each('command', REDIS_COMMANDS)),
    resubscribes: registry.counter('gapless_fanout_resubscribes_total', "Times the fan-out's subscriber connection came back and resubscribed."),
    catchups: registry.counter('gapless_fanout_catchups_total', 'Topics whose missed entries were read from the buffer after a resubscribe.'),
    catchupMessages: registry.counter('gapless_fanout_catchup_messages_total', 'Entries relayed by those catch-ups, which live delivery had missed.'),
  };
}

function createSink(s: Series, scope: MetricsScope): MetricsSink {
  // The slot of `backend` in gapless_publishes_total (a platform publishes nothing).
  const backend = scope === 'redis' ? 1 : 0;
  // Read once here: a publish then costs one typed-array increment, and a replay three.
  const publishes = s.publishes.values;
  const replays = s.replays.values;
  const replayedMessages = s.replayedMessages.values;
  const replayedBytes = s.replayedBytes.values;
  // A platform's replays are mostly in-memory ones (a Redis replay's read is timed on its own,
  // see serveReplay), so the platform samples too.
  const sampling = scope !== 'redis';
  let reported = 0;
  let mask = 0;
  let lastTimed = -Infinity;
  let reset: ReturnType<typeof setTimeout> | undefined;
  const relax = () => {
    reset = undefined;
    if (performance.now() - lastTimed < SAMPLE_RESET_MS) return armReset();
    mask = 0;
    sink.timeNext = true;
  };
  const armReset = () => {
    reset = setTimeout(relax, SAMPLE_RESET_MS);
    // A registry must not keep a process alive that has nothing else to do.
    reset.unref?.();
  };
  const timed = (h: HistogramFamily, started: number) => {
    const now = performance.now();
    observe(h, 0, (now - started) / 1000);
    if (!sampling) return;
    const gap = now - lastTimed;
    lastTimed = now;
    if (gap < SAMPLE_GAP_MS) mask = Math.min(mask * 2 + 1, MAX_SAMPLE_MASK);
    else if (gap > 4 * SAMPLE_GAP_MS) mask >>= 1;
    if (mask > 0 && reset === undefined) armReset();
  };
  const sink: { -readonly [K in keyof MetricsSink]: MetricsSink[K] } = {
    timeNext: true,
    published(started) {
      publishes[backend]!++;
      if (started >= 0) timed(s.publishDuration, started);
      if (sampling) sink.timeNext = (++reported & mask) === 0;
    },
    replayed(outcome, reason, messages, bytes, started) {
      if (outcome === 'ok') replays[0]!++;
      else {
        // Every outcome but ok has an `other` reason for codes outside its closed set.
        const slots = replayLayout.slots[outcome];
        replays[slots[reason!] ?? slots.other!]!++;
      }
      replayedMessages[0]! += messages;
      replayedBytes[0]! += bytes;
      if (started >= 0 && (outcome === 'ok' || outcome === 'truncated')) timed(s.replayDuration, started);
      if (sampling) sink.timeNext = (++reported & mask) === 0;
    },
    socketOpened() {
      s.socketsOpen.values[0]!++;
    },
    socketClosed(reason: CloseReason) {
      s.socketsOpen.values[0]!--;
      s.closes.values[closeSlot[reason]]!++;
    },
    subscribed() {
      s.subscriptions.values[0]!++;
    },
    unsubscribed() {
      s.subscriptions.values[0]!--;
    },
    denied(code) {
      s.denials.values[denialSlot[labelOf(DENIAL_CODES, code)]]!++;
    },
    error(code) {
      s.errors.values[errorSlot[labelOf(ERROR_CODES, code)]]!++;
    },
    redisError(command: RedisCommand) {
      s.redisErrors.values[redisSlot[command]]!++;
    },
    fanoutResubscribed() {
      s.resubscribes.values[0]!++;
    },
    fanoutCaughtUp(messages) {
      s.catchups.values[0]!++;
      s.catchupMessages.values[0]! += messages;
    },
  };
  return sink;
}

const registries = new WeakMap<Metrics, Registry>();

/** The registry behind `metrics` (for the prom-client adapter). */
export function registryOf(metrics: Metrics): Registry | undefined {
  return registries.get(metrics);
}

/**
 * One registry of every series; pass it as the `metrics` option of `createReplay` (either
 * backend) and `createPlatform`, and serve `text()` to Prometheus. Several buffers and
 * platforms may share one registry: their counts add up.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const series = declare(registry);
  const sinks = new Map<MetricsScope, MetricsSink>();
  const metrics: Metrics & { [METRICS_SINK](scope: MetricsScope): MetricsSink } = {
    text: () => registry.text(),
    contentType: CONTENT_TYPE,
    [METRICS_SINK](scope: MetricsScope): MetricsSink {
      let sink = sinks.get(scope);
      if (sink === undefined) sinks.set(scope, (sink = createSink(series, scope)));
      return sink;
    },
  };
  registries.set(metrics, registry);
  return metrics;
}
