/**
 * Vitest global setup: before any test runs, checks once that the programs the real-Redis and
 * real-browser tests start are installed. Without it a fresh machine's `npm test` fails with a
 * spray of spawn errors and timeouts; with it, it stops at once with one message that names
 * what is missing and how to install it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, path: string | undefined): boolean {
  return (path ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, command)));
}

/**
 * The message naming what is missing and how to install it, or `undefined` when everything is
 * there. Reads `PATH` and `CHROMIUM_PATH` from `env`.
 */
export function missingPrerequisites(env: NodeJS.ProcessEnv = process.env): string | undefined {
  // The browser tests launch this file (test/e2e/helpers/browser.ts), so it is what must exist.
  const chromium = env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const checks = [
    { what: '`redis-server` on PATH', found: onPath('redis-server', env.PATH), aptPackage: 'redis-server' },
    { what: '`redis-cli` on PATH', found: onPath('redis-cli', env.PATH), aptPackage: 'redis-server' },
    { what: `Chromium at ${chromium}${env.CHROMIUM_PATH === undefined ? ' (or set CHROMIUM_PATH)' : ' (CHROMIUM_PATH)'}`, found: executable(chromium), aptPackage: 'chromium' },
  ];
  const missing = checks.filter((c) => !c.found);
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map((c) => c.aptPackage))].join(' ');
  return [
    `The tests need programs this machine does not have: ${missing.map((c) => c.what).join(', ')}.`,
    'Install them with `bash .ci/run` (installs what is missing, then runs npm test, as CI does)',
    `or \`apt-get install -y ${packages}\`.`,
  ].join('\n');
}

export default function setup(): void {
  const message = missingPrerequisites();
  if (message === undefined) return;
  // Exit rather than throw: vitest would bury a thrown error under its own report and stack.
  console.error(`\n${message}\n`);
  process.exit(1);
}
