/**
 * The run is on the stack `npm test` says it is (GAPLESS_STACK): its Node, its ioredis major
 * behind every `import 'ioredis'`, and its SvelteKit, adapter-node and TypeScript majors for
 * the app the browser tests build. A mix-up here would let one stack pass for the other.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import * as ioredis6 from 'ioredis6';
import { describe, expect, it } from 'vitest';
import { stack } from '../helpers/stack.js';
import { Redis as ForkedRedis } from '../helpers/ioredis.js';

function major(fromDir: string, pkg: string): number {
  const file = createRequire(join(fromDir, 'package.json')).resolve(`${pkg}/package.json`);
  return Number.parseInt((JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version, 10);
}

const want = {
  node20: { ioredis: 5, kit: 2, adapter: 5, typescript: 5 },
  node24: { ioredis: 6, kit: 3, adapter: 6, typescript: 6 },
}[stack.name];

describe(`the ${stack.name} stack`, () => {
  it('runs on its Node', () => {
    const [maj, min] = process.versions.node.split('.').map(Number) as [number, number];
    // The README names the Node of each tested stack; a machine with another Node must not
    // pass for it. The first stack is the machine's own Node, which must be a 20 that
    // package.json's engines allow.
    expect(maj).toBe(stack.name === 'node24' ? 24 : 20);
    if (stack.name === 'node20') expect(min).toBeGreaterThanOrEqual(19);
  });

  it('gives the Redis suites its ioredis major, in vitest and in forked instances', () => {
    expect(stack.ioredis).toBe(want.ioredis);
    expect((Redis as unknown) === ioredis6.Redis).toBe(want.ioredis === 6);
    expect((ForkedRedis as unknown) === ioredis6.Redis).toBe(want.ioredis === 6);
  });

  it('builds the app with its SvelteKit, adapter-node and TypeScript', () => {
    expect(major(stack.app, '@sveltejs/kit')).toBe(want.kit);
    expect(major(stack.app, '@sveltejs/adapter-node')).toBe(want.adapter);
    expect(major(stack.app, 'typescript')).toBe(want.typescript);
    expect(stack.tsc).toBe(createRequire(join(stack.app, 'package.json')).resolve('typescript/bin/tsc'));
  });
});
