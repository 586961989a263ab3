/**
 * SvelteKit glue for `src/hooks.server.ts`:
 *
 *   import * as wsHooks from './hooks.ws';
 *   import { registerHooks, handle as gapless } from 'gapless-replay/ws';
 *   registerHooks(wsHooks);
 *   export const handle = gapless;   // or sequence(gapless, ...)
 *
 * hooks.server is bundled with the app, so the hooks it registers share `$lib` modules (the
 * replay buffer) with routes, and it runs at server start in preview and production.
 */
import { getPlatform } from './registry.js';

/** The part of SvelteKit's `handle` input this needs; kit's `Handle` type accepts it. */
export interface HandleInput<E extends { platform?: unknown }, R> {
  event: E;
  resolve: (event: E) => R;
}

/**
 * A SvelteKit `handle` that sets `event.platform` to the shared platform, so `load` and form
 * actions can `replay.publish(platform, ...)`. What the adapter put there (adapter-node's `req`)
 * stays readable: it is layered over the platform, not replaced.
 */
export function handle<E extends { platform?: unknown }, R>({ event, resolve }: HandleInput<E, R>): R {
  const own = event.platform;
  (event as { platform?: unknown }).platform = Object.assign(Object.create(getPlatform()) as object, own);
  return resolve(event);
}
