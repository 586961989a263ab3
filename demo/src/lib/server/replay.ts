// The replay buffer every server module shares: routes publish through it, hooks.ws serves
// replays from it. In-memory by default (one process); with REDIS_URL, one buffer in Redis for
// every instance.
import { createReplay as createMemoryReplay } from 'gapless-replay';
import { createReplay as createRedisReplay } from 'gapless-replay/redis';
import { registerReplay } from 'gapless-replay/ws';
import { DEMO_PREFIX, redis } from './redis';

export const replay = redis ? createRedisReplay(redis, { size: 500, prefix: `${DEMO_PREFIX}replay:` }) : createMemoryReplay({ size: 500 });

// Across instances the platform itself must know the buffer: it answers replay frames with it
// and relays the live frames that other instances publish to this instance's sockets.
if (redis) registerReplay(replay);
