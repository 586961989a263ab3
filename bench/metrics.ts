/**
 * What a metrics registry costs: in-memory publish throughput of the same buffer with and
 * without `{ metrics }`, side by side in one process, in alternating rounds.
 *
 * Three contenders per measure: `with` (a registry attached), `without`, and `without, again`
 * (a second identical buffer without one). `with ÷ without` is the cost; `again ÷ without` is
 * what the same code measures against itself in this run, the noise to read the cost against.
 */
import { createReplay as createMemoryReplay } from '../src/memory/index.js';
import { createMetrics } from '../src/metrics/index.js';
import { createBenchPlatform } from './platform.js';
import { compare, formatOps, formatQuartiles, markdownTable, pairedRatio, type Comparison } from './stats.js';

const SIZE = 1000;
const SUBSCRIBERS = 4;
const POOL = 1024;
const EVENT = 'message';
/** The cost a registry may add, as a fraction of throughput. */
const BUDGET = 0.03;

/** About 180 bytes of JSON, a chat message; parsed so each is its own object, as a request body is. */
function payloads(): unknown[] {
  return Array.from({ length: POOL }, (_, i) =>
    JSON.parse(`{"id":${i},"user":"user-${i % 97}","room":"lobby","text":"message ${i.toString(36)}: the quick brown fox jumps over the lazy dog, twice over","ts":${1764000000000 + i}}`),
  );
}

interface Row {
  measure: string;
  result: Comparison;
}

function memoryRows(): Row[] {
  const data = payloads();
  const metrics = createMetrics();
  const buffers = { with: createMemoryReplay({ size: SIZE, metrics }), without: createMemoryReplay({ size: SIZE }), again: createMemoryReplay({ size: SIZE }) };
  const platform = createBenchPlatform(SUBSCRIBERS);
  // Full and wrapped rings: the steady state of a busy topic.
  for (const buffer of Object.values(buffers)) for (let i = 0; i < SIZE * 1.5; i++) buffer.publish(platform, 'chat', EVENT, data[i % POOL]);

  const publish = (buffer: (typeof buffers)['with']) => (n: number) => {
    for (let i = 0; i < n; i++) buffer.publish(platform, 'chat', EVENT, data[i & (POOL - 1)]);
  };
  return [
    { measure: 'in-memory publish, 182 B, 4 subscribers', result: compare({ with: publish(buffers.with), without: publish(buffers.without), again: publish(buffers.again) }, { rounds: 21 }) },
  ];
}

const percent = (ratio: number) => `${ratio >= 1 ? '+' : '−'}${Math.abs((ratio - 1) * 100).toFixed(1)} %`;

export async function benchMetrics(): Promise<string> {
  const rows = memoryRows();
  const table = markdownTable(
    ['Measure', 'without (ops/s)', 'with registry (ops/s)', 'with ÷ without', 'middle half of rounds', 'again ÷ without (noise)', `within ${BUDGET * 100} %`],
    rows.map(({ measure, result }) => {
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
    '## Cost of a metrics registry',
    '',
    'The same in-memory buffer with `createReplay({ metrics: createMetrics() })` and without, side by side in one process, on' +
      ` process CPU time through the bench platform (${SUBSCRIBERS} fake subscribers per publish, 21 alternating rounds). A third contender, a second buffer` +
      ' without a registry, measures the noise of the run: a cost smaller than that column is not measurable here.' +
      ' With a registry every publish is counted and one in 32 is timed (a clock read costs about a tenth of an in-memory publish).',
    '',
    table,
  ].join('\n');
}
