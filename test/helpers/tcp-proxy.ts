/**
 * A TCP proxy on 127.0.0.1 in front of a local port, for the network faults a client cannot
 * tell from the real thing:
 * - `delayMs`: every chunk is held that long in each direction, in order, so one round trip
 *   costs at least `roundTripMs` and a test can tell one round trip from many by the time taken;
 * - `loseNextReply()`: a command arrives but its reply never does (the connection is then cut);
 * - `retarget(port)`: a failover to another server behind the same address;
 * - `cut()`: the path goes dead without either end hearing of it, as when a phone switches
 *   networks or a NAT forgets the connection: nothing is forwarded, writes on both sides still
 *   succeed, and no FIN or RST is ever sent.
 * Bounded: it only forwards, and `close()` destroys every socket it made.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TcpProxyOptions {
  /** Hold each chunk this long in each direction (default 0: forward at once). */
  delayMs?: number;
}

export interface TcpProxy {
  /** The proxy's port: connect here instead of to the target. */
  readonly port: number;
  /** Connections opened through the proxy so far. */
  readonly connections: number;
  /** The least extra time of one round trip through the proxy: `2 × delayMs`. */
  readonly roundTripMs: number;
  /** Forwards the next chunk a client sends, then drops every reply and cuts that connection. Resolves when it is cut. */
  loseNextReply(): Promise<void>;
  /** Sends new connections to `port` and cuts the current ones. */
  retarget(port: number): void;
  /** From now on every connection's bytes, both ways, are read and dropped; nothing is closed. */
  cut(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/** How long a command whose reply is lost is given to reach the server and run there. */
const LOST_REPLY_CUT_MS = 100;

export async function startTcpProxy(target: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const delayMs = options.delayMs ?? 0;
  const sockets = new Set<Socket>();
  let dead = false;
  let opened = 0;
  let armed: (() => void) | undefined;
  // Timers of one duration fire in the order they were set, so delayed chunks keep their order.
  const later = (send: () => void) => (delayMs > 0 ? void setTimeout(send, delayMs) : send());

  const pipe = (from: Socket, to: Socket, dropping: () => boolean) => {
    from.on('data', (chunk: Buffer) => {
      if (!dead && !dropping()) later(() => to.destroyed || to.write(chunk));
    });
    // After a cut the path says nothing: an end that closes on one side is never heard on the other.
    from.on('end', () => dead || later(() => to.end()));
    from.on('close', () => {
      sockets.delete(from);
      if (!dead) later(() => to.destroy());
    });
    from.on('error', () => {});
  };

  const server = createServer((client) => {
    // A connection accepted just before `close()` stopped the listener.
    if (!server.listening) return void client.destroy();
    opened++;
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let losing = false;
    client.on('data', () => {
      const lost = armed;
      if (lost === undefined) return;
      armed = undefined;
      losing = true;
      setTimeout(() => {
        client.destroy();
        lost();
      }, LOST_REPLY_CUT_MS);
    });
    pipe(client, upstream, () => false);
    pipe(upstream, client, () => losing);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return opened;
    },
    roundTripMs: 2 * delayMs,
    loseNextReply: () => new Promise<void>((resolve) => (armed = resolve)),
    retarget(port) {
      target = port;
      destroyAll();
    },
    cut() {
      dead = true;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      destroyAll();
      await closed;
    },
  };
}
