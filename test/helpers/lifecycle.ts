/** What most tests need around their real servers and sockets: cleanup in reverse order, and waiting on a condition. */
import { afterEach } from 'vitest';

/**
 * A list the tests of this file push their cleanups to; after each test they run last first
 * (a client closes before the server it talks to), each awaited.
 */
export function cleanupAfterEach(): (() => unknown)[] {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

/** Waits until `ok()` holds, checking every 5 ms; fails naming `what` after `ms`. */
export async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
