/** The shared replay contract against a real standalone redis-server. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createReplay } from '../../src/redis/index.js';
import { describeReplayContract } from '../contract/replay-contract.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

let server: RedisServer;
let redis: Redis;
let n = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.port, '127.0.0.1');
});

afterAll(async () => {
  redis?.disconnect();
  await server?.destroy();
});

// Each buffer gets its own prefix: they share one server but no keys.
describeReplayContract('redis', { create: async (options) => createReplay(redis, { ...options, prefix: `contract${++n}:` }) });
