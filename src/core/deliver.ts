/** Handing a stored entry to a platform: shared by every backend. */
import { gaplessError, describe } from './errors.js';
import type { FanoutSource, ReplayPlatform } from './types.js';

/** Throws unless `platform` can take a live frame; called before a publish consumes a seq. */
export function assertPlatform(platform: unknown): asserts platform is ReplayPlatform {
  if (typeof (platform as ReplayPlatform | null)?.publish !== 'function') {
    throw gaplessError('type', 'INVALID_ARGUMENT', `platform must be an object with a publish method, got ${describe(platform)}`);
  }
}

/**
 * Delivers a stored entry live: the serialize-once path when the platform has one. A foreign
 * platform (svelte-adapter-uws) gets the value and serializes it itself.
 */
export function deliver(platform: ReplayPlatform, topic: string, event: string, data: unknown, json: string, seq: number, epoch: string): void {
  if (typeof platform.publishJson === 'function') platform.publishJson(topic, event, json, seq, epoch);
  else platform.publish(topic, event, json === 'null' ? null : data, { seq, epoch });
}

/** `true` when a buffer relays live frames itself (the platform must not deliver them twice). */
export function hasFanout(replay: unknown): replay is FanoutSource {
  return typeof (replay as Partial<FanoutSource> | null)?.attachFanout === 'function';
}
