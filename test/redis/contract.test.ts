/** The shared replay contract against a real standalone redis-server. */
import { createReplay } from '../../src/redis/index.js';
import { describeReplayContract } from '../contract/replay-contract.js';
import { useRedis } from '../helpers/redis-server.js';

const redis = useRedis();
let n = 0;

// Each buffer gets its own prefix: they share one server but no keys.
describeReplayContract('redis', { create: async (options) => createReplay(redis.client(), { ...options, prefix: `contract${++n}:` }) });
