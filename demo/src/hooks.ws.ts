// The WebSocket hooks (open, message, subscribe, close). Loaded by the Vite plugin in dev and
// registered by hooks.server.ts in preview and production.
import type { WebSocket } from 'ws';
import type { Platform } from 'gapless-replay/ws';
import { replay } from '$lib/server/replay';

// The seed's handler, in our API: the one change is that the request's epoch is passed along
// (`since` as a position), so a client holding a seq from before a server restart is told
// `truncated` (reset) instead of being served another epoch's messages under its old numbers.
// Returning the promise lets the platform log a failure and keep this socket's frames in order.
export function message(ws: WebSocket, { data, platform }: { data: Buffer; platform: Platform }) {
  const msg = JSON.parse(Buffer.from(data).toString());
  if (msg.type === 'replay') {
    const since = msg.epoch === undefined ? msg.since : { seq: msg.since, epoch: msg.epoch };
    return replay.replay(ws, msg.topic, since, platform, msg.reqId);
  }
}

// Only the chat topic may be subscribed to.
export function subscribe(_ws: WebSocket, topic: string) {
  return topic === 'chat' ? true : 'FORBIDDEN';
}
