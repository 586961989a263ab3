/**
 * Test harness for many Gapless instances: child processes running instance.ts, a TCP load
 * balancer in front of them (round robin over live instances, as a real one would), and IPC calls.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Position } from '../../src/core/position.js';

const SCRIPT = fileURLToPath(new URL('./instance.ts', import.meta.url));

export interface Instance {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  burst(topics: string[], count: number, concurrency?: number): Promise<{ failed: number }>;
  positions(topics: string[]): Promise<Record<string, Position>>;
  kill(): Promise<void>;
}

let ids = 0;

export async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const child = fork(SCRIPT, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env, NAME: name }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s`)), 20_000);
    child.on('message', (m: Record<string, unknown>) => {
      if (typeof m.ready === 'number') {
        clearTimeout(timer);
        resolve(m.ready);
      } else if (typeof m.id === 'number') {
        waiting.get(m.id)?.(m);
        waiting.delete(m.id);
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
  });
  function call(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = ++ids;
    return new Promise((resolve, reject) => {
      waiting.set(id, (reply) => (typeof reply.error === 'string' ? reject(new Error(reply.error)) : resolve(reply)));
      child.send({ ...message, id });
    });
  }
  return {
    name,
    port,
    child,
    burst: async (topics, count, concurrency = 8) => (await call({ type: 'burst', topics, count, concurrency })) as { failed: number },
    positions: async (topics) => (await call({ type: 'positions', topics })).positions as Record<string, Position>,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface Balancer {
  readonly url: string;
  /** Connections currently routed to each backend port. */
  readonly routed: Map<number, number>;
  close(): Promise<void>;
}

/** Round robin over backends that accept a connection; a dead backend is skipped. */
export async function startBalancer(ports: () => number[]): Promise<Balancer> {
  let turn = 0;
  const sockets = new Set<Socket>();
  const routed = new Map<number, number>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.pause();
    client.on('error', () => {});
    const candidates = ports();
    const attempt = (tries: number) => {
      if (tries >= candidates.length) return client.destroy();
      const port = candidates[turn++ % candidates.length]!;
      const upstream = connect(port, '127.0.0.1');
      upstream.once('connect', () => {
        sockets.add(upstream);
        routed.set(port, (routed.get(port) ?? 0) + 1);
        client.pipe(upstream).pipe(client);
        client.resume();
        const done = () => {
          client.destroy();
          upstream.destroy();
        };
        upstream.once('close', () => {
          routed.set(port, (routed.get(port) ?? 1) - 1);
          done();
        });
        client.once('close', done);
      });
      upstream.once('error', () => attempt(tries + 1));
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/ws`,
    routed,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
