/**
 * The wire frames: their types, and the only code that writes them.
 *
 * Topics, event names and epochs are validated to need no JSON escaping, and payloads
 * arrive as JSON text, so frames are built by concatenation: a payload is never
 * serialized twice, whether it goes to one socket or ten thousand.
 */
import type { ErrorCode, TruncationReason } from '../core/codes.js';
import { flat } from '../core/flat.js';
import { REPLAY_PREFIX } from '../core/names.js';

/** A request id as it travels: a string of 1-64 characters or a safe integer. */
export type ReqId = string | number;

// ---- client -> server ----------------------------------------------------------------

export interface SubscribeRequest { type: 'subscribe'; topic: string; ref?: ReqId }
export interface UnsubscribeRequest { type: 'unsubscribe'; topic: string }
export interface SubscribeBatchRequest { type: 'subscribe-batch'; topics: string[]; ref?: ReqId }
export interface ReplayRequest { type: 'replay'; topic: string; since: number; epoch?: string; reqId?: ReqId }
export interface ReplayBatchRequest { type: 'replay-batch'; items: Omit<ReplayRequest, 'type'>[] }
/** The answer to every `ping`; any frame resets the server's silence timer, this one exists for idle clients. */
export interface PongFrame { type: 'pong' }
export type ControlFrame = SubscribeRequest | UnsubscribeRequest | SubscribeBatchRequest | ReplayRequest | ReplayBatchRequest | PongFrame;

// ---- server -> client ----------------------------------------------------------------

/** Every frame the server sends on a topic: the svelte-adapter-uws envelope. */
export interface Envelope<E extends string = string, D = unknown> {
  topic: string;
  event: E;
  data: D;
  /** The buffer's seq: present on live frames published through a replay buffer. */
  seq?: number;
  /** The buffer's epoch. A frame without it has no trustworthy seq. */
  epoch?: string;
}

/** `epoch` is absent when the topic has no state (the client continues from seq 0 in whatever epoch comes first). */
export interface TruncatedData { reqId?: ReqId; reason: TruncationReason; oldest: number; seq: number; epoch?: string }
export interface MsgData<T = unknown> { reqId?: ReqId; seq: number; event: string; data: T }
export interface DeniedData { reqId?: ReqId; code: string }
export interface EndData { reqId?: ReqId; seq?: number; epoch?: string; truncated?: true; denied?: true; error?: string }
export type ReplayFrame =
  | Envelope<'truncated', TruncatedData>
  | Envelope<'msg', MsgData>
  | Envelope<'denied', DeniedData>
  | Envelope<'end', EndData>;

export interface SubscribedFrame { type: 'subscribed'; topic: string; ref?: ReqId }
export interface SubscribeDeniedFrame { type: 'subscribe-denied'; topic?: string; ref?: ReqId; reason: string }
export interface ErrorFrame { type: 'error'; code: ErrorCode; reqId?: ReqId }
/**
 * Sent right after a socket opens and then every `interval` ms. The client answers with `pong`
 * and treats `interval` plus its grace without any frame as a dead path.
 */
export interface PingFrame { type: 'ping'; interval: number }
/** The server revoked a subscription (`platform.unsubscribe(ws, topic, { reason })`): delivery has stopped. */
export interface UnsubscribedFrame { type: 'unsubscribed'; topic: string; reason: string }

// ---- encoders --------------------------------------------------------------------------

/** Decimal text of 0..999, plain and zero-padded to three digits. */
const DIGITS: string[] = [];
const PADDED: string[] = [];
for (let i = 0; i < 1000; i++) {
  DIGITS.push(String(i));
  PADDED.push(String(i).padStart(3, '0'));
}

/**
 * Decimal text of a seq. V8 converts numbers to strings through a cache that is a GC root:
 * seqs never repeat, so every conversion misses (a runtime call) and its string then
 * survives, and is copied by, the next young-generation GC. Joining table entries costs
 * neither.
 */
export function seqText(seq: number): string {
  if ((seq | 0) !== seq || seq < 0 || seq >= 1e9) return String(seq);
  if (seq < 1000) return DIGITS[seq]!;
  if (seq < 1e6) {
    const high = (seq / 1000) | 0;
    return DIGITS[high]! + PADDED[seq - high * 1000]!;
  }
  const high = (seq / 1e6) | 0;
  const rest = seq - high * 1e6;
  const mid = (rest / 1000) | 0;
  return DIGITS[high]! + PADDED[mid]! + PADDED[rest - mid * 1000]!;
}

/**
 * Frame parts that repeat from one frame to the next (a busy topic publishes one event name
 * over and over) are built once, flattened, and reused while they repeat: one comparison
 * instead of four concatenations, and a frame of few parts is quicker to write out.
 *
 * A part is kept only once it has been asked for twice in a row. Publishing round-robin over
 * many topics changes the topic and the epoch on every frame: a kept part would never be
 * reused, and flattening it would copy it once more than the socket write does anyway.
 */
let headTopic = '';
let headEvent = '';
let lastHead = '';
let seenTopic = '';
let tailEpoch = '';
let lastTail = '';
let seenEpoch = '';
let msgEvent = '';
let lastMsgPart = '';

/** `{"topic":T,"event":E,"data":` : the head every envelope shares. */
function head(topic: string, event: string): string {
  if (topic === headTopic && event === headEvent && lastHead !== '') return lastHead;
  const text = '{"topic":"' + topic + '","event":"' + event + '","data":';
  if (topic !== seenTopic) {
    seenTopic = topic;
    return text;
  }
  lastHead = flat(text);
  headTopic = topic;
  headEvent = event;
  return lastHead;
}

/** `,"epoch":"P"}`: the end of a live frame. */
function epochTail(epoch: string): string {
  if (epoch === tailEpoch && lastTail !== '') return lastTail;
  const text = ',"epoch":"' + epoch + '"}';
  if (epoch !== seenEpoch) {
    seenEpoch = epoch;
    return text;
  }
  lastTail = flat(text);
  tailEpoch = epoch;
  return lastTail;
}

/** `,"event":"E","data":` inside a `msg` frame. */
function msgEventPart(event: string): string {
  if (event !== msgEvent || lastMsgPart === '') {
    lastMsgPart = flat(',"event":"' + event + '","data":');
    msgEvent = event;
  }
  return lastMsgPart;
}

/** A plain envelope; `json` is the payload's JSON text. */
export function envelopeFrame(topic: string, event: string, json: string): string {
  return head(topic, event) + json + '}';
}

/** A live frame stamped with the buffer's position (a seq without epoch only for foreign publishers). */
export function liveFrame(topic: string, event: string, json: string, seq: number, epoch: string | undefined): string {
  return head(topic, event) + json + (',"seq":' + seqText(seq) + (epoch === undefined ? '}' : epochTail(epoch)));
}

/**
 * `"reqId":Q,` or `''`: computed once per request and reused in each of its frames, so a
 * long reqId is escaped once, not once per replayed message.
 */
export function reqIdField(reqId: ReqId | undefined): string {
  return reqId === undefined ? '' : '"reqId":' + JSON.stringify(reqId) + ',';
}

/** The common head of every frame answering one request on `__replay:T`. */
export function replayHead(topic: string, event: 'msg' | 'truncated' | 'denied' | 'end', reqField: string): string {
  // Flattened once per request: every frame of the answer starts with it.
  return flat('{"topic":"' + REPLAY_PREFIX + topic + '","event":"' + event + '","data":{' + reqField);
}

export function msgFrame(msgHead: string, seq: number, event: string, json: string): string {
  return msgHead + ('"seq":' + seqText(seq)) + msgEventPart(event) + json + '}}';
}

export function truncatedFrame(topic: string, reqField: string, reason: TruncationReason, oldest: number, seq: number, epoch: string | undefined): string {
  return replayHead(topic, 'truncated', reqField) + '"reason":"' + reason + '","oldest":' + oldest + ',"seq":' + seq + (epoch === undefined ? '}}' : ',"epoch":"' + epoch + '"}}');
}

export function deniedFrame(topic: string, reqField: string, code: string): string {
  return replayHead(topic, 'denied', reqField) + '"code":' + JSON.stringify(code) + '}}';
}

export interface EndFields { seq?: number; epoch?: string; truncated?: boolean; denied?: boolean; error?: string }

export function endFrame(topic: string, reqField: string, fields: EndFields): string {
  let body = '';
  if (fields.seq !== undefined) body += ',"seq":' + seqText(fields.seq);
  if (fields.epoch !== undefined) body += ',"epoch":"' + fields.epoch + '"';
  if (fields.truncated) body += ',"truncated":true';
  if (fields.denied) body += ',"denied":true';
  if (fields.error !== undefined) body += ',"error":' + JSON.stringify(fields.error);
  // The reqId field ends in a comma and the optional fields start with one: join them so
  // that `end` is valid JSON with or without either.
  const inner = reqField === '' ? body.slice(1) : reqField.slice(0, -1) + body;
  return '{"topic":"' + REPLAY_PREFIX + topic + '","event":"end","data":{' + inner + '}}';
}

export function subscribedFrame(topic: string, ref: ReqId | undefined): string {
  return JSON.stringify(ref === undefined ? { type: 'subscribed', topic } : { type: 'subscribed', topic, ref });
}

export function subscribeDeniedFrame(topic: string | undefined, ref: ReqId | undefined, reason: string): string {
  const frame: SubscribeDeniedFrame = { type: 'subscribe-denied', reason };
  if (topic !== undefined) frame.topic = topic;
  if (ref !== undefined) frame.ref = ref;
  return JSON.stringify(frame);
}

export function pingFrame(interval: number): string {
  return '{"type":"ping","interval":' + interval + '}';
}

export const PONG_FRAME = '{"type":"pong"}';

export function unsubscribedFrame(topic: string, reason: string): string {
  const frame: UnsubscribedFrame = { type: 'unsubscribed', topic, reason };
  return JSON.stringify(frame);
}

export function errorFrame(code: ErrorCode, reqId: ReqId | undefined): string {
  return JSON.stringify(reqId === undefined ? { type: 'error', code } : { type: 'error', code, reqId });
}
