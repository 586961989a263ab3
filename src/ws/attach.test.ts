/**
 * attach(), the `upgrade` hook and `ws.getUserData()`, the process-wide registry and the
 * SvelteKit `handle`, over real HTTP servers and real `ws` clients on 127.0.0.1.
 */
import { createServer, IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createReplay } from '../memory/index.js';
import { attach, type AttachOptions } from './attach.js';
import type { Hooks, UpgradeContext } from './hooks.js';
import { createPlatform, type Platform, type PlatformOptions } from './platform.js';
import { closePlatform, getPlatform, registerHooks, registerReplay, type AppHooks } from './registry.js';
import { handle } from './sveltekit.js';
import type { UserSocket } from './user-data.js';

const servers: Server[] = [];
const clients: WebSocket[] = [];
const platforms: Platform[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await closePlatform();
  await Promise.all(platforms.splice(0).map((p) => p.close()));
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise<void>((resolve) => s.close(() => resolve()));
    }),
  );
});

async function listen(options?: AttachOptions, before?: (server: Server) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end('http'));
  servers.push(server);
  before?.(server);
  attach(server, options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Opens a socket; resolves with it once open, or with the HTTP status that refused it. */
function open(url: string, headers: Record<string, string> = {}, protocols?: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    clients.push(ws);
    const timer = setTimeout(() => reject(new Error(`no answer from ${url}`)), 5000);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The next frame other than a heartbeat ping. */
function nextText(ws: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no frame within 5 s')), 5000);
    const onMessage = (data: unknown): void => {
      if (String(data).startsWith('{"type":"ping"')) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(String(data));
    };
    ws.on('message', onMessage);
  });
}

async function socket(url: string, headers?: Record<string, string>): Promise<WebSocket> {
  const ws = await open(url, headers);
  if (typeof ws === 'number') throw new Error(`refused with ${ws}`);
  return ws;
}

const echo = (tag: string): AppHooks => ({
  message(ws, { data }) {
    ws.send(`${tag}:${String(data)}`);
  },
});

describe('attach', () => {
  it('serves the shared platform at /ws, ignoring the query string', async () => {
    registerHooks(echo('hooks'));
    const { port } = await listen();
    const ws = await socket(`ws://127.0.0.1:${port}/ws?client=1`);
    ws.send('hello');
    expect(await nextText(ws)).toBe('hooks:hello');
    ws.send(JSON.stringify({ type: 'subscribe', topic: 'chat', ref: 7 }));
    expect(JSON.parse(await nextText(ws))).toEqual({ type: 'subscribed', topic: 'chat', ref: 7 });
    // publish from server code reaches it: the same platform as getPlatform().
    const got = nextText(ws);
    expect(getPlatform().publish('chat', 'created', { n: 1 })).toBe(true);
    expect(JSON.parse(await got)).toEqual({ topic: 'chat', event: 'created', data: { n: 1 } });
  });

  it('leaves upgrades for other paths to the other listeners (as Vite HMR needs)', async () => {
    const other = new WebSocketServer({ noServer: true });
    other.on('connection', (ws) => ws.on('message', (d) => ws.send(`other server:${String(d)}`)));
    const { port } = await listen(undefined, (server) =>
      server.on('upgrade', (req, sock, head) => {
        if (req.url === '/hmr') other.handleUpgrade(req, sock, head, (ws) => other.emit('connection', ws, req));
      }),
    );
    const ws = await socket(`ws://127.0.0.1:${port}/hmr`);
    ws.send('ping');
    expect(await nextText(ws)).toBe('other server:ping');
    expect(getPlatform().connections).toBe(0);
    other.close();
  });

  it('answers 404 to other paths when it is the only upgrade listener', async () => {
    const { port } = await listen();
    expect(await open(`ws://127.0.0.1:${port}/elsewhere`)).toBe(404);
    expect(await open(`ws://127.0.0.1:${port}/ws/deeper`)).toBe(404);
  });

  it('refuses a foreign Origin with 403 and accepts its own, listed and absent origins', async () => {
    const { port } = await listen({ allowedOrigins: ['https://app.example.com/'] });
    const url = `ws://127.0.0.1:${port}/ws`;
    expect(await open(url, { origin: 'https://evil.example' })).toBe(403);
    expect(await open(url, { origin: `http://127.0.0.1:${port + 1}` })).toBe(403);
    expect(await open(url, { origin: 'null' })).toBe(403);
    expect(await open(url, { origin: `http://127.0.0.1:${port}` })).toBeInstanceOf(WebSocket);
    expect(await open(url, { origin: 'https://app.example.com' })).toBeInstanceOf(WebSocket);
    expect(await open(url)).toBeInstanceOf(WebSocket); // not a browser
  });

  it('accepts any origin with allowedOrigins "*"', async () => {
    const { port } = await listen({ allowedOrigins: '*' });
    expect(await open(`ws://127.0.0.1:${port}/ws`, { origin: 'https://anywhere.example' })).toBeInstanceOf(WebSocket);
  });

  it('waits for ready before accepting; a failed ready answers 500 and the next upgrade asks again', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    let calls = 0;
    let release!: () => void;
    const ready = () => {
      calls++;
      if (calls === 1) return Promise.reject(new Error('hooks.ws has a syntax error'));
      return new Promise<void>((resolve) => (release = resolve));
    };
    registerHooks(echo('ready'));
    const { port } = await listen({ ready });
    expect(await open(`ws://127.0.0.1:${port}/ws`)).toBe(500);
    expect(error).toHaveBeenCalledTimes(1);
    let opened = false;
    const pending = socket(`ws://127.0.0.1:${port}/ws`).then((ws) => ((opened = true), ws));
    // The upgrade request has arrived and is parked in `ready`: nothing may have answered it.
    await vi.waitFor(() => expect(calls).toBe(2), { timeout: 5000 });
    expect(opened).toBe(false);
    expect(getPlatform().connections).toBe(0);
    release();
    const ws = await pending;
    ws.send('x');
    expect(await nextText(ws)).toBe('ready:x');
    error.mockRestore();
  });

  it('reads the hooks at every call, so new hooks apply to an open socket', async () => {
    registerHooks(echo('v1'));
    const { port } = await listen();
    const ws = await socket(`ws://127.0.0.1:${port}/ws`);
    ws.send('a');
    expect(await nextText(ws)).toBe('v1:a');
    registerHooks(echo('v2'));
    ws.send('b');
    expect(await nextText(ws)).toBe('v2:b');
  });

  it('rejects bad options with INVALID_OPTION', () => {
    const server = createServer();
    expect(() => attach(server, { path: 'ws' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('path') }));
    expect(() => attach(server, { allowedOrigins: ['not an origin'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => attach(server, { allowedOrigins: 'https://x.example' as unknown as string[] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => attach({} as Server)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(server.listenerCount('upgrade')).toBe(0);
  });
});

/** A plain `ws` server the app wires itself: a `noServer` WebSocketServer, its platform, attach(). */
async function plainServer(
  hooks: AppHooks,
  options?: Omit<AttachOptions, 'platform'>,
  platformOptions?: Omit<PlatformOptions, 'hooks'>,
): Promise<{ platform: Platform; url: string }> {
  const platform = createPlatform(new WebSocketServer({ noServer: true }), { ...platformOptions, hooks });
  platforms.push(platform);
  const { port } = await listen({ ...options, platform });
  return { platform, url: `ws://127.0.0.1:${port}/ws` };
}

interface User {
  name: string;
}

/** Records what each hook sees of the socket's user data, in order. */
function recordingHooks(upgrade: (ctx: UpgradeContext) => unknown) {
  const seen: [string, unknown][] = [];
  const hooks: Hooks<User> = {
    upgrade: upgrade as Hooks<User>['upgrade'],
    open(ws) {
      seen.push(['open', ws.getUserData()]);
    },
    message(ws, { data }) {
      seen.push(['message', ws.getUserData()]);
      ws.send(`${ws.getUserData().name}:${String(data)}`);
    },
    subscribe(ws, topic) {
      seen.push(['subscribe', ws.getUserData()]);
      return topic === `inbox:${ws.getUserData().name}` || 'FORBIDDEN';
    },
    close(ws) {
      seen.push(['close', ws.getUserData()]);
    },
  };
  return { hooks, seen };
}

describe('upgrade hook and ws.getUserData()', () => {
  it('gets request, headers, parsed cookies, url and remoteAddress before the upgrade is accepted', async () => {
    const contexts: UpgradeContext[] = [];
    let connectionsDuringHook = -1;
    const { platform, url } = await plainServer({
      upgrade(ctx) {
        contexts.push(ctx);
        connectionsDuringHook = platform.connections;
        return {};
      },
    });
    await socket(`${url}?room=1`, { cookie: 'session=alice; theme=dark%20mode; __proto__=x', 'x-trace': 't1' });
    expect(contexts).toHaveLength(1);
    const ctx = contexts[0]!;
    expect(ctx.request).toBeInstanceOf(IncomingMessage);
    expect(ctx.headers).toBe(ctx.request.headers);
    expect(ctx.headers['x-trace']).toBe('t1');
    // Parsed by `cookie`: decoded values, and a hostile name is only a key (no prototype).
    expect({ ...ctx.cookies }).toEqual({ session: 'alice', theme: 'dark mode', ['__proto__']: 'x' });
    expect(ctx.cookies.constructor).toBeUndefined(); // no Object.prototype behind the names
    expect(ctx.cookies.toString).toBeUndefined();
    expect(ctx.url).toBe('/ws?room=1');
    expect(ctx.remoteAddress).toBe('127.0.0.1');
    expect(connectionsDuringHook).toBe(0);
    expect(platform.connections).toBe(1);
  });

  it('hands the returned object to open, message, subscribe and close as ws.getUserData()', async () => {
    const alice: User = { name: 'alice' };
    const { hooks, seen } = recordingHooks(async ({ cookies }) => {
      await Promise.resolve(); // an async hook, as a session lookup is
      return cookies.session === 'alice' ? alice : false;
    });
    const { url } = await plainServer(hooks as AppHooks);
    const ws = await socket(url, { cookie: 'session=alice' });
    ws.send('hi');
    expect(await nextText(ws)).toBe('alice:hi');
    ws.send(JSON.stringify({ type: 'subscribe', topic: 'inbox:alice', ref: 1 }));
    expect(JSON.parse(await nextText(ws))).toEqual({ type: 'subscribed', topic: 'inbox:alice', ref: 1 });
    ws.send(JSON.stringify({ type: 'subscribe', topic: 'inbox:bob', ref: 2 }));
    expect(JSON.parse(await nextText(ws))).toEqual({ type: 'subscribe-denied', topic: 'inbox:bob', ref: 2, reason: 'FORBIDDEN' });
    ws.close();
    await vi.waitFor(() => expect(seen.at(-1)?.[0]).toBe('close'), { timeout: 5000 });
    expect(seen.map(([hook]) => hook)).toEqual(['open', 'message', 'subscribe', 'subscribe', 'close']);
    for (const [, data] of seen) expect(data).toBe(alice);
  });

  it('runs the same gate for replays: checkSubscribe sees the user data', async () => {
    const replay = createReplay();
    const platform = createPlatform(new WebSocketServer({ noServer: true }), {
      replay,
      hooks: {
        upgrade: ({ cookies }) => ({ name: cookies.session ?? 'nobody' }),
        subscribe: (ws, topic) => topic === `inbox:${(ws as UserSocket<User>).getUserData().name}`,
      },
    });
    platforms.push(platform);
    replay.publish(platform, 'inbox:alice', 'note', 'for alice');
    const { port } = await listen({ platform });
    const frames = async (cookie: string) => {
      const ws = await socket(`ws://127.0.0.1:${port}/ws`, { cookie });
      const got: unknown[] = [];
      ws.on('message', (d) => got.push(JSON.parse(String(d))));
      ws.send(JSON.stringify({ type: 'replay', topic: 'inbox:alice', since: 0, reqId: 'r' }));
      await vi.waitFor(() => expect(got.at(-1)).toMatchObject({ event: 'end' }), { timeout: 5000 });
      return got;
    };
    expect(await frames('session=alice')).toEqual([
      { topic: '__replay:inbox:alice', event: 'msg', data: { reqId: 'r', seq: 1, event: 'note', data: 'for alice' } },
      { topic: '__replay:inbox:alice', event: 'end', data: { reqId: 'r', seq: 1, epoch: replay.position('inbox:alice').epoch } },
    ]);
    expect(await frames('session=bob')).toEqual([
      { topic: '__replay:inbox:alice', event: 'denied', data: { reqId: 'r', code: 'FORBIDDEN' } },
      { topic: '__replay:inbox:alice', event: 'end', data: { reqId: 'r', denied: true } },
    ]);
  });

  it('refuses with 401 when upgrade returns false, and never opens a socket', async () => {
    const { hooks, seen } = recordingHooks(({ cookies }) => (cookies.session ? { name: cookies.session } : false));
    const { platform, url } = await plainServer(hooks as AppHooks);
    expect(await open(url)).toBe(401);
    expect(await open(url, { cookie: 'other=1' })).toBe(401);
    expect(platform.connections).toBe(0);
    expect(seen).toEqual([]);
    expect(await open(url, { cookie: 'session=carol' })).toBeInstanceOf(WebSocket);
  });

  it('refuses with 500 and logs when upgrade throws, rejects, or returns something that is not user data', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const answers: Record<string, () => unknown> = {
      throws: () => {
        throw new Error('session store down');
      },
      rejects: () => Promise.reject(new Error('session store down')),
      string: () => 'alice',
    };
    const { platform, url } = await plainServer({ upgrade: ({ cookies }) => answers[cookies.case!]!() as object });
    expect(await open(url, { cookie: 'case=throws' })).toBe(500);
    expect(await open(url, { cookie: 'case=rejects' })).toBe(500);
    expect(await open(url, { cookie: 'case=string' })).toBe(500);
    expect(platform.connections).toBe(0);
    expect(error).toHaveBeenCalledTimes(3);
    expect(String(error.mock.calls[0]![0])).toContain('upgrade hook');
    expect(error.mock.calls[2]![1]).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('got "alice"') });
    error.mockRestore();
  });

  it('refuses with 503 and logs TIMEOUT when upgrade does not answer in time; its late answer opens nothing', async () => {
    const logger = { warn: vi.fn(), error: vi.fn() };
    const answers: ((value: object) => void)[] = [];
    const { platform, url } = await plainServer(
      { upgrade: () => new Promise<object>((resolve) => answers.push(resolve)) },
      undefined,
      { upgradeTimeout: 200, logger },
    );
    expect(await open(url)).toBe(503);
    expect(answers).toHaveLength(1);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(String(logger.error.mock.calls[0]![0])).toContain('upgrade hook did not answer');
    expect(logger.error.mock.calls[0]![1]).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('200 ms') });
    answers[0]!({ name: 'late' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(platform.connections).toBe(0);
  });

  it('opens nothing when the client leaves while upgrade runs', async () => {
    const answers: ((value: object) => void)[] = [];
    const { platform, url } = await plainServer({ upgrade: () => new Promise<object>((resolve) => answers.push(resolve)) });
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    await vi.waitFor(() => expect(answers).toHaveLength(1), { timeout: 5000 });
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.terminate();
    await closed;
    answers[0]!({ name: 'gone' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(platform.connections).toBe(0);
  });

  it('refuses an upgradeTimeout that is not a positive integer', () => {
    expect(() => createPlatform(new WebSocketServer({ noServer: true }), { upgradeTimeout: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('upgradeTimeout must be a positive integer, got 0') }),
    );
  });

  it('gives each socket its own empty object when there is no upgrade hook (or it returns nothing)', async () => {
    const data: unknown[] = [];
    const record: AppHooks = { open: (ws) => void data.push((ws as UserSocket).getUserData()) };
    const { url } = await plainServer(record);
    await socket(url);
    await socket(url);
    const { url: url2 } = await plainServer({ ...record, upgrade: () => undefined });
    await socket(url2);
    await vi.waitFor(() => expect(data).toHaveLength(3), { timeout: 5000 });
    expect(data).toEqual([{}, {}, {}]);
    expect(data[0]).not.toBe(data[1]);
  });

  it('drops an upgrade whose connection was reset while the hook ran, without an error', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    let entered!: (ctx: UpgradeContext) => void;
    const inHook = new Promise<UpgradeContext>((resolve) => (entered = resolve));
    let finish!: (user: User) => void;
    const { platform, url } = await plainServer({
      upgrade: (ctx) => {
        entered(ctx);
        return new Promise<User>((resolve) => (finish = resolve));
      },
    });
    const ws = new WebSocket(url);
    clients.push(ws);
    const clientClosed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.on('error', () => {});
    const serverSide = (await inHook).request.socket;
    // A reset arrives as an 'error' on the raw socket: with no listener it would crash the process.
    serverSide.destroy(new Error('read ECONNRESET'));
    await clientClosed;
    expect(serverSide.destroyed).toBe(true);
    finish({ name: 'late' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(platform.connections).toBe(0);
    expect(error).not.toHaveBeenCalled();
    error.mockRestore();
  });

  it('takes upgrades routed by the app itself to platform.handleUpgrade', async () => {
    const platform = createPlatform(new WebSocketServer({ noServer: true }), {
      hooks: { upgrade: ({ url }) => ({ name: new URL(url, 'http://x').searchParams.get('name') }), message: (ws, { data }) => ws.send(`${String((ws as UserSocket).getUserData().name)}:${String(data)}`) },
    });
    platforms.push(platform);
    const server = createServer();
    servers.push(server);
    server.on('upgrade', (req, sock, head) => platform.handleUpgrade(req, sock, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const ws = await socket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/?name=dora`);
    ws.send('x');
    expect(await nextText(ws)).toBe('dora:x');
  });

  it('closes (1011) a socket that a self-listening WebSocketServer accepted past the upgrade hook', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const server = createServer();
    servers.push(server);
    const wss = new WebSocketServer({ server, path: '/ws' });
    const platform = createPlatform(wss, { hooks: { upgrade: () => false } });
    platforms.push(platform);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const ws = await socket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`);
    const closed = await new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    expect(closed).toBe(1011);
    expect(platform.connections).toBe(0);
    expect(error.mock.calls[0]![1]).toMatchObject({ message: expect.stringContaining('noServer') });
    error.mockRestore();
    wss.close();
  });

  it('runs the registered hooks.ws upgrade on the shared platform (the SvelteKit path)', async () => {
    const { hooks, seen } = recordingHooks(({ cookies }) => (cookies.name ? { name: cookies.name } : false));
    registerHooks(hooks as AppHooks);
    const { port } = await listen();
    expect(await open(`ws://127.0.0.1:${port}/ws`)).toBe(401);
    const ws = await socket(`ws://127.0.0.1:${port}/ws`, { cookie: 'name=erin' });
    ws.send('hello');
    expect(await nextText(ws)).toBe('erin:hello');
    expect(seen).toEqual([
      ['open', { name: 'erin' }],
      ['message', { name: 'erin' }],
    ]);
  });

  it('checks Origin before running the upgrade hook', async () => {
    const upgrade = vi.fn(() => ({}));
    const { url } = await plainServer({ upgrade });
    expect(await open(url, { origin: 'https://evil.example', cookie: 'session=alice' })).toBe(403);
    expect(upgrade).not.toHaveBeenCalled();
  });

  it('rejects a platform option that is not a platform, or one given with replay', () => {
    const server = createServer();
    expect(() => attach(server, { platform: {} as Platform })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('platform') }));
    const platform = createPlatform(new WebSocketServer({ noServer: true }));
    platforms.push(platform);
    expect(() => attach(server, { platform, replay: createReplay() })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('replay') }));
    expect(server.listenerCount('upgrade')).toBe(0);
  });

  it('types user data for the app: Hooks<User> registers as the hooks.ws module', () => {
    // Compile-time: a hooks module typed with its own user data is accepted by registerHooks,
    // and getUserData() is typed by it.
    const typed = {
      upgrade: ({ cookies }: UpgradeContext): User | false => (cookies.name ? { name: cookies.name } : false),
      subscribe: (ws: UserSocket<User>, topic: string) => topic === `inbox:${ws.getUserData().name}`,
    } satisfies Hooks<User>;
    registerHooks(typed);
    // @ts-expect-error the user data has no `role`
    const check = (ws: UserSocket<User>) => ws.getUserData().role;
    expect(typeof check).toBe('function');
  });
});

describe('registry', () => {
  it('is one per process: a second copy of the module sees the same platform and hooks', async () => {
    const hooks = echo('shared');
    registerHooks(hooks);
    const platform = getPlatform();
    vi.resetModules();
    const copy = await import('./registry.js'); // a fresh module instance after resetModules
    expect(copy.getPlatform).not.toBe(getPlatform);
    expect(copy.getPlatform()).toBe(platform);
    expect(copy.registry().hooks).toBe(hooks);
  });

  it('lets server code publish before any socket or HTTP server exists', () => {
    const replay = createReplay();
    expect(replay.publish(getPlatform(), 'chat', 'created', 'early')).toBe(1);
    expect(replay.since('chat', 0)).toEqual([{ seq: 1, topic: 'chat', event: 'created', data: 'early' }]);
  });

  it('serves replay frames with a registered buffer (and not through hooks.message)', async () => {
    const replay = createReplay();
    registerReplay(replay);
    registerHooks(echo('hook'));
    replay.publish(getPlatform(), 'chat', 'created', 'm1');
    const { port } = await listen();
    const ws = await socket(`ws://127.0.0.1:${port}/ws`);
    const frames: unknown[] = [];
    ws.on('message', (d) => void (String(d).startsWith('{"type":"ping"') || frames.push(JSON.parse(String(d)))));
    ws.send(JSON.stringify({ type: 'replay', topic: 'chat', since: 0, reqId: 'r' }));
    await vi.waitFor(() => expect(frames).toHaveLength(2), { timeout: 5000 });
    const epoch = replay.position('chat').epoch;
    expect(frames).toEqual([
      { topic: '__replay:chat', event: 'msg', data: { reqId: 'r', seq: 1, event: 'created', data: 'm1' } },
      { topic: '__replay:chat', event: 'end', data: { reqId: 'r', seq: 1, epoch } },
    ]);
  });

  it('rejects what is not a hooks module or a buffer', () => {
    expect(() => registerHooks(null as unknown as AppHooks)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => registerReplay({} as ReturnType<typeof createReplay>)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('handle (SvelteKit)', () => {
  it('sets event.platform to the shared platform, keeping what the adapter put there', async () => {
    const req = { url: '/' };
    const result = await handle({ event: { platform: { req } as unknown }, resolve: (event) => Promise.resolve(event) });
    const platform = result.platform as ReturnType<typeof getPlatform> & { req: unknown };
    expect(platform.req).toBe(req);
    expect(platform.publish).toBe(getPlatform().publish);
    expect(Object.getPrototypeOf(platform)).toBe(getPlatform());
  });

  it('works when the adapter gives no platform (vite dev)', () => {
    const result = handle({ event: {} as { platform?: unknown }, resolve: (event) => event });
    expect(Object.getPrototypeOf(result.platform)).toBe(getPlatform());
  });
});
