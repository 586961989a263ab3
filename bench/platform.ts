/**
 * The platform every benchmark drives both buffers through, so that the only difference
 * measured is the buffer.
 *
 * `publish` and `send` build the envelope exactly as svelte-adapter-uws 0.3.4's platform
 * does (files/handler.js): a name check, then `'{"topic":"T","event":"E","data":' +
 * JSON.stringify(data) + '}'`, one `JSON.stringify` per call. `publishJson` and `sendText`
 * are the serialize-once methods our `ws` platform implements, built with the encoders of
 * `src/protocol/frames.ts`.
 *
 * A socket is a cheap sink that counts frames and bytes. It also reads the frame's last
 * character: a concatenated string is a V8 cons string until something flattens it, and a
 * real socket write (uWS or ws) flattens it to encode it, so the sink makes both sides pay
 * that copy instead of letting a lazy concatenation look free.
 */
import { liveFrame } from '../src/protocol/frames.js';
import type { ReplayPlatform } from '../src/core/types.js';

export interface BenchSocket {
  frames: number;
  bytes: number;
  /** Last character code of the last frame (keeps the read from being optimized away). */
  last: number;
}

export interface BenchPlatform extends Required<Pick<ReplayPlatform<BenchSocket>, 'publish' | 'send' | 'publishJson' | 'sendText'>> {
  /** The fake subscribers `publish` and `publishJson` deliver to. */
  readonly subscribers: readonly BenchSocket[];
  /** Counters back to zero. */
  reset(): void;
}

/** The subset svelte-adapter-uws's replay plugin calls: no serialize-once methods. */
export type RefPlatform = Pick<BenchPlatform, 'publish' | 'send'>;

export function createSocket(): BenchSocket {
  return { frames: 0, bytes: 0, last: 0 };
}

function write(ws: BenchSocket, frame: string): void {
  ws.frames++;
  ws.bytes += frame.length;
  ws.last = frame.charCodeAt(frame.length - 1);
}

/** svelte-adapter-uws's `esc`: rejects characters that would need escaping, then quotes. */
function esc(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92) throw new Error(`invalid character at index ${i}: '${s}'`);
  }
  return '"' + s + '"';
}

/** A platform with `subscriberCount` subscribers on every topic. */
export function createBenchPlatform(subscriberCount = 1): BenchPlatform {
  const subscribers: BenchSocket[] = [];
  for (let i = 0; i < subscriberCount; i++) subscribers.push(createSocket());

  function fanOut(frame: string): void {
    for (let i = 0; i < subscribers.length; i++) write(subscribers[i]!, frame);
  }

  return {
    subscribers,
    publish(topic, event, data, options) {
      let envelope = '{"topic":' + esc(topic) + ',"event":' + esc(event) + ',"data":' + JSON.stringify(data);
      // 0.3.4 ignores options; a buffer that passes its position gets it on the frame.
      if (options?.seq !== undefined) envelope += ',"seq":' + options.seq + ',"epoch":"' + options.epoch + '"';
      fanOut(envelope + '}');
      return true;
    },
    send(ws, topic, event, data) {
      write(ws, '{"topic":' + esc(topic) + ',"event":' + esc(event) + ',"data":' + JSON.stringify(data) + '}');
      return true;
    },
    publishJson(topic, event, json, seq, epoch) {
      fanOut(liveFrame(topic, event, json, seq, epoch));
    },
    sendText(ws, frame) {
      write(ws, frame);
      return true;
    },
    reset() {
      for (const s of subscribers) s.frames = s.bytes = s.last = 0;
    },
  };
}

/** The same platform without the serialize-once methods, as the reference buffer sees one. */
export function refView(platform: BenchPlatform): RefPlatform {
  return { publish: platform.publish, send: platform.send };
}
