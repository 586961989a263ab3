/**
 * A server that behaves on the wire exactly as svelte-adapter-uws 0.3.4's production handler
 * (node_modules/svelte-adapter-uws/files/handler.js), built on `ws` because uWebSockets.js is a
 * placeholder here:
 *
 * - `platform.publish(topic, event, data)` and `platform.send(ws, topic, event, data)` write
 *   `{"topic":T,"event":E,"data":D}` built by concatenation, and nothing else: the `options`
 *   argument (where a replay buffer passes `{seq, epoch}`) is ignored.
 * - The only control frames are `{"type":"subscribe"}` and `{"type":"unsubscribe"}`, recognised
 *   by the byte test `message[3] === 'y'` on frames under 512 bytes; a subscribe is answered with
 *   nothing, and a gate that returns `false` drops it silently. Every other frame (also
 *   `subscribe-batch`, `replay`, `replay-batch`) goes to the `hooks.ws` `message` hook as an
 *   ArrayBuffer.
 * - The platform has no `checkSubscribe`, `publishJson` or `sendText`.
 * - A published frame can be dropped for one socket (`dropPublishes`), as uWS drops a send over
 *   its `maxBackpressure` without closing the socket.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** The uWS socket methods seed hooks use. */
export interface UwsSocket {
  send(message: string, isBinary?: boolean, compress?: boolean): number;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  getUserData(): Record<string, unknown>;
}

export interface UwsPlatform {
  publish(topic: string, event: string, data?: unknown, options?: unknown): boolean;
  send(ws: UwsSocket, topic: string, event: string, data?: unknown): number;
  readonly connections: number;
  subscribers(topic: string): number;
}

export interface UwsHooks {
  open?(ws: UwsSocket, ctx: { platform: UwsPlatform }): void;
  message?(ws: UwsSocket, ctx: { data: ArrayBuffer; isBinary: boolean; platform: UwsPlatform }): void;
  subscribe?(ws: UwsSocket, topic: string, ctx: { platform: UwsPlatform }): unknown;
  close?(ws: UwsSocket, ctx: { code: number; message: ArrayBuffer; platform: UwsPlatform }): void;
}

export interface AdapterUwsServer {
  readonly url: string;
  readonly platform: UwsPlatform;
  /** The next `n` sends of published frames are dropped, as uWS drops sends over `maxBackpressure`. */
  dropPublishes(n: number): void;
  stop(): Promise<void>;
}

/** The adapter's name check: it throws rather than escaping. */
function esc(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92) throw new Error(`Topic/event name contains invalid character at index ${i}: '${s}'.`);
  }
  return '"' + s + '"';
}

function envelope(topic: string, event: string, data: unknown): string {
  return '{"topic":' + esc(topic) + ',"event":' + esc(event) + ',"data":' + JSON.stringify(data) + '}';
}

const SENT = 1;

export async function startAdapterUwsServer(hooks: UwsHooks): Promise<AdapterUwsServer> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  const topics = new Map<string, Set<UwsSocket>>();
  const sockets = new Map<WebSocket, UwsSocket>();
  let drops = 0;

  function wrap(ws: WebSocket): UwsSocket {
    const mine = new Set<string>();
    const userData: Record<string, unknown> = {};
    return {
      send(message) {
        ws.send(message);
        return SENT;
      },
      subscribe(topic) {
        mine.add(topic);
        let set = topics.get(topic);
        if (set === undefined) topics.set(topic, (set = new Set()));
        set.add(this);
        return true;
      },
      unsubscribe(topic) {
        mine.delete(topic);
        return topics.get(topic)?.delete(this) ?? false;
      },
      getUserData: () => userData,
    };
  }

  const platform: UwsPlatform = {
    publish(topic, event, data) {
      const frame = envelope(topic, event, data);
      const set = topics.get(topic);
      if (set === undefined || set.size === 0) return false;
      for (const ws of set) {
        if (drops > 0) {
          drops--;
          continue; // uWS: send() returned DROPPED, nothing written
        }
        ws.send(frame, false, false);
      }
      return true;
    },
    send(ws, topic, event, data) {
      return ws.send(envelope(topic, event, data), false, false);
    },
    get connections() {
      return sockets.size;
    },
    subscribers(topic) {
      return topics.get(topic)?.size ?? 0;
    },
  };

  const decoder = new TextDecoder();
  wss.on('connection', (raw) => {
    const ws = wrap(raw);
    sockets.set(raw, ws);
    hooks.open?.(ws, { platform });
    raw.on('message', (buffer: Buffer, isBinary) => {
      const message = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
      if (!isBinary && message.byteLength < 512 && new Uint8Array(message)[3] === 0x79) {
        try {
          const msg = JSON.parse(decoder.decode(message)) as { type?: unknown; topic?: unknown };
          if (msg.type === 'subscribe' && typeof msg.topic === 'string') {
            if (msg.topic.length === 0 || msg.topic.length > 256) return;
            for (let i = 0; i < msg.topic.length; i++) if (msg.topic.charCodeAt(i) < 32) return;
            if (hooks.subscribe && hooks.subscribe(ws, msg.topic, { platform }) === false) return;
            ws.subscribe(msg.topic);
            return;
          }
          if (msg.type === 'unsubscribe' && typeof msg.topic === 'string') {
            ws.unsubscribe(msg.topic);
            return;
          }
        } catch {
          // not JSON: the user's handler gets it
        }
      }
      hooks.message?.(ws, { data: message, isBinary, platform });
    });
    raw.on('close', (code, reason) => {
      for (const set of topics.values()) set.delete(ws);
      sockets.delete(raw);
      hooks.close?.(ws, { code, message: reason.buffer as ArrayBuffer, platform });
    });
  });

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    platform,
    dropPublishes(n) {
      drops = n;
    },
    async stop() {
      for (const raw of sockets.keys()) raw.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
