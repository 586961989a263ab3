/**
 * One process-wide home for the shared platform, the current `hooks.ws` module and the replay
 * buffer the platform serves with.
 *
 * It lives on `globalThis`, never in module scope: a SvelteKit app loads this library twice in
 * every mode (vite.config through Node and the app through Vite SSR in dev; the server bundle and
 * node_modules in preview and production). Module-scoped state would give `load` and the socket
 * two different platforms. The shape is versioned so two copies of different versions notice.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { describe, gaplessError } from '../core/errors.js';
import type { AnyReplay } from '../core/types.js';
import { consoleLogger, loggerOption, type Logger } from '../core/log.js';
import { metricsOption } from '../metrics/sink.js';
import type { Metrics } from '../metrics/metrics.js';
import type { WsHooks } from './hooks.js';
import { createPlatform, observePlatform, syncReplay, type Platform } from './platform.js';

const KEY = Symbol.for('gapless-replay');
const VERSION = 1;

export type AppHooks = WsHooks<WebSocket, Platform>;

interface Registry {
  readonly version: number;
  hooks: AppHooks | undefined;
  replay: AnyReplay | undefined;
  wss: WebSocketServer | undefined;
  platform: Platform | undefined;
  /** Absent in a registry made by an older copy (same version, fewer fields). */
  metrics?: Metrics | undefined;
  logger?: Logger | undefined;
}

/** The registry of this process, created on first use. */
export function registry(): Registry {
  const slot = globalThis as typeof globalThis & { [KEY]?: Registry };
  let reg = slot[KEY];
  if (reg === undefined) {
    reg = { version: VERSION, hooks: undefined, replay: undefined, wss: undefined, platform: undefined, metrics: undefined, logger: undefined };
    slot[KEY] = reg;
  } else if (reg.version !== VERSION) {
    throw gaplessError(
      'error',
      'INTERNAL_ERROR',
      `two incompatible copies of gapless-replay are loaded (registry version ${reg.version} and ${VERSION}); install one version`,
    );
  }
  return reg;
}

/**
 * The shared platform: created on first use, so `publish` from a form action works before any
 * socket or HTTP server exists. Hooks and the buffer are read when needed, so a reloaded
 * `hooks.ws` applies to open sockets at once, and which module a process imports first (a route
 * without the buffer, a health check) does not decide whether replays are served.
 */
export function getPlatform(): Platform {
  const reg = registry();
  if (reg.platform === undefined) {
    const wss = new WebSocketServer({ noServer: true });
    reg.platform = createPlatform(wss, { replay: () => registry().replay, hooks: () => registry().hooks, metrics: reg.metrics, logger: reg.logger });
    reg.wss = wss;
  }
  return reg.platform;
}

/** Sets the app's `hooks.ws` module (`open`, `message`, `subscribe`, `close`); the latest call wins. */
export function registerHooks(hooks: AppHooks): void {
  if (typeof hooks !== 'object' || hooks === null) {
    throw gaplessError('type', 'INVALID_ARGUMENT', `registerHooks expects the hooks.ws module (an object), got ${describe(hooks)}`);
  }
  registry().hooks = hooks;
}

/**
 * Makes the shared platform answer `replay` frames with `replay` and, for a Redis buffer, relay
 * live frames published on other instances. Call it where the buffer is created; before or after
 * the platform is first used makes no difference (the latest call wins). Without it, replay
 * frames reach `hooks.message` (the seed's handler), or are answered `end {error:
 * "NO_REPLAY_BUFFER"}` when there is none.
 */
export function registerReplay(replay: AnyReplay): void {
  if (typeof (replay as Partial<AnyReplay> | null)?.handle !== 'function') {
    throw gaplessError('type', 'INVALID_ARGUMENT', `registerReplay expects a buffer from createReplay(), got ${describe(replay)}`);
  }
  const reg = registry();
  reg.replay = replay;
  // A Redis buffer's relay starts now, for topics already subscribed, not at the next frame.
  if (reg.platform !== undefined) syncReplay(reg.platform);
}

/**
 * Makes the shared platform report into `metrics`, a registry from `createMetrics()` (the one
 * the app serves at `/metrics`); `undefined` stops reporting. Call it where the buffer is
 * registered; sockets already open are counted from then on. The latest call wins.
 */
export function registerMetrics(metrics: Metrics | undefined): void {
  // Refuses anything but a registry now, at the call, not at the first socket.
  metricsOption(metrics, 'platform');
  const reg = registry();
  reg.metrics = metrics;
  if (reg.platform !== undefined) observePlatform(reg.platform, metrics, reg.logger);
}

/**
 * Sends the shared platform's warnings and caught errors (and the Vite plugin's) to `logger`
 * (`{ warn, error }`) instead of the console; `undefined` restores the console. The latest
 * call wins.
 */
export function registerLogger(logger: Logger | undefined): void {
  loggerOption(logger);
  const reg = registry();
  reg.logger = logger;
  if (reg.platform !== undefined) observePlatform(reg.platform, reg.metrics, logger);
}

/** The logger registered with `registerLogger`, else the console. */
export function sharedLogger(): Logger {
  return registry().logger ?? consoleLogger;
}

/** Closes every socket of the shared platform (1001) and forgets it, its hooks, buffer, registry and logger. */
export async function closePlatform(): Promise<void> {
  const reg = registry();
  const { platform, wss } = reg;
  reg.platform = undefined;
  reg.wss = undefined;
  reg.hooks = undefined;
  reg.replay = undefined;
  reg.metrics = undefined;
  reg.logger = undefined;
  await platform?.close();
  wss?.close();
}
