/**
 * Builds a SvelteKit app out of the documentation: the skeleton in test/apps/docs-app (what the
 * docs do not show) plus every checked code block, written at the path the block names. Blocks
 * that name no file, or a file an earlier block already wrote differently (two variants of
 * `src/lib/server/replay.ts`), get a path of their own beside it, so every block is checked and
 * the first variant is the one the app runs.
 * The app is built on the stack under test (test/helpers/stack.ts): it is written under
 * `stack.scratch`, so SvelteKit, adapter-node, svelte-check and TypeScript resolve from that
 * stack's node_modules. A block whose fence is preceded by `<!-- kit 2 -->` or `<!-- kit 3 -->`
 * is written only on the stack of that SvelteKit major: where the guide's code differs between
 * the two (svelte.config.js against `sveltekit({ adapter })`), each stack checks and runs its own.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stack } from '../helpers/stack.js';
import { extractBlocks, type CodeBlock } from './markdown.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKELETON = join(ROOT, 'test/apps/docs-app');
const run = promisify(execFile);

/** The major version of `pkg` as Node resolves it from `dir`. */
export function resolvedMajor(dir: string, pkg: string): number {
  const file = createRequire(join(dir, 'package.json')).resolve(`${pkg}/package.json`);
  return Number.parseInt((JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version, 10);
}

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

export function placeBlocks(docs: readonly Doc[], kit: 2 | 3 = stack.kit): PlacedBlock[] {
  const written = new Map<string, string>();
  const placed: PlacedBlock[] = [];
  for (const { doc, markdown } of docs) {
    for (const block of extractBlocks(doc, markdown).checked) {
      if (block.kit !== undefined && block.kit !== kit) continue;
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
 * `./$types` and `$lib` resolve), with `gapless-replay` as `installLibrary` put it in the app:
 * its declarations then import the stack's ioredis, as in a user's project, where this
 * repository's sources would import the root's ioredis 5 on every stack.
 * Errors are reported at the documentation line that produced them.
 */
export async function typeCheckApp(dir: string, placed: readonly PlacedBlock[]): Promise<Diagnostic[]> {
  await run(join(stack.bin, 'svelte-kit'), ['sync'], { cwd: dir, timeout: 60_000 });
  const rootFiles = placed.map((p) => p.file).filter((file) => !file.includes('/'));
  // server.js imports adapter-node's output, which exists only after `vite build`.
  if (rootFiles.some((file) => file.endsWith('.js'))) {
    write(dir, 'build/index.d.ts', "import type { Server } from 'node:http';\nexport declare const server: { server: Server };\n");
  }
  const tsconfig = {
    extends: (JSON.parse(stack.appTsconfig) as { extends: string }).extends,
    compilerOptions: {
      strict: true,
      allowJs: true,
      checkJs: true,
      skipLibCheck: true,
      moduleResolution: 'bundler',
    },
    include: ['.svelte-kit/ambient.d.ts', '.svelte-kit/non-ambient.d.ts', '.svelte-kit/types/**/$types.d.ts', 'src/**/*.js', 'src/**/*.ts', 'src/**/*.svelte', ...rootFiles],
  };
  write(dir, 'tsconfig.json', JSON.stringify(tsconfig, null, 2));
  const { stdout } = await run(join(stack.bin, 'svelte-check'), ['--tsconfig', './tsconfig.json', '--output', 'machine-verbose', '--threshold', 'error'], {
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
 * in its node_modules as `npm install` would (this repository's package.json, its dependencies
 * and a fresh compile of src/ into dist/), and the tsconfig the stack's SvelteKit expects.
 * Other packages resolve from the stack's node_modules, above `dir`.
 */
export async function installLibrary(dir: string): Promise<void> {
  const pkg = join(dir, 'node_modules/gapless-replay');
  await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist'), '--declarationMap', 'false', '--sourceMap', 'false'], {
    cwd: ROOT,
    timeout: 180_000,
  });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  // npm nests the library's own dependency when the app has another major of it (SvelteKit 3
  // brings cookie 2; the library is built against cookie 1).
  const dependencies = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
  for (const name of Object.keys(dependencies)) cpSync(join(ROOT, 'node_modules', name), join(pkg, 'node_modules', name), { recursive: true });
  write(dir, 'tsconfig.json', stack.appTsconfig);
}
