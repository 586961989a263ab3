/**
 * A TCP proxy between load-generator clients and the server that can break every connection
 * passing through it in the ways real networks do:
 *
 * - `storm`: both sides see the connection close at once (a server-side reset, a proxy
 *   restart); new connections are refused for the outage.
 * - `silent`: the client side is closed, the server side stays open and silent (a phone that
 *   switched networks: the old path is gone, the server is never told); new connections are
 *   refused for the outage.
 * - `half-open`: nothing is closed, nothing is forwarded any more in either direction (a NAT
 *   mapping that expired, a laptop lid); new connections work at once, over a new path.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type Fault = 'storm' | 'silent' | 'half-open';

interface Pair {
  client: Socket;
  upstream: Socket;
}

export interface FaultProxy {
  readonly port: number;
  /** Breaks every current connection; new ones are refused for `outageMs` (except half-open). */
  fault(kind: Fault, outageMs: number): void;
  /** Connections currently forwarded. */
  readonly open: number;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  /** Sockets kept open on purpose after a fault (never forwarded again), closed with the proxy. */
  const abandoned = new Set<Socket>();
  let refuseUntil = 0;

  const server: Server = createServer((client) => {
    client.setNoDelay(true);
    if (performance.now() < refuseUntil) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      if (!pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  // A herd of reconnects must not overflow our own accept queue before the server's.
  server.maxConnections = Infinity;
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const port = (server.address() as { port: number }).port;

  function keepSilent(socket: Socket): void {
    socket.removeAllListeners('data');
    socket.removeAllListeners('close');
    socket.removeAllListeners('error');
    socket.on('error', () => {});
    socket.pause();
    abandoned.add(socket);
  }

  return {
    port,
    get open() {
      return pairs.size;
    },
    fault(kind, outageMs) {
      if (kind !== 'half-open') refuseUntil = performance.now() + outageMs;
      const current = [...pairs];
      pairs.clear();
      for (const { client, upstream } of current) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        if (kind === 'storm') {
          client.destroy();
          upstream.destroy();
        } else if (kind === 'silent') {
          client.destroy();
          keepSilent(upstream);
        } else {
          keepSilent(client);
          keepSilent(upstream);
        }
      }
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      for (const socket of abandoned) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
