/**
 * The user data an `upgrade` hook returns for a socket, read back as `ws.getUserData()`: the
 * svelte-adapter-uws convention, so hooks written for it run unchanged on `ws` sockets.
 *
 * The data lives on the socket object itself, not in a module-level map: a SvelteKit app loads
 * this library twice, and both copies must see the same data for the same socket.
 */
import type { WebSocket } from 'ws';
import { gaplessError } from '../core/errors.js';
import { logError, type Logger } from '../core/log.js';

/** User data as hooks read it when the app names no type of its own. */
export type UserData = Record<string, unknown>;

/** A `ws` socket as the hooks see it: with the user data its `upgrade` hook returned. */
export type UserSocket<U extends object = UserData> = WebSocket & { getUserData(): U };

/** Attaches `data` to a socket accepted through the `upgrade` hook (before its 'connection'). */
export function setUserData(ws: WebSocket, data: object): void {
  (ws as UserSocket<object>).getUserData = () => data;
}

function hasUserData(ws: WebSocket): boolean {
  return typeof (ws as Partial<UserSocket<object>>).getUserData === 'function';
}

/**
 * Readies a socket the platform is about to track; `false` means: do not track it. A socket
 * that arrived without passing the upgrade handler (a `WebSocketServer` listening on a server
 * by itself) gets empty user data, unless the app has an `upgrade` hook: then that socket
 * skipped the app's authentication, so it is closed (1011) rather than served as anonymous.
 */
export function adoptSocket(ws: WebSocket, hooks: { upgrade?: unknown }, logger: Logger): boolean {
  if (hasUserData(ws)) return true;
  if (hooks.upgrade !== undefined) {
    logError(
      'closing a socket that bypassed the upgrade hook',
      gaplessError(
        'error',
        'INTERNAL_ERROR',
        'the hooks have an upgrade hook, but this socket was accepted by the WebSocketServer itself; create it with { noServer: true } and pass upgrades to platform.handleUpgrade(req, socket, head) or attach(server, { platform })',
      ),
      logger,
    );
    ws.close(1011, 'upgrade hook bypassed');
    return false;
  }
  setUserData(ws, {});
  return true;
}
