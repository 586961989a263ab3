/**
 * Every TypeScript, JavaScript and Svelte block of README.md and docs/*.md compiles: the blocks
 * are written into a SvelteKit app (test/docs/fixture-app.ts) and type-checked with svelte-check,
 * strict, as a new user's project would be. A failure names the documentation line.
 */
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stack } from '../helpers/stack.js';
import { extractBlocks, namedFile } from './markdown.js';
import { installLibrary, placeBlocks, readDocs, resolvedMajor, typeCheckApp, writeApp } from './fixture-app.js';

describe('reading code blocks out of markdown', () => {
  const markdown = [
    '# Title', //                                   1
    '```ts', //                                     2
    '// src/lib/server/replay.ts: one buffer', //  3
    'export const a = 1;', //                       4
    '```', //                                       5
    '<!-- not-checked -->', //                      6
    '```ts', //                                     7
    'pseudo(code)', //                              8
    '```', //                                       9
    '- a list item:', //                            10
    '  ```svelte', //                               11
    '  <!-- src/routes/+page.svelte -->', //        12
    '  <p>hi</p>', //                               13
    '  ```', //                                     14
    '```sh', //                                     15
    'npm test', //                                  16
    '```', //                                       17
    '```', //                                       18
    '{"type":"replay"}', //                         19
    '```', //                                       20
    '<!-- kit 3 -->', //                            21
    '```js', //                                     22
    '// vite.config.js', //                         23
    '```', //                                       24
  ].join('\n');

  it('keeps ts, js and svelte blocks with their first line, de-indented, and the file they name', () => {
    const { checked, exempt } = extractBlocks('x.md', markdown);
    expect(checked).toEqual([
      { doc: 'x.md', line: 3, lang: 'ts', code: '// src/lib/server/replay.ts: one buffer\nexport const a = 1;\n', file: 'src/lib/server/replay.ts' },
      { doc: 'x.md', line: 12, lang: 'svelte', code: '<!-- src/routes/+page.svelte -->\n<p>hi</p>\n', file: 'src/routes/+page.svelte' },
      { doc: 'x.md', line: 23, lang: 'js', code: '// vite.config.js\n', file: 'vite.config.js', kit: 3 },
    ]);
    expect(exempt).toEqual(['x.md:8']);
  });

  it('writes a block marked for one SvelteKit major only on that major', () => {
    const files = (kit: 2 | 3) => placeBlocks([{ doc: 'x.md', markdown }], kit).map((p) => p.file);
    expect(files(3)).toContain('vite.config.js');
    expect(files(2)).not.toContain('vite.config.js');
  });

  it('takes a file name only when it is an app path', () => {
    expect(namedFile('// server.js (next to build/, not bundled)')).toBe('server.js');
    expect(namedFile('// vite.config.ts')).toBe('vite.config.ts');
    expect(namedFile('// +page.server.ts: read the position')).toBeUndefined();
    expect(namedFile('// the seed form: a bare seq')).toBeUndefined();
    expect(namedFile('import { x } from "y";')).toBeUndefined();
  });
});

describe('the documentation', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('exempts only these blocks from the type check (pseudo-code must stay rare and deliberate)', () => {
    const exempt = readDocs().flatMap(({ doc, markdown }) => extractBlocks(doc, markdown).exempt);
    expect(exempt).toEqual([]);
  });

  it('type-checks: every ts, js and svelte block of README.md and docs/*.md, in one SvelteKit app', async () => {
    // Blocks that must fail prove the check really runs over every kind of placement (a module
    // that names no file, a root file taken by an earlier block, a route component) and reports
    // documentation lines.
    const canary = {
      doc: 'canary.md',
      markdown: [
        '```ts', //                                          line 1
        'export const s: number = "not a number";', //       line 2
        '```', //                                            line 3
        '```js', //                                          line 4
        '// server.js', //                                   line 5
        'export const n = Math.max("1", 2);', //             line 6
        '```', //                                            line 7
        '```svelte', //                                      line 8
        '<!-- src/routes/canary/+page.svelte -->', //        line 9
        '<script lang="ts">let { data } = $props(); const x: string = data.nothing;</script>', // line 10
        '```',
      ].join('\n'),
    };
    const placed = placeBlocks([...readDocs(), canary]);
    expect(placed.filter((p) => p.block.doc !== 'canary.md').length).toBeGreaterThan(10);
    mkdirSync(stack.scratch, { recursive: true });
    const dir = mkdtempSync(join(stack.scratch, 'docs-check-'));
    dirs.push(dir);
    writeApp(dir, placed);
    // SvelteKit 3's `svelte-kit sync` loads vite.config.ts, which imports gapless-replay/vite.
    await installLibrary(dir);
    expect(resolvedMajor(dir, '@sveltejs/kit')).toBe(stack.kit);
    // svelte-check type-checks with the TypeScript it resolves, which must be the stack's.
    const svelteCheck = dirname(dirname(realpathSync(join(stack.bin, 'svelte-check'))));
    expect(createRequire(join(svelteCheck, 'package.json')).resolve('typescript/bin/tsc')).toBe(stack.tsc);
    const diagnostics = await typeCheckApp(dir, placed);
    const lines = diagnostics.map((d) => `${d.where}: ${d.message.split('\n')[0]}`);
    expect(lines.filter((l) => l.startsWith('canary.md:')).map((l) => l.slice(0, l.indexOf(': '))).sort()).toEqual(['canary.md:10', 'canary.md:2', 'canary.md:6']);
    expect(lines.filter((l) => !l.startsWith('canary.md:'))).toEqual([]);
  }, 180_000);
});
