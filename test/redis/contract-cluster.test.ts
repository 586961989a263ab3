/** The shared replay contract against a real 3-master Redis Cluster. */
import { createReplay } from '../../src/redis/index.js';
import { describeReplayContract } from '../contract/replay-contract.js';
import { useRedisCluster } from '../helpers/redis-server.js';

const redis = useRedisCluster();
let n = 0;

describeReplayContract('redis cluster', { create: async (options) => createReplay(redis.client(), { ...options, prefix: `contract${++n}:` }) });
