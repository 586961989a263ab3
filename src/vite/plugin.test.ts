/**
 * The Vite plugin on a real Vite dev server: /ws served beside Vite's HMR socket, the app's
 * hooks.ws loaded through Vite's SSR module graph and swapped on edit without a reconnect.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { WebSocket } from 'ws';
import { closePlatform } from '../ws/registry.js';
import { gapless } from './index.js';

let root: string | undefined;
let server: ViteDevServer | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await server?.close();
  server = undefined;
  await closePlatform();
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function hooksSource(tag: string): string {
  // Imports a second module, as a real hooks.ws imports $lib: the graph is Vite's.
  return `import { prefix } from './lib/prefix';\nexport function message(ws, { data }) { ws.send(prefix + '${tag}:' + String(data)); }\n`;
}

async function start(files: Record<string, string>, options?: Parameters<typeof gapless>[0]): Promise<string> {
  root = mkdtempSync(join(tmpdir(), 'gapless-vite-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  server = await createServer({
    root,
    configFile: false,
    logLevel: 'silent',
    plugins: [gapless(options)],
    server: { host: '127.0.0.1', port: 0, strictPort: false, watch: { usePolling: true, interval: 50 } },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  return `127.0.0.1:${(server.httpServer!.address() as AddressInfo).port}`;
}

/** Opens a socket and keeps every text frame it receives (some come with the handshake). */
function open(url: string, protocol?: string, timeoutMs = 5000, headers?: Record<string, string>): Promise<WebSocket & { frames: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = Object.assign(new WebSocket(url, protocol, { headers }), { frames: [] as string[] });
    clients.push(ws);
    ws.on('message', (d) => ws.frames.push(String(d)));
    const timer = setTimeout(() => reject(new Error(`no connection to ${url}`)), timeoutMs);
    ws.once('open', () => (clearTimeout(timer), resolve(ws)));
    ws.once('error', (e) => (clearTimeout(timer), reject(e)));
    ws.once('unexpected-response', (_q, res) => (clearTimeout(timer), reject(new Error(`refused: ${res.statusCode}`))));
  });
}

function ask(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
    ws.once('message', (d) => (clearTimeout(timer), resolve(String(d))));
    ws.send(text);
  });
}

describe('gapless() Vite plugin', () => {
  it('serves /ws with src/hooks.ws.ts loaded through Vite, beside a working HMR socket', async () => {
    const host = await start({ 'src/hooks.ws.ts': hooksSource('v1'), 'src/lib/prefix.ts': `export const prefix: string = '>';\n` });
    const ws = await open(`ws://${host}/ws`);
    expect(await ask(ws, 'hi')).toBe('>v1:hi');

    const token = (server!.config as { webSocketToken?: string }).webSocketToken;
    const hmr = await open(`ws://${host}/?token=${token}`, 'vite-hmr');
    await vi.waitFor(() => expect(hmr.frames.length).toBeGreaterThan(0), { timeout: 5000 });
    expect(JSON.parse(hmr.frames[0]!)).toMatchObject({ type: 'connected' });
  });

  it('swaps the hooks on an open socket when hooks.ws or a module it imports is edited', async () => {
    const host = await start({ 'src/hooks.ws.ts': hooksSource('v1'), 'src/lib/prefix.ts': `export const prefix: string = '>';\n` });
    const ws = await open(`ws://${host}/ws`);
    expect(await ask(ws, 'a')).toBe('>v1:a');

    writeFileSync(join(root!, 'src/hooks.ws.ts'), hooksSource('v2'));
    await vi.waitFor(async () => expect(await ask(ws, 'b')).toBe('>v2:b'), { timeout: 10_000, interval: 100 });

    writeFileSync(join(root!, 'src/lib/prefix.ts'), `export const prefix: string = '#';\n`);
    await vi.waitFor(async () => expect(await ask(ws, 'c')).toBe('#v2:c'), { timeout: 10_000, interval: 100 });
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('on SvelteKit 3 loads hooks.ws in the SSR module runner Kit 3 runs routes in (one set of instances) and swaps it on edit', async () => {
    // Kit 3 imports the app's server modules with `environments.ssr.runner`; `ssrLoadModule`
    // has a runner of its own, whose `$lib` instances (a second replay buffer) the routes never see.
    const host = await start({
      'package.json': '{"type":"module"}',
      'node_modules/@sveltejs/kit/package.json': '{"name":"@sveltejs/kit","version":"3.0.0"}',
      'src/hooks.ws.ts': `import { state } from './lib/state';\nexport function message(ws, { data }) { ws.send(state.prefix + 'v1:' + String(data)); }\n`,
      'src/lib/state.ts': `export const state = { prefix: '>' };\n`,
    });
    const ws = await open(`ws://${host}/ws`);
    expect(await ask(ws, 'a')).toBe('>v1:a');
    // What the routes see: the same module instance as the hooks.
    const runner = (server!.environments.ssr as unknown as { runner: { import(url: string): Promise<{ state: { prefix: string } }> } }).runner;
    (await runner.import(join(root!, 'src/lib/state.ts'))).state.prefix = '!';
    expect(await ask(ws, 'b')).toBe('!v1:b');

    writeFileSync(join(root!, 'src/hooks.ws.ts'), `import { state } from './lib/state';\nexport function message(ws, { data }) { ws.send(state.prefix + 'v2:' + String(data)); }\n`);
    await vi.waitFor(async () => expect(await ask(ws, 'c')).toBe('!v2:c'), { timeout: 10_000, interval: 100 });
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('honours path and a hooks file given without extension', async () => {
    const host = await start({ 'server/socket.js': `export function message(ws, { data }) { ws.send('js:' + String(data)); }\n` }, { path: '/live', hooks: 'server/socket' });
    const ws = await open(`ws://${host}/live`);
    expect(await ask(ws, 'x')).toBe('js:x');
    // Not ours and not Vite's: left alone (never destroyed, as Vite's own listener may want it).
    await expect(open(`ws://${host}/ws`, undefined, 500)).rejects.toThrow('no connection');
  });

  it('runs without hooks when the app has no hooks.ws', async () => {
    const host = await start({ 'index.html': '<p>app</p>' });
    const ws = await open(`ws://${host}/ws`);
    const answer = await ask(ws, JSON.stringify({ type: 'subscribe', topic: 'chat', ref: 1 }));
    expect(JSON.parse(answer)).toEqual({ type: 'subscribed', topic: 'chat', ref: 1 });
  });

  it('runs the upgrade hook of hooks.ws in vite dev: cookies in, 401 on false, ws.getUserData() in later hooks', async () => {
    const host = await start({
      'src/hooks.ws.ts': [
        `export async function upgrade({ cookies }) { return cookies.name ? { name: cookies.name } : false; }`,
        `export function message(ws, { data }) { ws.send(ws.getUserData().name + ':' + String(data)); }`,
        '',
      ].join('\n'),
    });
    await expect(open(`ws://${host}/ws`)).rejects.toThrow('refused: 401');
    const ws = await open(`ws://${host}/ws`, undefined, 5000, { cookie: 'name=ada%20l' });
    expect(await ask(ws, 'hi')).toBe('ada l:hi');
  });
});
