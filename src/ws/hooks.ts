/** The shape of an app's `hooks.ws` module (DESIGN §8), as the platform calls it. */
import type { SubscribeVerdict } from '../core/types.js';

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

export interface WsHooks<WS = unknown, P = unknown> {
  /** A socket opened. Frames of that socket wait until an async `open` settles. */
  open?(ws: WS, ctx: HookContext<P>): unknown;
  /** Any frame that is not a control frame the platform answers itself. May be async; the socket's next frame waits. */
  message?(ws: WS, ctx: MessageContext<P>): unknown;
  /** The subscribe gate: `false` or a reason string denies; a throw denies with `INTERNAL_ERROR`. May be async. */
  subscribe?(ws: WS, topic: string, ctx: HookContext<P>): boolean | string | void | null | Promise<boolean | string | void | null>;
  close?(ws: WS, ctx: CloseContext<P>): unknown;
}

/** Turns a gate hook's answer into a verdict: `null` allows, a string names the denial. */
export function verdictOf(answer: unknown): SubscribeVerdict {
  if (answer === false) return 'FORBIDDEN';
  if (typeof answer === 'string') return answer;
  return null;
}
