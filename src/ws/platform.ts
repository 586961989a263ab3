/**
 * A `platform` for a Node `ws` WebSocketServer: the role uWS plays in svelte-adapter-uws.
 *
 * Frames of one socket are handled strictly in order: while an async hook, subscribe or
 * replay of a socket is pending, that socket's later frames wait. A replay request sent
 * after a subscribe is therefore never answered before the subscription exists.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { gaplessError, describe } from '../core/errors.js';
import { assertEvent, assertTopic, isSystemTopic, isValidTopic } from '../core/names.js';
import { isValidEpoch, isValidSeq } from '../core/position.js';
import { positiveIntOption, optionsObject } from '../core/options.js';
import { serializeData } from '../core/serialize.js';
import { hasFanout } from '../core/deliver.js';
import { logError } from '../core/log.js';
import type { AnyReplay, FanoutAttachment, ReplayPlatform, SubscribeVerdict } from '../core/types.js';
import { envelopeFrame, liveFrame, subscribeDeniedFrame, subscribedFrame, type ReqId } from '../protocol/frames.js';
import { batchItems, controlType, decodeFrame, isReplayType, normalizeReqId } from '../protocol/parse.js';
import { SERVE_FRAME, type FrameServer } from '../protocol/serve.js';
import { verdictOf, type WsHooks } from './hooks.js';
import { createUpgradeHandler } from './upgrade.js';
import { adoptSocket } from './user-data.js';

export interface PlatformOptions {
  /** A replay buffer: the platform answers `replay` / `replay-batch` frames with it. */
  replay?: AnyReplay;
  /** The app's `hooks.ws` module, or a function returning the current one (read at every call, so dev reloads apply at once). */
  hooks?: WsHooks<WebSocket, Platform> | (() => WsHooks<WebSocket, Platform> | undefined);
  /** Largest frame a client may send, in bytes; a larger one closes the socket with 1009. Default 64 KiB. */
  maxPayload?: number;
  /** Bytes a socket may have queued; past it the socket is closed with 1013 so it reconnects and replays. Default 1 MiB. */
  maxBackpressure?: number;
}

export interface Platform extends ReplayPlatform<WebSocket> {
  /** Serialize once, send to every subscriber of `topic`. `true` when at least one socket got it. */
  publish(topic: string, event: string, data: unknown, options?: { seq?: number; epoch?: string }): boolean;
  /** Send one envelope to one socket. `false` when the socket is gone or over its limit. */
  send(ws: WebSocket, topic: string, event: string, data: unknown): boolean;
  publishJson(topic: string, event: string, json: string, seq: number, epoch: string): void;
  sendText(ws: WebSocket, frame: string): boolean;
  /** The subscribe gate for `topic`: `null` allows, a string is the denial code. */
  checkSubscribe(ws: WebSocket, topic: string): Promise<SubscribeVerdict>;
  /** Subscribe a socket from server code (no gate). */
  subscribe(ws: WebSocket, topic: string): void;
  unsubscribe(ws: WebSocket, topic: string): void;
  /** Number of local sockets subscribed to `topic`. */
  subscribers(topic: string): number;
  /** Number of open sockets. */
  readonly connections: number;
  /** Close every socket with 1001 and stop relaying; resolves when they are gone. */
  close(): Promise<void>;
  /**
   * Takes an HTTP upgrade for this platform's `noServer` WebSocketServer (from a server's
   * 'upgrade' event): runs the `upgrade` hook, then accepts with its user data, or refuses
   * with 401 (`false`) or 500 (a throw). `attach` calls it after its path and origin checks.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

interface SocketState {
  readonly ws: WebSocket;
  readonly topics: Set<string>;
  /** Frames waiting while an earlier frame of this socket is still being handled. */
  readonly queue: [Buffer, boolean][];
  busy: boolean;
  closing: boolean;
}

const OPEN = 1;
const TEXT = { binary: false } as const;
const CLOSE_WAIT_MS = 5000;

export function createPlatform(wss: WebSocketServer, options?: PlatformOptions): Platform {
  const opts = optionsObject('options', options);
  const maxPayload = positiveIntOption('maxPayload', opts.maxPayload, 64 * 1024);
  const maxBackpressure = positiveIntOption('maxBackpressure', opts.maxBackpressure, 1024 * 1024);
  const replay = opts.replay as AnyReplay | undefined;
  if (replay !== undefined && typeof (replay as Partial<FrameServer> | null)?.handle !== 'function') {
    throw gaplessError('type', 'INVALID_OPTION', `replay must be a replay buffer from createReplay(), got ${describe(replay)}`);
  }
  const hooksOption = opts.hooks as PlatformOptions['hooks'];
  const hooks = (): WsHooks<WebSocket, Platform> => (typeof hooksOption === 'function' ? hooksOption() : hooksOption) ?? {};
  const serve = replay === undefined ? undefined : (replay as Partial<FrameServer>)[SERVE_FRAME];

  // ws reads this per upgrade, so frames over the limit are refused while being received.
  (wss.options as { maxPayload?: number }).maxPayload = maxPayload;

  const sockets = new Map<WebSocket, SocketState>();
  const topics = new Map<string, Set<SocketState>>();
  let fanout: FanoutAttachment | undefined;

  /** After a send: a socket over its limit is closed so it reconnects and replays, never left with a hole. */
  function underLimit(state: SocketState): boolean {
    if (state.ws.bufferedAmount <= maxBackpressure) return true;
    state.closing = true;
    state.ws.close(1013, 'backpressure');
    return false;
  }

  function sendTo(state: SocketState, frame: string | Buffer): boolean {
    if (state.closing || state.ws.readyState !== OPEN) return false;
    state.ws.send(frame, TEXT);
    return underLimit(state);
  }

  function fanOut(topic: string, frame: string): boolean {
    const set = topics.get(topic);
    if (set === undefined) return false;
    // One encoding for every subscriber: ws frames a Buffer without copying it.
    const bytes = Buffer.from(frame);
    let sent = false;
    for (const state of set) if (sendTo(state, bytes)) sent = true;
    return sent;
  }

  /** Adds a subscription; resolves once the topic's cross-instance relay (if any) is live. */
  function addSubscription(state: SocketState, topic: string): void | Promise<void> {
    if (state.topics.has(topic)) return;
    state.topics.add(topic);
    let set = topics.get(topic);
    if (set === undefined) {
      set = new Set();
      topics.set(topic, set);
      set.add(state);
      if (fanout !== undefined) {
        try {
          const ready = fanout.topicActive(topic);
          if (ready instanceof Promise) return ready.catch((error: unknown) => logError(`relay for topic ${topic}`, error));
        } catch (error) {
          logError(`relay for topic ${topic}`, error);
        }
      }
      return;
    }
    set.add(state);
  }

  function removeSubscription(state: SocketState, topic: string): void {
    if (!state.topics.delete(topic)) return;
    const set = topics.get(topic);
    if (set === undefined) return;
    set.delete(state);
    if (set.size === 0) {
      topics.delete(topic);
      fanout?.topicIdle(topic);
    }
  }

  async function gate(ws: WebSocket, topic: unknown): Promise<SubscribeVerdict> {
    if (!isValidTopic(topic) || isSystemTopic(topic)) return 'INVALID_TOPIC';
    const hook = hooks().subscribe;
    if (hook === undefined) return null;
    try {
      return verdictOf(await hook(ws, topic, { platform }));
    } catch (error) {
      logError('subscribe hook', error);
      return 'INTERNAL_ERROR';
    }
  }

  async function wireSubscribe(state: SocketState, topic: unknown, ref: ReqId | undefined): Promise<void> {
    const verdict = await gate(state.ws, topic);
    if (state.closing || state.ws.readyState !== OPEN) return;
    if (verdict !== null) {
      // An invalid topic is not echoed back: nothing but the code and a valid ref (DESIGN §8).
      sendTo(state, subscribeDeniedFrame(isValidTopic(topic) ? topic : undefined, ref, verdict));
      return;
    }
    await addSubscription(state, topic as string);
    sendTo(state, subscribedFrame(topic as string, ref));
  }

  /** Handles one frame; returns a promise only when the frame's work is asynchronous. */
  function handleFrame(state: SocketState, data: Buffer, isBinary: boolean): void | Promise<unknown> {
    const frame = isBinary ? undefined : decodeFrame(data);
    const type = frame === undefined ? undefined : controlType(frame);
    if (frame === undefined || type === undefined || (isReplayType(type) && serve === undefined && replay === undefined)) {
      return callHook('message hook', () => hooks().message?.(state.ws, { data, isBinary, platform }));
    }
    switch (type) {
      case 'subscribe':
        return wireSubscribe(state, frame.topic, normalizeReqId(frame.ref));
      case 'unsubscribe':
        if (isValidTopic(frame.topic)) removeSubscription(state, frame.topic);
        return;
      case 'pong':
        // Its arrival is the point: any frame proves the path alive.
        return;
      case 'subscribe-batch': {
        const ref = normalizeReqId(frame.ref);
        const list = batchItems(frame.topics);
        if (list === undefined) {
          sendTo(state, subscribeDeniedFrame(undefined, ref, 'INVALID_FRAME'));
          return;
        }
        return (async () => {
          for (const topic of list) await wireSubscribe(state, topic, ref);
        })();
      }
      default:
        // replay / replay-batch with a buffer attached
        if (serve !== undefined) return serve(state.ws, frame, platform);
        replay!.handle(state.ws, frame, platform);
        return;
    }
  }

  function callHook(what: string, run: () => unknown): void | Promise<unknown> {
    try {
      const result = run();
      if (result instanceof Promise) return result.catch((error: unknown) => logError(what, error));
    } catch (error) {
      logError(what, error);
    }
  }

  /** Runs queued frames of one socket in order, pausing while one is asynchronous. */
  function drain(state: SocketState): void {
    while (!state.busy && state.queue.length > 0) {
      const [data, isBinary] = state.queue.shift()!;
      let pending: void | Promise<unknown> = undefined;
      try {
        pending = handleFrame(state, data, isBinary);
      } catch (error) {
        logError('frame handler', error);
      }
      if (pending instanceof Promise) {
        state.busy = true;
        pending.then(
          () => {
            state.busy = false;
            drain(state);
          },
          (error: unknown) => {
            logError('frame handler', error);
            state.busy = false;
            drain(state);
          },
        );
      }
    }
  }

  function track(ws: WebSocket): void {
    if (sockets.has(ws)) return;
    if (!adoptSocket(ws, hooks())) return;
    const state: SocketState = { ws, topics: new Set(), queue: [], busy: false, closing: false };
    sockets.set(ws, state);
    ws.on('error', (error) => logError('socket error', error));
    ws.on('message', (data, isBinary) => {
      state.queue.push([data as Buffer, isBinary]);
      drain(state);
    });
    ws.on('close', (code, reason) => {
      state.closing = true;
      state.queue.length = 0;
      for (const topic of [...state.topics]) removeSubscription(state, topic);
      sockets.delete(ws);
      callHook('close hook', () => hooks().close?.(ws, { code, reason: reason.toString(), platform }));
      closeWaiters.forEach((wake) => wake());
    });
    const opened = callHook('open hook', () => hooks().open?.(ws, { platform }));
    if (opened instanceof Promise) {
      state.busy = true;
      opened.then(() => {
        state.busy = false;
        drain(state);
      });
    }
  }

  const closeWaiters = new Set<() => void>();
  const onConnection = (ws: WebSocket) => track(ws);
  wss.on('connection', onConnection);
  for (const ws of wss.clients) track(ws);

  const platform: Platform = {
    publish(topic, event, data, options) {
      assertTopic(topic);
      assertEvent(event);
      const json = serializeData(data);
      const seq = options?.seq;
      const epoch = options?.epoch;
      if (seq !== undefined && !isValidSeq(seq)) throw gaplessError('type', 'INVALID_ARGUMENT', `options.seq must be a safe non-negative integer, got ${describe(seq)}`);
      if (epoch !== undefined && !isValidEpoch(epoch)) throw gaplessError('type', 'INVALID_ARGUMENT', `options.epoch must be an epoch string, got ${describe(epoch)}`);
      return fanOut(topic, seq === undefined ? envelopeFrame(topic, event, json) : liveFrame(topic, event, json, seq, epoch));
    },

    send(ws, topic, event, data) {
      assertTopic(topic);
      assertEvent(event);
      const state = sockets.get(ws);
      return state !== undefined && sendTo(state, envelopeFrame(topic, event, serializeData(data)));
    },

    publishJson(topic, event, json, seq, epoch) {
      fanOut(topic, liveFrame(topic, event, json, seq, epoch));
    },

    sendText(ws, frame) {
      const state = sockets.get(ws);
      return state !== undefined && sendTo(state, frame);
    },

    checkSubscribe: gate,

    subscribe(ws, topic) {
      assertTopic(topic);
      const state = sockets.get(ws);
      if (state !== undefined) void addSubscription(state, topic);
    },

    unsubscribe(ws, topic) {
      const state = sockets.get(ws);
      if (state !== undefined) removeSubscription(state, topic);
    },

    subscribers(topic) {
      return topics.get(topic)?.size ?? 0;
    },

    get connections() {
      return sockets.size;
    },

    handleUpgrade: createUpgradeHandler(wss, hooks),

    async close() {
      wss.off('connection', onConnection);
      for (const state of sockets.values()) {
        state.closing = true;
        state.ws.close(1001, 'going away');
      }
      const deadline = Date.now() + CLOSE_WAIT_MS;
      while (sockets.size > 0 && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            closeWaiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, 100);
          closeWaiters.add(wake);
        });
      }
      // A peer that never answers the close handshake is cut off.
      for (const state of sockets.values()) state.ws.terminate();
      await fanout?.detach();
      fanout = undefined;
    },
  };

  if (hasFanout(replay)) fanout = replay.attachFanout({ deliver: (topic, event, json, seq, epoch) => void platform.publishJson(topic, event, json, seq, epoch) });

  return platform;
}
