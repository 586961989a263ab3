/** The shared replay contract against a real 3-master Redis Cluster. */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createReplay } from '../../src/redis/index.js';
import { describeReplayContract } from '../contract/replay-contract.js';
import { startCluster, type RedisCluster } from '../helpers/redis-server.js';

let servers: RedisCluster;
let cluster: Cluster;
let n = 0;

beforeAll(async () => {
  servers = await startCluster();
  cluster = new Cluster([...servers.nodes]);
});

afterAll(async () => {
  cluster?.disconnect();
  await servers?.destroy();
});

describeReplayContract('redis cluster', { create: async (options) => createReplay(cluster, { ...options, prefix: `contract${++n}:` }) });
