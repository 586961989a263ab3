import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingPrerequisites } from './prerequisites.js';

// A fake PATH directory holding exactly the programs a test says the machine has.
const dirs: string[] = [];
function machineWith(...programs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'gapless-prereq-'));
  dirs.push(dir);
  for (const name of programs) writeFileSync(join(dir, name), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the prerequisites check that runs before any test', () => {
  it('passes when redis-server, redis-cli and the Chromium binary are there', () => {
    const dir = machineWith('redis-server', 'redis-cli', 'chromium');
    expect(missingPrerequisites({ PATH: dir, CHROMIUM_PATH: join(dir, 'chromium') })).toBeUndefined();
  });

  it('names everything missing and the commands that install it, in one message', () => {
    const dir = machineWith();
    expect(missingPrerequisites({ PATH: dir, CHROMIUM_PATH: join(dir, 'chromium') })).toBe(
      `The tests need programs this machine does not have: \`redis-server\` on PATH, \`redis-cli\` on PATH, Chromium at ${join(dir, 'chromium')} (CHROMIUM_PATH).\n` +
        'Install them with `bash .ci/run` (installs what is missing, then runs npm test, as CI does)\n' +
        'or `apt-get install -y redis-server chromium`.',
    );
  });

  it('names only what is missing: Chromium absent from its default path', () => {
    const dir = machineWith('redis-server', 'redis-cli');
    const message = missingPrerequisites({ PATH: dir, CHROMIUM_PATH: join(dir, 'chromium') });
    expect(message).toContain(`: Chromium at ${join(dir, 'chromium')} (CHROMIUM_PATH).\n`);
    expect(message).toContain('`apt-get install -y chromium`');
    expect(message).not.toContain('redis');
  });

  it('does not count a file that is not executable', () => {
    const dir = machineWith('redis-cli', 'chromium');
    writeFileSync(join(dir, 'redis-server'), 'not a program', { mode: 0o644 });
    expect(missingPrerequisites({ PATH: dir, CHROMIUM_PATH: join(dir, 'chromium') })).toContain('`redis-server` on PATH.');
  });
});

describe('npm test on a machine without Chromium', () => {
  it('stops before any test with the message, and fails', async () => {
    const { spawnSync } = await import('node:child_process');
    const root = join(import.meta.dirname, '../..');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, CHROMIUM_PATH: '/nonexistent/chromium', NO_COLOR: '1' };
    const run = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/setup/prerequisites.test.ts'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('The tests need programs this machine does not have: Chromium at /nonexistent/chromium (CHROMIUM_PATH).');
    expect(run.stdout + run.stderr).not.toMatch(/Tests? +\d+ passed/);
  });
});
