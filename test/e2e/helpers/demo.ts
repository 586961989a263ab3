/**
 * Building and running the demo app for the browser tests, and talking to it over HTTP. The app
 * is the one of the stack under test: the demo itself (SvelteKit 2), or its SvelteKit 3 copy.
 */
import { ROOT, stack } from '../../helpers/stack.js';
import { run, start, waitFor, type Proc } from './process.js';

export { ROOT };
export const DEMO = stack.app;
const BIN = stack.bin;

/** The demo's login cookie (`demo/src/lib/server/session.ts`): the user's name. */
export const SESSION_COOKIE = 'demo_name';

export interface Message {
  id: string;
  author: string;
  text: string;
}

/** `npm run build`: the library in dist/ (the demo imports it from there); then the stack's app. */
export async function buildLibrary(): Promise<void> {
  await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeoutMs: 120_000 });
  stack.prepareApp();
}

/** The adapter-node production build of the app (`build/` in it). */
export async function buildDemo(): Promise<void> {
  await run(`${BIN}/vite`, ['build', '--logLevel', 'warn'], { cwd: DEMO, timeoutMs: 180_000 });
}

export interface DemoServer {
  readonly base: string;
  readonly proc: Proc;
  /** The server's list of messages (what every page must end up showing). */
  list(): Promise<Message[]>;
  /** Posts one message through the page's form action, as a browser form would. */
  post(text: string, author?: string): Promise<void>;
  /** Sends a private note to `to`'s inbox as the logged-in user `from`, through the page's form action. */
  note(to: string, text: string, from: string): Promise<void>;
  stop(): Promise<void>;
}

/** Posts a form to one of the page's actions as a browser on the page would, logged in as `user` if given. */
async function action(base: string, name: string, fields: Record<string, string>, user?: string): Promise<void> {
  const res = await fetch(`${base}/?/${name}`, {
    method: 'POST',
    // The Origin a browser on this page sends: SvelteKit refuses cross-site form posts.
    headers: {
      origin: base,
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      ...(user === undefined ? {} : { cookie: `${SESSION_COOKIE}=${user}` }),
    },
    body: new URLSearchParams(fields),
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.text();
  if (!res.ok || !body.includes('"success"')) throw new Error(`POST ?/${name}: ${res.status} ${body.slice(0, 200)}`);
}

function client(base: string, proc: Proc): DemoServer {
  return {
    base,
    proc,
    async list() {
      const res = await fetch(`${base}/messages.json`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`GET /messages.json: ${res.status}`);
      return ((await res.json()) as { messages: Message[] }).messages;
    },
    post: (text, author = 'bot') => action(base, 'send', { author, text }),
    note: (to, text, from) => action(base, 'note', { to, text }, from),
    stop: () => proc.stop(),
  };
}

async function ready(server: DemoServer, timeoutMs: number): Promise<DemoServer> {
  try {
    await waitFor(`${server.base} to answer`, async () => {
      if (server.proc.child.exitCode !== null) throw new Error('server exited');
      return (await server.list()) ? true : undefined;
    }, timeoutMs, 200);
  } catch (error) {
    await server.stop();
    throw new Error(`${String(error)}\n${server.proc.output().slice(-4000)}`);
  }
  return server;
}

/** `vite dev` of the demo: the Vite plugin serves /ws and loads src/hooks.ws.ts. */
export async function startDev(port: number, env: Record<string, string> = {}): Promise<DemoServer> {
  const proc = start(`${BIN}/vite`, ['dev', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: DEMO, env });
  return ready(client(`http://127.0.0.1:${port}`, proc), 90_000);
}

/** `vite preview` of the production build: the plugin serves /ws, the built hooks.server registers the hooks. */
export async function startPreview(port: number, env: Record<string, string> = {}): Promise<DemoServer> {
  const proc = start(`${BIN}/vite`, ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: DEMO, env });
  return ready(client(`http://127.0.0.1:${port}`, proc), 60_000);
}

/** `node server.js` on the production build: adapter-node plus attach() for /ws. */
export async function startProd(port: number, env: Record<string, string> = {}): Promise<DemoServer> {
  const base = `http://127.0.0.1:${port}`;
  const proc = start(process.execPath, ['server.js'], { cwd: DEMO, env: { PORT: String(port), HOST: '127.0.0.1', ORIGIN: base, ...env } });
  return ready(client(base, proc), 30_000);
}

export interface Publisher {
  /** Messages posted so far. */
  posted(): number;
  /** Stops posting; resolves with the number of messages posted. */
  stop(): Promise<number>;
}

/** Posts `prefix-1`, `prefix-2`, ... one after the other, every `everyMs`, until stopped. */
export function startPublisher(server: DemoServer, prefix: string, everyMs: number): Publisher {
  let running = true;
  let count = 0;
  const loop = (async () => {
    while (running) {
      await server.post(`${prefix}-${count + 1}`);
      count++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    posted: () => count,
    async stop() {
      running = false;
      await loop;
      return count;
    },
  };
}
