/**
 * In-process platforms that record what a buffer sends, for contract tests that do not
 * need a network. The real `ws` platform is tested over real sockets in test/ws.
 */
import type { ReplayPlatform, SubscribeVerdict } from '../../src/core/types.js';

export interface Sent {
  topic: string;
  event: string;
  data: unknown;
  seq?: number;
  epoch?: string;
}

/** A platform with the serialize-once methods, as `gapless-replay/ws` has them. Frames are parsed back. */
export class RecordingPlatform implements ReplayPlatform<string> {
  /** Live frames, in delivery order. */
  readonly live: Sent[] = [];
  /** Frames per socket id, in send order. */
  readonly sent = new Map<string, Record<string, unknown>[]>();
  gate: ((topic: string) => SubscribeVerdict | undefined | Promise<SubscribeVerdict | undefined>) | undefined;

  publish(topic: string, event: string, data: unknown, options?: { seq?: number; epoch?: string }): boolean {
    this.live.push({ topic, event, data, ...options });
    return true;
  }
  send(ws: string, topic: string, event: string, data: unknown): boolean {
    return this.sendText(ws, JSON.stringify({ topic, event, data }));
  }
  publishJson(topic: string, event: string, json: string, seq: number, epoch: string): void {
    this.live.push({ topic, event, data: JSON.parse(json), seq, epoch });
  }
  sendText(ws: string, frame: string): boolean {
    let list = this.sent.get(ws);
    if (list === undefined) this.sent.set(ws, (list = []));
    list.push(JSON.parse(frame) as Record<string, unknown>);
    return true;
  }
  checkSubscribe(_ws: string, topic: string): SubscribeVerdict | undefined | Promise<SubscribeVerdict | undefined> {
    return this.gate?.(topic) ?? null;
  }
  /** Frames sent to `ws`, then forgets them. */
  take(ws = 'ws'): Record<string, unknown>[] {
    const list = this.sent.get(ws) ?? [];
    this.sent.delete(ws);
    return list;
  }
}

/**
 * A platform with only the svelte-adapter-uws surface (`publish`, `send`), as a drop-in user
 * would pass: buffers must still deliver and answer replays through it.
 */
export class ForeignPlatform implements ReplayPlatform<string> {
  readonly published: [string, string, unknown, unknown][] = [];
  readonly sent: [string, string, string, unknown][] = [];
  publish(topic: string, event: string, data: unknown, options?: unknown): boolean {
    this.published.push([topic, event, data, options]);
    return true;
  }
  send(ws: string, topic: string, event: string, data: unknown): void {
    this.sent.push([ws, topic, event, data]);
  }
}
