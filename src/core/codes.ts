/**
 * Stable error and wire codes. Server errors carry one of these as `code`; the
 * wire reuses the same words in `denied`, `error` and `end.error` frames.
 */
export type ErrorCode =
  | 'INVALID_TOPIC'
  | 'INVALID_EVENT'
  | 'INVALID_OPTION'
  | 'INVALID_ARGUMENT'
  | 'INVALID_FRAME'
  | 'UNSERIALIZABLE'
  | 'ENTRY_TOO_LARGE'
  | 'FORBIDDEN'
  | 'INTERNAL_ERROR'
  | 'BACKEND_ERROR'
  | 'TIMEOUT'
  /** A per-socket limit of the platform was reached (subscriptions, queued frames). */
  | 'LIMIT'
  /** `replicas: N` was set and fewer replicas acknowledged the publish in time. */
  | 'NOT_REPLICATED'
  /** A replay request reached a platform that has no replay buffer to answer it with. */
  | 'NO_REPLAY_BUFFER';

/** Why a replay could not be served in full: entries trimmed (`evicted`), another life of the counter (`reset`), or a `since` that is no position (`invalid`). */
export type TruncationReason = 'evicted' | 'reset' | 'invalid';
