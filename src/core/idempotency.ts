/** The publish options both backends accept, and the one check of an idempotency id. */
import { describe, gaplessError } from './errors.js';

export interface PublishOptions {
  /**
   * Idempotency id, 1 to 128 characters. A second publish to the same topic with the same id
   * within the buffer's `idempotencyWindow` stores and delivers nothing and returns the first
   * publish's seq: retry a publish whose outcome is unknown (TIMEOUT, NOT_REPLICATED, a crash
   * before the reply) with the same id and it is stored at most once.
   */
  id?: string;
}

/** The id of a publish's options, `undefined` when it has none; throws INVALID_ARGUMENT for a bad one. */
export function idempotencyId(options: unknown): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw gaplessError('type', 'INVALID_ARGUMENT', `publish options must be an object, got ${describe(options)}`);
  }
  const id = (options as PublishOptions).id;
  if (id === undefined) return undefined;
  if (typeof id !== 'string' || id.length < 1 || id.length > 128) {
    throw gaplessError('type', 'INVALID_ARGUMENT', `publish id must be a string of 1 to 128 characters, got ${describe(id)}`);
  }
  return id;
}
