/**
 * One load-generator process: many clients of one system, all behind one fault proxy, each
 * recording which numbered messages it received. The orchestrator connects them, breaks their
 * paths, names the target (the last message published by the end of the outage) and collects,
 * per client, when it first held every message up to the target.
 */
import { io, type Socket as IoSocket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { createConnection, onReplay, type WebSocketConstructor } from '../../src/client/index.js';
import { startFaultProxy, type Fault, type FaultProxy } from './fault-proxy.js';
import { clock, serve } from './ipc.js';
import { TOPIC, type Numbered } from './server-common.js';

/** Messages one run can number (25/s for over 20 minutes). */
const CAPACITY = 1 << 15;

interface Client {
  seen: Uint8Array;
  /** Every message up to this one has arrived. */
  upTo: number;
  duplicates: number;
  caughtAt: number;
  /** When its first connection after the fault opened; 0 before. */
  openedAt: number;
  ready: boolean;
  /** Where the client stands (connection and store state), for reporting the ones that never caught up. */
  state(): string;
  close(): void;
}

let proxy: FaultProxy | undefined;
let clients: Client[] = [];
let target = 0;
let caught = 0;
let recovered = 0;
let faulted = false;

/** Marks a client's first open after the fault. */
function opened(client: Client): void {
  if (faulted && client.openedAt === 0) client.openedAt = clock();
}

function newClient(): Client {
  return { seen: new Uint8Array(CAPACITY), upTo: 0, duplicates: 0, caughtAt: 0, openedAt: 0, ready: false, state: () => '', close: () => {} };
}

function record(client: Client, n: number): void {
  if (n <= 0 || n >= CAPACITY) return;
  if (client.seen[n] === 1) {
    client.duplicates++;
    return;
  }
  client.seen[n] = 1;
  while (client.seen[client.upTo + 1] === 1) client.upTo++;
  if (target > 0 && client.caughtAt === 0 && client.upTo >= target) {
    client.caughtAt = clock();
    caught++;
  }
}

function gaplessClient(url: string): Client {
  const client = newClient();
  const connection = createConnection({ url, WebSocket: WebSocket as unknown as WebSocketConstructor });
  const store = onReplay<Numbered>(TOPIC, { since: 0, connection });
  const stopEvents = store.subscribe((event) => {
    if (event?.event === 'm') record(client, event.data.n);
  });
  let replay = '';
  let socket = '';
  const stopStatus = store.status.subscribe((status) => {
    replay = status.state;
    if (status.state === 'live') client.ready = true;
  });
  const stopConnection = connection.status.subscribe((status) => {
    socket = status;
    if (status === 'open') opened(client);
  });
  client.state = () => `socket ${socket}, store ${replay}`;
  client.close = () => {
    stopEvents();
    stopStatus();
    stopConnection();
    connection.close();
  };
  return client;
}

function socketIoClient(url: string): Client {
  const client = newClient();
  const socket: IoSocket = io(url, { transports: ['websocket'] });
  socket.on('connect', () => {
    client.ready = true;
    opened(client);
    if (socket.recovered) recovered++;
  });
  socket.on('m', (message: Numbered) => record(client, message.n));
  client.state = () => (socket.connected ? (socket.recovered ? 'connected, recovered' : 'connected, not recovered') : 'disconnected');
  client.close = () => socket.disconnect();
  return client;
}

async function until(condition: () => boolean, deadline: number): Promise<boolean> {
  while (!condition()) {
    if (clock() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

serve({
  /** Opens `count` clients of `system` through a new fault proxy to the server; resolves when all are live. */
  async connect({ system, port, count }) {
    proxy = await startFaultProxy(port as number);
    const url = system === 'gapless' ? `ws://127.0.0.1:${proxy.port}/ws` : `http://127.0.0.1:${proxy.port}`;
    const make = system === 'gapless' ? gaplessClient : socketIoClient;
    clients = [];
    for (let i = 0; i < (count as number); i++) {
      clients.push(make(url));
      // Open in small steps, as pages arrive, not as one herd: the herd is what is measured later.
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Generous: on a shared, busy machine a thousand clients can take a while to go live.
    if (!(await until(() => clients.every((c) => c.ready), clock() + 180_000))) {
      throw new Error(`${clients.filter((c) => !c.ready).length} of ${clients.length} clients not live after 180 s`);
    }
    return null;
  },
  fault({ kind, outageMs }) {
    recovered = 0;
    faulted = true;
    proxy!.fault(kind as Fault, outageMs as number);
    return null;
  },
  target({ value }) {
    target = value as number;
    for (const client of clients) {
      if (client.caughtAt === 0 && client.upTo >= target) {
        client.caughtAt = clock();
        caught++;
      }
    }
    return null;
  },
  /**
   * Waits until every client holds every message up to the target (or `deadline`), lets late
   * duplicates arrive for `settleMs`, and reports.
   */
  async collect({ deadline, settleMs }) {
    await until(() => caught === clients.length, deadline as number);
    await new Promise((resolve) => setTimeout(resolve, settleMs as number));
    let missed = 0;
    let duplicates = 0;
    const behind: Record<string, number> = {};
    for (const client of clients) {
      for (let n = 1; n <= target; n++) if (client.seen[n] !== 1) missed++;
      duplicates += client.duplicates;
      if (client.caughtAt === 0) {
        const state = client.state();
        behind[state] = (behind[state] ?? 0) + 1;
      }
    }
    return {
      caughtAt: clients.map((c) => c.caughtAt),
      openedAt: clients.map((c) => c.openedAt),
      missed,
      duplicates,
      recovered,
      behind,
    };
  },
  async close() {
    for (const client of clients) client.close();
    clients = [];
    target = 0;
    caught = 0;
    faulted = false;
    await proxy?.close();
    proxy = undefined;
    return null;
  },
});
