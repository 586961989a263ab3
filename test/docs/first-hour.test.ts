/**
 * A new user's first hour, end to end: the SvelteKit app that docs/sveltekit.md describes, built
 * from the page's own code blocks (so this breaks when the docs break), with adapter-node's
 * production build and the page's `server.js`. A route that does not import the replay buffer is
 * requested first; then a page whose WebSocket is held back while messages are published must
 * show exactly what it missed, once, in order, and then the live updates.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from '../e2e/helpers/browser.js';
import { freePort, run, start, waitFor, type Proc } from '../e2e/helpers/process.js';
import { stack } from '../helpers/stack.js';
import { installLibrary, placeBlocks, readDocs, resolvedMajor, writeApp, type PlacedBlock } from './fixture-app.js';

const BIN = stack.bin;
let dir: string;
let placed: PlacedBlock[];
let browser: Browser | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  const guide = readDocs().filter((d) => d.doc === 'docs/sveltekit.md');
  placed = placeBlocks(guide);
  // The files the browser test relies on come from the guide itself, not from the skeleton.
  const files = ['vite.config.ts', 'src/lib/server/replay.ts', 'src/hooks.ws.ts', 'src/hooks.server.ts', 'src/routes/+page.server.ts', 'src/routes/+page.svelte', 'server.js'];
  // SvelteKit 2 takes the adapter from svelte.config.js, SvelteKit 3 from vite.config.ts.
  for (const file of stack.kit === 2 ? [...files, 'svelte.config.js'] : files) expect(placed.map((p) => p.file)).toContain(file);
  mkdirSync(stack.scratch, { recursive: true });
  dir = mkdtempSync(join(stack.scratch, 'docs-app-'));
  dirs.push(dir);
  writeApp(dir, placed);
  await installLibrary(dir);
  expect(resolvedMajor(dir, '@sveltejs/kit')).toBe(stack.kit);
  expect(resolvedMajor(dir, '@sveltejs/adapter-node')).toBe(stack.kit === 3 ? 6 : 5);
  browser = await launch();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** adapter-node's production build of `appDir`, served by the guide's `node server.js`. */
async function startProduction(appDir: string): Promise<App> {
  await run(join(BIN, 'vite'), ['build', '--logLevel', 'warn'], { cwd: appDir, timeoutMs: 240_000 });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The guide's production command: `node server.js`, with ORIGIN over plain http.
  return listening(start(process.execPath, ['server.js'], { cwd: appDir, env: { PORT: String(port), HOST: '127.0.0.1', ORIGIN: base } }), base, 30_000);
}

interface App {
  readonly base: string;
  readonly proc: Proc;
}

async function listening(proc: Proc, base: string, timeoutMs: number): Promise<App> {
  await waitFor('the app to answer /health', async () => {
    if (proc.child.exitCode !== null) throw new Error(`exited:\n${proc.output().slice(-4000)}`);
    return (await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) })).ok ? true : undefined;
  }, timeoutMs, 100);
  return { base, proc };
}

/** Posts one message through the guide's form action, as the page's form would. */
async function post(app: App, text: string): Promise<void> {
  const res = await fetch(`${app.base}/?/send`, {
    method: 'POST',
    headers: { origin: app.base, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ text }),
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.text();
  if (!res.ok || !body.includes('"success"')) throw new Error(`POST ?/send: ${res.status} ${body.slice(0, 300)}`);
}

function shown(page: Page): Promise<string[]> {
  return page.$$eval('p', (ps) => ps.map((p) => p.textContent ?? ''));
}

async function shows(page: Page, want: string[]): Promise<void> {
  await waitFor(`the page to show ${JSON.stringify(want)}`, async () => {
    const got = await shown(page);
    return JSON.stringify(got) === JSON.stringify(want) ? true : undefined;
  }, 20_000, 100);
}

/**
 * Only /health has been requested (the readiness check), then a page loads with its WebSocket
 * held back, messages are published in the gap, the socket is released: the page must show them
 * once, in order, by replay (not by reloading its data), then the live ones.
 */
async function fillsTheGap(app: App, seen: string[]): Promise<void> {
  const context = await browser!.newContext();
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    // A truncated replay makes the guide's page reload its data, which would also show the
    // messages: count those reloads so that only a real replay passes.
    let dataReloads = 0;
    page.on('request', (req) => {
      if (req.url().includes('__data.json')) dataReloads++;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let sockets = 0;
    await page.routeWebSocket(/\/ws$/, async (ws) => {
      sockets++;
      await released; // the page's socket connects to the server only now
      ws.connectToServer();
    });
    await post(app, 'before the page');
    await page.goto(app.base, { waitUntil: 'load' });
    const ssr = [...seen, 'before the page'];
    expect(await shown(page)).toEqual(ssr);

    // The SSR gap: published after the page's position was read, before its socket is live.
    const gap = ['gap 1', 'gap 2', 'gap 3'];
    for (const text of gap) await post(app, text);
    await waitFor('the page to open its socket', () => (sockets > 0 ? true : undefined), 10_000);
    expect(await shown(page)).toEqual(ssr);

    release();
    await shows(page, [...ssr, ...gap]);
    for (const text of ['live 1', 'live 2']) await post(app, text);
    await shows(page, [...ssr, ...gap, 'live 1', 'live 2']);
    expect(sockets).toBe(1);
    expect(dataReloads).toBe(0);
  } finally {
    await context.close();
  }
}

describe('the app docs/sveltekit.md builds, in production (adapter-node build, node server.js)', () => {
  let app: App | undefined;

  beforeAll(async () => {
    app = await startProduction(dir);
  }, 300_000);

  afterAll(async () => {
    await app?.proc.stop();
  });

  it('fills the SSR gap of a held-back page, then goes live, although a route without the buffer was requested first', async () => {
    await fillsTheGap(app!, []);
  }, 90_000);
});

describe('the app docs/sveltekit.md builds, in vite dev (the Vite plugin)', () => {
  let app: App | undefined;

  beforeAll(async () => {
    const port = await freePort();
    app = await listening(start(join(BIN, 'vite'), ['dev', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: dir }), `http://127.0.0.1:${port}`, 90_000);
  }, 120_000);

  afterAll(async () => {
    await app?.proc.stop();
  });

  it('fills the SSR gap of a held-back page, then goes live, although a route without the buffer was requested first', async () => {
    await fillsTheGap(app!, []);
  }, 90_000);
});

/** Replaces `from` with `to` in the block written at `file`, failing when the guide no longer has `from`. */
function edit(blocks: PlacedBlock[], file: string, from: string, to: string): PlacedBlock[] {
  return blocks.map((p) => {
    if (p.file !== file) return p;
    if (!p.block.code.includes(from)) throw new Error(`${p.block.doc}:${p.block.line} (${file}) no longer contains ${JSON.stringify(from)}`);
    return { ...p, block: { ...p.block, code: p.block.code.replace(from, to) } };
  });
}

describe('the same app with registerReplay moved into the buffer module, which the first route does not import', () => {
  let app: App | undefined;

  beforeAll(async () => {
    // The guide says registerReplay may run anywhere, before or after the platform exists. Here
    // only the buffer module registers it, so nothing registers a buffer until a route that
    // imports it is rendered, long after /health created the platform.
    let variant = edit(placed, 'src/hooks.server.ts', "import { replay } from '$lib/server/replay';\n", '');
    variant = edit(variant, 'src/hooks.server.ts', 'registerReplay(replay);', '');
    variant = edit(variant, 'src/hooks.server.ts', 'registerHooks, registerReplay, handle', 'registerHooks, handle');
    variant = edit(variant, 'src/lib/server/replay.ts', "import { createReplay } from 'gapless-replay';\n", "import { createReplay } from 'gapless-replay';\nimport { registerReplay } from 'gapless-replay/ws';\n");
    variant = edit(variant, 'src/lib/server/replay.ts', 'createReplay({ size: 500 });\n', 'createReplay({ size: 500 });\nregisterReplay(replay);\n');
    const variantDir = mkdtempSync(join(stack.scratch, 'docs-app-'));
    dirs.push(variantDir);
    writeApp(variantDir, variant);
    cpSync(join(dir, 'node_modules'), join(variantDir, 'node_modules'), { recursive: true });
    cpSync(join(dir, 'tsconfig.json'), join(variantDir, 'tsconfig.json'));
    app = await startProduction(variantDir);
  }, 300_000);

  afterAll(async () => {
    await app?.proc.stop();
  });

  it('fills the SSR gap of a held-back page, then goes live: serving does not depend on import order', async () => {
    await fillsTheGap(app!, []);
  }, 90_000);
});
