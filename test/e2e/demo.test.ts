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
import { buildDemo, buildLibrary, ROOT, startDev, startPreview, startProd, startPublisher, type DemoServer } from './helpers/demo.js';
import { WebSocket } from 'ws';
import { freePort, sleep, waitFor } from './helpers/process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

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
async function converged(page: Page, server: DemoServer, timeoutMs = 30_000): Promise<string[]> {
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

/** Submits the page's form as Enter would, without waiting on navigations (enhance makes none). */
async function send(page: Page, text: string): Promise<void> {
  await page.fill('input[name="text"]', text);
  await page.$eval('form', (form) => (form as HTMLFormElement).requestSubmit());
}

async function live(page: Page): Promise<void> {
  await waitFor('the store to be live', async () => ((await panel(page, 'state')) === 'live' ? true : undefined), 30_000);
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
        // Saved where test output goes, so a test run leaves the tree clean; docs/demo.png is a
        // copy of one of these, committed by hand.
        mkdirSync(`${ROOT}test-results`, { recursive: true });
        await page.screenshot({ path: `${ROOT}test-results/demo.png` });
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
  }, 90_000);

  it('catches up exactly after the browser was offline while messages were published', async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(server.base, { waitUntil: 'load' });
      await live(page);
      await server.post('online before');
      const before = await converged(page, server);
      const replayedBefore = Number(await panel(page, 'replayed'));

      await context.setOffline(true);
      // The socket is gone: the connection must notice (its state leaves "open") before we publish.
      await waitFor('the page to see the socket drop', async () => ((await panel(page, 'connection')) !== 'open' ? true : undefined), 10_000);
      for (let i = 1; i <= 25; i++) await server.post(`while offline ${i}`);
      await sleep(500);
      expect(await renderedIds(page)).toEqual(before); // really offline: nothing arrived

      await context.setOffline(false);
      const after = await converged(page, server, 30_000);
      expect(after.length).toBe(before.length + 25);
      expectStrictlyAscending(after);
      expect(await panel(page, 'state')).toBe('live');
      expect(await panel(page, 'truncated')).toBe('0');
      // They came through a replay after the reconnect, not as held live frames.
      expect(Number(await panel(page, 'replayed')) - replayedBefore).toBe(25);
    } finally {
      await context.close();
    }
  }, 90_000);
});

describe('demo as an adapter-node build (demo/server.js serves the app and /ws)', () => {
  let server: DemoServer | undefined;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    server = await startProd(port);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('posts from the page form and shows the message live, once', async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(server!.base, { waitUntil: 'load' });
      await live(page);
      await page.fill('input[name="author"]', 'ada');
      await page.fill('input[name="text"]', 'hello from the form');
      await page.click('button', { timeout: 30_000 });
      const ids = await converged(page, server!);
      const list = await server!.list();
      expect(list.at(-1)).toMatchObject({ id: ids.at(-1), author: 'ada', text: 'hello from the form' });
      expect(await page.inputValue('input[name="text"]')).toBe(''); // the form was reset
    } finally {
      await context.close();
    }
  }, 90_000);

  it('after a server restart the page shows the truncated state and reloads its data', async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(server!.base, { waitUntil: 'load' });
      await live(page);
      for (let i = 1; i <= 3; i++) await server!.post(`first life ${i}`);
      await converged(page, server!);
      const oldEpoch = await panel(page, 'epoch');

      await server!.stop(); // SIGTERM: the in-memory buffer and messages are gone
      server = await startProd(port);
      // Published in the new life before the page is back: same seq numbers, another epoch.
      for (let i = 1; i <= 5; i++) await server.post(`second life ${i}`);

      await waitFor('the truncated count', async () => ((await panel(page, 'truncated')) === '1' ? true : undefined), 30_000);
      const ids = await converged(page, server);
      expect((await server.list()).map((m) => m.text)).toEqual([1, 2, 3, 4, 5].map((i) => `second life ${i}`));
      expect(ids).toEqual(['1', '2', '3', '4', '5']);
      await live(page);
      expect(await panel(page, 'epoch')).not.toBe(oldEpoch);
      // And the reloaded page goes on live.
      await server.post('after the reload');
      expect((await converged(page, server)).length).toBe(6);
    } finally {
      await context.close();
    }
  }, 90_000);
});

describe('demo in vite preview (the plugin serves /ws; hooks come from the built app)', () => {
  let server: DemoServer | undefined;

  beforeAll(async () => {
    server = await startPreview(await freePort());
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('answers subscribes through the built subscribe gate and replays what a form action published', async () => {
    await server!.post('published in preview');
    const ws = new WebSocket(`${server!.base.replace('http', 'ws')}/ws`, { headers: { origin: server!.base } });
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ type: 'subscribe', topic: 'chat', ref: 1 }));
      ws.send(JSON.stringify({ type: 'subscribe', topic: 'secret', ref: 2 }));
      ws.send(JSON.stringify({ type: 'replay', topic: 'chat', since: 0, reqId: 'q' }));
      await waitFor('the replay end', () => (frames.length >= 4 ? true : undefined), 10_000);
      const { position } = (await (await fetch(`${server!.base}/messages.json`)).json()) as { position: { seq: number; epoch: string } };
      expect(frames).toEqual([
        { type: 'subscribed', topic: 'chat', ref: 1 },
        { type: 'subscribe-denied', topic: 'secret', ref: 2, reason: 'FORBIDDEN' },
        { topic: '__replay:chat', event: 'msg', data: { reqId: 'q', seq: 1, event: 'created', data: expect.objectContaining({ text: 'published in preview' }) } },
        { topic: '__replay:chat', event: 'end', data: { reqId: 'q', seq: 1, epoch: position.epoch } },
      ]);
    } finally {
      ws.terminate();
    }
  }, 90_000);
});

describe('demo on two instances against one Redis (REDIS_URL)', () => {
  let redis: RedisServer | undefined;
  let a: DemoServer | undefined;
  let b: DemoServer | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, DEMO_PREFIX: `e2e-${process.pid}:` };
    [a, b] = await Promise.all([freePort().then((p) => startProd(p, env)), freePort().then((p) => startProd(p, env))]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.destroy();
  });

  it('two tabs on two instances show the same list while both instances publish', async () => {
    const tabA = await newPage();
    const tabB = await newPage();
    try {
      await a!.post('first, on A');
      await Promise.all([tabA.page.goto(a!.base, { waitUntil: 'load' }), tabB.page.goto(`${b!.base}/?connectDelay=800`, { waitUntil: 'load' })]);
      const pubA = startPublisher(a!, 'via A', 15);
      const pubB = startPublisher(b!, 'via B', 15);
      try {
        await Promise.all([live(tabA.page), live(tabB.page)]);
        await send(tabA.page, 'typed in tab A');
        await send(tabB.page, 'typed in tab B');
        await sleep(500);
      } finally {
        await Promise.all([pubA.stop(), pubB.stop()]);
      }
      // The last message was published on one instance only: the other tab gets it live too.
      await b!.post('last, on B');
      const list = await a!.list();
      expect(await b!.list()).toEqual(list);
      expect(list.map((m) => m.text)).toEqual(expect.arrayContaining(['first, on A', 'typed in tab A', 'typed in tab B', 'last, on B']));
      const idsA = await converged(tabA.page, a!);
      const idsB = await converged(tabB.page, b!);
      expect(idsA).toEqual(idsB);
      expect(idsA).toEqual(list.map((m) => m.id));
      expect(await panel(tabA.page, 'truncated')).toBe('0');
      expect(await panel(tabB.page, 'truncated')).toBe('0');
      expect(await panel(tabA.page, 'epoch')).toBe(await panel(tabB.page, 'epoch'));
    } finally {
      await tabA.context.close();
      await tabB.context.close();
    }
  }, 90_000);
});
