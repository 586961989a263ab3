/**
 * One WebSocket and everything that must survive its reconnects: the topics subscribed
 * (re-sent as one `subscribe-batch`), the replay stores waiting for answers (resumed with one
 * `replay-batch`), and the routing of incoming frames to them.
 */
import { describe, gaplessError } from '../core/errors.js';
import { REPLAY_PREFIX } from '../core/names.js';
import type { Envelope, PingFrame, PongFrame, ReplayRequest, ReqId, SubscribeDeniedFrame, UnsubscribedFrame } from '../protocol/frames.js';
import { MAX_BATCH_ITEMS } from '../protocol/parse.js';
import { backoffDelay, blipDelay, openDelay, quickDelay, type BackoffOptions } from './backoff.js';
import { cell, type Readable } from './store.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/**
 * A WebSocket constructor: the browser's, the `ws` package's, or a test double. The client
 * uses `readyState`, `send`, `close` and the `onopen`/`onmessage`/`onclose`/`onerror` properties.
 */
export type WebSocketConstructor = new (url: string) => unknown;

export interface ConnectOptions {
  /** Full WebSocket URL. Default: the page's origin (`ws:`, or `wss:` on https pages) plus `path`. */
  url?: string;
  /** Path used when `url` is not given. Default `/ws`. */
  path?: string;
  /** WebSocket implementation. Default: `globalThis.WebSocket`, in a browser only. */
  WebSocket?: WebSocketConstructor;
  /** Milliseconds to wait for a replay's `end` before asking again. Default 10000. */
  replayTimeout?: number;
  /** Reconnect delays: exponential with full jitter, after quick retries when a network blip ended a working socket. Default `{ base: 500, max: 30000 }`. */
  backoff?: BackoffOptions;
  /**
   * Milliseconds a connecting socket may take to open before it is closed and counted as a
   * failed attempt (the backoff then applies). Each attempt waits a uniform time in `[t, 2t)`;
   * `t` starts at this value, doubles while attempts keep timing out, up to 8 times it, and
   * starts over once a socket opens. `false` lets an attempt wait as long as the browser or the
   * operating system does. A positive integer or `false`; default 4000.
   */
  openTimeout?: number | false;
  /**
   * `false` turns off the client's dead-socket deadline: a socket that goes silent is then
   * noticed only by the operating system, or by two replay timeouts. Pings are answered either
   * way, so a server with a heartbeat keeps the socket. Default `true`.
   */
  heartbeat?: boolean;
  /**
   * Once the server has pinged with interval `I`, a socket that receives nothing for
   * `I + heartbeatGrace` ms is dropped and a new one opened. Default 10000.
   */
  heartbeatGrace?: number;
}

/** A topic event as stores deliver it: the wire envelope. Live events are the parsed frame itself. */
export type LiveEvent<T = unknown> = Envelope<string, T>;

/** One item of a replay-batch request (a `replay` frame without `type`), always with its own reqId. */
export type ReplayItem = Omit<ReplayRequest, 'type' | 'reqId'> & { reqId: ReqId };

/**
 * What the connection needs from a replay store. @internal
 */
export interface ReplayClient {
  readonly topic: string;
  /** The socket opened: ask again (through `request`, adding to `batch`) unless there is nothing to ask. */
  resume(batch: ReplayItem[]): void;
  /** A frame of the client's current request (`event` is `truncated`, `msg`, `denied` or `end`). */
  frame(event: unknown, data: Record<string, unknown>): void;
  /** The socket closed: the outstanding request, if any, will never be answered. */
  down(): void;
  /** The server refused (`subscribe-denied`) or revoked (`unsubscribed`) the topic's subscription. */
  deny(reason: string): void;
}

interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number): void;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event?: { code?: number }) => void) | null;
  onerror: (() => void) | null;
  /** Node's `ws` only: closes without a handshake, which a dead path could never complete. */
  terminate?(): void;
}

export interface Connection {
  /** `connecting` (also while waiting to reconnect), `open`, or `closed` after `close()` or without a socket (SSR). */
  readonly status: Readable<ConnectionState>;
  /**
   * Sends an app frame (a string as is, anything else as JSON). While the socket is not open
   * the frame waits for the next open (at most 256 frames). Returns `false` when it was dropped.
   */
  send(data: unknown): boolean;
  /** Drops the socket now and connects again at once, without backoff. */
  reconnect(): void;
  /** Closes the socket for good. On the shared connection, a later `connect()` opens a new one. */
  close(): void;
  /** @internal `true` after `close()`, and from the start without a socket (SSR): nothing will ever be sent. */
  readonly closed: boolean;
  /** @internal */ readonly replayTimeout: number;
  /** @internal */ readonly backoff: Required<BackoffOptions>;
  /** @internal Receives the live frames of `topic`; the first listener subscribes on the wire, the last unsubscribes. */
  listen(topic: string, fn: (frame: LiveEvent) => void): () => void;
  /** @internal Registers a replay client for resumes. */
  attach(client: ReplayClient): () => void;
  /**
   * @internal Issues a request for `client` (sent now, or added to `batch`) and returns its reqId;
   * `undefined` when the socket is not open (the client is asked again through `resume` on open).
   */
  request(client: ReplayClient, since: number, epoch: string | undefined, batch?: ReplayItem[]): ReqId | undefined;
  /** @internal Forgets a request; later frames carrying its reqId are dropped. */
  settle(reqId: ReqId): void;
  /** @internal A replay request heard nothing for `replayTimeout`; the second in a row on one socket drops it. */
  stalled(): void;
}

const OPEN = 1;
const MAX_QUEUED = 256;
/** Close code of a connection lost without a close frame: the network, not the server, ended it. */
const ABNORMAL = 1006;
/** A socket that stayed open this long (ms) worked: its loss starts the backoff over. */
const STABLE = 1000;
const EMPTY: Record<string, unknown> = Object.freeze({});

/**
 * How a socket was lost: `blip`, one that worked lost its path (closed without a close frame,
 * or went silent past the heartbeat deadline); `failed`, one that never opened or died young
 * the same way; `away`, the server closed it on purpose (going away, restarting, try later).
 */
type Loss = 'blip' | 'failed' | 'away';

/** Bytes a batch frame may use, well under the server's default `maxPayload` (64 KiB). */
const MAX_BATCH_BYTES = 32 * 1024;

/**
 * Splits a batch into frames of at most 256 items and about 32 KiB, so a resume never becomes
 * one frame the server refuses (over its batch limit or its `maxPayload`), which would leave
 * every store unanswered. `topicOf` gives each item's topic; a topic counts 3 bytes per UTF-16
 * unit (the UTF-8 worst case) plus room for the other fields.
 */
function chunks<T>(list: T[], topicOf: (item: T) => string, each: (part: T[]) => void): void {
  let part: T[] = [];
  let bytes = 0;
  for (const item of list) {
    const size = topicOf(item).length * 3 + 100;
    if (part.length === MAX_BATCH_ITEMS || (part.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      each(part);
      part = [];
      bytes = 0;
    }
    part.push(item);
    bytes += size;
  }
  if (part.length > 0) each(part);
}

/**
 * The page's `window`, as the svelte-adapter-uws client finds it: a browser is a host with a
 * `window`. A test's fake `window` or a native shell that defines one (and passes `url`) is
 * treated the same; a server rendering the page has none.
 */
function page(): { location?: { protocol: string; host: string } } | undefined {
  return (globalThis as { window?: { location?: { protocol: string; host: string } } }).window;
}

function resolveUrl(options: ConnectOptions): string | undefined {
  if (options.url !== undefined) return options.url;
  const loc = page()?.location;
  if (loc === undefined) return undefined;
  return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + (options.path ?? '/ws');
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && value > 0 ? value : fallback;
}

/** `undefined` when no socket may be opened: no implementation, or a server (SSR) with no explicit one. */
export function socketImpl(options: ConnectOptions): WebSocketConstructor | undefined {
  if (options.WebSocket !== undefined) return options.WebSocket;
  return page() !== undefined ? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket : undefined;
}

/** A new, independent connection. Opens its socket at once, unless no socket may be opened (SSR). */
export function createConnection(options: ConnectOptions = {}): Connection {
  return build(options);
}

function build(options: ConnectOptions, onClose?: (c: Connection) => void): Connection {
  const openTimeout = options.openTimeout === undefined ? 4000 : options.openTimeout;
  if (openTimeout !== false && !(Number.isSafeInteger(openTimeout) && openTimeout > 0)) {
    throw gaplessError('range', 'INVALID_OPTION', `openTimeout must be a positive integer (ms) or false, got ${describe(openTimeout)}`);
  }
  const Impl = socketImpl(options);
  const url = resolveUrl(options);
  const backoff = { base: positive(options.backoff?.base, 500), max: positive(options.backoff?.max, 30000) };
  const heartbeat = options.heartbeat !== false;
  const grace = positive(options.heartbeatGrace, 10000);
  const status = cell<ConnectionState>(Impl && url !== undefined ? 'connecting' : 'closed');
  const listeners = new Map<string, ((frame: LiveEvent) => void)[]>();
  const clients = new Set<ReplayClient>();
  const byReq = new Map<ReqId, ReplayClient>();
  /** Clients with a request outstanding, per topic, oldest first: where frames without a reqId go. */
  const waiting = new Map<string, ReplayClient[]>();
  let queue: string[] = [];
  let socket: SocketLike | undefined;
  /** The wait before the next attempt, or the current attempt's open deadline: never both at once. */
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let lastReq = 0;
  let closed = Impl === undefined || url === undefined;
  /** When the current socket opened (ms), 0 while none is open. */
  let openedAt = 0;
  /** When the current socket last received a frame (ms). */
  let heard = 0;
  /** Silence (ms) after which the current socket counts as dead; 0 until the server pings. */
  let deadline = 0;
  /** The one heartbeat timer of the connection: it checks `heard` when it fires instead of being reset by every frame. */
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  /** Replay timeouts in a row on the current socket. */
  let stalls = 0;
  /** When the last blip happened (ms): its quick retries go on while they last; 0 for none. */
  let blipAt = 0;
  /** Attempts in a row that timed out before opening (since the last open). */
  let slow = 0;
  /** The current socket has had its first ping. */
  let pinged = false;

  function setStatus(s: ConnectionState): void {
    if (status.value !== s) status.set(s);
  }

  function isOpen(): boolean {
    return socket !== undefined && socket.readyState === OPEN;
  }

  function write(frame: unknown): void {
    socket!.send(JSON.stringify(frame));
  }

  function open(): void {
    timer = undefined;
    if (closed) return;
    setStatus('connecting');
    let ws: SocketLike;
    try {
      ws = new Impl!(url!) as SocketLike;
    } catch {
      lost('failed');
      return;
    }
    socket = ws;
    if (openTimeout !== false) timer = setTimeout(abandon, openDelay(openTimeout, slow));
    ws.onopen = () => {
      if (socket !== ws) return;
      clearTimeout(timer);
      timer = undefined;
      openedAt = heard = Date.now();
      stalls = slow = 0;
      pinged = false;
      setStatus('open');
      // A status subscriber may have closed or replaced the socket.
      if (socket !== ws) return;
      // Subscribes first: the server handles one socket's frames in order, so every replay
      // below is read after its topic's live subscription exists, and nothing published in
      // between can fall between the replay and the live stream.
      chunks([...listeners.keys()], (t) => t, (topics) => write({ type: 'subscribe-batch', topics }));
      const batch: ReplayItem[] = [];
      for (const c of [...clients]) c.resume(batch);
      if (batch.length === 1) write({ type: 'replay', ...batch[0] });
      else chunks(batch, (item) => item.topic, (items) => write({ type: 'replay-batch', items }));
      const pending = queue;
      queue = [];
      for (const text of pending) ws.send(text);
    };
    ws.onmessage = (event) => {
      if (socket !== ws) return;
      heard = Date.now();
      if (typeof event.data === 'string') dispatch(event.data);
    };
    // A socket that worked and then lost its path without a close frame (1006) is a network
    // blip: the server is most likely still there, so come back at once and keep trying
    // quickly for a moment. A close frame (the server going away or restarting, 1001/1012/1013)
    // means the server chose to end it: wait out the backoff.
    ws.onclose = (event) => {
      if (socket !== ws) return;
      const code = event?.code;
      lost(code !== undefined && code !== ABNORMAL ? 'away' : code === ABNORMAL && stable() ? 'blip' : 'failed');
    };
    // `onclose` follows every error; nothing to do here but keep the error from being unhandled.
    ws.onerror = () => {};
  }

  /**
   * The attempt did not open in time. Most likely the server's accept queue overflowed and the
   * SYN was dropped: a crowd that keeps retrying every `base / 2` would only keep it full, so
   * any quick retries end here and the backoff takes over.
   */
  function abandon(): void {
    timer = undefined;
    slow++;
    blipAt = 0;
    lost('failed');
  }

  function stable(): boolean {
    return openedAt > 0 && Date.now() - openedAt >= STABLE;
  }

  function detach(dead = false): void {
    clearTimeout(watchdog);
    watchdog = undefined;
    deadline = openedAt = 0;
    const ws = socket;
    socket = undefined;
    if (ws === undefined) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      if (dead && typeof ws.terminate === 'function') ws.terminate();
      else ws.close();
    } catch {
      // already closing
    }
    for (const c of [...clients]) c.down();
  }

  /**
   * The socket is gone (or never came): tell the stores, then try again. After a blip, at
   * once (within `base / 10`, or `base / 2` when the heartbeat deadline found it) and, while the path stays down, quickly for `4 * base` ms; then,
   * and after anything else, with the backoff.
   */
  function lost(loss: Loss, dead = false): void {
    // A socket that stayed open a while worked: the backoff starts over. One that dies
    // young (a server that accepts and drops) keeps climbing it.
    if (stable()) attempt = 0;
    // An attempt that failed before its deadline: left armed, the deadline would cut the next one.
    clearTimeout(timer);
    detach(dead);
    if (closed) return;
    setStatus('connecting');
    const now = Date.now();
    let delay: number | undefined;
    if (loss === 'blip') {
      blipAt = now;
      // `dead`: found by the heartbeat deadline, which a crowd of sockets passes together.
      delay = blipDelay(backoff.base, dead);
    } else if (loss === 'failed' && blipAt > 0) {
      delay = quickDelay(now - blipAt, backoff.base);
    }
    if (delay === undefined) {
      blipAt = 0;
      delay = backoffDelay(attempt++, backoff.base, backoff.max);
    }
    timer = setTimeout(open, delay);
  }

  /** The path is dead though the socket looks open: nothing will ever close it for us. */
  function dead(): void {
    lost(stable() ? 'blip' : 'failed', true);
  }

  function watch(): void {
    watchdog = undefined;
    const silent = Date.now() - heard;
    if (silent >= deadline) dead();
    else watchdog = setTimeout(watch, deadline - silent);
  }

  /** A ping names the server's interval: from now on, that plus the grace without a frame means a dead path. */
  function ping(frame: PingFrame): void {
    // The first ping comes as the socket opens, and the server counts silence from that moment:
    // answering it would only add a frame to every connect of a reconnect storm.
    if (pinged && isOpen()) write({ type: 'pong' } satisfies PongFrame);
    pinged = true;
    const interval = frame.interval;
    if (!heartbeat || typeof interval !== 'number' || !(interval > 0) || interval + grace === deadline) return;
    deadline = interval + grace;
    clearTimeout(watchdog);
    watchdog = setTimeout(watch, deadline);
  }

  function dispatch(text: string): void {
    let frame: LiveEvent;
    try {
      frame = JSON.parse(text) as LiveEvent;
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    // Acks, pings, revocations and errors carry `type`; envelopes never do.
    const type = (frame as { type?: unknown }).type;
    if (type !== undefined) return control(type, frame as unknown as Record<string, unknown>);
    const topic = frame.topic;
    if (typeof topic !== 'string') return;
    if (topic.startsWith(REPLAY_PREFIX)) return routeReplay(topic.slice(REPLAY_PREFIX.length), frame);
    const list = listeners.get(topic);
    if (list !== undefined) for (let i = 0; i < list.length; i++) list[i]!(frame);
  }

  function control(type: unknown, frame: Record<string, unknown>): void {
    if (type === 'ping') return ping(frame as unknown as PingFrame);
    if (type !== 'subscribe-denied' && type !== 'unsubscribed') return;
    const { topic, reason } = frame as Partial<SubscribeDeniedFrame | UnsubscribedFrame>;
    if (typeof topic !== 'string') return;
    const why = typeof reason === 'string' ? reason : 'FORBIDDEN';
    for (const c of [...clients]) if (c.topic === topic) c.deny(why);
  }

  function routeReplay(topic: string, frame: LiveEvent): void {
    const data = frame.data;
    // Primitive or null data (the Redis seed's `truncated`) reads as an empty object, so a
    // foreign or hostile frame can never throw inside a store.
    const d = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : EMPTY;
    const reqId = d.reqId;
    // Seed-compatible servers send no reqId: the oldest outstanding request for the topic takes it.
    const client = reqId === undefined ? waiting.get(topic)?.[0] : byReq.get(reqId as ReqId);
    if (client === undefined || client.topic !== topic) return;
    // The socket answers replays: the path works both ways.
    stalls = 0;
    client.frame(frame.event, d);
  }

  function settle(reqId: ReqId): void {
    const client = byReq.get(reqId);
    if (client === undefined) return;
    byReq.delete(reqId);
    const list = waiting.get(client.topic);
    if (list === undefined) return;
    const i = list.indexOf(client);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) waiting.delete(client.topic);
  }

  /**
   * A browser can keep a socket "open" across a network change (Chromium holds it while
   * offline; a phone's socket can die silently): start over when the network goes or comes
   * back, and the stores replay what they missed.
   */
  function watchNetwork(on: boolean): void {
    const net = globalThis as { addEventListener?: (type: string, fn: () => void) => void; removeEventListener?: (type: string, fn: () => void) => void };
    const method = on ? net.addEventListener : net.removeEventListener;
    if (typeof method !== 'function') return;
    method.call(net, 'online', onNetwork);
    method.call(net, 'offline', onNetwork);
  }

  function onNetwork(): void {
    conn.reconnect();
  }

  const conn: Connection = {
    status: status.store,
    get closed() {
      return closed;
    },
    replayTimeout: positive(options.replayTimeout, 10000),
    backoff,

    send(data) {
      const text = typeof data === 'string' ? data : JSON.stringify(data);
      if (isOpen()) {
        socket!.send(text);
        return true;
      }
      if (closed || queue.length >= MAX_QUEUED) return false;
      queue.push(text);
      return true;
    },

    reconnect() {
      if (closed) return;
      clearTimeout(timer);
      detach();
      attempt = 0;
      open();
    },

    close() {
      watchNetwork(false);
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      queue = [];
      detach();
      setStatus('closed');
      onClose?.(conn);
    },

    listen(topic, fn) {
      const list = listeners.get(topic);
      listeners.set(topic, list === undefined ? [fn] : list.concat(fn));
      if (list === undefined && isOpen()) write({ type: 'subscribe', topic });
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const rest = listeners.get(topic)!.filter((f) => f !== fn);
        if (rest.length > 0) {
          listeners.set(topic, rest);
          return;
        }
        listeners.delete(topic);
        // Sent at once, in order after the subscribe: were it queued, a subscribe released in
        // the same tick could be overtaken and leave the server subscribed for nobody.
        if (isOpen()) write({ type: 'unsubscribe', topic });
      };
    },

    attach(client) {
      clients.add(client);
      return () => clients.delete(client);
    },

    request(client, since, epoch, batch) {
      if (batch === undefined && !isOpen()) return undefined;
      const reqId = ++lastReq;
      byReq.set(reqId, client);
      const list = waiting.get(client.topic);
      if (list === undefined) waiting.set(client.topic, [client]);
      else list.push(client);
      const item: ReplayItem = epoch === undefined ? { topic: client.topic, since, reqId } : { topic: client.topic, since, epoch, reqId };
      if (batch !== undefined) batch.push(item);
      else write({ type: 'replay', ...item });
      return reqId;
    },

    settle,

    stalled() {
      // One silent request may be a server that lost it; two in a row, with no replay frame
      // in between, mean the path itself is dead.
      if (++stalls >= 2 && isOpen()) dead();
    },
  };
  if (!closed) {
    watchNetwork(true);
    open();
  }
  return conn;
}

const shared = new Map<string, Connection>();
let last: Connection | undefined;

/**
 * The shared connection for a URL (one socket per page). Without a socket implementation
 * (SSR) it returns an inert connection and keeps nothing.
 */
export function connect(options: ConnectOptions = {}): Connection {
  const url = resolveUrl(options);
  if (socketImpl(options) === undefined || url === undefined) return createConnection(options);
  let conn = shared.get(url);
  if (conn === undefined) {
    // `close()` frees the slot, so a later `connect()` opens a new connection.
    conn = build(options, (c) => {
      if (shared.get(url) === c) shared.delete(url);
      if (last === c) last = undefined;
    });
    shared.set(url, conn);
  }
  last = conn;
  return conn;
}

/** The connection `on` and `onReplay` use by default: the last shared one, or `connect()` in a browser; none during SSR. */
export function defaultConnection(): Connection | undefined {
  if (last !== undefined) return last;
  return socketImpl({}) !== undefined && resolveUrl({}) !== undefined ? connect() : undefined;
}
