/**
 * The demo chat in a real browser (Debian's Chromium via playwright-core), in `vite dev` (the
 * Vite plugin) and as an adapter-node build (`demo/server.js`): the SSR gap is filled exactly,
 * an offline browser catches up exactly, a restarted server is reported as truncated and the
 * page reloads its data; a logged-in user reads their private inbox, nobody else's, and an
 * anonymous visitor reads the public chat only.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, panel, renderedIds } from './helpers/browser.js';
import { buildDemo, buildLibrary, ROOT, SESSION_COOKIE, startDev, startPreview, startProd, startPublisher, type DemoServer } from './helpers/demo.js';
import { WebSocket } from 'ws';
import { freePort, waitFor } from './helpers/process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { scrape } from '../metrics/scrape.js';

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

const CHAT_FORM = '[data-testid="chat-form"]';

/** Submits the page's chat form as Enter would, without waiting on navigations (enhance makes none). */
/** Posts `text` through the page's chat form; resolves once the server has answered the post. */
async function send(page: Page, text: string): Promise<void> {
  await page.fill(`${CHAT_FORM} input[name="text"]`, text);
  // Without waiting for the answer, a post still in flight on a loaded machine lands after the
  // test has read the server's list, and the list seems to have changed behind its back.
  const answered = page.waitForResponse((response) => response.request().method() === 'POST');
  await page.$eval(CHAT_FORM, (form) => (form as HTMLFormElement).requestSubmit());
  await answered;
}

/** Waits until a panel field (`state`, `inbox-state`, ...) shows `value`. */
async function shows(page: Page, field: string, value: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${field} to be ${value}`, async () => ((await panel(page, field)) === value ? true : undefined), timeoutMs);
}

async function live(page: Page): Promise<void> {
  await shows(page, 'state', 'live');
}

/** The texts of the messages one list (`messages`, `inbox-messages`, `peek-messages`) shows. */
function texts(page: Page, list: string): Promise<string[]> {
  return page.$$eval(`[data-testid="${list}"] li`, (items) => items.map((li) => li.textContent ?? ''));
}

/** Waits until the list shows `text`. */
async function listed(page: Page, list: string, text: string): Promise<string[]> {
  return waitFor(`${list} to show ${JSON.stringify(text)}`, async () => {
    const got = await texts(page, list);
    return got.some((t) => t.includes(text)) ? got : undefined;
  }, 30_000, 150);
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
        await waitFor('the publisher to be under way', () => (publisher.posted() >= 3 ? true : undefined), 30_000, 20);
        await page.goto(`${server.base}/?connectDelay=1500`, { waitUntil: 'load' });
        // What SSR rendered: the socket is held back, so this is data.messages only.
        ssr = await renderedIds(page);
        expect(await panel(page, 'state')).toContain('waiting');
        await live(page);
        // Live frames flow for a while too.
        await waitFor('live frames', async () => (Number(await panel(page, 'live')) >= 3 ? true : undefined), 30_000);
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
      // Really offline: the 25 are on the server, the page still has no socket and none of them.
      expect((await server.list()).length).toBe(before.length + 25);
      expect(await panel(page, 'connection')).not.toBe('open');
      expect(await renderedIds(page)).toEqual(before);

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
      await page.fill(`${CHAT_FORM} input[name="author"]`, 'ada');
      await page.fill(`${CHAT_FORM} input[name="text"]`, 'hello from the form');
      await page.click(`${CHAT_FORM} button`, { timeout: 30_000 });
      const ids = await converged(page, server!);
      const list = await server!.list();
      expect(list.at(-1)).toMatchObject({ id: ids.at(-1), author: 'ada', text: 'hello from the form' });
      expect(await page.inputValue(`${CHAT_FORM} input[name="text"]`)).toBe(''); // the form was reset
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

      // The new life's /metrics saw it all: six publishes, the page's socket, its reset.
      const res = await fetch(`${server.base}/metrics`, { signal: AbortSignal.timeout(5000) });
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const metrics = scrape(await res.text());
      expect(metrics.value('gapless_publishes_total', { backend: 'memory' })).toBe(6);
      expect(metrics.value('gapless_sockets_open')).toBeGreaterThanOrEqual(1);
      expect(metrics.value('gapless_replays_total', { outcome: 'truncated', reason: 'reset' })).toBeGreaterThanOrEqual(1);
    } finally {
      await context.close();
    }
  }, 90_000);
});

describe('demo login: who is on the socket decides what it may read (adapter-node build)', () => {
  let server: DemoServer | undefined;

  beforeAll(async () => {
    server = await startProd(await freePort());
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  /** A browser context logged in as `name` (the cookie the login form sets), or anonymous. */
  async function visitor(name?: string): Promise<{ context: BrowserContext; page: Page }> {
    const tab = await newPage();
    if (name !== undefined) await tab.context.addCookies([{ name: SESSION_COOKIE, value: name, url: server!.base }]);
    return tab;
  }

  it('allowed: a user logged in through the form gets their own inbox, SSR, gap and live', async () => {
    const { context, page } = await visitor();
    try {
      await server!.note('alice', 'before the login', 'bob');
      await page.goto(server!.base, { waitUntil: 'load' });
      await page.fill('[data-testid="login-form"] input[name="name"]', 'alice');
      await page.click('[data-testid="login-form"] button');
      await page.waitForSelector('[data-testid="user"]'); // the page reloaded with the cookie
      expect(await panel(page, 'user')).toBe('alice');
      // Rendered by SSR, then the socket (its upgrade carried the cookie) took the store live.
      await shows(page, 'inbox-state', 'live');
      expect(await texts(page, 'inbox-messages')).toEqual(['bob before the login']);

      // In the SSR gap: sent while the page waits to connect, then replayed to its inbox.
      await page.goto(`${server!.base}/?connectDelay=1500`, { waitUntil: 'load' });
      await server!.note('alice', 'in the gap', 'bob');
      await shows(page, 'inbox-state', 'live');
      await listed(page, 'inbox-messages', 'in the gap');

      await server!.note('alice', 'while live', 'carol');
      expect(await listed(page, 'inbox-messages', 'while live')).toEqual(['bob before the login', 'bob in the gap', 'carol while live']);
    } finally {
      await context.close();
    }
  }, 90_000);

  it("denied: another user's inbox ends in the denied state and never receives its notes", async () => {
    const alice = await visitor('alice');
    const bob = await visitor('bob');
    try {
      await alice.page.goto(server!.base, { waitUntil: 'load' });
      await bob.page.goto(`${server!.base}/?peek=alice`, { waitUntil: 'load' });
      await shows(bob.page, 'peek-state', 'denied');
      expect(await panel(bob.page, 'peek-reason')).toBe('(FORBIDDEN)');
      await shows(bob.page, 'inbox-state', 'live'); // bob's own inbox is fine
      await shows(alice.page, 'inbox-state', 'live');

      await server!.note('alice', 'for alice only', 'carol');
      // The note really went out: its owner has it.
      await listed(alice.page, 'inbox-messages', 'for alice only');
      expect(await texts(bob.page, 'peek-messages')).toEqual([]);
      expect(await texts(bob.page, 'inbox-messages')).toEqual([]);
      expect(await panel(bob.page, 'peek-state')).toBe('denied');
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  }, 90_000);

  it('anonymous: reads the public chat live, has no inbox, is denied every inbox; logging out makes a user anonymous again', async () => {
    const anon = await visitor();
    const dora = await visitor();
    try {
      await anon.page.goto(`${server!.base}/?peek=alice`, { waitUntil: 'load' });
      await live(anon.page);
      await shows(anon.page, 'peek-state', 'denied');
      expect(await anon.page.$('[data-testid="inbox"]')).toBeNull();
      await server!.post('public news');
      await listed(anon.page, 'messages', 'public news');

      // Log in, then out: the reloaded page's socket is anonymous again, so its own old inbox is refused.
      await dora.page.goto(server!.base, { waitUntil: 'load' });
      await dora.page.fill('[data-testid="login-form"] input[name="name"]', 'dora');
      await dora.page.click('[data-testid="login-form"] button');
      await dora.page.waitForSelector('[data-testid="user"]');
      await shows(dora.page, 'inbox-state', 'live');
      await dora.page.click('[data-testid="logout"]');
      await dora.page.waitForSelector('[data-testid="login-form"]');
      await dora.page.goto(`${server!.base}/?peek=dora`, { waitUntil: 'load' });
      expect(await dora.page.$('[data-testid="user"]')).toBeNull();
      await shows(dora.page, 'peek-state', 'denied');
      await live(dora.page);
    } finally {
      await anon.context.close();
      await dora.context.close();
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

  /** A raw socket on the preview server, with the login cookie of `user` if given; records every frame but the heartbeat's pings. */
  async function rawSocket(user?: string): Promise<{ ws: WebSocket; frames: Record<string, unknown>[] }> {
    const headers: Record<string, string> = { origin: server!.base };
    if (user !== undefined) headers.cookie = `${SESSION_COOKIE}=${user}`;
    const ws = new WebSocket(`${server!.base.replace('http', 'ws')}/ws`, { headers });
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d) => {
      const frame = JSON.parse(String(d)) as Record<string, unknown>;
      if (frame.type !== 'ping') frames.push(frame);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return { ws, frames };
  }

  it('answers subscribes through the built subscribe gate and replays what a form action published', async () => {
    await server!.post('published in preview');
    const { ws, frames } = await rawSocket();
    try {
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

  it("runs the built upgrade hook: the login cookie opens the user's own inbox and no one else's", async () => {
    await server!.note('alice', 'note in preview', 'bob');
    const alice = await rawSocket('alice');
    const anon = await rawSocket();
    try {
      alice.ws.send(JSON.stringify({ type: 'subscribe', topic: 'inbox:alice', ref: 1 }));
      alice.ws.send(JSON.stringify({ type: 'subscribe', topic: 'inbox:bob', ref: 2 }));
      alice.ws.send(JSON.stringify({ type: 'replay', topic: 'inbox:alice', since: 0, reqId: 'a' }));
      anon.ws.send(JSON.stringify({ type: 'subscribe', topic: 'inbox:alice', ref: 3 }));
      anon.ws.send(JSON.stringify({ type: 'replay', topic: 'inbox:alice', since: 0, reqId: 'n' }));
      await waitFor('both replays to end', () => (alice.frames.length >= 4 && anon.frames.length >= 3 ? true : undefined), 10_000);
      expect(alice.frames).toEqual([
        { type: 'subscribed', topic: 'inbox:alice', ref: 1 },
        { type: 'subscribe-denied', topic: 'inbox:bob', ref: 2, reason: 'FORBIDDEN' },
        { topic: '__replay:inbox:alice', event: 'msg', data: { reqId: 'a', seq: 1, event: 'created', data: expect.objectContaining({ author: 'bob', text: 'note in preview' }) } },
        { topic: '__replay:inbox:alice', event: 'end', data: { reqId: 'a', seq: 1, epoch: expect.any(String) } },
      ]);
      expect(anon.frames).toEqual([
        { type: 'subscribe-denied', topic: 'inbox:alice', ref: 3, reason: 'FORBIDDEN' },
        { topic: '__replay:inbox:alice', event: 'denied', data: { reqId: 'n', code: 'FORBIDDEN' } },
        { topic: '__replay:inbox:alice', event: 'end', data: { reqId: 'n', denied: true } },
      ]);
    } finally {
      alice.ws.terminate();
      anon.ws.terminate();
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
        const [fromA, fromB] = [pubA.posted(), pubB.posted()];
        await send(tabA.page, 'typed in tab A');
        await send(tabB.page, 'typed in tab B');
        // Both instances go on publishing while both tabs are live.
        await waitFor('both publishers to post more', () => (pubA.posted() >= fromA + 5 && pubB.posted() >= fromB + 5 ? true : undefined), 30_000, 20);
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
