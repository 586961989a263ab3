/**
 * The supported stack this test run is on. `npm test` (scripts/test.mjs) runs the whole suite
 * once per stack and names it in `GAPLESS_STACK`:
 * - `node20`: this machine's Node with the root package's SvelteKit 2 + adapter-node 5,
 *   TypeScript 5.9 and ioredis 5;
 * - `node24`: the Node 24 of test/stacks/node24 with that folder's SvelteKit 3 +
 *   adapter-node 6, TypeScript 6 and ioredis 6 (`ioredis` is aliased to it in vitest.config.ts).
 * The Kit 3 app is the demo's own sources in a copy next to that folder's node_modules, with
 * the configuration Kit 3 expects (test/stacks/node24/vite.config.ts and tsconfig.json).
 */
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type StackName = 'node20' | 'node24';

export interface Stack {
  readonly name: StackName;
  /** The SvelteKit app the browser tests build and serve (the demo, or its Kit 3 copy). */
  readonly app: string;
  /** Where that app's `vite` comes from. */
  readonly bin: string;
  /** The TypeScript compiler an app on this stack type-checks with. */
  readonly tsc: string;
  /** The ioredis major the Redis suites run against. */
  readonly ioredis: 5 | 6;
  /** The SvelteKit major of the apps built on this stack. */
  readonly kit: 2 | 3;
  /** Where generated apps go: packages resolve from there as from this stack's app. */
  readonly scratch: string;
  /** An app's tsconfig.json in the form this stack's SvelteKit generates its base for. */
  readonly appTsconfig: string;
  /** Puts the app in place after `npm run build` wrote dist/ (a no-op for the demo itself). */
  prepareApp(): void;
}

const NODE24 = join(ROOT, 'test/stacks/node24');

const node20: Stack = {
  name: 'node20',
  app: join(ROOT, 'demo'),
  bin: join(ROOT, 'node_modules/.bin'),
  tsc: join(ROOT, 'node_modules/typescript/bin/tsc'),
  ioredis: 5,
  kit: 2,
  scratch: join(ROOT, '.tmp'),
  appTsconfig: JSON.stringify({ extends: './.svelte-kit/tsconfig.json' }, null, 2),
  prepareApp() {},
};

const node24: Stack = {
  name: 'node24',
  app: join(NODE24, 'demo'),
  bin: join(NODE24, 'node_modules/.bin'),
  tsc: join(NODE24, 'node_modules/typescript/bin/tsc'),
  ioredis: 6,
  kit: 3,
  scratch: join(NODE24, '.tmp'),
  appTsconfig: readFileSync(join(NODE24, 'tsconfig.json'), 'utf8'),
  prepareApp() {
    // The demo imports the library as `../dist/...`: the copy gets a dist/ of its own beside
    // it, so `ws` and `ioredis` resolve from this stack's node_modules as in an app.
    rmSync(join(NODE24, 'dist'), { recursive: true, force: true });
    cpSync(join(ROOT, 'dist'), join(NODE24, 'dist'), { recursive: true });
    rmSync(node24.app, { recursive: true, force: true });
    mkdirSync(node24.app, { recursive: true });
    for (const entry of ['src', 'package.json', 'server.js']) cpSync(join(ROOT, 'demo', entry), join(node24.app, entry), { recursive: true });
    for (const entry of ['vite.config.ts', 'tsconfig.json']) cpSync(join(NODE24, entry), join(node24.app, entry));
  },
};

export const stack: Stack = process.env.GAPLESS_STACK === 'node24' ? node24 : node20;
