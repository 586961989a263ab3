/**
 * Real redis-server processes for tests: a standalone server on a free loopback port (no
 * persistence unless asked), restartable on the same port, and a 3-master Cluster built with
 * `redis-cli --cluster create`. Every wait is bounded; `stop()` removes the data directory.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 });
  return stdout.trim();
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ServerOptions {
  /** Append-only file persistence (`--appendonly yes --appendfsync always`). Default false. */
  aof?: boolean;
  /** Extra `redis-server` arguments. */
  args?: string[];
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The data directory (`dump.rdb`, the AOF). */
  readonly dir: string;
  /** SIGSTOP: the process stays, its sockets stay open, nothing is answered. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** SIGKILL, as a crash: nothing is written on the way out. */
  kill(): Promise<void>;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s). Data survives only with AOF. */
  stop(): Promise<void>;
  /** Starts again on the same port and data directory, optionally switching AOF. */
  start(options?: ServerOptions): Promise<void>;
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>;
  cli(...args: string[]): Promise<string>;
}

function spawnServer(port: number, dir: string, options: ServerOptions, extra: string[] = []): ChildProcess {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', options.aof ? 'yes' : 'no', '--appendfsync', 'always',
    '--daemonize', 'no', '--logfile', '', '--loglevel', 'warning', '--protected-mode', 'no',
    ...extra, ...(options.args ?? []),
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** `port`: a port chosen beforehand (a client may already be trying it). */
export async function startRedis(options: ServerOptions = {}, port?: number): Promise<RedisServer> {
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gapless-redis-'));
  let child: ChildProcess | undefined;
  let current = options;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async kill() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGKILL');
      await exited;
    },
    async start(next = current) {
      current = next;
      child = spawnServer(port!, dir, current);
      await waitFor(`redis-server on ${port}`, async () => (await cli(port, 'PING')) === 'PONG' && !(await cli(port, 'INFO', 'persistence')).includes('loading:1'));
    },
    async stop() {
      child?.kill('SIGCONT');
      await stopProcess(child);
      child = undefined;
    },
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    cli: (...args) => cli(port, ...args),
  };
  await server.start(options);
  return server;
}

export interface RedisCluster {
  /** Ports of the three masters. */
  readonly ports: readonly number[];
  readonly nodes: readonly { host: string; port: number }[];
  destroy(): Promise<void>;
}

/** Three masters, no replicas, all 16384 slots assigned, state ok on every node. */
export async function startCluster(): Promise<RedisCluster> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'gapless-cluster-'));
  const children = ports.map((port) =>
    spawnServer(port, dir, {}, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000']),
  );
  const destroy = async () => {
    await Promise.all(children.map(stopProcess));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await waitFor(`cluster node ${port}`, async () => (await cli(port, 'PING')) === 'PONG');
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
    for (const port of ports) {
      await waitFor(`cluster state ok on ${port}`, async () => (await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), 20_000);
    }
  } catch (error) {
    await destroy();
    throw error;
  }
  return { ports, nodes: ports.map((port) => ({ host: '127.0.0.1', port })), destroy };
}

/**
 * A standalone server for the tests of one file, started before them and stopped after, and
 * a client made on first use. Read both through the getters, inside tests or hooks.
 */
export function useRedis(): { server: () => RedisServer; client: () => Redis } {
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.destroy();
  });
  return { server: () => server!, client: () => (client ??= new Redis(server!.port, '127.0.0.1')) };
}

/** The same for a 3-master Cluster and a Cluster client. */
export function useRedisCluster(): { servers: () => RedisCluster; client: () => Cluster } {
  let servers: RedisCluster | undefined;
  let client: Cluster | undefined;
  beforeAll(async () => {
    servers = await startCluster();
  });
  afterAll(async () => {
    client?.disconnect();
    await servers?.destroy();
  });
  return { servers: () => servers!, client: () => (client ??= new Cluster([...servers!.nodes])) };
}
