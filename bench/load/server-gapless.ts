/**
 * The load benchmark's Gapless server: `createPlatform(wss, { replay })` with the in-memory
 * buffer, defaults everywhere except `maxTopics`, raised so the history-heavy scenario's
 * other topics all stay buffered.
 */
import { WebSocketServer } from 'ws';
import { createReplay } from '../../src/memory/index.js';
import { createPlatform } from '../../src/ws/index.js';
import { httpServer, runServer, TOPIC } from './server-common.js';

export const HISTORY_TOPICS = 240;

const http = httpServer();
const wss = new WebSocketServer({ server: http, path: '/ws' });
const replay = createReplay({ maxTopics: HISTORY_TOPICS + 10 });
const platform = createPlatform(wss, { replay });
const payload = { n: 0 };

runServer({
  http,
  publish(n) {
    payload.n = n;
    replay.publish(platform, TOPIC, 'm', payload);
  },
  fillHistory(count) {
    const filler = { n: 0, text: 'x'.repeat(100) };
    for (let i = 0; i < count; i++) {
      filler.n = i;
      replay.publish(platform, `other:${i % HISTORY_TOPICS}`, 'm', filler);
    }
  },
  connections: () => platform.connections,
});
