/**
 * Server heartbeat: a path can die without a FIN (a phone switching networks, a NAT timeout), and
 * then neither side ever hears of it. Every socket gets a `ping` frame right after it opens and
 * every `interval` ms; a socket from which nothing at all arrived for `interval + timeout` is
 * cut off. One timer sweeps every socket: no timer per socket.
 */
import { optionsObject, positiveIntOption } from '../core/options.js';

export interface HeartbeatOptions {
  /** Milliseconds between two pings to a socket. Default 15000. */
  interval?: number;
  /** Silence tolerated beyond `interval` before the socket is terminated. Default 10000. */
  timeout?: number;
}

/** What the sweep reads and writes on each socket. */
export interface Beating {
  /** Set on every frame (and protocol pong) received; the sweep turns it into a time. */
  heard: boolean;
  /** The sweep's time at which the socket was last heard from. */
  heardAt: number;
  /** When the next ping is due. */
  pingAt: number;
}

export interface Heartbeat {
  readonly interval: number;
  /** Starts counting for a socket that just opened; the caller sends its first ping. */
  start(socket: Beating): void;
  stop(): void;
}

/** Validates the `heartbeat` option: `false` turns the heartbeat off (`undefined` result). */
export function heartbeatOption(value: unknown): Required<HeartbeatOptions> | undefined {
  if (value === false) return undefined;
  const opts = optionsObject('heartbeat', value);
  return {
    interval: positiveIntOption('heartbeat.interval', opts.interval, 15_000),
    timeout: positiveIntOption('heartbeat.timeout', opts.timeout, 10_000),
  };
}

/**
 * Sweeps `sockets()` a few times per `min(interval, timeout)`: pings the sockets whose ping is
 * due, and hands to `expire` those silent for `interval + timeout`. A frame marks its socket
 * heard with a boolean write; the sweep converts that to its own clock, so silence is never
 * over-counted and a socket is never cut off early.
 */
export function startHeartbeat<S extends Beating>(
  options: Required<HeartbeatOptions>,
  sockets: () => Iterable<S>,
  ping: (socket: S) => void,
  expire: (socket: S) => void,
): Heartbeat {
  const { interval, timeout } = options;
  const limit = interval + timeout;
  const timer = setInterval(sweep, Math.max(10, Math.floor(Math.min(interval, timeout) / 4)));
  // The heartbeat alone must not keep a process alive.
  timer.unref();

  function sweep(): void {
    const now = performance.now();
    for (const socket of sockets()) {
      if (socket.heard) {
        socket.heard = false;
        socket.heardAt = now;
      } else if (now - socket.heardAt >= limit) {
        expire(socket);
        continue;
      }
      if (now >= socket.pingAt) {
        socket.pingAt = now + interval;
        ping(socket);
      }
    }
  }

  return {
    interval,
    start(socket) {
      const now = performance.now();
      socket.heard = false;
      socket.heardAt = now;
      socket.pingAt = now + interval;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
