/**
 * A TCP proxy on 127.0.0.1 whose path can go dead without either end hearing of it, as when a
 * phone switches networks or a NAT forgets the connection: after `cut()` nothing is forwarded
 * in either direction, writes on both sides still succeed, and no FIN or RST is ever sent.
 */
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface HalfOpenProxy {
  /** The proxy's port: connect here instead of to the target. */
  readonly port: number;
  /** Connections opened through the proxy so far. */
  readonly connections: number;
  /** From now on every connection's bytes, both ways, are read and dropped. Nothing is closed. */
  cut(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

export async function startHalfOpenProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<HalfOpenProxy> {
  const sockets = new Set<Socket>();
  let dead = false;
  let opened = 0;
  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk) => {
      if (!dead) to.write(chunk);
    });
  };
  const server = createServer((client) => {
    opened++;
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    forward(client, upstream);
    forward(upstream, client);
    // An end that closes before the cut closes the other; after the cut, the path says nothing.
    client.on('close', () => dead || upstream.destroy());
    upstream.on('close', () => dead || client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return opened;
    },
    cut() {
      dead = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
