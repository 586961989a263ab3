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
  /** Timed rounds per contender. Default 15. */
  rounds?: number;
  /** Target duration of one timed run, in ms. Default 40. */
  roundMs?: number;
  /** Warm-up time per contender before timing, in ms. Default 150. */
  warmupMs?: number;
  /**
   * What a run's duration is measured in. `cpu` (the default for synchronous loops): this
   * process's user+system CPU time, which does not advance while a neighbour holds the core,
   * and does count our GC helper threads. `wall`: elapsed time (the default for async loops,
   * whose cost is partly in another process).
   */
  clock?: 'cpu' | 'wall';
}

export interface Comparison {
  /** Median ops/s of each contender, keyed as given. */
  ops: Record<string, number>;
  /** Median over rounds of `ops[first] / ops[other]` (paired within each round). */
  ratio: number;
  /** Every round's ratio, for a spread column if wanted. */
  ratios: number[];
  /** Every round's ops/s per contender, for other paired ratios (see `pairedRatio`). */
  rounds: Record<string, number>[];
}

/** Median over rounds of `a`'s ops/s over `b`'s, each pair from the same round. */
export function pairedRatio(comparison: Comparison, a: string, b: string): number {
  return median(comparison.rounds.map((round) => round[a]! / round[b]!));
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

/** This process's CPU time (user + system, all threads), in ns. */
export function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** Wall time (or CPU time) of one run of `loop(iterations)`, in ns. */
export function timeLoop(loop: Loop, iterations: number, clock: 'cpu' | 'wall' = 'wall'): number {
  if (clock === 'cpu') {
    const start = cpuNs();
    loop(iterations);
    return cpuNs() - start;
  }
  const start = nowNs();
  loop(iterations);
  return Number(nowNs() - start);
}

export async function timeAsyncLoop(loop: AsyncLoop, iterations: number, clock: 'cpu' | 'wall' = 'wall'): Promise<number> {
  if (clock === 'cpu') {
    const start = cpuNs();
    await loop(iterations);
    return cpuNs() - start;
  }
  const start = nowNs();
  await loop(iterations);
  return Number(nowNs() - start);
}

/**
 * Iterations that take about `targetMs`. Doubles from 1 (which also warms the code up), then
 * re-times at the estimate and keeps the fastest rate seen: a one-off pause in a short early
 * run (compilation, a GC, a neighbour) would otherwise make every timed round far too short.
 */
export function calibrate(loop: Loop, targetMs: number): number {
  const targetNs = targetMs * 1e6;
  let n = 1;
  let ns = timeLoop(loop, n);
  for (let step = 0; step < MAX_CALIBRATION_STEPS && ns < targetNs / 8; step++) {
    n *= 2;
    ns = timeLoop(loop, n);
  }
  let best = Math.max(ns, 1) / n;
  for (let k = 0; k < 3; k++) {
    const m = Math.max(1, Math.round(targetNs / best));
    best = Math.min(best, Math.max(timeLoop(loop, m), 1) / m);
  }
  return Math.max(1, Math.round(targetNs / best));
}

export async function calibrateAsync(loop: AsyncLoop, targetMs: number): Promise<number> {
  const targetNs = targetMs * 1e6;
  let n = 1;
  let ns = await timeAsyncLoop(loop, n);
  for (let step = 0; step < MAX_CALIBRATION_STEPS && ns < targetNs / 8; step++) {
    n *= 2;
    ns = await timeAsyncLoop(loop, n);
  }
  let best = Math.max(ns, 1) / n;
  for (let k = 0; k < 3; k++) {
    const m = Math.max(1, Math.round(targetNs / best));
    best = Math.min(best, Math.max(await timeAsyncLoop(loop, m), 1) / m);
  }
  return Math.max(1, Math.round(targetNs / best));
}

function warmUp(loop: Loop, iterations: number, warmupMs: number): void {
  const deadline = nowNs() + BigInt(Math.round(warmupMs * 1e6));
  // Bounded both by time and by count, whichever comes first.
  for (let i = 0; i < 1000 && nowNs() < deadline; i++) loop(Math.max(1, iterations >> 2));
}

/**
 * The bookkeeping of alternating rounds, shared by `compare` and `compareAsync`: the order of
 * each round, the ops/s of every run, and the paired ratio (first contender over second).
 */
class RoundLog {
  private readonly samples: Record<string, number[]>;
  private readonly ratios: number[] = [];
  private readonly perRound: Record<string, number>[] = [];
  private current: Record<string, number> = {};

  constructor(private readonly names: string[]) {
    this.samples = Object.fromEntries(names.map((n) => [n, []]));
  }

  order(round: number): string[] {
    return round % 2 === 0 ? this.names : [...this.names].reverse();
  }

  record(name: string, ops: number): void {
    this.current[name] = ops;
    this.samples[name]!.push(ops);
  }

  endRound(): void {
    this.ratios.push(this.current[this.names[0]!]! / this.current[this.names[1]!]!);
    this.perRound.push(this.current);
    this.current = {};
  }

  result(): Comparison {
    const ops: Record<string, number> = {};
    for (const name of this.names) ops[name] = median(this.samples[name]!);
    return { ops, ratio: median(this.ratios), ratios: this.ratios, rounds: this.perRound };
  }
}

/**
 * Times two or more contenders side by side. The first key is "ours": `ratio` is its ops/s
 * over the second's. Order alternates each round so that neither always runs first (caches,
 * GC debt, a neighbour's burst). Garbage is collected between runs so each starts clean.
 */
export function compare(contenders: Record<string, Loop>, options: CompareOptions = {}): Comparison {
  const rounds = options.rounds ?? 15;
  const roundMs = options.roundMs ?? 40;
  const warmupMs = options.warmupMs ?? 150;
  const clock = options.clock ?? 'cpu';
  const names = Object.keys(contenders);
  if (names.length < 2) throw new Error('compare needs at least two contenders');
  const iterations: Record<string, number> = {};
  for (const name of names) iterations[name] = calibrate(contenders[name]!, roundMs);
  for (const name of names) warmUp(contenders[name]!, iterations[name]!, warmupMs);
  const log = new RoundLog(names);
  for (let round = 0; round < rounds; round++) {
    for (const name of log.order(round)) {
      collect();
      const n = iterations[name]!;
      log.record(name, n / (Math.max(timeLoop(contenders[name]!, n, clock), 1000) / 1e9));
    }
    log.endRound();
  }
  return log.result();
}

/** `compare` for asynchronous loops (a Redis round trip, a socket). */
export async function compareAsync(contenders: Record<string, AsyncLoop>, options: CompareOptions = {}): Promise<Comparison> {
  const rounds = options.rounds ?? 15;
  const roundMs = options.roundMs ?? 40;
  const clock = options.clock ?? 'wall';
  const names = Object.keys(contenders);
  if (names.length < 2) throw new Error('compareAsync needs at least two contenders');
  const iterations: Record<string, number> = {};
  for (const name of names) iterations[name] = await calibrateAsync(contenders[name]!, roundMs);
  const log = new RoundLog(names);
  for (let round = 0; round < rounds; round++) {
    for (const name of log.order(round)) {
      collect();
      const n = iterations[name]!;
      log.record(name, n / (Math.max(await timeAsyncLoop(contenders[name]!, n, clock), 1000) / 1e9));
    }
    log.endRound();
  }
  return log.result();
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

/** A ratio as a whole percentage: `0.93` is `93%`. */
export function formatPercent(ratio: number): string {
  return Math.round(ratio * 100) + '%';
}

/** Lowest and highest of the per-round ratios, `a–b`. */
export function formatSpread(ratios: readonly number[]): string {
  if (ratios.length === 0) return '';
  const sorted = [...ratios].sort((a, b) => a - b);
  return formatRatio(sorted[0]!) + '–' + formatRatio(sorted[sorted.length - 1]!);
}

/** The middle half of the per-round ratios (25th–75th percentile), `a–b`. */
export function formatQuartiles(ratios: readonly number[]): string {
  if (ratios.length === 0) return '';
  return formatRatio(percentile(ratios, 25)) + '–' + formatRatio(percentile(ratios, 75));
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
