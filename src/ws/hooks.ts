/** The shape of an app's `hooks.ws` module, as the platform calls it. */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { SubscribeVerdict } from '../core/types.js';
import type { Platform } from './platform.js';
import type { UserData, UserSocket } from './user-data.js';

/** What an `upgrade` hook is given, before the WebSocket upgrade is accepted. */
export interface UpgradeContext {
  /** The HTTP upgrade request itself. */
  request: IncomingMessage;
  /** Its headers (lowercase names), as Node parsed them. */
  headers: IncomingHttpHeaders;
  /** The `Cookie` header, parsed; an absent cookie reads as `undefined`. */
  cookies: Record<string, string | undefined>;
  /** The request target as sent: path and query (`/ws?room=1`). */
  url: string;
  /** The peer's IP address (behind a proxy: the proxy's); `undefined` once the connection is gone. */
  remoteAddress: string | undefined;
}

/**
 * What `upgrade` may answer: the socket's user data (an object, later `ws.getUserData()`),
 * nothing (empty user data), or `false` to refuse the upgrade with HTTP 401.
 */
export type UpgradeAnswer<U extends object = object> = U | false | undefined | void;

export interface HookContext<P> {
  platform: P;
}

export interface MessageContext<P> extends HookContext<P> {
  /** The frame as received (a Buffer). Control frames the platform answers never get here. */
  data: Buffer;
  isBinary: boolean;
}

export interface CloseContext<P> extends HookContext<P> {
  code: number;
  reason: string;
}

/**
 * The hooks an app exports from `hooks.ws`. `WS` is the socket the hooks receive, `P` the
 * platform, `U` the user data `upgrade` returns (see `Hooks` for the typed form an app uses).
 */
export interface WsHooks<WS = unknown, P = unknown, U extends object = object> {
  /**
   * Runs before the WebSocket upgrade is accepted; may be async. Returns the socket's user data
   * (readable as `ws.getUserData()` in every later hook), `false` to refuse with 401; a throw
   * refuses with 500 and is logged. Without it, every socket's user data is an empty object.
   */
  upgrade?(ctx: UpgradeContext): UpgradeAnswer<U> | Promise<UpgradeAnswer<U>>;
  /** A socket opened. Frames of that socket wait until an async `open` settles. */
  open?(ws: WS, ctx: HookContext<P>): unknown;
  /** Any frame that is not a control frame the platform answers itself. May be async; the socket's next frame waits. */
  message?(ws: WS, ctx: MessageContext<P>): unknown;
  /** The subscribe gate: `false` or a reason string denies; a throw denies with `INTERNAL_ERROR`. May be async. */
  subscribe?(ws: WS, topic: string, ctx: HookContext<P>): boolean | string | void | null | Promise<boolean | string | void | null>;
  close?(ws: WS, ctx: CloseContext<P>): unknown;
}

/**
 * An app's hooks on a `gapless-replay/ws` platform, typed by the user data `upgrade` returns:
 * every later hook reads it back as `ws.getUserData()`.
 *
 *   interface User { name: string | null }
 *   export const upgrade = ({ cookies }: UpgradeContext): User => ({ name: cookies.name ?? null });
 *   export function subscribe(ws: UserSocket<User>, topic: string) { ... ws.getUserData().name ... }
 *   // or check a whole module: `satisfies Hooks<User>`
 */
export type Hooks<U extends object = UserData> = WsHooks<UserSocket<U>, Platform, U>;

/** Turns a gate hook's answer into a verdict: `null` allows, a string names the denial. */
export function verdictOf(answer: unknown): SubscribeVerdict {
  if (answer === false) return 'FORBIDDEN';
  if (typeof answer === 'string') return answer;
  return null;
}
