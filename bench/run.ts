/**
 * `npm run bench`: every benchmark section in one process and one run, written to
 * docs/benchmarks.md with the command, the date and the machine.
 *
 * Sections other than the in-memory one live in their own modules and are loaded only when
 * their file exists, so the bench runs at every stage of the project. Each exports an
 * `async () => Promise<string>` that returns markdown starting with its `## ` heading.
 *
 * `npm run bench -- memory redis` runs only the named sections and prints them without
 * touching docs/benchmarks.md (for working on one section).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchMemory } from './memory.js';
import { hasGc } from './stats.js';

type Section = () => Promise<string>;

interface SectionSpec {
  name: string;
  /** Module file next to this one, loaded only when present. */
  file?: string;
  exportName?: string;
  run?: Section;
}

const SECTIONS: SectionSpec[] = [
  { name: 'memory', run: () => benchMemory((line) => console.log(line)) },
  { name: 'redis', file: 'redis.ts', exportName: 'benchRedis' },
  { name: 'fanout', file: 'fanout.ts', exportName: 'benchFanout' },
  { name: 'metrics', file: 'metrics.ts', exportName: 'benchMetrics' },
  { name: 'replay-tail', file: 'replay-tail.ts', exportName: 'benchReplayTail' },
  { name: 'client-size', file: 'client-size.ts', exportName: 'benchClientSize' },
  { name: 'reconnect', file: 'reconnect/index.ts', exportName: 'benchReconnect' },
  { name: 'load', file: 'load/index.ts', exportName: 'benchLoad' },
];

const COMMAND = 'npm run bench';
const OUTPUT = new URL('../docs/benchmarks.md', import.meta.url);

async function load(spec: SectionSpec): Promise<Section | undefined> {
  if (spec.run) return spec.run;
  const url = new URL('./' + spec.file, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  const mod = (await import(url.href)) as Record<string, unknown>;
  const fn = mod[spec.exportName!];
  if (typeof fn !== 'function') throw new Error(`bench/${spec.file} does not export ${spec.exportName}()`);
  return fn as Section;
}

function header(date: Date, seconds: number): string {
  const cpu = cpus();
  return [
    '# Benchmarks',
    '',
    'Produced by one run of:',
    '',
    '```sh',
    COMMAND + '    # node --expose-gc --import tsx bench/run.ts',
    '```',
    '',
    `Run on ${date.toISOString().replace('T', ' ').slice(0, 16)} UTC with Node ${process.version} on ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}` +
      ` (${Math.round(totalmem() / 2 ** 30)} GiB), ${Math.round(seconds)} s in all.`,
    'The machine is shared and noisy: read the ratios, not the absolute numbers. Every timed',
    'figure is a median over alternating rounds after a warm-up; ratios are paired per round.',
    'Numbers from another run or another machine will differ.',
  ].join('\n');
}

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = only.filter((name) => !SECTIONS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}`);
  if (!hasGc()) console.warn('warning: run with node --expose-gc (npm run bench does); heap figures need it');

  const started = Date.now();
  const date = new Date();
  const parts: string[] = [];
  let failed = false;
  for (const spec of SECTIONS) {
    if (only.length > 0 && !only.includes(spec.name)) continue;
    let section: Section | undefined;
    try {
      section = await load(spec);
    } catch (error) {
      failed = true;
      parts.push(`## ${spec.name}\n\nThis section failed to load in this run: ${(error as Error).message}`);
      console.error(`[bench] ${spec.name}: failed to load`, error);
      continue;
    }
    if (!section) {
      console.log(`[bench] ${spec.name}: bench/${spec.file} not present, skipped`);
      continue;
    }
    console.log(`[bench] ${spec.name}...`);
    const t0 = Date.now();
    try {
      parts.push((await section()).trim());
    } catch (error) {
      // One broken section must not lose the others' numbers; the run still fails.
      failed = true;
      parts.push(`## ${spec.name}\n\nThis section failed in this run: ${(error as Error).message}`);
      console.error(`[bench] ${spec.name}: failed`, error);
    }
    console.log(`[bench] ${spec.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  const doc = [header(date, (Date.now() - started) / 1000), ...parts].join('\n\n') + '\n';
  if (only.length > 0) {
    console.log('\n' + doc);
    console.log('[bench] partial run: docs/benchmarks.md left unchanged');
  } else {
    writeFileSync(OUTPUT, doc);
    console.log(`[bench] wrote ${fileURLToPath(OUTPUT)}`);
  }
  if (failed) process.exitCode = 1;
}

await main();
