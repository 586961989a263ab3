/**
 * A WebSocket double for client state-machine tests: the test decides when a socket opens,
 * what it receives and when it dies, and reads every frame the client sent.
 */
import { endFrame, liveFrame, msgFrame, replayHead, reqIdField, truncatedFrame, deniedFrame, type ReqId } from '../../src/protocol/frames.js';

export class FakeSocket {
  readyState = 0;
  readonly sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closedByClient = false;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('FakeSocket: send while not open');
    this.sent.push(data);
  }

  close(): void {
    this.closedByClient = true;
    this.readyState = 3;
  }

  // ---- test side -------------------------------------------------------------------------

  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }

  /** The server side drops the connection. */
  drop(): void {
    this.readyState = 3;
    this.onclose?.();
  }

  receive(text: string): void {
    this.onmessage?.({ data: text });
  }

  /** Sent frames, parsed. */
  frames(): Record<string, unknown>[] {
    return this.sent.map((s) => JSON.parse(s) as Record<string, unknown>);
  }

  /** Parsed frames sent since the last call. */
  take(): Record<string, unknown>[] {
    const out = this.frames().slice(this.taken);
    this.taken = this.sent.length;
    return out;
  }
  private taken = 0;
}

/** A constructor bound to a list that records every socket the client creates. */
export function fakeSockets(): { WebSocket: new (url: string) => FakeSocket; sockets: FakeSocket[]; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  class Bound extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return {
    WebSocket: Bound,
    sockets,
    last() {
      const s = sockets[sockets.length - 1];
      if (s === undefined) throw new Error('no socket was created');
      return s;
    },
  };
}

/** Server frames, built with the real encoders so tests and server agree on shapes. */
export const server = {
  live(topic: string, event: string, data: unknown, seq: number, epoch: string): string {
    return liveFrame(topic, event, JSON.stringify(data), seq, epoch);
  },
  plain(topic: string, event: string, data: unknown, seq?: number): string {
    return JSON.stringify(seq === undefined ? { topic, event, data } : { topic, event, data, seq });
  },
  msg(topic: string, reqId: ReqId | undefined, seq: number, event: string, data: unknown): string {
    return msgFrame(replayHead(topic, 'msg', reqIdField(reqId)), seq, event, JSON.stringify(data) ?? 'null');
  },
  truncated(topic: string, reqId: ReqId | undefined, reason: 'evicted' | 'reset' | 'invalid', oldest: number, seq: number, epoch: string): string {
    return truncatedFrame(topic, reqIdField(reqId), reason, oldest, seq, epoch);
  },
  denied(topic: string, reqId: ReqId | undefined, code: string): string {
    return deniedFrame(topic, reqIdField(reqId), code);
  },
  end(topic: string, reqId: ReqId | undefined, fields: { seq?: number; epoch?: string; truncated?: boolean; denied?: boolean; error?: string }): string {
    return endFrame(topic, reqIdField(reqId), fields);
  },
};
