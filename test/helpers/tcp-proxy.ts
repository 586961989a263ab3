/**
 * A TCP proxy on 127.0.0.1 in front of a Redis port, for faults a client cannot tell from the
 * real thing: a reply lost after the command arrived, a failover to another server at the same
 * address. Bounded: it only forwards, and `close()` destroys every socket it made.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Forwards the next chunk the client sends, then drops every reply and cuts the connection. Resolves when it is cut. */
  loseNextReply(): Promise<void>;
  /** Sends new connections to `port` and cuts the current ones (a failover behind one address). */
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startProxy(target: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let armed: (() => void) | undefined;
  const server: Server = createServer((downstream) => {
    if (!server.listening) return void downstream.destroy();
    const upstream = connect(target, '127.0.0.1');
    let swallowing = false;
    sockets.add(downstream).add(upstream);
    downstream.on('data', (chunk) => {
      upstream.write(chunk);
      const cut = armed;
      if (cut !== undefined) {
        armed = undefined;
        swallowing = true;
        // Long enough for Redis to run the command; its reply never reaches the client.
        setTimeout(() => {
          downstream.destroy();
          cut();
        }, 100);
      }
    });
    upstream.on('data', (chunk) => {
      if (!downstream.destroyed && !swallowing) downstream.write(chunk);
    });
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
    downstream.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cutAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    port: (server.address() as { port: number }).port,
    loseNextReply: () => new Promise<void>((resolve) => (armed = resolve)),
    retarget(port) {
      target = port;
      cutAll();
    },
    async close() {
      // Not waiting for clients that keep reconnecting: every socket made so far is destroyed.
      server.close();
      cutAll();
    },
  };
}
