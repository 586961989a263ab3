/**
 * Counts a real socket's handoffs to the kernel. The socket is observed, not replaced: its
 * stream methods `_write` and `_writev` (one call per handoff, `_writev` when several writes
 * wait together) are counted and then run as before.
 */
type Callback = (error?: Error | null) => void;
type Chunk = Buffer | string;

interface StreamInternals {
  _write(chunk: Chunk, encoding: BufferEncoding, callback: Callback): void;
  _writev(chunks: { chunk: Chunk }[], callback: Callback): void;
}

export interface Handoff {
  /** Writes that went to the kernel together. */
  readonly chunks: number;
  readonly bytes: number;
}

export interface WriteWatch {
  /** Every handoff since the watch began, in order. */
  readonly handoffs: Handoff[];
  /** Puts the socket's own methods back. */
  stop(): void;
}

const size = (chunk: Chunk): number => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);

/** Starts counting the handoffs of `socket` (a `net.Socket`). */
export function watchWrites(socket: unknown): WriteWatch {
  const stream = socket as StreamInternals;
  const handoffs: Handoff[] = [];
  const write = stream._write;
  const writev = stream._writev;
  stream._write = function (chunk, encoding, callback) {
    handoffs.push({ chunks: 1, bytes: size(chunk) });
    write.call(this, chunk, encoding, callback);
  };
  stream._writev = function (chunks, callback) {
    handoffs.push({ chunks: chunks.length, bytes: chunks.reduce((sum, c) => sum + size(c.chunk), 0) });
    writev.call(this, chunks, callback);
  };
  return {
    handoffs,
    stop() {
      stream._write = write;
      stream._writev = writev;
    },
  };
}
