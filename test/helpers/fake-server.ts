/**
 * An in-process server for client tests: the real in-memory replay buffer behind a fake
 * transport whose two directions are FIFO queues the test drains one frame at a time. It
 * behaves like the `ws` platform on the wire (frames of one socket handled in order, live
 * frames stamped with the buffer's seq and epoch), so a test can interleave publishes,
 * slow replies, lost replay requests and dead sockets at will, and thousands of runs stay fast.
 */
import type { MemoryReplay } from '../../src/memory/index.js';
import type { ReplayPlatform } from '../../src/core/types.js';
import { endFrame, envelopeFrame, liveFrame, reqIdField, type ReqId } from '../../src/protocol/frames.js';

/** Where the server writes frames: a socket, or a reply held back to be flushed later. */
export interface Sink {
  readonly alive: boolean;
  toClient: string[];
}

export class Pipe implements Sink {
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  /** Frames on their way to the server / to the client. */
  toServer: string[] = [];
  toClient: string[] = [];
  /** Replies read (snapshot taken) but not written yet: a slow backend's round trip. */
  deferred: string[][] = [];
  readonly topics = new Set<string>();

  constructor(readonly url: string, private readonly server: FakeServer) {
    server.pipes.push(this);
  }

  get alive(): boolean {
    return this.readyState === 1;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('Pipe: send while not open');
    this.toServer.push(data);
  }

  close(): void {
    this.readyState = 3;
    this.toServer = [];
    this.toClient = [];
    this.deferred = [];
    this.server.forget(this);
  }
}

export class FakeServer {
  readonly pipes: Pipe[] = [];
  readonly WebSocket: new (url: string) => Pipe;
  readonly platform: ReplayPlatform<Sink>;

  constructor(public replay: MemoryReplay) {
    const server = this;
    this.WebSocket = class extends Pipe {
      constructor(url: string) {
        super(url, server);
      }
    };
    const fanout = (topic: string, frame: string) => {
      for (const p of this.pipes) if (p.alive && p.topics.has(topic)) p.toClient.push(frame);
    };
    this.platform = {
      publish: (topic, event, data, opts) => fanout(topic, opts?.seq !== undefined && opts.epoch !== undefined ? liveFrame(topic, event, JSON.stringify(data) ?? 'null', opts.seq, opts.epoch) : envelopeFrame(topic, event, JSON.stringify(data) ?? 'null')),
      publishJson: (topic, event, json, seq, epoch) => fanout(topic, liveFrame(topic, event, json, seq, epoch)),
      send: (ws, topic, event, data) => {
        if (ws.alive) ws.toClient.push(envelopeFrame(topic, event, JSON.stringify(data) ?? 'null'));
      },
      sendText: (ws, frame) => {
        if (!ws.alive) return false;
        ws.toClient.push(frame);
        return true;
      },
    };
  }

  forget(pipe: Pipe): void {
    const i = this.pipes.indexOf(pipe);
    if (i >= 0) this.pipes.splice(i, 1);
  }

  /** Sockets the client created that the server has not accepted yet. */
  pending(): Pipe[] {
    return this.pipes.filter((p) => p.readyState === 0);
  }

  open(): Pipe[] {
    return this.pipes.filter((p) => p.alive);
  }

  accept(pipe: Pipe): void {
    pipe.readyState = 1;
    pipe.onopen?.();
  }

  /** The server drops the connection (process killed, network lost). */
  kill(pipe: Pipe): void {
    pipe.readyState = 3;
    pipe.toServer = [];
    pipe.toClient = [];
    pipe.deferred = [];
    this.forget(pipe);
    pipe.onclose?.();
  }

  /**
   * Handles the oldest client frame of `pipe`. For a replay request, `lose` drops it unanswered
   * (a hook that ignores it), `slow` reads the snapshot now but holds the reply back until
   * `flush`, so live frames published meanwhile reach the client first (an async backend), and
   * `blank` answers as a server that holds no state for the topic: `end {seq: 0}` without an
   * epoch, whatever the buffer holds.
   */
  serveOne(pipe: Pipe, mode: 'now' | 'lose' | 'slow' | 'blank' = 'now'): void {
    const text = pipe.toServer.shift();
    if (text === undefined || !pipe.alive) return;
    const frame = JSON.parse(text) as { type: string; topic?: string; topics?: string[]; items?: Record<string, unknown>[] };
    if (frame.type === 'subscribe') pipe.topics.add(frame.topic!);
    else if (frame.type === 'subscribe-batch') for (const t of frame.topics!) pipe.topics.add(t);
    else if (frame.type === 'unsubscribe') pipe.topics.delete(frame.topic!);
    else if (mode === 'lose') return;
    else if (mode === 'blank') {
      const items = frame.type === 'replay-batch' ? frame.items! : [frame as Record<string, unknown>];
      for (const item of items) pipe.toClient.push(endFrame(item.topic as string, reqIdField(item.reqId as ReqId | undefined), { seq: 0 }));
    } else {
      const sink: Sink = mode === 'slow' ? { alive: true, toClient: [] } : pipe;
      // Batch items one by one through the real frame server, synchronously, in order.
      if (frame.type === 'replay-batch') for (const item of frame.items!) this.replay.handle(sink, { ...item, type: 'replay' }, this.platform);
      else this.replay.handle(sink, text, this.platform);
      if (mode === 'slow') pipe.deferred.push(sink.toClient);
    }
  }

  /** Writes the oldest held-back reply of `pipe`. */
  flush(pipe: Pipe): void {
    const reply = pipe.deferred.shift();
    if (reply !== undefined && pipe.alive) pipe.toClient.push(...reply);
  }

  /** Delivers the oldest server frame of `pipe` to the client. */
  deliverOne(pipe: Pipe): void {
    const text = pipe.toClient.shift();
    if (text !== undefined && pipe.alive) pipe.onmessage?.({ data: text });
  }

  /** True when no frame is in flight anywhere and no socket waits to be accepted. */
  quiet(): boolean {
    return this.pipes.every((p) => p.readyState !== 0 && p.toServer.length === 0 && p.toClient.length === 0 && p.deferred.length === 0);
  }
}
