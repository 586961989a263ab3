/**
 * A `platform` for a Node `ws` WebSocketServer: the role uWS plays in svelte-adapter-uws.
 *
 * Frames of one socket are handled strictly in order: while an async hook, subscribe or
 * replay of a socket is pending, that socket's later frames wait. A replay request sent
 * after a subscribe is therefore never answered before the subscription exists.
 *
 * No socket can take more than its share: its subscriptions, its waiting frames and its replay
 * output are bounded, replay work yields the event loop every few milliseconds, and everything
 * a socket asked for stops once it is closing.
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
import { errorCode, logError, loggerOption, logWarning, type Logger } from '../core/log.js';
import type { AnyReplay, FanoutAttachment, ReplayPlatform, SubscribeVerdict } from '../core/types.js';
import { envelopeFrame, liveFrame, pingFrame, PONG_FRAME, subscribeDeniedFrame, subscribedFrame, unsubscribedFrame, type ReqId } from '../protocol/frames.js';
import { batchItems, controlType, decodeFrame, isReplayType, normalizeReqId } from '../protocol/parse.js';
import { createRefusal, REPLAY_CHANNEL, SERVE_FRAME, type FrameServer, type ReplayChannel } from '../protocol/serve.js';
import { heartbeatOption, startHeartbeat, type Beating, type HeartbeatOptions } from './heartbeat.js';
import { verdictOf, type WsHooks } from './hooks.js';
import { drained, nextTurn, sliceOver } from './pacer.js';
import { createUpgradeHandler } from './upgrade.js';
import { adoptSocket } from './user-data.js';
import { flushWrites, holdWrites, type Holdable } from './write-batch.js';
import { closeReasonOf, metricsOption, type CloseReason } from '../metrics/sink.js';
import type { Metrics } from '../metrics/metrics.js';

export interface PlatformOptions {
  /**
   * A replay buffer: the platform answers `replay` / `replay-batch` frames with it. Or a function
   * returning the current one, read when needed, so a buffer registered after the platform was
   * created is served (and, for Redis, relays live frames) from then on.
   */
  replay?: AnyReplay | (() => AnyReplay | undefined);
  /** The app's `hooks.ws` module, or a function returning the current one (read at every call, so dev reloads apply at once). */
  hooks?: WsHooks<WebSocket, Platform> | (() => WsHooks<WebSocket, Platform> | undefined);
  /** Largest frame a client may send, in bytes; a larger one closes the socket with 1009. Default 64 KiB. */
  maxPayload?: number;
  /** Bytes a socket may have queued; past it the socket is closed with 1013 so it reconnects and replays. Default 1 MiB. */
  maxBackpressure?: number;
  /** Pings and the silence after which a socket is terminated; `false` turns both off. Default `{ interval: 15000, timeout: 10000 }`. */
  heartbeat?: HeartbeatOptions | false;
  /** Topics one socket may subscribe from the wire; beyond it a subscribe is denied with `LIMIT`. Default 1000. */
  maxSubscriptions?: number;
  /** Frames of one socket waiting behind its pending frame; beyond it the socket is closed with 1008. Default 1024. */
  maxQueuedFrames?: number;
  /** How long an async `upgrade` hook may take; past it the upgrade is refused with 503 and logged. Default 10000 ms. */
  upgradeTimeout?: number;
  /**
   * A registry from `createMetrics()` (`gapless-replay/metrics`): the platform reports open
   * sockets, subscriptions, closes by reason, subscribe denials, caught errors and every replay
   * it answers (by outcome, with messages, bytes and latency). Without it nothing is recorded.
   */
  metrics?: Metrics;
  /** Where warnings and caught errors go (`{ warn, error }`, e.g. a pino wrapper). Default `console`. */
  logger?: Logger;
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
  /**
   * Stops delivering `topic` to the socket at once. With a `reason` it is a revocation: the
   * client is sent `{"type":"unsubscribed","topic":T,"reason":X}` (its stores on that topic end
   * `denied`), and the socket's earlier gate verdict for the topic is forgotten.
   */
  unsubscribe(ws: WebSocket, topic: string, options?: { reason?: string }): void;
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

interface SocketState extends Beating, Holdable {
  readonly ws: WebSocket;
  readonly topics: Set<string>;
  /** Frames waiting while an earlier frame of this socket is still being handled. */
  readonly queue: [Buffer, boolean][];
  busy: boolean;
  closing: boolean;
  /** Gate denials of wire subscribes, kept for the replay that follows (one store activation). */
  denials: Map<string, string> | undefined;
  /** Bumped by each revocation, so a gate verdict reached across one is asked again. */
  revocations: number;
  /** Topics revoked since their last replay started: a replay of one in progress stops. */
  revoked: Set<string> | undefined;
  channel: ReplayChannel | undefined;
  /** Why the platform closed or cut off this socket, when it did (not the peer). */
  closedAs: CloseReason | undefined;
}

const OPEN = 1;
const TEXT = { binary: false } as const;
const CLOSE_WAIT_MS = 5000;
/** Most remembered subscribe denials (and revocations) per socket: a batch's worth. */
const MAX_DENIALS = 256;
const SYNC_REPLAY = Symbol.for('gapless-replay.syncReplay');
const OBSERVE = Symbol.for('gapless-replay.observe');
const LOGGER = Symbol.for('gapless-replay.logger');
/** ws's error for a frame over `maxPayload`, after which it closes the socket with 1009. */
const PAYLOAD_TOO_LARGE = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
const noReplayBuffer = createRefusal('NO_REPLAY_BUFFER');
let toldNoReplayBuffer = false;

/** Makes a platform read its `replay` option again now: a buffer registered after it was created. */
export function syncReplay(platform: Platform): void {
  (platform as Platform & { [SYNC_REPLAY]?: () => void })[SYNC_REPLAY]?.();
}

/**
 * Gives a platform another metrics registry and logger, as its options would (the shared
 * platform: the app registers them after the platform may already serve sockets). The sockets
 * and subscriptions open now are added to the new registry's gauges.
 */
export function observePlatform(platform: Platform, metrics: Metrics | undefined, logger: Logger | undefined): void {
  (platform as Platform & { [OBSERVE]?: (m: unknown, l: unknown) => void })[OBSERVE]?.(metrics, logger);
}

/** The logger a platform writes to (console for a platform that has none of its own). */
export function loggerOf(platform: Platform): Logger {
  return (platform as Platform & { [LOGGER]?: Logger })[LOGGER] ?? loggerOption(undefined);
}

function checkReplay(replay: unknown): AnyReplay {
  if (typeof (replay as Partial<FrameServer> | null)?.handle !== 'function') {
    throw gaplessError('type', 'INVALID_OPTION', `replay must be a replay buffer from createReplay(), got ${describe(replay)}`);
  }
  return replay as AnyReplay;
}

export function createPlatform(wss: WebSocketServer, options?: PlatformOptions): Platform {
  const opts = optionsObject('options', options);
  const maxPayload = positiveIntOption('maxPayload', opts.maxPayload, 64 * 1024);
  const maxBackpressure = positiveIntOption('maxBackpressure', opts.maxBackpressure, 1024 * 1024);
  const maxSubscriptions = positiveIntOption('maxSubscriptions', opts.maxSubscriptions, 1000);
  const maxQueuedFrames = positiveIntOption('maxQueuedFrames', opts.maxQueuedFrames, 1024);
  const upgradeTimeout = positiveIntOption('upgradeTimeout', opts.upgradeTimeout, 10_000);
  const heartbeatOptions = heartbeatOption(opts.heartbeat);
  /** A replay answer waits while the socket has more than this queued, so its output stays bounded. */
  const replayHighWater = Math.floor(maxBackpressure / 4);
  /**
   * Frames held for one write (see write-batch) go to the kernel once this many bytes wait: a run
   * of small frames still leaves in one write, while held bytes never pass for a slow reader's.
   */
  const flushAt = Math.min(64 * 1024, replayHighWater);
  const replayOption = opts.replay;
  if (typeof replayOption !== 'function' && replayOption !== undefined) checkReplay(replayOption);
  const hooksOption = opts.hooks as PlatformOptions['hooks'];
  const hooks = (): WsHooks<WebSocket, Platform> => (typeof hooksOption === 'function' ? hooksOption() : hooksOption) ?? {};
  let logger = loggerOption(opts.logger);
  /** `undefined` without a registry: every report is then skipped by one comparison. */
  let metrics = metricsOption(opts.metrics, 'platform');

  // ws reads this per upgrade, so frames over the limit are refused while being received.
  (wss.options as { maxPayload?: number }).maxPayload = maxPayload;

  const sockets = new Map<WebSocket, SocketState>();
  const topics = new Map<string, Set<SocketState>>();
  let fanout: FanoutAttachment | undefined;
  /** The buffer last read from the `replay` option (its fan-out, if any, is `fanout`). */
  let replay: AnyReplay | undefined;
  let closed = false;

  /**
   * The buffer that serves replays now. When it changed since the last read (registered late, or
   * re-created by a dev reload), the relay moves to the new one with every subscribed topic.
   */
  function currentReplay(): AnyReplay | undefined {
    let next: AnyReplay | undefined;
    if (typeof replayOption !== 'function') next = replayOption as AnyReplay | undefined;
    else {
      try {
        const value = (replayOption as () => unknown)();
        next = value === undefined ? undefined : checkReplay(value);
      } catch (error) {
        caught('replay option', error);
      }
    }
    if (next !== replay && !closed) adopt(next);
    return next;
  }

  function adopt(next: AnyReplay | undefined): void {
    replay = next;
    const previous = fanout;
    fanout = hasFanout(next) ? next.attachFanout({ deliver: (topic, event, json, seq, epoch) => void platform.publishJson(topic, event, json, seq, epoch) }) : undefined;
    previous?.detach().catch((error: unknown) => caught('detaching the previous relay', error, 'BACKEND_ERROR'));
    if (fanout !== undefined) for (const topic of topics.keys()) activate(fanout, topic);
  }

  function activate(relay: FanoutAttachment, topic: string): void | Promise<void> {
    try {
      const ready = relay.topicActive(topic);
      if (ready instanceof Promise) return ready.catch((error: unknown) => caught(`relay for topic ${topic}`, error, 'BACKEND_ERROR'));
    } catch (error) {
      caught(`relay for topic ${topic}`, error, 'BACKEND_ERROR');
    }
  }

  /** An error caught instead of thrown out of a socket handler: logged and counted under its code. */
  function caught(what: string, error: unknown, fallback = 'INTERNAL_ERROR'): void {
    logError(what, error, logger, fallback);
    metrics?.error(errorCode(error, fallback));
  }

  function observe(nextMetrics: unknown, nextLogger: unknown): void {
    const sink = metricsOption(nextMetrics, 'platform');
    logger = loggerOption(nextLogger);
    if (sink === metrics) return;
    metrics = sink;
    if (sink === undefined) return;
    for (const state of sockets.values()) {
      sink.socketOpened();
      for (let i = 0; i < state.topics.size; i++) sink.subscribed();
    }
  }

  function isOpen(state: SocketState): boolean {
    return !state.closing && state.ws.readyState === OPEN;
  }

  /** Closes a socket and stops all its work now: queued frames, replays, deliveries, relays. */
  function shut(state: SocketState, code: number, reason: string): void {
    if (state.closing) return;
    state.closing = true;
    state.closedAs = closeReasonOf(code);
    state.queue.length = 0;
    release(state);
    state.ws.close(code, reason);
  }

  function release(state: SocketState): void {
    for (const topic of [...state.topics]) removeSubscription(state, topic);
  }

  /** Bytes a socket has queued; past `flushAt`, counted after its held frames went to the kernel. */
  function queued(state: SocketState): number {
    const bytes = state.ws.bufferedAmount;
    if (bytes <= flushAt || !state.held) return bytes;
    flushWrites(state);
    return state.ws.bufferedAmount;
  }

  /** After a send: a socket over its limit is closed so it reconnects and replays, never left with a hole. */
  function underLimit(state: SocketState): boolean {
    if (queued(state) <= maxBackpressure) return true;
    shut(state, 1013, 'backpressure');
    return false;
  }

  function sendTo(state: SocketState, frame: string | Buffer): boolean {
    if (!isOpen(state)) return false;
    holdWrites(state);
    state.ws.send(frame, TEXT);
    return underLimit(state);
  }

  /** How replays reach one socket: verdicts reused, output bounded, work sliced, stopped on close. */
  function channelFor(state: SocketState): ReplayChannel {
    const open = (): boolean => isOpen(state);
    const buffered = (): number => state.ws.bufferedAmount;
    return {
      gate(topic) {
        state.revoked?.delete(topic);
        if (state.topics.has(topic)) return null;
        const denied = state.denials?.get(topic);
        if (denied !== undefined) {
          state.denials!.delete(topic);
          return denied;
        }
        // A replay of a topic the socket could not subscribe discloses what the limit withholds.
        if (state.topics.size >= maxSubscriptions) return 'LIMIT';
        return gate(state.ws, topic);
      },
      send(frame) {
        if (!open()) return false;
        holdWrites(state);
        state.ws.send(frame, TEXT);
        return true;
      },
      pace(topic) {
        if (!open() || state.revoked?.has(topic) === true) return false;
        if (queued(state) > replayHighWater) return drained(buffered, replayHighWater, open);
        if (sliceOver()) return nextTurn().then(open);
        return true;
      },
      // Read per request: a registry or logger registered later applies to open sockets too.
      get metrics() {
        return metrics;
      },
      get logger() {
        return logger;
      },
    };
  }

  function remember(state: SocketState, topic: string, verdict: string): void {
    const denials = (state.denials ??= new Map());
    if (denials.size >= MAX_DENIALS) denials.delete(denials.keys().next().value!);
    denials.set(topic, verdict);
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
    metrics?.subscribed();
    let set = topics.get(topic);
    if (set === undefined) {
      set = new Set();
      topics.set(topic, set);
      set.add(state);
      currentReplay();
      if (fanout !== undefined) return activate(fanout, topic);
      return;
    }
    set.add(state);
  }

  function removeSubscription(state: SocketState, topic: string): void {
    if (!state.topics.delete(topic)) return;
    metrics?.unsubscribed();
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
      caught('subscribe hook', error);
      return 'INTERNAL_ERROR';
    }
  }

  /** `LIMIT` when a new subscription would pass the socket's limit. */
  function overLimit(state: SocketState, topic: unknown): 'LIMIT' | null {
    return state.topics.size >= maxSubscriptions && !state.topics.has(topic as string) ? 'LIMIT' : null;
  }

  async function wireSubscribe(state: SocketState, topic: unknown, ref: ReqId | undefined): Promise<void> {
    let verdict: SubscribeVerdict;
    for (;;) {
      const revocations = state.revocations;
      verdict = isValidTopic(topic) ? overLimit(state, topic) ?? (await gate(state.ws, topic)) : 'INVALID_TOPIC';
      // A revocation while the gate decided may have changed the answer: ask again.
      if (state.revocations === revocations) break;
    }
    if (!isOpen(state)) return;
    verdict ??= overLimit(state, topic);
    if (verdict !== null) {
      // An invalid topic is not echoed back: nothing but the code and a valid ref.
      if (isValidTopic(topic)) remember(state, topic, verdict);
      metrics?.denied(verdict);
      sendTo(state, subscribeDeniedFrame(isValidTopic(topic) ? topic : undefined, ref, verdict));
      return;
    }
    state.denials?.delete(topic as string);
    await addSubscription(state, topic as string);
    sendTo(state, subscribedFrame(topic as string, ref));
  }

  /** Handles one frame; returns a promise only when the frame's work is asynchronous. */
  function handleFrame(state: SocketState, data: Buffer, isBinary: boolean): void | Promise<unknown> {
    const frame = isBinary ? undefined : decodeFrame(data);
    const type = frame === undefined ? undefined : controlType(frame);
    const buffer = isReplayType(type) ? currentReplay() : undefined;
    if (frame === undefined || type === undefined || (isReplayType(type) && buffer === undefined)) {
      const message = hooks().message;
      if (message === undefined && isReplayType(type)) return refuseReplay(state, frame!);
      return callHook('message hook', () => message?.(state.ws, { data, isBinary, platform }));
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
          metrics?.denied('INVALID_FRAME');
          sendTo(state, subscribeDeniedFrame(undefined, ref, 'INVALID_FRAME'));
          return;
        }
        return (async () => {
          for (const topic of list) await wireSubscribe(state, topic, ref);
        })();
      }
      default: {
        // replay / replay-batch with a buffer attached
        const serve = (buffer as Partial<FrameServer>)[SERVE_FRAME];
        if (serve !== undefined) return serve(state.ws, frame, platform);
        buffer!.handle(state.ws, frame, platform);
        return;
      }
    }
  }

  /** A replay request that nothing can serve is answered, never dropped, and the cause logged. */
  function refuseReplay(state: SocketState, frame: Record<string, unknown>): Promise<void> | undefined {
    if (!toldNoReplayBuffer) {
      toldNoReplayBuffer = true;
      caught(
        'replay requests cannot be served',
        gaplessError(
          'error',
          'NO_REPLAY_BUFFER',
          'a replay request arrived but no replay buffer is attached and no hooks.message answers it: call registerReplay(buffer) where the buffer is created, or pass { replay } to createPlatform; every replay request is answered with end {error:"NO_REPLAY_BUFFER"} until then',
        ),
      );
    }
    return noReplayBuffer[SERVE_FRAME](state.ws, frame, platform);
  }

  function callHook(what: string, run: () => unknown): void | Promise<unknown> {
    try {
      const result = run();
      if (result instanceof Promise) return result.catch((error: unknown) => caught(what, error));
    } catch (error) {
      caught(what, error);
    }
  }

  /** Runs queued frames of one socket in order, pausing while one is asynchronous. */
  function drain(state: SocketState): void {
    while (!state.busy && !state.closing && state.queue.length > 0) {
      const [data, isBinary] = state.queue.shift()!;
      let pending: void | Promise<unknown> = undefined;
      try {
        pending = handleFrame(state, data, isBinary);
      } catch (error) {
        caught('frame handler', error);
      }
      if (pending instanceof Promise) {
        state.busy = true;
        pending.then(
          () => {
            state.busy = false;
            drain(state);
          },
          (error: unknown) => {
            caught('frame handler', error);
            state.busy = false;
            drain(state);
          },
        );
      }
    }
  }

  function track(ws: WebSocket): void {
    if (sockets.has(ws)) return;
    if (!adoptSocket(ws, hooks(), logger)) return;
    const state: SocketState = {
      ws, topics: new Set(), queue: [], busy: false, closing: false, held: false,
      denials: undefined, revocations: 0, revoked: undefined, channel: undefined, heard: false, heardAt: 0, pingAt: 0, closedAs: undefined,
    };
    sockets.set(ws, state);
    metrics?.socketOpened();
    if (heartbeat !== undefined) {
      heartbeat.start(state);
      // The first ping only names the interval: silence is counted from now, so it asks for no
      // answer (a protocol ping would cost every connect of a reconnect storm a pong).
      sendTo(state, pingBytes!);
      ws.on('pong', () => void (state.heard = true));
    }
    ws.on('error', (error) => {
      // ws closes the socket itself after an error; its close code is known only here.
      if ((error as { code?: unknown }).code === PAYLOAD_TOO_LARGE) state.closedAs ??= 'payload_too_large';
      // The peer's doing (a reset, a malformed or oversized frame), not a server fault: a warning.
      logWarning('socket error', logger, error);
    });
    ws.on('message', (data, isBinary) => {
      state.heard = true;
      if (state.closing) return;
      // A pong has done its job by arriving; it needs no turn in the queue.
      if (!isBinary && isPong(data as Buffer)) return;
      if (state.busy && state.queue.length >= maxQueuedFrames) {
        shut(state, 1008, 'too many queued frames');
        return;
      }
      state.queue.push([data as Buffer, isBinary]);
      drain(state);
    });
    ws.on('close', (code, reason) => {
      state.closing = true;
      state.queue.length = 0;
      release(state);
      sockets.delete(ws);
      metrics?.socketClosed(state.closedAs ?? closeReasonOf(code));
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

  /** A JSON ping (which the client answers and times) and a protocol ping (which any WebSocket peer answers). */
  function ping(state: SocketState): void {
    if (!sendTo(state, pingBytes!)) return;
    try {
      state.ws.ping();
    } catch {
      // Closing meanwhile: the close handler cleans up.
    }
  }

  /** The path is dead or the peer gone silent: cut it off without a close handshake. */
  function expire(state: SocketState): void {
    state.closing = true;
    state.closedAs = 'heartbeat';
    state.queue.length = 0;
    release(state);
    state.ws.terminate();
  }

  const pingBytes = heartbeatOptions === undefined ? undefined : Buffer.from(pingFrame(heartbeatOptions.interval));
  const heartbeat = heartbeatOptions === undefined ? undefined : startHeartbeat(heartbeatOptions, () => sockets.values(), ping, expire);
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

    unsubscribe(ws, topic, options) {
      const reason = options?.reason;
      if (reason !== undefined && typeof reason !== 'string') {
        throw gaplessError('type', 'INVALID_ARGUMENT', `options.reason must be a string, got ${describe(reason)}`);
      }
      const state = sockets.get(ws);
      if (state === undefined) return;
      const subscribed = state.topics.has(topic);
      removeSubscription(state, topic);
      if (reason === undefined) return;
      state.revocations++;
      state.denials?.delete(topic);
      if (state.channel !== undefined) {
        const revoked = (state.revoked ??= new Set());
        if (revoked.size >= MAX_DENIALS) revoked.clear();
        revoked.add(topic);
      }
      if (subscribed) sendTo(state, unsubscribedFrame(topic, reason));
    },

    subscribers(topic) {
      return topics.get(topic)?.size ?? 0;
    },

    get connections() {
      return sockets.size;
    },

    handleUpgrade: createUpgradeHandler(wss, hooks, caught, upgradeTimeout),

    async close() {
      closed = true;
      heartbeat?.stop();
      wss.off('connection', onConnection);
      for (const state of sockets.values()) {
        state.closing = true;
        state.closedAs ??= 'going_away';
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

  Object.defineProperties(platform, {
    [REPLAY_CHANNEL]: {
      value(ws: unknown): ReplayChannel | undefined {
        const state = sockets.get(ws as WebSocket);
        return state === undefined ? undefined : (state.channel ??= channelFor(state));
      },
    },
    [SYNC_REPLAY]: { value: currentReplay },
    [OBSERVE]: { value: observe },
    [LOGGER]: {
      get() {
        return logger;
      },
    },
  });
  currentReplay();

  return platform;
}

/** `true` for the exact pong frame the client sends (checked without decoding anything else). */
function isPong(data: Buffer): boolean {
  return data.length === PONG_FRAME.length && data.toString('latin1') === PONG_FRAME;
}
