/**
 * Request/response over a forked child's IPC channel, for the load benchmark's processes
 * (servers and load generators). The parent calls `worker.call(type, args)`; the child
 * answers with the handler registered for `type` in `serve`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Handler = (args: Record<string, unknown>) => unknown;

interface Request {
  id: number;
  type: string;
  args: Record<string, unknown>;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

export interface Worker {
  readonly child: ChildProcess;
  call<T = unknown>(type: string, args?: Record<string, unknown>): Promise<T>;
  kill(): Promise<void>;
}

/** Forks `script` (a .ts file next to the caller, run through tsx) and waits for its first `ready`. */
export async function spawnWorker(script: URL, name: string, startTimeoutMs = 30_000): Promise<Worker> {
  const child = fork(fileURLToPath(script), [], {
    // BENCH_CPU_PROF=<dir> writes a CPU profile of every server and load generator there.
    execArgv: ['--import', 'tsx', '--max-old-space-size=4096', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (reply: Reply) => void>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    child.on('message', (message: Reply | 'ready') => {
      if (message === 'ready') {
        clearTimeout(timer);
        resolve();
        return;
      }
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
  });
  let ids = 0;
  return {
    child,
    call<T>(type: string, args: Record<string, unknown> = {}): Promise<T> {
      const id = ++ids;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, (reply) => (reply.error !== undefined ? reject(new Error(`${name}.${type}: ${reply.error}`)) : resolve(reply.result as T)));
        child.send({ id, type, args } satisfies Request);
      });
    },
    async kill() {
      // Asked first (a child exits when its channel closes, writing its CPU profile if any).
      if (child.connected) child.disconnect();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** In a child: answers the parent's calls with `handlers`, then tells it that it is ready. */
export function serve(handlers: Record<string, Handler>): void {
  process.on('message', (request: Request) => {
    const handler = handlers[request.type];
    const reply = (r: Omit<Reply, 'id'>) => process.send!({ id: request.id, ...r });
    if (handler === undefined) {
      reply({ error: `unknown call ${request.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(request.args))
      .then(
        (result) => reply({ result }),
        (error: unknown) => reply({ error: error instanceof Error ? error.stack ?? error.message : String(error) }),
      );
  });
  // The parent going away ends the child: no orphaned servers after a crashed run.
  process.on('disconnect', () => process.exit(0));
  process.send!('ready');
}

/** One clock for every process of a run: wall-clock milliseconds with sub-millisecond resolution. */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}
