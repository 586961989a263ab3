/**
 * Cooperative replay serving. One request may ask for hundreds of thousands of frames; written
 * in one go they would block the event loop for seconds (every other socket, timer and publish
 * waits) and queue hundreds of megabytes for a reader that may never read them. So replay work
 * runs in slices of a few milliseconds, and a socket's answer waits while its output is large.
 */

/** Longest run of replay work before other work gets the event loop. */
const SLICE_MS = 4;
/** How often a socket that is waiting for its reader is looked at again. */
const DRAIN_POLL_MS = 10;

/** End of the current slice; 0 when no slice is running. */
let sliceEnd = 0;
let turn: Promise<void> | undefined;

function endSlice(): void {
  sliceEnd = 0;
}

/** `true` once the current slice of replay work has used its time. */
export function sliceOver(): boolean {
  const now = performance.now();
  if (sliceEnd === 0) {
    // A slice ends at the latest when the loop comes round: the next one starts afresh.
    sliceEnd = now + SLICE_MS;
    setImmediate(endSlice);
    return false;
  }
  return now > sliceEnd;
}

/**
 * Resolves after the event loop has served I/O and timers. Every waiter shares one turn, so
 * however many replays pause together they resume together and share one slice.
 */
export function nextTurn(): Promise<void> {
  return (turn ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      turn = undefined;
      resolve();
    }),
  ));
}

/**
 * Resolves `true` once `buffered()` is at most `lowWater`, or `false` as soon as `open()` turns
 * false. `ws` has no drain event of its own, so a waiting socket is polled; sockets that are
 * not waiting cost nothing.
 */
export function drained(buffered: () => number, lowWater: number, open: () => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!open()) resolve(false);
      else if (buffered() <= lowWater) resolve(true);
      else setTimeout(check, DRAIN_POLL_MS);
    };
    setTimeout(check, DRAIN_POLL_MS);
  });
}
