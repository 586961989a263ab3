/**
 * The package as users install it: compiled JS and `.d.ts` behind every `exports` subpath.
 * Builds into a private folder (so parallel tests never see a half-written dist/) and imports
 * each subpath by name from a child process, as an app would.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };

const root = join(import.meta.dirname, '../..');
const dir = join(root, '.tmp', `package-${process.pid}`);

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], { stdio: 'pipe' });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const expected: Record<string, string[]> = {
  '.': ['createReplay', 'isGaplessError', 'isValidTopic'],
  './redis': ['createReplay'],
  './ws': ['createPlatform', 'attach', 'getPlatform', 'registerHooks', 'handle'],
  './vite': ['gapless'],
  './client': ['connect', 'createConnection', 'on', 'onReplay'],
  './protocol': ['planReplay', 'normalizeReqId', 'isValidTopic'],
  './metrics': ['createMetrics', 'registerPromClient', 'CONTENT_TYPE'],
};

describe('package exports', () => {
  it('declares exactly the documented subpaths, types condition first', () => {
    expect(Object.keys(pkg.exports).sort()).toEqual(Object.keys(expected).sort());
    for (const entry of Object.values(pkg.exports)) expect(Object.keys(entry)[0]).toBe('types');
  });

  it.each(Object.entries(expected))('%s resolves by name to compiled JS with its declarations', (subpath, names) => {
    const specifier = subpath === '.' ? 'gapless-replay' : `gapless-replay/${subpath.slice(2)}`;
    const entry = pkg.exports[subpath as keyof typeof pkg.exports];
    expect(existsSync(join(dir, entry.types))).toBe(true);
    const script = join(dir, 'probe.mjs');
    writeFileSync(script, `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`);
    const out = execFileSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' });
    const keys = JSON.parse(out) as string[];
    for (const name of names) expect(keys).toContain(name);
  });

  it('has no `any` in the public declarations', () => {
    const grep = spawnSync('grep', ['-rnE', '\\bany\\b', join(dir, 'dist'), '--include=*.d.ts'], { encoding: 'utf8' });
    const hits = grep.stdout.split('\n').filter((line) => line !== '' && !/^[^:]+:\d+:\s*(\/?\*|\/\/)/.test(line));
    expect(hits).toEqual([]);
  });
});
