/**
 * attach(), the process-wide registry and the SvelteKit `handle`, over real HTTP servers and
 * real `ws` clients on 127.0.0.1.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createReplay } from '../memory/index.js';
import { attach, type AttachOptions } from './attach.js';
import { closePlatform, getPlatform, registerHooks, registerReplay, type AppHooks } from './registry.js';
import { handle } from './sveltekit.js';

const servers: Server[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await closePlatform();
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
    await new Promise((r) => setTimeout(r, 200));
    expect(opened).toBe(false);
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
