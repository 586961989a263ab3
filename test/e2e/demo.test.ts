/**
 * The demo chat in a real browser (Debian's Chromium via playwright-core), in `vite dev` (the
 * Vite plugin) and as an adapter-node build (`demo/server.js`): the SSR gap is filled exactly,
 * an offline browser catches up exactly, a restarted server is reported as truncated and the
 * page reloads its data.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, panel, renderedIds } from './helpers/browser.js';
import { buildDemo, buildLibrary, ROOT, startDev, startProd, startPublisher, type DemoServer } from './helpers/demo.js';
import { freePort, sleep, waitFor } from './helpers/process.js';

let browser: Browser | undefined;

beforeAll(async () => {
  await buildLibrary();
  await buildDemo();
  browser = await launch();
}, 240_000);

afterAll(async () => {
  await browser?.close();
});

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser!.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return { context, page };
}

/** Waits until the page shows exactly the server's list; returns it. */
async function converged(page: Page, server: DemoServer, timeoutMs = 15_000): Promise<string[]> {
  return waitFor(
    'the page to show the server list',
    async () => {
      const want = (await server.list()).map((m) => m.id);
      const got = await renderedIds(page);
      return JSON.stringify(got) === JSON.stringify(want) ? want : undefined;
    },
    timeoutMs,
    150,
  );
}

async function live(page: Page): Promise<void> {
  await waitFor('the store to be live', async () => ((await panel(page, 'state')) === 'live' ? true : undefined), 15_000);
}

function expectStrictlyAscending(ids: string[]): void {
  const nums = ids.map(Number);
  for (let i = 1; i < nums.length; i++) expect(nums[i]).toBeGreaterThan(nums[i - 1]!);
}

describe('demo in vite dev (the Vite plugin serves /ws and loads hooks.ws)', () => {
  let server: DemoServer;

  beforeAll(async () => {
    server = await startDev(await freePort());
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('fills the SSR gap: messages posted while the page loads and the socket waits all appear, once, in order', async () => {
    const { context, page } = await newPage();
    try {
      await server.post('before the page');
      const publisher = startPublisher(server, 'gap', 20);
      let ssr: string[] = [];
      try {
        await sleep(300);
        await page.goto(`${server.base}/?connectDelay=1500`, { waitUntil: 'load' });
        // What SSR rendered: the socket is held back, so this is data.messages only.
        ssr = await renderedIds(page);
        expect(await panel(page, 'state')).toContain('waiting');
        await live(page);
        await sleep(400); // live frames flow for a while too
        mkdirSync(`${ROOT}docs`, { recursive: true });
        await page.screenshot({ path: `${ROOT}docs/demo.png` });
      } finally {
        await publisher.stop();
      }
      const ids = await converged(page, server);
      // SSR had a prefix of the final list; everything after it came through the socket.
      expect(ssr.length).toBeGreaterThan(0);
      expect(ids.slice(0, ssr.length)).toEqual(ssr);
      expect(ids.length).toBeGreaterThan(ssr.length);
      expectStrictlyAscending(ids);
      expect(new Set(ids).size).toBe(ids.length);
      // The gap was real and the replay filled it: messages arrived that SSR did not have.
      expect(Number(await panel(page, 'replayed'))).toBeGreaterThan(0);
      expect(Number(await panel(page, 'live'))).toBeGreaterThan(0);
      expect(await panel(page, 'truncated')).toBe('0');
      const position = (await (await fetch(`${server.base}/messages.json`)).json()) as { position: { seq: number; epoch: string } };
      expect(await panel(page, 'seq')).toBe(String(position.position.seq));
      expect(await panel(page, 'epoch')).toBe(position.position.epoch);
    } finally {
      await context.close();
    }
  });
});
