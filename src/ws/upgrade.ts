/**
 * Accepting a WebSocket upgrade for a platform: the app's `upgrade` hook decides, before the
 * handshake is answered, who gets a socket and with which user data.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { parseCookie } from 'cookie';
import type { WebSocketServer } from 'ws';
import { describe, gaplessError } from '../core/errors.js';
import type { UpgradeContext, WsHooks } from './hooks.js';
import { setUserData } from './user-data.js';

/** Takes over an HTTP upgrade request (the arguments of a Node server's 'upgrade' event). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Answers an upgrade with a plain HTTP status and closes the connection. */
export function refuse(socket: Duplex, status: number, text: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function upgradeContext(req: IncomingMessage): UpgradeContext {
  return {
    request: req,
    headers: req.headers,
    cookies: parseCookie(req.headers.cookie ?? ''),
    url: req.url ?? '/',
    remoteAddress: req.socket.remoteAddress,
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Logs and counts an error the handler caught (the platform's own reporting). */
export type Caught = (what: string, error: unknown) => void;

/**
 * The upgrade handler of a platform whose WebSocketServer is `noServer`: runs `upgrade` (read
 * from the current hooks at every request), then completes the handshake with the user data
 * attached, or refuses with 401 (`false`) or 500 (a throw, logged).
 */
export function createUpgradeHandler(wss: WebSocketServer, hooks: () => Pick<WsHooks, 'upgrade'>, caught: Caught): UpgradeHandler {
  function accept(req: IncomingMessage, socket: Duplex, head: Buffer, data: object): void {
    wss.handleUpgrade(req, socket, head, (ws) => {
      setUserData(ws, data);
      wss.emit('connection', ws, req);
    });
  }

  return (req, socket, head) => {
    const hook = hooks().upgrade;
    if (hook === undefined) {
      accept(req, socket, head, {});
      return;
    }
    // A reset while the hook runs must not become an unhandled 'error'.
    const ignore = (): void => {};
    socket.on('error', ignore);
    const fail = (error: unknown): void => {
      socket.off('error', ignore);
      caught('upgrade hook threw; refusing the WebSocket upgrade with 500', error);
      refuse(socket, 500, 'Internal Server Error');
    };
    const settle = (answer: unknown): void => {
      socket.off('error', ignore);
      if (answer === false) refuse(socket, 401, 'Unauthorized');
      else if (answer === undefined || answer === null) accept(req, socket, head, {});
      else if (typeof answer === 'object') accept(req, socket, head, answer);
      else fail(gaplessError('type', 'INVALID_ARGUMENT', `upgrade must return the socket's user data (an object), false or nothing, got ${describe(answer)}`));
    };
    let answer: unknown;
    try {
      answer = hook(upgradeContext(req));
    } catch (error) {
      fail(error);
      return;
    }
    if (isThenable(answer)) Promise.resolve(answer).then(settle, fail);
    else settle(answer);
  };
}
