/**
 * A TCP proxy on 127.0.0.1 that holds every chunk for `delayMs` in each direction, in order: a
 * round trip through it costs at least `2 × delayMs`, so a test can tell one round trip from
 * many by the time a request takes.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface LatencyProxy {
  readonly port: number;
  /** The extra time of one round trip through the proxy. */
  readonly roundTripMs: number;
  close(): Promise<void>;
}

export async function startLatencyProxy(targetPort: number, delayMs: number): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  // Timers of one duration fire in the order they were set, so chunks keep their order.
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delayMs));
    from.on('end', () => setTimeout(() => to.end(), delayMs));
    from.on('close', () => setTimeout(() => to.destroy(), delayMs));
    from.on('error', () => {});
  };
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    roundTripMs: 2 * delayMs,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
