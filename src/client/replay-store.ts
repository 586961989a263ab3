/**
 * `onReplay(topic, { since })`: a store that asks for what it missed since `since`, then hands
 * over to live with nothing lost, nothing twice and nothing out of order.
 *
 * The position (`seq`, `epoch`) belongs to the store, not to one activation: a remount resumes
 * from where the store left off, which is what lets `scan` fold every event exactly once.
 */
import { describe, gaplessError } from '../core/errors.js';
import { isSystemTopic, isValidTopic } from '../core/names.js';
import { compareSeq, isValidEpoch, isValidSeq, parseSince, type Since } from '../core/position.js';
import type { ReqId } from '../protocol/frames.js';
import { backoffDelay } from './backoff.js';
import { defaultConnection, type Connection, type LiveEvent, type ReplayClient, type ReplayItem } from './connection.js';
import { cell, withScan, type EventStore, type Readable } from './store.js';

export type ReplayState = 'idle' | 'replaying' | 'live' | 'denied';

export interface ReplayStatus {
  /** `idle`: no subscriber. `replaying`: waiting for (or retrying) a replay. `live`: caught up. `denied`: the server refused the topic. */
  state: ReplayState;
  /** How the last replay ended: `error` while it is being retried (timeout or `end {error}`). */
  outcome?: 'ok' | 'truncated' | 'error';
  /** Truncation reason (`evicted`, `reset`, `invalid`), denial code, or error code. */
  reason?: string;
  /** Last seq delivered (or the position resumed from). */
  seq: number;
  /** Epoch of `seq`; `undefined` until the server names one when `since` was a bare seq. */
  epoch: string | undefined;
}

export interface ReplayOptions {
  /** Where the SSR data stopped: a position `{seq, epoch}` or a bare seq (seed form). */
  since: Since;
  /** Connection to use. Default: the shared one (`connect()`); none during SSR. */
  connection?: Connection;
}

export interface ReplayStore<T = unknown> extends EventStore<LiveEvent<T>> {
  readonly status: Readable<ReplayStatus>;
}


/** Most live frames held while a replay is outstanding. */
const MAX_HELD = 4096;

export function onReplay<T = unknown>(topic: string, options: ReplayOptions): ReplayStore<T> {
  if (!isValidTopic(topic) || isSystemTopic(topic)) throw gaplessError('type', 'INVALID_TOPIC', `onReplay topic must be a valid, non-system topic, got ${describe(topic)}`);
  const start = parseSince(options?.since);
  if (start === null) {
    throw gaplessError('type', 'INVALID_ARGUMENT', `onReplay needs since: a safe non-negative integer seq or a position {seq, epoch}, got ${describe(options?.since)}`);
  }
  let seq = start.seq;
  let epoch = start.epoch;
  let state: ReplayState = 'idle';
  let outcome: ReplayStatus['outcome'];
  let reason: string | undefined;
  let conn: Connection | undefined;
  let reqId: ReqId | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** When the current request was sent or last received a frame (ms): its timeout measures silence, not duration. */
  let heard = 0;
  /** Live frames that arrived while a replay was outstanding, in arrival order. */
  let held: LiveEvent[] = [];
  /** How many of `held` arrived before the current request was sent. */
  let heldBefore = 0;
  /** What the current request's frames said before its `end`. */
  let truncation: string | undefined;
  /**
   * A truncation whose gap was already passed (messages after it delivered) by a request that
   * never reached `end` (socket lost, timeout, unmount): the next `end` reports it, so no gap goes unreported.
   */
  let owed: string | undefined;
  let denial: string | undefined;
  let errors = 0;
  /** Epochs this store has moved away from: frames still in flight from them are stale, not a new reset. */
  const retired = new Set<string>();
  let release: (() => void) | undefined;

  const events = cell<LiveEvent<T> | null>(null, activate);
  const status = cell<ReplayStatus>(snapshot());

  function snapshot(): ReplayStatus {
    const s: ReplayStatus = { state, seq, epoch };
    if (outcome !== undefined) s.outcome = outcome;
    if (reason !== undefined) s.reason = reason;
    return s;
  }

  /**
   * Every status transition goes through here, and status is emitted only when something a
   * subscriber can see changed. Status objects are built only while someone watches, so live
   * frames cost nothing extra.
   */
  function update(next: ReplayState, out: ReplayStatus['outcome'], why: string | undefined): void {
    state = next;
    outcome = out;
    reason = why;
    if (status.size === 0) return;
    const v = status.value;
    if (v.state !== state || v.outcome !== outcome || v.reason !== reason || v.seq !== seq || v.epoch !== epoch) status.set(snapshot());
  }

  function emit(event: LiveEvent): void {
    events.set(event as LiveEvent<T>);
  }

  function synthetic(event: 'truncated' | 'denied'): void {
    emit({ topic, event, data: null, seq });
  }

  /** Forgets the outstanding request and its timer; frames still in flight for it are dropped. */
  function drop(): void {
    clearTimeout(timer);
    timer = undefined;
    if (reqId !== undefined) conn?.settle(reqId);
    reqId = undefined;
  }

  /** Sends (or adds to `batch`) a request from the current position, with a fresh reqId. */
  function ask(batch?: ReplayItem[]): void {
    drop();
    if (conn === undefined) return;
    truncation = denial = undefined;
    heldBefore = held.length;
    reqId = conn.request(client, seq, epoch, batch);
    // Not sent (socket not open): the connection's next open asks again through `resume`.
    if (reqId !== undefined) {
      heard = Date.now();
      timer = setTimeout(silence, conn.replayTimeout);
    }
    update('replaying', outcome, reason);
  }

  /**
   * The request's timer: a request still receiving its frames (a long replay to a slow reader)
   * is not timed out; one that heard nothing for `replayTimeout` is asked again.
   */
  function silence(): void {
    const limit = conn!.replayTimeout;
    const quiet = Date.now() - heard;
    if (quiet < limit) {
      timer = setTimeout(silence, limit - quiet);
      return;
    }
    timer = undefined;
    update('replaying', 'error', 'TIMEOUT');
    // May drop the socket: the request below then waits for the next open.
    conn!.stalled();
    ask();
  }

  function retry(): void {
    const b = conn!.backoff;
    timer = setTimeout(ask, backoffDelay(errors++, b.base, b.max));
  }

  /** The server refused the topic: stop asking, stop holding, release the live subscription. */
  function refuse(why: string): void {
    drop();
    held = [];
    // The server refuses (or has ended) the live subscription too: it would only hold a slot.
    release?.();
    release = undefined;
    update('denied', undefined, why);
    synthetic('denied');
  }

  const client: ReplayClient = {
    topic,
    resume(batch) {
      if (state === 'replaying' || state === 'live') ask(batch);
    },
    down() {
      drop();
    },
    deny(why) {
      // Settles the request too, so its own `denied`/`end`, still in flight, cannot deny twice.
      if (state === 'replaying' || state === 'live') refuse(why);
    },
    frame(event, d) {
      heard = Date.now();
      if (event === 'msg') {
        const s = d.seq;
        // At most once per seq: a retried or overlapping request never delivers twice.
        if (!isValidSeq(s) || s <= seq) return;
        if (truncation !== undefined) owed ??= truncation;
        seq = s;
        emit({ topic, event: String(d.event), data: d.data === undefined ? null : d.data, seq: s });
      } else if (event === 'truncated') {
        truncation = typeof d.reason === 'string' ? d.reason : 'evicted';
      } else if (event === 'denied') {
        denial = typeof d.code === 'string' ? d.code : 'FORBIDDEN';
      } else if (event === 'end') {
        end(d);
      }
    },
  };

  function end(d: Record<string, unknown>): void {
    drop();
    if (denial !== undefined || d.denied === true) return refuse(denial ?? 'FORBIDDEN');
    if (typeof d.error === 'string') {
      update('replaying', 'error', d.error);
      retry();
      return;
    }
    errors = 0;
    truncation ??= owed;
    owed = undefined;
    const endSeq = d.seq;
    const endEpoch = d.epoch;
    const named = isValidEpoch(endEpoch);
    // A seq without an epoch: the server holds nothing for the topic (a replay creates no
    // state there). The position is that seq in no epoch yet; the first live frame names it.
    const blank = !named && isValidSeq(endSeq);
    const newEpoch = named ? endEpoch : blank ? undefined : epoch;
    // A server that ignored the epoch we sent (a hand-written handler passing only `since`)
    // answers from another life of the counter without saying so: that is a reset all the
    // same. So is a server with no state for a topic we hold messages of.
    const moved = named ? epoch !== undefined && newEpoch !== epoch : blank && endSeq < seq;
    const truncated = truncation !== undefined || d.truncated === true || moved;
    if (truncated && truncation === undefined) truncation = moved ? 'reset' : 'evicted';
    // A truncated answer names the position to continue from (after a reset it can be lower than ours).
    if (isValidSeq(endSeq) && (truncated || endSeq > seq)) seq = endSeq;
    if (named) {
      if (epoch !== undefined && newEpoch !== epoch) retired.add(epoch);
      // A frame received before the request was sent was published before the server read the
      // topic: if the answer names another epoch, the frame's epoch is over. Retiring it keeps a
      // dead frame from asking again forever.
      for (let i = 0; i < heldBefore; i++) {
        const e = held[i]!.epoch;
        if (isValidEpoch(e) && e !== newEpoch) retired.add(e);
      }
    }
    epoch = newEpoch;
    update('live', truncated ? 'truncated' : 'ok', truncation);
    if (truncated) synthetic('truncated');
    const list = held;
    held = [];
    for (let i = 0; i < list.length; i++) live(list[i]!);
  }

  /** One live frame: the hot path. Allocates nothing; the frame object itself is the event. */
  function live(frame: LiveEvent): void {
    if (state === 'replaying') {
      // Bounded while a replay keeps failing: the oldest half goes. Frames with an epoch come
      // back through the replay (the merge sees the gap and asks); frames without one are lost.
      if (held.length >= MAX_HELD) {
        held = held.slice(MAX_HELD / 2);
        heldBefore = Math.max(0, heldBefore - MAX_HELD / 2);
      }
      held.push(frame);
      return;
    }
    if (state !== 'live') return;
    const e = frame.epoch;
    const s = frame.seq;
    // No epoch: the seq is not the buffer's, so it can neither be checked nor advance the position.
    if (!isValidEpoch(e) || !isValidSeq(s)) return emit(frame);
    // No epoch known yet (a bare-seq start, or a topic the server had no state for): the first
    // frame names it. If it is not the next seq, the gap below asks for what came before it.
    if (epoch === undefined) epoch = e;
    if (e !== epoch) {
      if (retired.has(e)) return;
      // The counter was reset: ask from our position; the server answers `truncated` (reset).
      held.push(frame);
      return ask();
    }
    const rel = compareSeq(seq, s);
    if (rel === 'old') return;
    if (rel === 'gap') {
      held.push(frame);
      return ask();
    }
    seq = s;
    update('live', outcome, reason);
    emit(frame);
  }

  function activate(): () => void {
    conn = options.connection ?? defaultConnection();
    // SSR (no socket) or a closed connection: the store stays idle with its initial value.
    if (conn === undefined || conn.closed) {
      conn = undefined;
      return () => {};
    }
    // Subscribe before asking: the server then reads the replay after the live subscription exists.
    const unlisten = conn.listen(topic, live);
    const detach = conn.attach(client);
    release = unlisten;
    errors = 0;
    ask();
    return () => {
      drop();
      detach();
      release?.();
      release = undefined;
      held = [];
      conn = undefined;
      events.value = null;
      update('idle', outcome, reason);
    };
  }

  return {
    ...withScan(events.store),
    status: {
      subscribe(run) {
        if (status.size === 0) status.value = snapshot();
        return status.store.subscribe(run);
      },
    },
  };
}
