// REDIS_URL switches the demo from one process to any number of instances sharing one Redis.
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL;

/** The shared Redis connection, or `undefined` on the in-memory default. */
export const redis = url ? new Redis(url, { lazyConnect: false }) : undefined;

/** Keys of the demo's own data (the replay buffer has its own prefix). */
export const DEMO_PREFIX = process.env.DEMO_PREFIX ?? 'gapless-demo:';

// adapter-node emits this after its server closed (SIGTERM/SIGINT): let the process exit.
process.once('sveltekit:shutdown' as 'exit', () => void redis?.quit());
