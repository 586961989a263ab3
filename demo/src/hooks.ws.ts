// The WebSocket hooks (upgrade, subscribe); replays are answered by the platform with the
// buffer hooks.server.ts registers. Loaded by the Vite plugin in dev and
// registered by hooks.server.ts in preview and production.
import type { UpgradeContext, UserSocket } from 'gapless-replay/ws';
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

// The gate for subscribes and replays: everyone reads the public chat, an inbox only its owner.
export function subscribe(ws: UserSocket<User>, topic: string) {
  if (topic === 'chat') return true;
  const { name } = ws.getUserData();
  return name !== null && topic === inboxTopic(name) ? true : 'FORBIDDEN';
}
