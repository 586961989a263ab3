/**
 * A real `ws` server on 127.0.0.1 with a Gapless platform, and a raw client that records
 * every frame, for tests that assert exact frames on the wire.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createPlatform, type Platform, type PlatformOptions } from '../../src/ws/index.js';

export interface TestServer {
  url: string;
  wss: WebSocketServer;
  platform: Platform;
  http: Server;
  stop(): Promise<void>;
}

export async function startServer(options: PlatformOptions = {}): Promise<TestServer> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  const platform = createPlatform(wss, options);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    wss,
    platform,
    http,
    async stop() {
      await platform.close();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

export type Frame = Record<string, unknown>;

/**
 * A raw WebSocket client that keeps every frame it receives, parsed, in order. Heartbeat pings
 * are kept apart in `pings` (and not answered), so frame assertions are the same with or
 * without a heartbeat.
 */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly pings: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      (frame.type === 'ping' ? this.pings : this.frames).push(frame);
      this.waiters.forEach((wake) => wake());
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => {
      this.waiters.forEach((wake) => wake());
      resolve({ code, reason: reason.toString() });
    }));
  }

  static async connect(url: string): Promise<TestClient> {
    const socket = new WebSocket(url);
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** Resolves once `predicate` holds for the frames received so far; fails after `timeoutMs`. */
  async until(predicate: (frames: Frame[]) => boolean, timeoutMs = 5000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; frames so far: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
    return this.frames;
  }

  /** Waits for `count` frames in all, and returns them. */
  async take(count: number, timeoutMs?: number): Promise<Frame[]> {
    await this.until((f) => f.length >= count, timeoutMs);
    return this.frames.slice(0, count);
  }

  /** Waits until the replay answering `reqId` has ended; returns that request's frames. */
  async replayed(reqId: string | number, timeoutMs?: number): Promise<Frame[]> {
    const mine = (f: Frame) => (f.data as { reqId?: unknown } | undefined)?.reqId === reqId;
    await this.until((frames) => frames.some((f) => f.event === 'end' && mine(f)), timeoutMs);
    return this.frames.filter(mine);
  }

  close(): void {
    this.socket.close();
  }
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WsHarness {
  /** Starts this test's server; it is stopped after the test. */
  setup(options?: PlatformOptions): Promise<TestServer>;
  /** Connects a client (to the server by default); it is ended after the test. */
  client(url?: string): Promise<TestClient>;
  /** The server started by `setup` in the running test. */
  readonly server: TestServer;
}

/**
 * One server per test plus the clients it connected, all torn down in `afterEach`: clients
 * first (closed, or terminated when a test leaves sockets that would never finish a closing
 * handshake), then `beforeStop` (e.g. a proxy in front of the server), then the server.
 */
export function useWsServer(
  options: { endClients?: 'close' | 'terminate'; beforeStop?: () => Promise<void> } = {},
): WsHarness {
  let server: TestServer | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) {
      if (options.endClients === 'terminate') c.socket.terminate();
      else c.close();
    }
    await options.beforeStop?.();
    await server?.stop();
    server = undefined;
  });
  const current = (): TestServer => {
    if (!server) throw new Error('no server: call setup() first');
    return server;
  };
  return {
    async setup(platformOptions: PlatformOptions = {}) {
      server = await startServer(platformOptions);
      return server;
    },
    async client(url?: string) {
      const c = await TestClient.connect(url ?? current().url);
      clients.push(c);
      return c;
    },
    get server() {
      return current();
    },
  };
}
