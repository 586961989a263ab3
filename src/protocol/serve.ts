/**
 * Answering replay requests: the part both backends share. A backend supplies one
 * consistent snapshot per request; everything about which frames follow is decided here.
 */
import type { TruncationReason } from '../core/codes.js';
import { isSystemTopic, isValidTopic } from '../core/names.js';
import { describe, gaplessError } from '../core/errors.js';
import { logError } from '../core/log.js';
import { isValidSeq } from '../core/position.js';
import type { ReplayPlatform, SubscribeVerdict } from '../core/types.js';
import { deniedFrame, endFrame, errorFrame, msgFrame, replayHead, reqIdField, truncatedFrame, type ReqId } from './frames.js';
import { batchItems, controlType, decodeFrame, normalizeReqId } from './parse.js';

/** One consistent view of a topic, read in one step (one synchronous read, one Redis script). */
export interface Snapshot {
  seq: number;
  epoch: string;
  /** Seq of the oldest buffered entry; `seq + 1` when nothing is buffered. */
  oldest: number;
  /** Calls `emit` for each buffered entry with seq >= `from`, ascending, until it returns false. */
  each(from: number, emit: (seq: number, event: string, json: string) => boolean): void;
}

/** Reads a snapshot of `topic`; `from` is the first seq the request can use (a hint for paging). */
export type SnapshotReader = (topic: string, from: number) => Snapshot | Promise<Snapshot>;

type RequestedPosition = ReturnType<typeof requestedPosition>;

export interface ReplayPlan {
  reason: TruncationReason | undefined;
  /** First seq to send; above `snapshot.seq` when no `msg` follows. */
  from: number;
}

/**
 * A request's position: its seq, and its epoch (`undefined` for the seed form, a bare seq;
 * `false` when what was given cannot be an epoch). `since` may be a seq or a `{seq, epoch}`;
 * `epoch` is the wire frame's separate field.
 */
export function requestedPosition(since: unknown, epoch: unknown): { seq: unknown; epoch: string | undefined | false } {
  if (typeof since === 'object' && since !== null) {
    const p = since as { seq?: unknown; epoch?: unknown };
    return { seq: p.seq, epoch: typeof p.epoch === 'string' ? p.epoch : false };
  }
  return { seq: since, epoch: epoch === undefined || epoch === null ? undefined : typeof epoch === 'string' ? epoch : false };
}

/** The truncation rules of DESIGN §8, in one pure function. */
export function planReplay(since: unknown, epoch: string | undefined | false, snap: Pick<Snapshot, 'seq' | 'epoch' | 'oldest'>): ReplayPlan {
  if (!isValidSeq(since) || epoch === false) return { reason: 'invalid', from: Infinity };
  if ((epoch !== undefined && epoch !== snap.epoch) || since > snap.seq) return { reason: 'reset', from: Infinity };
  if (since + 1 < snap.oldest) return { reason: 'evicted', from: snap.oldest };
  return { reason: undefined, from: since + 1 };
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

function gate(ws: unknown, topic: string, platform: ReplayPlatform): SubscribeVerdict | Promise<SubscribeVerdict> {
  if (typeof platform.checkSubscribe !== 'function') return null;
  try {
    const verdict = platform.checkSubscribe(ws, topic);
    if (verdict instanceof Promise) return verdict.then((v) => v ?? null, () => 'INTERNAL_ERROR');
    return verdict ?? null;
  } catch {
    return 'INTERNAL_ERROR';
  }
}

/**
 * Serves one replay request: gate, snapshot, frames. Resolves when every frame is sent (or the
 * socket went away); rejects only after sending `end {error}` when the backend failed.
 * `since` is a seq or a position; `epoch` is the wire frame's field (undefined in the API form).
 */
export function serveReplay(
  read: SnapshotReader,
  ws: unknown,
  topic: unknown,
  since: unknown,
  epoch: unknown,
  platform: ReplayPlatform,
  rawReqId: unknown,
): Promise<void> {
  if (typeof (platform as ReplayPlatform | null)?.send !== 'function' && typeof (platform as ReplayPlatform | null)?.sendText !== 'function') {
    return Promise.reject(gaplessError('type', 'INVALID_ARGUMENT', `platform must be an object with a send method, got ${describe(platform)}`));
  }
  const reqId = normalizeReqId(rawReqId);
  if (!isValidTopic(topic)) {
    sendUnrouted(ws, platform, errorFrame('INVALID_TOPIC', reqId));
    return Promise.resolve();
  }
  const send = frameSender(ws, platform);
  const reqField = reqIdField(reqId);
  const position = requestedPosition(since, epoch);
  const verdict = isSystemTopic(topic) ? 'INVALID_TOPIC' : gate(ws, topic, platform);
  if (verdict instanceof Promise) return verdict.then((v) => afterGate(read, send, topic, position, reqField, v));
  return afterGate(read, send, topic, position, reqField, verdict);
}

function afterGate(
  read: SnapshotReader,
  send: (frame: string) => boolean,
  topic: string,
  position: RequestedPosition,
  reqField: string,
  verdict: SubscribeVerdict,
): Promise<void> {
  if (verdict !== null) {
    if (send(deniedFrame(topic, reqField, verdict))) send(endFrame(topic, reqField, { denied: true }));
    return Promise.resolve();
  }
  const from = isValidSeq(position.seq) ? position.seq + 1 : Infinity;
  let snap: Snapshot | Promise<Snapshot>;
  try {
    snap = read(topic, from);
  } catch (error) {
    return backendFailed(send, topic, reqField, error);
  }
  if (snap instanceof Promise) {
    return snap.then(
      (s) => writeFrames(send, topic, position, reqField, s),
      (error: unknown) => backendFailed(send, topic, reqField, error),
    );
  }
  writeFrames(send, topic, position, reqField, snap);
  return Promise.resolve();
}

function backendFailed(send: (frame: string) => boolean, topic: string, reqField: string, error: unknown): Promise<never> {
  const code = (error as { code?: unknown } | null)?.code === 'TIMEOUT' ? 'TIMEOUT' : 'BACKEND_ERROR';
  send(endFrame(topic, reqField, { error: code }));
  return Promise.reject(error);
}

function writeFrames(send: (frame: string) => boolean, topic: string, position: RequestedPosition, reqField: string, snap: Snapshot): void {
  const plan = planReplay(position.seq, position.epoch, snap);
  if (plan.reason !== undefined && !send(truncatedFrame(topic, reqField, plan.reason, snap.oldest, snap.seq, snap.epoch))) return;
  if (plan.from <= snap.seq) {
    const head = replayHead(topic, 'msg', reqField);
    let open = true;
    snap.each(plan.from, (seq, event, json) => (open = send(msgFrame(head, seq, event, json))));
    if (!open) return;
  }
  send(endFrame(topic, reqField, { seq: snap.seq, epoch: snap.epoch, truncated: plan.reason !== undefined }));
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

type ServeOne = (ws: unknown, topic: unknown, since: unknown, epoch: unknown, platform: ReplayPlatform, reqId: unknown) => Promise<void>;

function logFailure(error: unknown): void {
  logError('replay failed', error);
}

/** Builds `handle` for a backend from its one-request server. @internal */
export function createFrameServer(serveOne: ServeOne): FrameServer {
  function serveFrame(ws: unknown, input: unknown, platform: ReplayPlatform): Promise<void> | undefined {
    const frame = decodeFrame(input);
    if (frame === undefined) return undefined;
    const type = controlType(frame);
    if (type === 'replay') return serveOne(ws, frame.topic, frame.since, frame.epoch, platform, frame.reqId).catch(logFailure);
    if (type !== 'replay-batch') return undefined;
    const items = batchItems(frame.items);
    if (items === undefined || !items.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))) {
      sendUnrouted(ws, platform, errorFrame('INVALID_FRAME', normalizeReqId(frame.reqId)));
      return Promise.resolve();
    }
    return (async () => {
      for (const item of items as Record<string, unknown>[]) {
        await serveOne(ws, item.topic, item.since, item.epoch, platform, item.reqId).catch(logFailure);
      }
    })();
  }
  return {
    handle(ws, frame, platform) {
      try {
        return serveFrame(ws, frame, platform) !== undefined;
      } catch (error) {
        logFailure(error);
        return true;
      }
    },
    [SERVE_FRAME]: serveFrame,
  };
}

export type { ReqId };
