/**
 * What a metrics registry costs: in-memory publish throughput of the same buffer with and
 * without `{ metrics }`, and replay throughput through a platform with and without one (the
 * platform counts and times every replay it answers), side by side in one process, in
 * alternating rounds.
 *
 * Three contenders per measure: `with` (a registry attached), `without`, and `without, again`
 * (a second identical setup without one). `with ÷ without` is the cost; `again ÷ without` is
 * what the same code measures against itself in this run, the noise to read the cost against.
 */
import { consoleLogger } from '../src/core/log.js';
import type { ReplayPlatform } from '../src/core/types.js';
import { createReplay as createMemoryReplay } from '../src/memory/index.js';
import { createMetrics } from '../src/metrics/index.js';
import { metricsOption, type MetricsSink } from '../src/metrics/sink.js';
import { REPLAY_CHANNEL, type ReplayChannel } from '../src/protocol/serve.js';
import { createBenchPlatform, createSocket, type BenchPlatform, type BenchSocket } from './platform.js';
import { calibrate, formatOps, formatQuartiles, markdownTable, median, pairedRatio, timeLoop, type Comparison, type Loop } from './stats.js';

const SIZE = 1000;
const SUBSCRIBERS = 4;
const POOL = 1024;
const EVENT = 'message';
const ROUNDS = 121;
/** Short rounds, many of them: on a shared machine a round is less often cut by a neighbour. */
const ROUND_MS = 20;
/** The cost a registry may add, as a fraction of throughput. */
const BUDGET = 0.03;
/** Entries a short replay sends: a client back after a blip. */
const TAIL = 10;

/** About 180 bytes of JSON, a chat message; parsed so each is its own object, as a request body is. */
function payloads(): unknown[] {
  return Array.from({ length: POOL }, (_, i) =>
    JSON.parse(`{"id":${i},"user":"user-${i % 97}","room":"lobby","text":"message ${i.toString(36)}: the quick brown fox jumps over the lazy dog, twice over","ts":${1764000000000 + i}}`),
  );
}

/**
 * Times `with`, `without` and `again` in alternating rounds, each run the same number of
 * operations (calibrated once, on `without`), on process CPU time. Unlike `compare` in
 * stats.ts it neither collects garbage before each run nor sizes each contender's runs on its
 * own: the three differ by a few nanoseconds per operation, and a forced collection or another
 * run length moved one contender by more than that on this shared machine (up to 25 % between
 * two identical ones), while here identical contenders agree within about 1 %.
 */
function sideBySide(contenders: { with: Loop; without: Loop; again: Loop }): Comparison {
  const names = ['with', 'without', 'again'] as const;
  const n = calibrate(contenders.without, ROUND_MS);
  for (let i = 0; i < 3; i++) for (const name of names) contenders[name](n);
  const perRound: Record<string, number>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ops: Record<string, number> = {};
    for (const name of round % 2 === 0 ? names : [...names].reverse()) ops[name] = n / (Math.max(timeLoop(contenders[name], n, 'cpu'), 1000) / 1e9);
    perRound.push(ops);
  }
  const ratios = perRound.map((r) => r.with! / r.without!);
  return {
    ops: Object.fromEntries(names.map((name) => [name, median(perRound.map((r) => r[name]!))])),
    ratio: median(ratios),
    ratios,
    rounds: perRound,
  };
}

interface Row {
  measure: string;
  result: Comparison;
}

/**
 * The bench platform with what the `ws` platform offers replays of one socket: its sink (or
 * none), a gate that allows, and sends that always go through. The `ws` platform's own pacing
 * checks (open, buffered amount, time slice) are left out, so the serving path is all there is
 * to measure and the registry's share of it is the largest it can be.
 */
export function channelPlatform(platform: BenchPlatform, socket: BenchSocket, metrics: MetricsSink | undefined): ReplayPlatform {
  const channel: ReplayChannel = {
    gate: () => null,
    send: (frame) => platform.sendText(socket, frame),
    pace: () => true,
    metrics,
    logger: consoleLogger,
  };
  return { ...platform, [REPLAY_CHANNEL]: () => channel } as ReplayPlatform;
}

function rows(): Row[] {
  const data = payloads();
  const metrics = createMetrics();
  const buffers = { with: createMemoryReplay({ size: SIZE, metrics }), without: createMemoryReplay({ size: SIZE }), again: createMemoryReplay({ size: SIZE }) };
  const platform = createBenchPlatform(SUBSCRIBERS);
  // Full and wrapped rings: the steady state of a busy topic.
  for (const buffer of Object.values(buffers)) for (let i = 0; i < SIZE * 1.5; i++) buffer.publish(platform, 'chat', EVENT, data[i % POOL]);

  const publish = (buffer: (typeof buffers)['with']) => (n: number) => {
    for (let i = 0; i < n; i++) buffer.publish(platform, 'chat', EVENT, data[i & (POOL - 1)]);
  };

  // Replays are read from one buffer; only the platform differs.
  const source = buffers.without;
  const socket = createSocket();
  const platforms = {
    with: channelPlatform(platform, socket, metricsOption(metrics, 'platform')),
    without: channelPlatform(platform, socket, undefined),
    again: channelPlatform(platform, socket, undefined),
  };
  const replay = (count: number) => (target: ReplayPlatform) => (n: number) => {
    // Read per run: the publish rounds moved the topic on.
    const since = (source.seq('chat') as number) - count;
    // The in-memory replay answers synchronously; the promise is already settled.
    for (let i = 0; i < n; i++) void source.replay(socket, 'chat', since, target);
  };
  const replays = (count: number) => sideBySide({ with: replay(count)(platforms.with), without: replay(count)(platforms.without), again: replay(count)(platforms.again) });

  return [
    { measure: `in-memory publish, 182 B, ${SUBSCRIBERS} subscribers`, result: sideBySide({ with: publish(buffers.with), without: publish(buffers.without), again: publish(buffers.again) }) },
    { measure: `replay of the last ${TAIL} of ${SIZE}, 182 B`, result: replays(TAIL) },
    { measure: `replay of all ${SIZE}, 182 B`, result: replays(SIZE - 1) },
  ];
}

const percent = (ratio: number) => `${ratio >= 1 ? '+' : '−'}${Math.abs((ratio - 1) * 100).toFixed(1)} %`;

export async function benchMetrics(): Promise<string> {
  const table = markdownTable(
    ['Measure', 'without (ops/s)', 'with registry (ops/s)', 'with ÷ without', 'middle half of rounds', 'again ÷ without (noise)', `within ${BUDGET * 100} %`],
    rows().map(({ measure, result }) => {
      const cost = result.ratio;
      return [
        measure,
        formatOps(result.ops.without!),
        formatOps(result.ops.with!),
        `**${percent(cost)}**`,
        formatQuartiles(result.ratios),
        percent(pairedRatio(result, 'again', 'without')),
        cost >= 1 - BUDGET ? 'yes' : '**no**',
      ];
    }),
  );
  return [
    '## Metrics overhead',
    '',
    'Publish: the same in-memory buffer with `createReplay({ metrics: createMetrics() })` and without. Replay: the same buffer' +
      " serving through a platform that reports into a registry (as `createPlatform(wss, { metrics })` does) and through one that does not." +
      ` Side by side in one process, on process CPU time through the bench platform (${SUBSCRIBERS} fake subscribers per publish, ${ROUNDS} alternating rounds of about ${ROUND_MS} ms).` +
      ' A third contender, a second setup without a registry, measures the noise of the run: a cost smaller than that column is not measurable here.' +
      ' With a registry every publish and every replay is counted (replays by outcome, `msg` frames, bytes); a sample is timed,' +
      ' which thins out to one in 4096 while they come less than 10 ms apart (a clock read costs about a tenth of an in-memory publish).',
    '',
    table,
  ].join('\n');
}
