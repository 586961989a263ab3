/**
 * Fan-out section of `npm run bench` (issue 6): publish → receive latency through Redis for one
 * instance and for three, and messages delivered per second, in one run on one redis-server
 * that this section starts and stops.
 *
 * Instances are separate Node processes (test/multi/instance.ts: `createPlatform(wss, { replay })`
 * with a Redis buffer); receivers are raw `ws` sockets in this process, spread evenly over the
 * instances, all subscribed to one topic; the publisher is a buffer on the same Redis in this
 * process. Latency is measured from just before `publish()` to the frame's arrival at a socket
 * (one clock: both ends are in this process).
 */
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { createReplay } from '../src/redis/index.js';
import type { ReplayPlatform } from '../src/core/types.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { startInstance, type Instance } from '../test/multi/cluster-of-instances.js';
import { percentile } from './stats.js';

const SOCKETS = 30;
const RATE = 200; // messages per second in the latency run: well below what the receiving process can take
const LATENCY_MESSAGES = 1000;
const BURST = 5000;

const platform: ReplayPlatform = { publish() {}, send() {} };

interface Receivers {
  sockets: WebSocket[];
  onFrame: (fn: (t: number) => void) => void;
  close(): void;
}

async function receivers(instances: Instance[], topic: string): Promise<Receivers> {
  let handler: (t: number) => void = () => {};
  const sockets = await Promise.all(
    Array.from({ length: SOCKETS }, async (_, i) => {
      const ws = new WebSocket(`ws://127.0.0.1:${instances[i % instances.length]!.port}/ws`);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const acked = new Promise<void>((resolve) => {
        ws.on('message', (data) => {
          const text = data.toString();
          if (text.startsWith('{"type":"subscribed"')) return resolve();
          // Live frames: {"topic":..,"event":..,"data":{"t":..},"seq":..}
          const at = text.indexOf('"t":');
          if (at >= 0) handler(Number(text.slice(at + 4, text.indexOf('}', at))));
        });
      });
      ws.send(JSON.stringify({ type: 'subscribe', topic, ref: 1 }));
      await acked;
      return ws;
    }),
  );
  return { sockets, onFrame: (fn) => (handler = fn), close: () => sockets.forEach((ws) => ws.terminate()) };
}

const now = () => performance.now();

export async function benchFanout(): Promise<string> {
  const server = await startRedis();
  const publisherClient = new Redis(server.port, '127.0.0.1');
  const replay = createReplay(publisherClient, { prefix: 'fanbench:' });
  const rows: string[] = [];
  try {
    for (const count of [1, 3]) {
      const instances = await Promise.all(
        Array.from({ length: count }, (_, i) => startInstance(`bench${i}`, { REDIS_PORT: String(server.port), PREFIX: 'fanbench:' })),
      );
      const topic = `room-${count}`;
      const rx = await receivers(instances, topic);
      try {
        // Latency at a steady rate: each socket's arrival time minus the publish start time.
        const latencies: number[] = [];
        rx.onFrame((t) => latencies.push(now() - t));
        const interval = 1000 / RATE;
        const start = now();
        for (let i = 0; i < LATENCY_MESSAGES; i++) {
          const due = start + i * interval;
          const wait = due - now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          void replay.publish(platform, topic, 'm', { t: now() });
        }
        const deadline = now() + 10_000;
        while (latencies.length < LATENCY_MESSAGES * SOCKETS && now() < deadline) await new Promise((r) => setTimeout(r, 20));
        const latencyReceived = latencies.length;
        const p50 = percentile(latencies, 50);
        const p99 = percentile(latencies, 99);

        // Throughput: a burst published as fast as possible; frames delivered per second.
        let received = 0;
        let last = 0;
        rx.onFrame(() => {
          received++;
          last = now();
        });
        const burstStart = now();
        let next = 0;
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (next < BURST) {
              next++;
              await replay.publish(platform, topic, 'm', { t: 0 });
            }
          }),
        );
        const burstDeadline = now() + 20_000;
        while (received < BURST * SOCKETS && now() < burstDeadline) await new Promise((r) => setTimeout(r, 20));
        const seconds = (last - burstStart) / 1000;
        rows.push(
          `| ${count} | ${SOCKETS} (${SOCKETS / count} per instance) | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${latencyReceived === LATENCY_MESSAGES * SOCKETS ? 'all' : `${latencyReceived} of ${LATENCY_MESSAGES * SOCKETS}`} | ${Math.round(BURST / seconds)} | ${Math.round(received / seconds)} |`,
        );
      } finally {
        rx.close();
        await Promise.all(instances.map((i) => i.kill()));
      }
    }
  } finally {
    publisherClient.disconnect();
    await server.destroy();
  }
  return [
    '## Fan-out across instances (Redis)',
    '',
    `Publish → receive through Redis pub/sub: one publisher buffer, ${SOCKETS} sockets subscribed to one topic,`,
    `spread over 1 or 3 instance processes (\`createPlatform(wss, { replay })\` with a Redis buffer on one`,
    `local redis-server). Latency: ${LATENCY_MESSAGES} messages at ${RATE}/s, measured per socket from just before`,
    '`publish()` to the frame\'s arrival (publisher and sockets share one clock). Throughput: a burst of',
    `${BURST} messages published with 32 in flight; publishes/s and frames delivered to sockets per second.`,
    'All processes share the machine\'s 2 cores, so the three-instance row also pays for more processes.',
    '',
    '| instances | sockets | latency p50 ms | p99 ms | frames received | burst publishes/s | frames delivered/s |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
