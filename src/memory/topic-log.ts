import { entryBytes } from '../core/entry-size.js';
import { flat } from '../core/flat.js';
import type { Snapshot } from '../protocol/serve.js';

/**
 * One topic's life: its counter, its epoch and a ring of the last `size` entries.
 *
 * Entries are stored as two strings, the event name and the payload's JSON text, in one
 * flat array (event at 2i, JSON at 2i+1) where seq s lives at slot (s - 1) % size. Seqs
 * need no storage, lookups are index arithmetic, and the array grows as it fills instead
 * of being allocated at full size for topics that never fill it.
 */
export class TopicLog implements Snapshot {
  seq = 0;
  /** Entries still buffered: seqs `seq - count + 1 .. seq`. */
  count = 0;
  /** UTF-8 bytes of the buffered entries; kept only when the buffer has a `maxBytes`. */
  bytes = 0;
  /** The previous entry's event name: repeated names share one string. */
  private lastEvent = '';
  private readonly slots: string[] = [];
  /** Links of the least-recently-used list kept by the buffer. */
  older: TopicLog | null = null;
  newer: TopicLog | null = null;

  constructor(
    readonly topic: string,
    readonly epoch: string,
    private readonly size: number,
  ) {}

  /** `true` when `event` is the name of the entry appended last (so it was validated then). */
  isLastEvent(event: unknown): boolean {
    return this.seq > 0 && event === this.lastEvent;
  }

  get oldest(): number {
    return this.seq - this.count + 1;
  }

  /** Appends an entry and returns its seq; the caller has validated it. */
  append(event: string, json: string, bytes: number): number {
    if (event === this.lastEvent) event = this.lastEvent;
    else this.lastEvent = event;
    const seq = ++this.seq;
    const i = ((seq - 1) % this.size) * 2;
    if (this.count === this.size) {
      if (bytes !== 0) this.bytes -= entryBytes(this.slots[i]!, this.slots[i + 1]!);
    } else {
      this.count++;
    }
    this.slots[i] = event;
    // Flat, the stored text costs its length plus one header; as JSON.stringify returns it
    // (a tree of parts) a 200-byte payload costs ~100 bytes more.
    this.slots[i + 1] = flat(json);
    this.bytes += bytes;
    return seq;
  }

  /** Drops oldest entries until the buffered bytes fit in `maxBytes`. */
  trimToBytes(maxBytes: number): void {
    while (this.bytes > maxBytes && this.count > 0) {
      const i = ((this.oldest - 1) % this.size) * 2;
      this.bytes -= entryBytes(this.slots[i]!, this.slots[i + 1]!);
      // Release the strings now rather than when the slot is next overwritten.
      this.slots[i] = '';
      this.slots[i + 1] = '';
      this.count--;
    }
  }

  /** Calls `emit(seq, event, json)` for buffered seqs >= from, ascending, while it returns true. */
  each(from: number, emit: (seq: number, event: string, json: string) => boolean): void {
    const slots = this.slots;
    const wrap = this.size * 2;
    let seq = Math.max(from, this.oldest);
    let i = ((seq - 1) % this.size) * 2;
    for (; seq <= this.seq; seq++) {
      if (!emit(seq, slots[i]!, slots[i + 1]!)) return;
      i += 2;
      if (i === wrap) i = 0;
    }
  }
}
