/**
 * Serving a platform's WebSocket endpoint on an existing HTTP server, beside other upgrade
 * listeners (Vite's HMR socket, proxies): upgrades for other paths are left untouched.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, gaplessError } from '../core/errors.js';
import { logError } from '../core/log.js';
import type { AnyReplay } from '../core/types.js';
import { loggerOf, type Platform } from './platform.js';
import { getPlatform, registerReplay } from './registry.js';
import { refuse } from './upgrade.js';

export interface AttachOptions {
  /** The endpoint's path; the query string is ignored. Default `/ws`. */
  path?: string;
  /**
   * The platform to serve, created with `createPlatform(new WebSocketServer({ noServer: true }),
   * ...)`. Default: the shared platform of `getPlatform()`, whose hooks come from `registerHooks`.
   */
  platform?: Platform;
  /** The buffer the shared platform answers replay frames with (see `registerReplay`). */
  replay?: AnyReplay;
  /**
   * Browser origins allowed besides the page's own (`https://app.example.com`), or `'*'`. An
   * upgrade whose `Origin` is neither is refused with 403, so another site's page cannot open
   * a socket with the user's cookies (cross-site WebSocket hijacking). Requests without an
   * `Origin` header (not from a browser) are accepted.
   */
  allowedOrigins?: readonly string[] | '*';
  /** Awaited before each upgrade is accepted (the Vite plugin waits here for `hooks.ws`). */
  ready?: () => unknown;
}

/** Stops routing upgrades to the platform (open sockets stay open). */
export type Detach = () => void;

function checkPath(path: unknown): string {
  if (path === undefined) return '/ws';
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw gaplessError('type', 'INVALID_OPTION', `path must be a string starting with "/", got ${describe(path)}`);
  }
  return path;
}

function checkOrigins(value: unknown): ReadonlySet<string> | '*' {
  if (value === undefined) return new Set();
  if (value === '*') return value;
  if (!Array.isArray(value)) {
    throw gaplessError('type', 'INVALID_OPTION', `allowedOrigins must be an array of origins or "*", got ${describe(value)}`);
  }
  return new Set(
    value.map((origin: unknown) => {
      try {
        if (typeof origin === 'string') return new URL(origin).origin;
      } catch {
        // reported below
      }
      throw gaplessError('type', 'INVALID_OPTION', `allowedOrigins entries must be origins like "https://example.com", got ${describe(origin)}`);
    }),
  );
}

function pathnameOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function originAllowed(req: IncomingMessage, allowed: ReadonlySet<string> | '*'): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || allowed === '*') return true;
  if (allowed.has(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Serves a platform (by default the shared one, `getPlatform()`) at `path` on `server`: the
 * path and origin checks here, then the platform's `upgrade` hook. Call it once per HTTP
 * server, e.g. in a production entry with adapter-node's `server.server`.
 */
export function attach(server: Server, options?: AttachOptions): Detach {
  if (typeof (server as Partial<Server> | null)?.on !== 'function') {
    throw gaplessError('type', 'INVALID_ARGUMENT', `attach expects a Node http.Server, got ${describe(server)}`);
  }
  const path = checkPath(options?.path);
  const allowed = checkOrigins(options?.allowedOrigins);
  const ready = options?.ready;
  const platform = options?.platform;
  if (platform !== undefined && typeof (platform as Partial<Platform> | null)?.handleUpgrade !== 'function') {
    throw gaplessError('type', 'INVALID_OPTION', `platform must be a platform from createPlatform(), got ${describe(platform)}`);
  }
  if (options?.replay !== undefined) {
    if (platform !== undefined) {
      throw gaplessError('type', 'INVALID_OPTION', 'replay applies to the shared platform only; pass it to createPlatform() along with your platform');
    }
    registerReplay(options.replay);
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathnameOf(req.url) !== path) {
      // Someone else's upgrade (Vite HMR): never touch it. Alone, we answer so it does not hang.
      if (server.listenerCount('upgrade') <= 1) refuse(socket, 404, 'Not Found');
      return;
    }
    if (!originAllowed(req, allowed)) {
      refuse(socket, 403, 'Forbidden');
      return;
    }
    // A reset while we wait for `ready` must not become an unhandled 'error'.
    const ignore = (): void => {};
    socket.on('error', ignore);
    void (async () => {
      try {
        await ready?.();
      } catch (error) {
        logError('hooks failed to load; refusing the WebSocket upgrade', error, loggerOf(platform ?? getPlatform()));
        refuse(socket, 500, 'Internal Server Error');
        return;
      }
      socket.off('error', ignore);
      if (socket.destroyed) return;
      (platform ?? getPlatform()).handleUpgrade(req, socket, head);
    })();
  };

  server.on('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
  };
}
