/**
 * The tarball `npm pack` makes from a clean checkout: what ships, the packaging linters
 * (publint, arethetypeswrong) on it, and the public types of every subpath as an app compiles
 * against them (test/types/fixtures), with this stack's TypeScript and ioredis.
 * The checkout is the repository's tracked and unignored files copied to a private folder,
 * packed there with its `prepack` build, so parallel tests never see a half-written dist/.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import { ROOT, stack } from '../helpers/stack.js';

const work = join(ROOT, '.tmp', `pack-${stack.name}-${process.pid}`);
const checkout = join(work, 'checkout');
// The app that compiles the fixtures sits where it resolves this stack's TypeScript, ioredis
// and vite first (test/stacks/node24 on node24), then the root's.
const app = stack.name === 'node24' ? join(ROOT, 'test/stacks/node24/.tmp', `types-${process.pid}`) : join(work, 'app');
const installed = join(app, 'node_modules/gapless-replay');
let tarball = '';
let files: string[] = [];

beforeAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(app, { recursive: true, force: true });
  mkdirSync(checkout, { recursive: true });
  const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  for (const file of tracked.split('\0')) {
    if (file === '' || !existsSync(join(ROOT, file))) continue;
    cpSync(join(ROOT, file), join(checkout, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: checkout, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [report] = JSON.parse(out.slice(out.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
  tarball = join(work, report.filename);
  files = report.files.map((f) => f.path).sort();
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
}, 180_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(app, { recursive: true, force: true });
});

function bin(pkgName: string, relative: string): string {
  return join(ROOT, 'node_modules', pkgName, relative);
}

describe('npm pack', () => {
  it('ships the compiled package, its sources, docs, README, CHANGELOG and LICENSE, and no tests', () => {
    for (const top of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) expect(files).toContain(top);
    for (const doc of readdirSync(join(ROOT, 'docs'), { recursive: true, withFileTypes: true })) {
      if (doc.isFile()) expect(files).toContain(relative(ROOT, join(doc.parentPath, doc.name)));
    }
    for (const entry of Object.values(pkg.exports)) {
      expect(files).toContain(entry.types.slice(2));
      expect(files).toContain(entry.default.slice(2));
    }
    const outside = files.filter((f) => !/^(dist|src|docs)\//.test(f) && !['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(f));
    expect(outside).toEqual([]);
    expect(files.filter((f) => /\.test\.|(^|\/)(test|tests|helpers|fixtures)\//.test(f))).toEqual([]);
  });

  it('links the README to docs that ship, and names its repository, homepage and keywords', () => {
    const readme = readFileSync(join(installed, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(files).toContain(link);
    const meta = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(meta.repository).toEqual({ type: 'git', url: expect.stringMatching(/^git\+https:\/\/github\.com\/.+\.git$/) });
    expect(meta.homepage).toMatch(/^https:\/\//);
    expect((meta.keywords as string[]).length).toBeGreaterThan(3);
    expect(meta.license).toBe('MIT');
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('declares nothing internal in the public .d.ts files', () => {
    const grep = spawnSync('grep', ['-rlE', '@internal|SERVE_FRAME|FrameServer|createFrameServer', join(installed, 'dist'), '--include=*.d.ts'], { encoding: 'utf8' });
    expect(grep.stdout).toBe('');
  });

  it('passes publint (warnings count as errors)', () => {
    const run = spawnSync(process.execPath, [bin('publint', 'src/cli.js'), 'run', tarball, '--strict'], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toContain('All good!');
    expect(run.status).toBe(0);
  });

  it('passes arethetypeswrong for ESM resolution (node16 from ESM, bundler)', () => {
    // The package is ESM only (no `require` condition): the esm-only profile leaves out the
    // CommonJS resolutions, which can only ever report that.
    const run = spawnSync(process.execPath, [bin('@arethetypeswrong/cli', 'dist/index.js'), tarball, '--profile', 'esm-only', '--format', 'json'], { encoding: 'utf8' });
    const result = JSON.parse(run.stdout) as { analysis: { problems: { kind: string; resolutionKind?: string }[] } };
    const counted = result.analysis.problems.filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs');
    expect(counted).toEqual([]);
    expect(run.status).toBe(0);
  });

  it(`compiles the public API fixtures of every subpath against the tarball (TypeScript ${stack.name === 'node24' ? 6 : 5})`, () => {
    cpSync(join(ROOT, 'test/types/fixtures'), app, { recursive: true });
    // A package scope of its own: inside the repository, `gapless-replay` would otherwise
    // resolve to the repository itself (self-reference) instead of the installed tarball.
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'types-app', private: true, type: 'module' }));
    // skipLibCheck is off, so our .d.ts files are checked too. Another package's own
    // declaration errors (ioredis 6's .d.ts imports the untyped `redis-errors`) are not ours.
    const run = spawnSync(process.execPath, [stack.tsc, '-p', join(app, 'tsconfig.json')], { encoding: 'utf8' });
    const errors = (run.stdout + run.stderr).split('\n').filter((line) => line.includes('error TS'));
    const ours = errors.filter((line) => !line.includes('/node_modules/') || line.includes('/node_modules/gapless-replay/'));
    expect(ours).toEqual([]);
    expect(errors.every((line) => line.includes('/node_modules/'))).toBe(true);
    const version = execFileSync(process.execPath, [stack.tsc, '--version'], { encoding: 'utf8' });
    expect(version).toMatch(stack.name === 'node24' ? /^Version 6\./ : /^Version 5\./);
  }, 120_000);
});
