// The WebSocket hooks (upgrade, message, subscribe). Loaded by the Vite plugin in dev and
// registered by hooks.server.ts in preview and production.
import type { Platform, UpgradeContext, UserSocket } from 'gapless-replay/ws';
import { replay } from '$lib/server/replay';
import { SESSION_COOKIE, inboxTopic, validName } from '$lib/server/session';

/** Who is on a socket: read once, at the upgrade, from the login cookie. */
export interface User {
  /** `null`: anonymous. Anonymous sockets are welcome: they read the public chat. */
  name: string | null;
}

// Runs before the WebSocket upgrade is accepted. Returning `false` would refuse it (401); here
// every visitor gets a socket, and the gate below decides what each may read.
export function upgrade({ cookies }: UpgradeContext): User {
  return { name: validName(cookies[SESSION_COOKIE]) };
}

// The seed's handler, in our API: the one change is that the request's epoch is passed along
// (`since` as a position), so a client holding a seq from before a server restart is told
// `truncated` (reset) instead of being served another epoch's messages under its old numbers.
// Returning the promise lets the platform log a failure and keep this socket's frames in order.
// replay.replay() asks the same gate as `subscribe` below before it reads anything.
export function message(ws: UserSocket<User>, { data, platform }: { data: Buffer; platform: Platform }) {
  const msg = JSON.parse(Buffer.from(data).toString());
  if (msg.type === 'replay') {
    const since = msg.epoch === undefined ? msg.since : { seq: msg.since, epoch: msg.epoch };
    return replay.replay(ws, msg.topic, since, platform, msg.reqId);
  }
}

// The gate for subscribes and replays: everyone reads the public chat, an inbox only its owner.
export function subscribe(ws: UserSocket<User>, topic: string) {
  if (topic === 'chat') return true;
  const { name } = ws.getUserData();
  return name !== null && topic === inboxTopic(name) ? true : 'FORBIDDEN';
}
