import { createReplay } from '../src/memory/index.js';
import { createMetrics } from '../src/metrics/index.js';
import { METRICS_SINK } from '../src/metrics/sink.js';
import { createBenchPlatform } from './platform.js';
const data = Array.from({ length: 1024 }, (_, i) => ({ id: i, user: `user-${i % 97}`, text: 'the quick brown fox jumps over the lazy dog' }));
const p = createBenchPlatform(4);
const noop = { [METRICS_SINK]: () => ({ start: () => -1, published() {} }) } as never;
const bufs: Record<string, ReturnType<typeof createReplay>> = {
  without: createReplay({ size: 1000 }),
  with: createReplay({ size: 1000, metrics: createMetrics() }),
  noop: createReplay({ size: 1000, metrics: noop }),
  again: createReplay({ size: 1000 }),
};
const run = (r: ReturnType<typeof createReplay>, n: number) => { const t = process.cpuUsage(); for (let i = 0; i < n; i++) r.publish(p, 'chat', 'message', data[i & 1023]); const u = process.cpuUsage(t); return n / ((u.user + u.system) / 1e6); };
const names = Object.keys(bufs);
for (let i = 0; i < 3; i++) for (const n of names) run(bufs[n]!, 200000);
const ratios: Record<string, number[]> = { with: [], noop: [], again: [] };
for (let r = 0; r < 24; r++) {
  const order = r % 2 ? names : [...names].reverse();
  const ops: Record<string, number> = {};
  for (const n of order) ops[n] = run(bufs[n]!, 100000);
  for (const k of Object.keys(ratios)) ratios[k]!.push(ops[k]! / ops.without!);
}
for (const [k, v] of Object.entries(ratios)) { v.sort((a, b) => a - b); console.log(k, v[v.length >> 1]!.toFixed(3)); }
