/**
 * Timing helpers shared by every benchmark section.
 *
 * The machine is shared and noisy, so nothing here reports a single run: contenders are
 * warmed up, then timed in alternating order (A B, B A, ...) over several rounds, and the
 * report is the median, with ratios taken per round (paired) before the median.
 */

/** Runs the measured operation `iterations` times. The loop lives inside so the harness adds no call per op. */
export type Loop = (iterations: number) => void;
export type AsyncLoop = (iterations: number) => Promise<void>;

export interface CompareOptions {
  /** Timed rounds per contender. Default 7. */
  rounds?: number;
  /** Target duration of one timed run, in ms. Default 60. */
  roundMs?: number;
  /** Warm-up time per contender before timing, in ms. Default 150. */
  warmupMs?: number;
}

export interface Comparison {
  /** Median ops/s of each contender, keyed as given. */
  ops: Record<string, number>;
  /** Median over rounds of `ops[first] / ops[other]` (paired within each round). */
  ratio: number;
  /** Every round's ratio, for a spread column if wanted. */
  ratios: number[];
}

const MAX_CALIBRATION_STEPS = 40;

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (`p` in 0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Collects garbage when the process runs with `--expose-gc` (as `npm run bench` does). */
export function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

export function hasGc(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

/** Wall time of one run of `loop(iterations)`, in ns. */
export function timeLoop(loop: Loop, iterations: number): number {
  const start = nowNs();
  loop(iterations);
  return Number(nowNs() - start);
}

export async function timeAsyncLoop(loop: AsyncLoop, iterations: number): Promise<number> {
  const start = nowNs();
  await loop(iterations);
  return Number(nowNs() - start);
}

/** Iterations that take about `targetMs`; doubles from 1, so it also warms the code up. */
export function calibrate(loop: Loop, targetMs: number): number {
  let n = 1;
  for (let step = 0; step < MAX_CALIBRATION_STEPS; step++) {
    const ns = timeLoop(loop, n);
    if (ns >= targetMs * 1e6 / 4) return Math.max(1, Math.round((n * targetMs * 1e6) / Math.max(ns, 1)));
    n *= 2;
  }
  return n;
}

export async function calibrateAsync(loop: AsyncLoop, targetMs: number): Promise<number> {
  let n = 1;
  for (let step = 0; step < MAX_CALIBRATION_STEPS; step++) {
    const ns = await timeAsyncLoop(loop, n);
    if (ns >= targetMs * 1e6 / 4) return Math.max(1, Math.round((n * targetMs * 1e6) / Math.max(ns, 1)));
    n *= 2;
  }
  return n;
}

function warmUp(loop: Loop, iterations: number, warmupMs: number): void {
  const deadline = nowNs() + BigInt(Math.round(warmupMs * 1e6));
  // Bounded both by time and by count, whichever comes first.
  for (let i = 0; i < 1000 && nowNs() < deadline; i++) loop(Math.max(1, iterations >> 2));
}

/**
 * Times two or more contenders side by side. The first key is "ours": `ratio` is its ops/s
 * over the second's. Order alternates each round so that neither always runs first (caches,
 * GC debt, a neighbour's burst). Garbage is collected between runs so each starts clean.
 */
export function compare(contenders: Record<string, Loop>, options: CompareOptions = {}): Comparison {
  const rounds = options.rounds ?? 7;
  const roundMs = options.roundMs ?? 60;
  const warmupMs = options.warmupMs ?? 150;
  const names = Object.keys(contenders);
  if (names.length < 2) throw new Error('compare needs at least two contenders');
  const iterations: Record<string, number> = {};
  for (const name of names) iterations[name] = calibrate(contenders[name]!, roundMs);
  for (const name of names) warmUp(contenders[name]!, iterations[name]!, warmupMs);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    const roundOps: Record<string, number> = {};
    for (const name of order) {
      collect();
      const n = iterations[name]!;
      roundOps[name] = n / (timeLoop(contenders[name]!, n) / 1e9);
      samples[name]!.push(roundOps[name]!);
    }
    ratios.push(roundOps[names[0]!]! / roundOps[names[1]!]!);
  }
  const ops: Record<string, number> = {};
  for (const name of names) ops[name] = median(samples[name]!);
  return { ops, ratio: median(ratios), ratios };
}

/** `compare` for asynchronous loops (a Redis round trip, a socket). */
export async function compareAsync(contenders: Record<string, AsyncLoop>, options: CompareOptions = {}): Promise<Comparison> {
  const rounds = options.rounds ?? 7;
  const roundMs = options.roundMs ?? 60;
  const names = Object.keys(contenders);
  if (names.length < 2) throw new Error('compareAsync needs at least two contenders');
  const iterations: Record<string, number> = {};
  for (const name of names) iterations[name] = await calibrateAsync(contenders[name]!, roundMs);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    const roundOps: Record<string, number> = {};
    for (const name of order) {
      collect();
      const n = iterations[name]!;
      roundOps[name] = n / ((await timeAsyncLoop(contenders[name]!, n)) / 1e9);
      samples[name]!.push(roundOps[name]!);
    }
    ratios.push(roundOps[names[0]!]! / roundOps[names[1]!]!);
  }
  const ops: Record<string, number> = {};
  for (const name of names) ops[name] = median(samples[name]!);
  return { ops, ratio: median(ratios), ratios };
}

// ---- formatting ------------------------------------------------------------------------

/** `1 234 567` style, so columns of ops/s read at a glance. */
export function formatOps(opsPerSecond: number): string {
  if (!Number.isFinite(opsPerSecond)) return String(opsPerSecond);
  return Math.round(opsPerSecond).toLocaleString('en-US');
}

export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return String(ratio);
  return (ratio >= 10 ? ratio.toFixed(0) : ratio >= 1 ? ratio.toFixed(2) : ratio.toFixed(3)) + '×';
}

/** Lowest and highest of the per-round ratios, `a–b`. */
export function formatSpread(ratios: readonly number[]): string {
  if (ratios.length === 0) return '';
  const sorted = [...ratios].sort((a, b) => a - b);
  return formatRatio(sorted[0]!) + '–' + formatRatio(sorted[sorted.length - 1]!);
}

export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) >= 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + ' MiB';
  if (Math.abs(bytes) >= 1024) return (bytes / 1024).toFixed(1) + ' KiB';
  return bytes.toFixed(Number.isInteger(bytes) ? 0 : 1) + ' B';
}

/** A GitHub markdown table. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => '| ' + cells.join(' | ') + ' |';
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}
