/**
 * Many instances (separate Node processes) behind a load balancer, sharing one Redis or a
 * 3-master Cluster; browser clients simulated with the real client (`createConnection` +
 * `onReplay`) over real sockets. Every client must end with every message of every topic it
 * subscribed to: once, in seq order, no gap, whatever happens to instances and connections.
 */
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createConnection, onReplay, type Connection, type ConnectionState } from '../../src/client/index.js';
import type { Position } from '../../src/core/position.js';
import { until } from '../helpers/lifecycle.js';
import { useRedis, useRedisCluster } from '../helpers/redis-server.js';
import { startBalancer, startInstance, type Balancer, type Instance } from './cluster-of-instances.js';

const TOPICS = Array.from({ length: 20 }, (_, i) => `room-${i}`);
const cleanup: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Client {
  connection: Connection;
  /** The connection's status, as its store last told it. */
  status: () => ConnectionState;
  /** Seqs received per topic, in delivery order; `truncated`/`denied` events are recorded as -1. */
  seen: Map<string, number[]>;
}

/** `count` clients, each on `perClient` topics (spread so every topic has subscribers), from SSR positions. */
function clients(url: string, count: number, perClient: number, positions: Record<string, Position>): Client[] {
  const list: Client[] = [];
  for (let c = 0; c < count; c++) {
    const connection = createConnection({ url, WebSocket: WebSocket as never, replayTimeout: 3000, backoff: { base: 50, max: 400 } });
    const seen = new Map<string, number[]>();
    for (let k = 0; k < perClient; k++) {
      const topic = TOPICS[(c * perClient + k) % TOPICS.length]!;
      const seqs: number[] = [];
      seen.set(topic, seqs);
      const store = onReplay(topic, { since: positions[topic]!, connection });
      const stop = store.subscribe((e) => {
        if (e === null) return;
        seqs.push(e.event === 'truncated' || e.event === 'denied' ? -1 : e.seq!);
      });
      cleanup.push(stop);
    }
    let state: ConnectionState = 'connecting';
    cleanup.push(connection.status.subscribe((s) => (state = s)));
    cleanup.push(() => connection.close());
    list.push({ connection, seen, status: () => state });
  }
  return list;
}

/** Waits until every client's socket is open: a fault placed after this hits connected clients. */
function allOpen(list: Client[]): Promise<void> {
  return until(`all ${list.length} clients open`, () => list.every((c) => c.status() === 'open'), 30_000);
}

/** Waits until every client has every seq up to each topic's final seq, then checks exactness. */
async function expectComplete(list: Client[], finals: Record<string, Position>, timeout = 30_000): Promise<void> {
  const complete = () => list.every((c) => [...c.seen].every(([topic, seqs]) => seqs.length >= finals[topic]!.seq));
  const deadline = Date.now() + timeout;
  while (!complete() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const [i, c] of list.entries()) {
    for (const [topic, seqs] of c.seen) {
      const expected = Array.from({ length: finals[topic]!.seq }, (_, k) => k + 1);
      if (seqs.length !== expected.length || seqs.some((s, k) => s !== expected[k])) {
        throw new Error(`client ${i} topic ${topic}: got ${seqs.length} events, expected ${expected.length}; first mismatch at ${seqs.findIndex((s, k) => s !== expected[k])}: ${JSON.stringify(seqs.slice(0, 20))}...`);
      }
    }
  }
}

/**
 * Tracks bursts of publishing: `reached(n)` waits until at least `n` messages of `topics` are
 * published, then says how many; `running` is true until every burst has finished. A fault placed
 * "mid-run" asserts `running` at the moment it happens, so it cannot silently land after the run.
 */
function track(bursts: Promise<unknown>[], reader: Instance, topics: string[]) {
  let running = true;
  const all = Promise.all(bursts).finally(() => (running = false));
  return {
    all,
    get running() {
      return running;
    },
    async reached(n: number): Promise<number> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const published = Object.values(await reader.positions(topics)).reduce((sum, p) => sum + p.seq, 0);
        if (published >= n || !running || Date.now() > deadline) return published;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

async function fleet(env: Record<string, string>, count = 3): Promise<{ instances: Instance[]; balancer: Balancer; alive: Set<Instance> }> {
  const instances = await Promise.all(Array.from({ length: count }, (_, i) => startInstance(`i${i}`, env)));
  const alive = new Set(instances);
  const balancer = await startBalancer(() => [...alive].map((i) => i.port));
  cleanup.push(() => Promise.all(instances.map((i) => i.kill())));
  cleanup.push(() => balancer.close());
  return { instances, balancer, alive };
}

function suite(name: string, env: () => Record<string, string>) {
  describe(`${name}: 3 instances, 60 clients, 20 topics`, () => {
    let n = 0;
    const prefix = () => ({ ...env(), PREFIX: `${name.replace(/\W/g, '')}${++n}:` });

    it('3 publishers on different instances, 10,000 messages: every client gets its topics exactly once, in order', async () => {
      const { instances, balancer } = await fleet(prefix());
      // SSR: positions are read on instance 0; the sockets land wherever the balancer sends them.
      const positions = await instances[0]!.positions(TOPICS);
      const list = clients(balancer.url, 60, 5, positions);
      // Publishing starts at once: early messages fall into the SSR gap and come by replay.
      const results = await Promise.all(instances.map((i, k) => i.burst(TOPICS, k === 2 ? 3334 : 3333)));
      expect(results.map((r) => r.failed)).toEqual([0, 0, 0]);
      const finals = await instances[1]!.positions(TOPICS);
      expect(Object.values(finals).reduce((sum, p) => sum + p.seq, 0)).toBe(10_000);
      await expectComplete(list, finals);
      expect([...balancer.routed.values()].every((count) => count >= 15)).toBe(true);
    }, 90_000);

    it('an instance killed mid-run: its clients reconnect to another and end with the full sequence', async () => {
      const { instances, balancer, alive } = await fleet(prefix());
      const positions = await instances[0]!.positions(TOPICS);
      const list = clients(balancer.url, 30, 4, positions);
      await allOpen(list);
      const victim = instances[2]!;
      // The clients it is about: the victim serves some of them when it dies.
      expect(balancer.routed.get(victim.port)).toBeGreaterThan(0);
      const publishing = track([instances[0]!.burst(TOPICS, 1500, 4), instances[1]!.burst(TOPICS, 1500, 4)], instances[0]!, TOPICS);
      expect(await publishing.reached(200)).toBeGreaterThanOrEqual(200);
      alive.delete(victim);
      await victim.kill();
      // The kill landed while messages were still being published.
      expect(publishing.running).toBe(true);
      await publishing.all;
      const finals = await instances[0]!.positions(TOPICS);
      await expectComplete(list, finals);
    }, 90_000);
  });
}

const standalone = useRedis();
const clustered = useRedisCluster();

suite('standalone', () => ({ REDIS_PORT: String(standalone.server().port) }));
suite('cluster', () => ({ REDIS_CLUSTER: clustered.servers().ports.join(',') }));

describe('SSR on one instance, WebSocket on another', () => {
  it('a position read on A and a socket on B: the messages published in between arrive, then live', async () => {
    const { instances } = await fleet({ REDIS_PORT: String(standalone.server().port), PREFIX: 'ssr:' }, 2);
    const [a, b] = instances as [Instance, Instance];
    const positions = await a.positions(['room-0']);
    // Published after the SSR read, before the page's socket exists: the SSR gap.
    await a.burst(['room-0'], 50, 1);
    const list = clients(`ws://127.0.0.1:${b.port}/ws`, 1, 1, positions);
    // The gap's 50 come by replay first; the next 50 are published after, and come live.
    await until('the SSR gap replayed', () => list[0]!.seen.get('room-0')!.length === 50);
    await a.burst(['room-0'], 50, 1);
    await expectComplete(list, await b.positions(['room-0']));
    expect(list[0]!.seen.get('room-0')).toHaveLength(100);
  }, 60_000);
});

describe('subscriber connection killed', () => {
  it('CLIENT KILL of every instance subscriber connection mid-run: every client still ends with every message', async () => {
    const { instances, balancer } = await fleet({ REDIS_PORT: String(standalone.server().port), PREFIX: 'killsub:' });
    const positions = await instances[0]!.positions(TOPICS);
    const list = clients(balancer.url, 20, 4, positions);
    await allOpen(list);
    const publishing = track(instances.map((i) => i.burst(TOPICS, 1000, 2)), instances[0]!, TOPICS);
    expect(await publishing.reached(100)).toBeGreaterThanOrEqual(100);
    expect(await standalone.server().cli('CLIENT', 'KILL', 'TYPE', 'pubsub')).not.toBe('0');
    // The kill landed while messages were still being published.
    expect(publishing.running).toBe(true);
    await publishing.all;
    // Frames published while an instance's subscriber was down are relayed by that instance
    // once it is back (or replayed by clients that saw the gap): no later publish is needed.
    const finals = await instances[0]!.positions(TOPICS);
    await expectComplete(list, finals);
  }, 90_000);
});
