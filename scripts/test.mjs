#!/usr/bin/env node
/**
 * `npm test`: the whole vitest suite once per supported stack, one after the other.
 *   node20  this machine's Node, with the root package's SvelteKit 2 + adapter-node 5,
 *           TypeScript 5.9 and ioredis 5;
 *   node24  Node 24 LTS, SvelteKit 3 + adapter-node 6, TypeScript 6 and ioredis 6, all from
 *           test/stacks/node24 (its own package.json and lockfile; the npm registry's `node`
 *           package ships the Node binary). Installed there on first use with `npm ci`.
 * Arguments go to vitest (`npm test -- test/ws`); `GAPLESS_STACKS=node24 npm test` runs one stack.
 * Ends with one line of totals over both runs, and exits non-zero if any run failed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const node24Dir = join(root, 'test/stacks/node24');
const node24Bin = join(node24Dir, 'node_modules/node/bin');
const node24Version = `v${JSON.parse(readFileSync(join(node24Dir, 'package.json'), 'utf8')).dependencies.node}`;

function fail(message) {
  console.error(`\nnpm test: ${message}`);
  process.exit(1);
}

/** The node24 stack's folder is installed and matches its lockfile; installs it otherwise. */
function ensureNode24() {
  const marker = join(node24Dir, 'node_modules/.package-lock.json');
  const binary = join(node24Bin, 'node');
  const current =
    existsSync(binary) &&
    existsSync(marker) &&
    statSync(marker).mtimeMs >= statSync(join(node24Dir, 'package-lock.json')).mtimeMs &&
    spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim() === node24Version;
  if (current) return;
  console.log(`\nnpm test: installing the node24 stack (Node ${node24Version}, SvelteKit 3, TypeScript 6, ioredis 6): npm ci --prefix test/stacks/node24`);
  const install = spawnSync('npm', ['ci', '--prefix', node24Dir, '--no-audit', '--no-fund', '--loglevel', 'error'], { stdio: 'inherit' });
  const version = existsSync(binary) ? spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim() : 'none';
  if (install.status !== 0 || version !== node24Version) {
    fail(
      `could not install Node ${node24Version} and the SvelteKit 3 stack into test/stacks/node24 (npm ci exited ${install.status}, node there: ${version}).\n` +
        'It comes from the npm registry: run `npm ci --prefix test/stacks/node24` with registry access, or `GAPLESS_STACKS=node20 npm test` to run the node20 stack only.',
    );
  }
}

/** One block per failed test or failed file: stack, file, name and the first lines of its error. */
function failedTests(stack, json) {
  const out = [];
  const excerpt = (text) =>
    String(text ?? '')
      .replace(/\x1b\[[0-9;]*m/g, '')
      .split('\n')
      .filter((line) => !line.includes('node_modules/'))
      .slice(0, 12)
      .map((line) => `      ${line}`)
      .join('\n');
  for (const file of json.testResults ?? []) {
    const path = file.name.startsWith(root) ? file.name.slice(root.length + 1) : file.name;
    const failed = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
    for (const test of failed) out.push(`  [${stack}] ${path} > ${test.fullName}\n${excerpt((test.failureMessages ?? []).join('\n'))}`);
    if (failed.length === 0 && file.status === 'failed') out.push(`  [${stack}] ${path} (file failed)\n${excerpt(file.message)}`);
  }
  return out;
}

const stacks = {
  node20: () => ({ node: process.execPath, path: process.env.PATH }),
  node24: () => {
    ensureNode24();
    // Child processes the tests start by name (npm, vite) run on this Node too.
    return { node: join(node24Bin, 'node'), path: `${node24Bin}:${process.env.PATH}` };
  },
};

const wanted = (process.env.GAPLESS_STACKS ?? 'node20,node24').split(',').map((s) => s.trim()).filter(Boolean);
for (const name of wanted) if (!(name in stacks)) fail(`unknown stack ${JSON.stringify(name)} in GAPLESS_STACKS (known: ${Object.keys(stacks).join(', ')})`);

const args = process.argv.slice(2);
const totals = { passed: 0, failed: 0, skipped: 0 };
const results = [];
const failures = [];
mkdirSync(join(root, '.tmp'), { recursive: true });

for (const name of wanted) {
  const { node, path } = stacks[name]();
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\n=== stack ${name}: Node ${version} ===\n`);
  const report = join(root, '.tmp', `vitest-${name}.json`);
  rmSync(report, { force: true });
  const run = spawnSync(node, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, GAPLESS_STACK: name, PATH: path },
  });
  let counts = { passed: 0, failed: 0, skipped: 0 };
  if (existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    counts = { passed: json.numPassedTests, failed: json.numFailedTests, skipped: json.numPendingTests + json.numTodoTests };
    failures.push(...failedTests(name, json));
  }
  // A run that died before reporting (or with failed files but no failed test) still fails.
  const ok = run.status === 0 && counts.failed === 0;
  if (!ok && counts.failed === 0) counts.failed = 1;
  results.push(`${name} (Node ${version}): ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${ok ? '' : ` (vitest exit ${run.status ?? run.signal})`}`);
  for (const key of Object.keys(totals)) totals[key] += counts[key];
}

// The failures again at the very end: CI keeps only the tail of a long log.
if (failures.length > 0) console.log(`\nfailed:\n${failures.join('\n')}`);
console.log(`\n${results.join('\n')}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed === 0 ? 0 : 1);
