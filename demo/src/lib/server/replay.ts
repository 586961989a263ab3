// The replay buffer every server module shares: routes publish through it, the platform serves
// replays from it (hooks.server.ts registers it). In-memory by default (one process); with REDIS_URL, one buffer in Redis for
// every instance.
import { createReplay as createMemoryReplay } from 'gapless-replay';
import { createReplay as createRedisReplay } from 'gapless-replay/redis';
import { metrics } from './metrics';
import { DEMO_PREFIX, redis } from './redis';

export const replay = redis
  ? createRedisReplay(redis, { size: 500, prefix: `${DEMO_PREFIX}replay:`, metrics })
  : createMemoryReplay({ size: 500, metrics });
