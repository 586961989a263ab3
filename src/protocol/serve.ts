/**
 * Answering replay requests: the part both backends share. A backend supplies one
 * consistent snapshot per request; everything about which frames follow is decided here.
 */
import type { ErrorCode, TruncationReason } from '../core/codes.js';
import { isSystemTopic, isValidTopic } from '../core/names.js';
import { describe, gaplessError } from '../core/errors.js';
import { errorCode, logError, type Logger } from '../core/log.js';
import type { MetricsSink } from '../metrics/sink.js';
import { inEpoch, parseSince } from '../core/position.js';
import type { ReplayPlatform, SubscribeVerdict } from '../core/types.js';
import { deniedFrame, endFrame, errorFrame, msgFrame, replayHead, reqIdField, truncatedFrame, type ReqId } from './frames.js';
import { batchItems, controlType, decodeFrame, normalizeReqId } from './parse.js';

/** One consistent view of a topic, read in one step (one synchronous read, one Redis script). */
export interface Snapshot {
  seq: number;
  /** `undefined` when the topic has no state: seq 0, and no epoch fixed by anyone yet. */
  epoch: string | undefined;
  /** Seq of the oldest buffered entry; `seq + 1` when nothing is buffered. */
  oldest: number;
  /** Calls `emit` for each buffered entry with seq >= `from`, ascending, until it returns false. */
  each(from: number, emit: (seq: number, event: string, json: string) => boolean): void;
}

/**
 * Reads a snapshot of `topic`; `from` is the first seq the request can use (a hint for paging).
 * `held` is the position the request holds: a backend that can lose acknowledged writes (Redis)
 * ends the epoch when that position is above its seq in the same epoch.
 */
export type SnapshotReader = (topic: string, from: number, held: { seq: unknown; epoch: unknown }) => Snapshot | Promise<Snapshot>;

/** What a request asks a snapshot reader for. */
export interface SnapshotRequest {
  topic: string;
  from: number;
  /** The position the request holds, as the reader is given it (see SnapshotReader). */
  held: { seq: unknown; epoch: unknown };
}

/**
 * Reads the snapshots of a batch's allowed requests ahead of serving them, many per round trip,
 * and returns the reader each item then takes its own snapshot from: one consistent snapshot
 * per item, as when it is served alone. How far it reads ahead is the backend's to bound.
 */
export type BatchReader = (requests: readonly SnapshotRequest[]) => SnapshotReader;

type RequestedPosition = ReturnType<typeof parseSince>;

/**
 * What every request answered without waiting resolves to: one promise for all of them, as a
 * promise per request was a measurable share of serving a short in-memory replay.
 */
const SETTLED: Promise<void> = Promise.resolve();

/** What a reader is told an invalid request holds: nothing it could check for a rollback. */
const NO_POSITION = { seq: undefined, epoch: undefined } as const;

export interface ReplayPlan {
  reason: TruncationReason | undefined;
  /** First seq to send; above `snapshot.seq` when no `msg` follows. */
  from: number;
}

/** Which frames a request gets from a snapshot: the truncation rules (invalid, reset, evicted), in one pure function. */
export function planReplay(since: unknown, epoch: unknown, snap: Pick<Snapshot, 'seq' | 'epoch' | 'oldest'>): ReplayPlan {
  return planFor(parseSince(since, epoch), snap);
}

function planFor(requested: RequestedPosition, snap: Pick<Snapshot, 'seq' | 'epoch' | 'oldest'>): ReplayPlan {
  if (requested === null) return { reason: 'invalid', from: Infinity };
  // A topic with no state has nothing to miss for a client at 0, whatever epoch it names.
  if (snap.epoch === undefined) return { reason: requested.seq > 0 ? 'reset' : undefined, from: Infinity };
  if (!inEpoch(requested, snap.epoch) || requested.seq > snap.seq) return { reason: 'reset', from: Infinity };
  if (requested.seq + 1 < snap.oldest) return { reason: 'evicted', from: snap.oldest };
  return { reason: undefined, from: requested.seq + 1 };
}

/** Where a response goes: the platform's raw path when it has one, else its envelope `send`. */
export function frameSender(ws: unknown, platform: ReplayPlatform): (frame: string) => boolean {
  // A send that throws means the socket is unusable: stop the response, do not throw out.
  if (typeof platform.sendText === 'function') {
    return (frame) => {
      try {
        return platform.sendText!(ws, frame);
      } catch {
        return false;
      }
    };
  }
  return (frame) => {
    // Foreign platforms (svelte-adapter-uws) take the envelope's parts; one parse per frame
    // is the price of compatibility. Their send has no closed-socket signal.
    try {
      const f = JSON.parse(frame) as { topic: string; event: string; data: unknown };
      platform.send(ws, f.topic, f.event, f.data);
      return true;
    } catch {
      return false;
    }
  };
}

/** Sends a frame that belongs to no topic (`error`): through the platform's raw path or the socket. */
function sendUnrouted(ws: unknown, platform: ReplayPlatform, frame: string): void {
  try {
    if (typeof platform.sendText === 'function') platform.sendText(ws, frame);
    else (ws as { send?: (f: string) => unknown }).send?.(frame);
  } catch {
    // The socket is gone; there is no one left to tell.
  }
}

/** Symbol under which a platform offers a {@link ReplayChannel} per socket. */
export const REPLAY_CHANNEL = Symbol.for('gapless-replay.replayChannel');

/**
 * What a platform may offer replay serving for one socket, beyond `ReplayPlatform` (the `ws`
 * platform does; foreign platforms do not). With it, a replay reuses the socket's subscribe
 * verdict, never blocks the event loop for long, waits for a slow reader instead of queueing
 * its whole answer, and stops once the socket is closing.
 */
export interface ReplayChannel {
  /** The verdict for replaying `topic` to this socket: the subscribe verdict when the socket has one. */
  gate(topic: string): SubscribeVerdict | Promise<SubscribeVerdict>;
  /** Sends one frame of an answer; `false` when the socket is closing. `pace` bounds what is queued. Methods are called without `this`. */
  send(frame: string): boolean;
  /**
   * Asked before a request for `topic` reads and after each frame it sends: `true` to go on
   * now, `false` when the socket is closing or the topic was revoked for it (read and send
   * nothing more), or a promise of either once the event loop has run other work or the
   * socket has drained.
   */
  pace(topic: string): boolean | Promise<boolean>;
  /** Where this socket's replays are counted; `undefined` when the platform has no registry. */
  readonly metrics: MetricsSink | undefined;
  /** Where a replay that failed is logged. */
  readonly logger: Logger;
}

interface ChannelPlatform {
  [REPLAY_CHANNEL]?(ws: unknown): ReplayChannel | undefined;
}

function channelOf(ws: unknown, platform: ReplayPlatform): ReplayChannel | undefined {
  const open = (platform as ChannelPlatform)[REPLAY_CHANNEL];
  return typeof open === 'function' ? open.call(platform, ws) : undefined;
}

function gate(ws: unknown, topic: string, platform: ReplayPlatform, channel: ReplayChannel | undefined): SubscribeVerdict | Promise<SubscribeVerdict> {
  if (channel === undefined && typeof platform.checkSubscribe !== 'function') return null;
  try {
    const verdict = channel === undefined ? platform.checkSubscribe!(ws, topic) : channel.gate(topic);
    if (verdict instanceof Promise) return verdict.then((v) => v ?? null, () => 'INTERNAL_ERROR');
    return verdict ?? null;
  } catch {
    return 'INTERNAL_ERROR';
  }
}

/**
 * Serves one replay request: gate, snapshot, frames. Resolves when every frame is sent (or the
 * socket went away), also when the backend failed: that is answered `end {error}` and logged.
 * `since` is a seq or a position; `epoch` is the wire frame's field (undefined in the API form).
 * `decided` is the gate's verdict when it was already asked for this request (a batch asks
 * first for all its items); the gate is never asked twice for one request.
 */
export function serveReplay(
  read: SnapshotReader,
  ws: unknown,
  topic: unknown,
  since: unknown,
  epoch: unknown,
  platform: ReplayPlatform,
  rawReqId: unknown,
  decided?: SubscribeVerdict,
): Promise<void> {
  if (typeof (platform as ReplayPlatform | null)?.send !== 'function' && typeof (platform as ReplayPlatform | null)?.sendText !== 'function') {
    return Promise.reject(gaplessError('type', 'INVALID_ARGUMENT', `platform must be an object with a send method, got ${describe(platform)}`));
  }
  const reqId = normalizeReqId(rawReqId);
  const channel = channelOf(ws, platform);
  const metrics = channel?.metrics;
  if (!isValidTopic(topic)) {
    sendUnrouted(ws, platform, errorFrame('INVALID_TOPIC', reqId));
    metrics?.replayed('denied', 'INVALID_TOPIC', 0, 0, -1);
    return SETTLED;
  }
  const request: Request = {
    read,
    send: channel === undefined ? frameSender(ws, platform) : channel.send,
    pace: channel?.pace,
    topic,
    position: parseSince(since, epoch),
    reqField: reqIdField(reqId),
    metrics,
    started: metrics !== undefined && metrics.timeNext ? performance.now() : undefined,
    logger: channel?.logger,
    snap: undefined,
    head: '',
    next: 0,
    last: 0,
    epoch: undefined,
    reason: undefined,
    messages: 0,
    bytes: 0,
    open: true,
    wait: undefined,
  };
  const verdict = isSystemTopic(topic) ? 'INVALID_TOPIC' : decided !== undefined ? decided : gate(ws, topic, platform, channel);
  if (verdict instanceof Promise) return verdict.then((v) => afterGate(request, v));
  return afterGate(request, verdict);
}

/** One replay request being served. */
interface Request {
  read: SnapshotReader;
  send: (frame: string) => boolean;
  pace: ReplayChannel['pace'] | undefined;
  topic: string;
  position: RequestedPosition;
  reqField: string;
  metrics: MetricsSink | undefined;
  /**
   * The sink's clock reading when the request arrived, or its backend read began; `undefined`
   * when not timed. Not -1: a field holding -1 or a clock reading is stored as a double, boxed
   * anew in every request, which cost a short in-memory replay with a registry about 1.5 %.
   */
  started: number | undefined;
  logger: Logger | undefined;
  // The answer's progress, set by writeFrames. Kept here, not in variables of a closure per
  // request: those closures were most of what a short replay allocated beyond its frames.
  /** The snapshot being written; `undefined` until it is read. */
  snap: Snapshot | undefined;
  head: string;
  /** The next seq to send. */
  next: number;
  /** The snapshot's seq when it was read: nothing above it is sent. */
  last: number;
  epoch: string | undefined;
  reason: TruncationReason | undefined;
  /** `msg` frames sent and their length, reported once at the end. */
  messages: number;
  bytes: number;
  /** `false` once a send failed or the pace said stop. */
  open: boolean;
  /** The pace's promise to wait on before going on. */
  wait: Promise<boolean> | undefined;
}

function afterGate(request: Request, verdict: SubscribeVerdict): Promise<void> {
  const { send, topic, reqField } = request;
  if (verdict !== null) {
    if (send(deniedFrame(topic, reqField, verdict))) send(endFrame(topic, reqField, { denied: true }));
    request.metrics?.replayed('denied', verdict, 0, 0, -1);
    return SETTLED;
  }
  // A closing socket reads nothing more; a busy loop or a full socket is waited for first.
  const go = request.pace?.(request.topic) ?? true;
  if (go === false) return SETTLED;
  if (go !== true) return go.then((ok) => (ok ? readAndWrite(request) : undefined));
  return readAndWrite(request);
}

function readAndWrite(request: Request): Promise<void> {
  const { read, topic, position } = request;
  const from = firstWanted(position);
  let snap: Snapshot | Promise<Snapshot>;
  try {
    snap = read(topic, from, position ?? NO_POSITION);
  } catch (error) {
    return backendFailed(request, error);
  }
  if (snap instanceof Promise) {
    // A replay that waits on a backend is always timed: from here when arrival was not sampled.
    if (request.metrics !== undefined && request.started === undefined) request.started = performance.now();
    return snap.then(
      (s) => writeFrames(request, s),
      (error: unknown) => backendFailed(request, error),
    );
  }
  return writeFrames(request, snap) ?? SETTLED;
}

/** The first seq a request can use, as snapshot readers are asked for it. */
function firstWanted(position: RequestedPosition): number {
  return position === null ? Infinity : position.seq + 1;
}

function backendFailed(request: Request, error: unknown): Promise<void> {
  const code = errorCode(error, 'BACKEND_ERROR') === 'TIMEOUT' ? 'TIMEOUT' : 'BACKEND_ERROR';
  request.send(endFrame(request.topic, request.reqField, { error: code }));
  // Answered and logged, never rejected: seed handlers call replay() without await, and a
  // rejection there would be unhandled and end the process. The client retries after `end`.
  logError('replay failed', error, request.logger, code);
  const metrics = request.metrics;
  if (metrics !== undefined) {
    metrics.replayed('error', code, 0, 0, -1);
    metrics.error(code);
  }
  return SETTLED;
}

/**
 * Writes the answer to one request. With a pace, it stops after any frame to let other work run
 * or the socket drain, then goes on from the next seq. An in-memory snapshot is the topic's live
 * log, so what it holds is fixed first: entries appended meanwhile are not sent (the client
 * gets them live), and when entries it still had to send were evicted meanwhile the answer ends
 * at the last seq sent, as a page: `end` names exactly what was sent and the client asks for
 * the rest when the next live frame shows the gap. Nothing is ever skipped silently.
 */
function writeFrames(request: Request, snap: Snapshot): void | Promise<void> {
  const { send, topic, position, reqField } = request;
  const plan = planFor(position, snap);
  const last = snap.seq;
  const epoch = snap.epoch;
  const truncated = plan.reason !== undefined;
  if (truncated && !send(truncatedFrame(topic, reqField, plan.reason!, snap.oldest, last, epoch))) return;
  if (plan.from > last) {
    if (send(endFrame(topic, reqField, { seq: last, epoch, truncated }))) request.metrics?.replayed(truncated ? 'truncated' : 'ok', plan.reason, 0, 0, request.started ?? -1);
    return;
  }
  request.snap = snap;
  request.head = replayHead(topic, 'msg', reqField);
  request.next = plan.from;
  request.last = last;
  request.epoch = epoch;
  request.reason = plan.reason;
  return step(request);
}

/** Sends from `request.next` on until the snapshot is done, the socket closes, or the pace asks to wait. */
function step(request: Request): void | Promise<void> {
  request.wait = undefined;
  request.snap!.each(request.next, (seq, event, json) => sendMsg(request, seq, event, json));
  if (!request.open) return;
  const wait = request.wait as Promise<boolean> | undefined;
  if (wait !== undefined && request.next <= request.last) return wait.then((ok) => (ok ? step(request) : undefined));
  const { topic, reqField, reason } = request;
  const truncated = reason !== undefined;
  if (request.send(endFrame(topic, reqField, { seq: request.next - 1, epoch: request.epoch, truncated }))) {
    request.metrics?.replayed(truncated ? 'truncated' : 'ok', reason, request.messages, request.bytes, request.started ?? -1);
  }
}

/** One entry of the snapshot: `true` to be given the next one. */
function sendMsg(request: Request, seq: number, event: string, json: string): boolean {
  if (seq !== request.next || seq > request.last) return false;
  const frame = msgFrame(request.head, seq, event, json);
  if (!request.send(frame)) return (request.open = false);
  request.messages++;
  request.bytes += frame.length;
  request.next = seq + 1;
  const go = request.pace?.(request.topic) ?? true;
  if (go === true) return true;
  if (go === false) return (request.open = false);
  request.wait = go;
  return false;
}

/**
 * Symbol under which a buffer exposes `serveFrame` to platforms that want to await it.
 * @internal Between this package's buffers and its platform; not part of the API.
 */
export const SERVE_FRAME = Symbol.for('gapless-replay.serveFrame');

/** @internal */
export interface FrameServer {
  /** `true` when `frame` was a replay or replay-batch request; answering runs in the background. */
  handle(ws: unknown, frame: unknown, platform: ReplayPlatform): boolean;
  /** The same, returning the work's promise (never rejecting) or `undefined` for other frames. */
  [SERVE_FRAME](ws: unknown, frame: unknown, platform: ReplayPlatform): Promise<void> | undefined;
}

/**
 * Serves one request; `read`, when given, replaces the backend's own snapshot reader, and
 * `decided` is the gate's verdict when it was already asked.
 */
type ServeOne = (ws: unknown, topic: unknown, since: unknown, epoch: unknown, platform: ReplayPlatform, reqId: unknown, read?: SnapshotReader, decided?: SubscribeVerdict) => Promise<void>;

/** Logs a failure outside any one request's answer, to the socket's platform's logger. */
function failed(ws: unknown, platform: ReplayPlatform, error: unknown): void {
  let logger: Logger | undefined;
  try {
    logger = channelOf(ws, platform)?.logger;
  } catch {
    // A platform that cannot say: the default logger.
  }
  logError('replay failed', error, logger);
}

/** Whether a batch item names a topic a replay could read: the others are answered without a gate or a read. */
function readable(item: Record<string, unknown>): item is Record<string, unknown> & { topic: string } {
  return isValidTopic(item.topic) && !isSystemTopic(item.topic);
}

/** The snapshot requests of a batch's allowed items, in order, as serveReplay will ask for them. */
function batchRequests(items: readonly Record<string, unknown>[], verdicts: readonly (SubscribeVerdict | undefined)[]): SnapshotRequest[] {
  const requests: SnapshotRequest[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (verdicts[i] !== null || !readable(item)) continue;
    const position = parseSince(item.since, item.epoch);
    requests.push({ topic: item.topic, from: firstWanted(position), held: position ?? NO_POSITION });
  }
  return requests;
}

/**
 * Builds `handle` for a backend from its one-request server, and its batch reader when reading
 * many snapshots together saves round trips. @internal
 */
export function createFrameServer(serveOne: ServeOne, readBatch?: BatchReader): FrameServer {
  function serveFrame(ws: unknown, input: unknown, platform: ReplayPlatform): Promise<void> | undefined {
    const frame = decodeFrame(input);
    if (frame === undefined) return undefined;
    const type = controlType(frame);
    if (type === 'replay') {
      const served = serveOne(ws, frame.topic, frame.since, frame.epoch, platform, frame.reqId);
      // A request answered at once cannot fail later: no handler to allocate for it.
      return served === SETTLED ? served : served.catch((error: unknown) => failed(ws, platform, error));
    }
    if (type !== 'replay-batch') return undefined;
    const logFailure = (error: unknown) => failed(ws, platform, error);
    const items = batchItems(frame.items);
    if (items === undefined || !items.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))) {
      sendUnrouted(ws, platform, errorFrame('INVALID_FRAME', normalizeReqId(frame.reqId)));
      return SETTLED;
    }
    const list = items as Record<string, unknown>[];
    if (readBatch === undefined) {
      return (async () => {
        for (const item of list) await serveOne(ws, item.topic, item.since, item.epoch, platform, item.reqId).catch(logFailure);
      })();
    }
    return (async () => {
      // Reading ahead for many items must never read a topic the socket may not have: every
      // item's verdict comes first, and only allowed items are read.
      const channel = channelOf(ws, platform);
      const verdicts: (SubscribeVerdict | undefined)[] = [];
      for (const item of list) verdicts.push(readable(item) ? await gate(ws, item.topic, platform, channel) : undefined);
      let read: SnapshotReader | undefined;
      try {
        read = readBatch(batchRequests(list, verdicts));
      } catch (error) {
        // Each item then reads on its own.
        logFailure(error);
      }
      for (let i = 0; i < list.length; i++) {
        const item = list[i]!;
        await serveOne(ws, item.topic, item.since, item.epoch, platform, item.reqId, read, verdicts[i]).catch(logFailure);
      }
    })();
  }
  return {
    handle(ws, frame, platform) {
      try {
        return serveFrame(ws, frame, platform) !== undefined;
      } catch (error) {
        failed(ws, platform, error);
        return true;
      }
    },
    [SERVE_FRAME]: serveFrame,
  };
}

/**
 * @internal Answers replay requests that nothing can serve with `end {error: code}` each (an invalid
 * topic with the usual `error` frame), so that no client waits for an answer that never comes.
 */
export function createRefusal(code: ErrorCode): FrameServer {
  return createFrameServer((ws, topic, _since, _epoch, platform, rawReqId) => {
    const reqId = normalizeReqId(rawReqId);
    const metrics = channelOf(ws, platform)?.metrics;
    if (isValidTopic(topic)) {
      frameSender(ws, platform)(endFrame(topic, reqIdField(reqId), { error: code }));
      metrics?.replayed('error', code, 0, 0, -1);
    } else {
      sendUnrouted(ws, platform, errorFrame('INVALID_TOPIC', reqId));
      metrics?.replayed('denied', 'INVALID_TOPIC', 0, 0, -1);
    }
    return SETTLED;
  });
}

export type { ReqId };
