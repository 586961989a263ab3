/**
 * What both load-benchmark servers share: the steady publisher (numbered messages on one
 * topic), the history fill, CPU accounting and the IPC calls the orchestrator makes. Each
 * server module supplies only how its system publishes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from './ipc.js';

/** The measured topic, and the payload shape every published message has. */
export const TOPIC = 'load';
export interface Numbered {
  n: number;
}

export interface System {
  readonly http: Server;
  /** Publish message `n` on the measured topic to every connected client. */
  publish(n: number): void;
  /** Put `count` messages of other topics into the recovery buffer (the history-heavy scenario). */
  fillHistory(count: number): void;
  /** Sockets the server currently holds open. */
  connections(): number;
}

export function runServer(system: System): void {
  let published = 0;
  let timer: NodeJS.Timeout | undefined;
  let cpuMark = process.cpuUsage();

  serve({
    listen: () =>
      new Promise<number>((resolve) => {
        // The same accept backlog for both systems: Node's default, as an app would have it.
        system.http.listen(0, '127.0.0.1', () => resolve((system.http.address() as AddressInfo).port));
      }),
    /** Publishes `rate` messages per second, numbered from 1, until `stop`. */
    start: ({ rate }) => {
      const interval = 1000 / (rate as number);
      const begin = performance.now();
      const tick = () => {
        // Catch up to the schedule so a busy event loop does not lower the rate.
        const due = Math.floor((performance.now() - begin) / interval) + 1;
        while (published < due) system.publish(++published);
        timer = setTimeout(tick, Math.max(1, begin + published * interval - performance.now()));
      };
      tick();
      return null;
    },
    stop: () => {
      clearTimeout(timer);
      return published;
    },
    published: () => published,
    fill: ({ count }) => {
      system.fillHistory(count as number);
      return null;
    },
    connections: () => system.connections(),
    /** CPU milliseconds (user + system) since the previous mark, and a new mark. */
    cpu: () => {
      const used = process.cpuUsage(cpuMark);
      cpuMark = process.cpuUsage();
      return (used.user + used.system) / 1000;
    },
  });
}

export function httpServer(): Server {
  return createServer((_, res) => res.writeHead(404).end());
}
