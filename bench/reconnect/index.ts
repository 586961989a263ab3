/**
 * Reconnect section of `npm run bench`: the server's CPU time per reconnect, the work a
 * reconnect storm multiplies by the number of clients.
 *
 * One server process (bench/reconnect/server.ts) holds `BUFFERED` messages on one topic.
 * This process opens waves of 1000 WebSocket connections (50 at a time, so no accept queue
 * overflows and every connection costs the same); each sends what the Gapless client sends after
 * a blip, a `subscribe-batch` and a `replay` of the last K messages, in one turn, and is dropped
 * once its `end` arrives. Server CPU (user + system, `process.cpuUsage` in the server) over a
 * wave ÷ connections, median over alternating rounds. `RECONNECT_BASE=<another checkout>` adds
 * that checkout's server beside this one (the same clients, rounds alternating), for measuring
 * a change side by side.
 */
import { WebSocket } from 'ws';
import { median } from '../stats.js';
import { spawnWorker, type Worker } from '../load/ipc.js';
import { BUFFERED, TOPIC } from './topic.js';

const CLIENTS = 1000;
const AT_ONCE = 50;
const ROUNDS = 10;
/** Messages missed per reconnect: none, a 1 s outage at 25 msg/s, ten times that. */
const MISSED = [0, 25, 250];

interface Contender {
  name: string;
  server: Worker;
  port: number;
  perReconnectUs: number[];
}

/** One wave: `CLIENTS` reconnects of `missed` messages each; resolves when all have their `end`. */
function wave(port: number, missed: number): Promise<void> {
  const since = BUFFERED - missed;
  const subscribe = JSON.stringify({ type: 'subscribe-batch', topics: [TOPIC] });
  const request = JSON.stringify({ type: 'replay', topic: TOPIC, since, reqId: 'r' });
  return new Promise((resolve, reject) => {
    let started = 0;
    let done = 0;
    const open = (): void => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      ws.on('open', () => {
        ws.send(subscribe);
        ws.send(request);
      });
      ws.on('message', (data: Buffer) => {
        if (!data.includes('"end"')) return;
        ws.terminate();
        if (++done === CLIENTS) resolve();
        else if (started < CLIENTS) {
          started++;
          open();
        }
      });
      ws.on('error', reject);
    };
    for (; started < AT_ONCE; started++) open();
  });
}

async function start(name: string, tree: string | undefined): Promise<Contender> {
  if (tree === undefined) delete process.env.GAPLESS_TREE;
  else process.env.GAPLESS_TREE = tree;
  const server = await spawnWorker(new URL('./server.ts', import.meta.url), `${name} server`);
  const port = await server.call<number>('listen');
  return { name, server, port, perReconnectUs: [] };
}

export async function benchReconnect(): Promise<string> {
  const base = process.env.RECONNECT_BASE;
  const contenders = [await start('this checkout', undefined)];
  if (base) contenders.push(await start(`RECONNECT_BASE (${base})`, base));
  const rows: string[] = [];
  try {
    for (const missed of MISSED) {
      for (const c of contenders) {
        c.perReconnectUs = [];
        await wave(c.port, missed);
      }
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? contenders : [...contenders].reverse();
        for (const c of order) {
          await c.server.call('mark');
          await wave(c.port, missed);
          c.perReconnectUs.push(((await c.server.call<number>('cpu')) / CLIENTS) * 1000);
        }
      }
      const cells = contenders.map((c) => `${Math.round(median(c.perReconnectUs))} µs`);
      const ratio = contenders.length === 2 ? ` | ${median(contenders[0]!.perReconnectUs.map((v, i) => v / contenders[1]!.perReconnectUs[i]!)).toFixed(2)}×` : '';
      rows.push(`| ${missed} | ${cells.join(' | ')}${ratio} |`);
      console.log(`  reconnect with ${missed} missed: ${cells.join(' vs ')}`);
    }
  } finally {
    for (const c of contenders) await c.server.kill();
  }
  const heads = contenders.map((c) => `server CPU per reconnect, ${c.name}`);
  return [
    '## Server CPU per reconnect',
    '',
    `Waves of ${CLIENTS} WebSocket reconnects (${AT_ONCE} at a time) to the \`ws\` platform with the in-memory buffer, each sending a`,
    '`subscribe-batch` and a `replay` of its missed messages and leaving at its `end`; server CPU (user + system) per',
    `reconnect, median of ${ROUNDS} rounds${contenders.length === 2 ? ' alternating between the two checkouts; the ratio is the median of per-round ratios' : ''}.`,
    '',
    `| messages missed | ${heads.join(' | ')}${contenders.length === 2 ? ' | ratio' : ''} |`,
    `|---:|${heads.map(() => '---:').join('|')}|${contenders.length === 2 ? '---:|' : ''}`,
    ...rows,
  ].join('\n');
}
