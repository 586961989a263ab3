/**
 * Frames written to one socket in one synchronous run leave in one system call.
 *
 * `ws` writes every frame to the TCP socket at once, and each write is a system call that,
 * on loopback and on most NICs, also pushes a packet through the kernel. A replay answer is
 * a run of small frames (often dozens after a reconnect): with 25 missed messages, per-frame
 * writes were 40 % of the server's CPU per reconnect. Holding the socket (`cork`) at the first frame of a
 * run and letting it go on the next tick sends the run as one vectored write: same bytes,
 * same order, one system call and a few packets. Nothing waits for a timer; the run is
 * released as soon as the code that wrote it returns.
 */
import type { WebSocket } from 'ws';

/** What a socket's state needs to be held: its WebSocket and whether it is held now. */
export interface Holdable {
  readonly ws: WebSocket;
  held: boolean;
}

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** Sockets held in this run, released together on the next tick. */
let holding: Holdable[] = [];
let spare: Holdable[] = [];

function releaseAll(): void {
  // A released socket may be written and held again by code its release runs: swap lists first.
  const list = holding;
  holding = spare;
  spare = list;
  for (let i = 0; i < list.length; i++) flushWrites(list[i]!);
  list.length = 0;
}

/** The TCP socket under a `ws` WebSocket (not part of its typed API, present since ws 1). */
function tcpOf(ws: WebSocket): Corkable | undefined {
  const socket = (ws as unknown as { _socket?: Partial<Corkable> | null })._socket;
  return typeof socket?.cork === 'function' ? (socket as Corkable) : undefined;
}

/** Holds the socket's writes until the current run of code is over; call before each send. */
export function holdWrites(state: Holdable): void {
  if (state.held) return;
  const socket = tcpOf(state.ws);
  if (socket === undefined) return;
  socket.cork();
  state.held = true;
  if (holding.push(state) === 1) process.nextTick(releaseAll);
}

/** Writes what the socket holds now, e.g. before judging how much it has queued. */
export function flushWrites(state: Holdable): void {
  if (!state.held) return;
  state.held = false;
  tcpOf(state.ws)?.uncork();
}
