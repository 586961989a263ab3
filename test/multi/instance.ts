/**
 * One Gapless server instance as its own Node process, for the multi-instance tests: an HTTP
 * server with a `ws` endpoint, `createPlatform(wss, { replay })` and a Redis-backed buffer.
 * The parent drives it over IPC: `burst` publishes, `positions` reads (the SSR read).
 *
 * env: REDIS_PORT (standalone) or REDIS_CLUSTER (comma-separated ports), PREFIX, NAME.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cluster, Redis } from '../helpers/ioredis.js';
import { WebSocketServer } from 'ws';
import { createReplay } from '../../src/redis/index.js';
import { createPlatform } from '../../src/ws/index.js';

export type Command =
  | { type: 'burst'; id: number; topics: string[]; count: number; concurrency: number }
  | { type: 'positions'; id: number; topics: string[] };

const name = process.env.NAME ?? 'instance';
const redis = process.env.REDIS_CLUSTER
  ? new Cluster(process.env.REDIS_CLUSTER.split(',').map((port) => ({ host: '127.0.0.1', port: Number(port) })))
  : new Redis(Number(process.env.REDIS_PORT), '127.0.0.1');
redis.on('error', () => {});
const replay = createReplay(redis, { prefix: process.env.PREFIX ?? 'multi:' });
const http = createServer();
const wss = new WebSocketServer({ server: http, path: '/ws' });
const platform = createPlatform(wss, { replay });

function reply(message: Record<string, unknown>): void {
  process.send?.(message);
}

process.on('message', (command: Command) => {
  if (command.type === 'positions') {
    replay.positions(command.topics).then((positions) => reply({ id: command.id, positions }), (error: Error) => reply({ id: command.id, error: error.message }));
    return;
  }
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < command.count) {
      const n = next++;
      try {
        await replay.publish(platform, command.topics[n % command.topics.length]!, 'msg', { by: name, n });
      } catch {
        failed++;
      }
    }
  };
  Promise.all(Array.from({ length: command.concurrency }, worker)).then(() => reply({ id: command.id, failed }));
});

http.listen(0, '127.0.0.1', () => reply({ ready: (http.address() as AddressInfo).port }));
