/**
 * The reconnect-cost benchmark's server: the `ws` platform with the in-memory buffer, loaded from
 * the source tree named by `GAPLESS_TREE` (this checkout by default), so two versions of the
 * library can be measured side by side in one run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '../load/ipc.js';
import { BUFFERED, TOPIC } from './topic.js';

const tree = process.env.GAPLESS_TREE ?? new URL('../..', import.meta.url).pathname;
const { WebSocketServer } = await import('ws');
const { createReplay } = (await import(`${tree}/src/memory/index.ts`)) as typeof import('../../src/memory/index.js');
const { createPlatform } = (await import(`${tree}/src/ws/index.ts`)) as typeof import('../../src/ws/index.js');

const http = createServer();
const wss = new WebSocketServer({ server: http, path: '/ws' });
const replay = createReplay();
const platform = createPlatform(wss, { replay });
for (let n = 1; n <= BUFFERED; n++) replay.publish(platform, TOPIC, 'm', { n, text: 'hello world, hello world, hello' });
let mark = process.cpuUsage();

serve({
  listen: () => new Promise<number>((resolve) => http.listen(0, '127.0.0.1', () => resolve((http.address() as AddressInfo).port))),
  mark: () => {
    mark = process.cpuUsage();
    return null;
  },
  /** CPU milliseconds (user + system) since the last mark. */
  cpu: () => {
    const used = process.cpuUsage(mark);
    return (used.user + used.system) / 1000;
  },
});
