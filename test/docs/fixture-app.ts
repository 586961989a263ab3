/**
 * Builds a SvelteKit app out of the documentation: the skeleton in test/apps/docs-app (what the
 * docs do not show) plus every checked code block, written at the path the block names. Blocks
 * that name no file, or a file an earlier block already wrote differently (two variants of
 * `src/lib/server/replay.ts`), get a path of their own beside it, so every block is checked and
 * the first variant is the one the app runs.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { extractBlocks, type CodeBlock } from './markdown.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKELETON = join(ROOT, 'test/apps/docs-app');
const BIN = join(ROOT, 'node_modules/.bin');
const run = promisify(execFile);

export interface Doc {
  readonly doc: string;
  readonly markdown: string;
}

/** README.md and docs/*.md, docs/sveltekit.md first: its files are the app the browser test runs. */
export function readDocs(): Doc[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`)
    .sort((a, b) => Number(b === 'docs/sveltekit.md') - Number(a === 'docs/sveltekit.md') || a.localeCompare(b));
  return [...docs.slice(0, 1), 'README.md', ...docs.slice(1)].map((doc) => ({ doc, markdown: readFileSync(join(ROOT, doc), 'utf8') }));
}

export interface PlacedBlock {
  readonly block: CodeBlock;
  /** Where the block is written, relative to the app. */
  readonly file: string;
}

function slug(doc: string): string {
  return doc.replace(/^docs\//, '').replace(/\.md$/, '').toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

function extensionOf(lang: CodeBlock['lang']): string {
  return lang === 'svelte' ? '.svelte' : `.${lang}`;
}

/** A path of its own for a block whose file is taken: same route directory shape, or a suffix. */
function shadowPath(file: string, block: CodeBlock): string {
  if (file.startsWith('src/routes/')) return `src/routes/docs-${slug(block.doc)}/${file.slice('src/routes/'.length)}`;
  const dot = file.lastIndexOf('.');
  const ext = file.endsWith('.d.ts') ? '.d.ts' : file.slice(dot);
  return `${file.slice(0, file.length - ext.length)}.${slug(block.doc)}-L${block.line}${ext}`;
}

export function placeBlocks(docs: readonly Doc[]): PlacedBlock[] {
  const written = new Map<string, string>();
  const placed: PlacedBlock[] = [];
  for (const { doc, markdown } of docs) {
    for (const block of extractBlocks(doc, markdown).checked) {
      let file = block.file;
      if (file !== undefined && !file.endsWith(extensionOf(block.lang)) && !(block.lang === 'js' && file.endsWith('.mjs'))) {
        throw new Error(`${doc}:${block.line}: the block names ${file} but is fenced as ${block.lang}`);
      }
      file ??= `src/lib/docs/${slug(doc)}-L${block.line}${extensionOf(block.lang)}`;
      const before = written.get(file);
      if (before !== undefined && before !== block.code) file = shadowPath(file, block);
      written.set(file, block.code);
      placed.push({ block, file });
    }
  }
  return placed;
}

function write(dir: string, file: string, text: string): void {
  mkdirSync(dirname(join(dir, file)), { recursive: true });
  writeFileSync(join(dir, file), text);
}

/** Copies the skeleton to `dir` (emptied first) and writes the placed blocks over it. */
export function writeApp(dir: string, placed: readonly PlacedBlock[]): void {
  rmSync(dir, { recursive: true, force: true });
  cpSync(SKELETON, dir, { recursive: true });
  for (const { block, file } of placed) write(dir, file, block.code);
}

export interface Diagnostic {
  /** `docs/sveltekit.md:120`, or the app file when no block wrote it (the skeleton). */
  readonly where: string;
  readonly message: string;
}

interface SvelteCheckLine {
  type: string;
  filename?: string;
  start?: { line: number; character: number };
  message?: string;
}

/**
 * Type-checks the app as `svelte-check` does in a real project (after `svelte-kit sync`, so
 * `./$types` and `$lib` resolve), with `gapless-replay/*` read from this repository's sources.
 * Errors are reported at the documentation line that produced them.
 */
export async function typeCheckApp(dir: string, placed: readonly PlacedBlock[]): Promise<Diagnostic[]> {
  await run(join(BIN, 'svelte-kit'), ['sync'], { cwd: dir, timeout: 60_000 });
  const src = (path: string) => [join(ROOT, 'src', path)];
  const kitPaths = (JSON.parse(readFileSync(join(dir, '.svelte-kit/tsconfig.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } })
    .compilerOptions.paths;
  const absolute = Object.fromEntries(Object.entries(kitPaths).map(([key, values]) => [key, values.map((v) => join(dir, '.svelte-kit', v))]));
  const rootFiles = placed.map((p) => p.file).filter((file) => !file.includes('/'));
  // server.js imports adapter-node's output, which exists only after `vite build`.
  if (rootFiles.some((file) => file.endsWith('.js'))) {
    write(dir, 'build/index.d.ts', "import type { Server } from 'node:http';\nexport declare const server: { server: Server };\n");
  }
  const tsconfig = {
    extends: './.svelte-kit/tsconfig.json',
    compilerOptions: {
      strict: true,
      allowJs: true,
      checkJs: true,
      skipLibCheck: true,
      moduleResolution: 'bundler',
      paths: {
        ...absolute,
        'gapless-replay': src('memory/index.ts'),
        'gapless-replay/*': src('*/index.ts'),
      },
    },
    include: ['.svelte-kit/ambient.d.ts', '.svelte-kit/non-ambient.d.ts', '.svelte-kit/types/**/$types.d.ts', 'src/**/*.js', 'src/**/*.ts', 'src/**/*.svelte', ...rootFiles],
  };
  write(dir, 'tsconfig.json', JSON.stringify(tsconfig, null, 2));
  const { stdout } = await run(join(BIN, 'svelte-check'), ['--tsconfig', './tsconfig.json', '--output', 'machine-verbose', '--threshold', 'error'], {
    cwd: dir,
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; code?: number }) => {
    // svelte-check exits 1 when it found errors; anything else is a failure to run.
    if (error.code === 1 && typeof error.stdout === 'string') return { stdout: error.stdout };
    throw error;
  });
  const byFile = new Map(placed.map((p) => [p.file, p.block]));
  const diagnostics: Diagnostic[] = [];
  for (const text of stdout.split('\n')) {
    const json = text.slice(text.indexOf(' ') + 1);
    if (!json.startsWith('{')) continue;
    const line = JSON.parse(json) as SvelteCheckLine;
    if (line.type !== 'ERROR' || line.filename === undefined) continue;
    const file = relative(dir, join(dir, line.filename));
    const block = byFile.get(file);
    const at = (line.start?.line ?? 0) + (block === undefined ? 1 : block.line);
    diagnostics.push({ where: block === undefined ? `${file}:${at}` : `${block.doc}:${at}`, message: line.message ?? '' });
  }
  return diagnostics;
}

/**
 * Makes `dir` (written by `writeApp`) runnable as a user's project: `gapless-replay` installed
 * in its node_modules as `npm install` would (this repository's package.json and a fresh
 * compile of src/ into dist/), and the tsconfig SvelteKit expects. Other packages resolve from
 * the repository's node_modules, above `dir`.
 */
export async function installLibrary(dir: string): Promise<void> {
  const pkg = join(dir, 'node_modules/gapless-replay');
  await run(join(BIN, 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist'), '--declarationMap', 'false', '--sourceMap', 'false'], {
    cwd: ROOT,
    timeout: 180_000,
  });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  write(dir, 'tsconfig.json', JSON.stringify({ extends: './.svelte-kit/tsconfig.json' }, null, 2));
}
