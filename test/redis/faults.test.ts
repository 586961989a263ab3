/**
 * Redis faults with clients connected and publishes running. Each test first asserts that the
 * fault really happened, then that every client ends with every acknowledged message or was
 * told `truncated`. The figures printed here are the ones docs/reliability.md quotes.
 */
import { describe, expect, it } from 'vitest';
import { topicKeys } from '../../src/redis/keys.js';
import { expectNoSilentLoss, expectRollbackCaught, startWorld, type World } from '../helpers/fault-world.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { cleanupAfterEach, until } from '../helpers/lifecycle.js';

const CLIENTS = 5;
const cleanups = cleanupAfterEach();

async function redisServer(...args: Parameters<typeof startRedis>): Promise<RedisServer> {
  const server = await startRedis(...args);
  cleanups.push(() => server.destroy());
  return server;
}

async function world(port: number): Promise<World> {
  const w = await startWorld(port);
  cleanups.push(() => w.close());
  return w;
}

function report(name: string, figures: Record<string, number>): void {
  console.log(`[fault] ${name}: ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(' ')}`);
}

describe('Redis faults with clients connected and publishes running', () => {
  it('SIGSTOP for 3 s: publishes reject with TIMEOUT, none of them is stored after SIGCONT, clients miss nothing silently', async () => {
    const redis = await redisServer();
    const w = await world(redis.port);
    const start = await w.replay.position('feed');
    const views = w.clients('feed', start, CLIENTS);
    const pub = w.publisher('feed');
    await until('50 acknowledged publishes', () => pub.acked.length >= 50);
    redis.pause();
    const pausedAt = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    redis.resume();
    const resumed = pub.acked.length;
    await until('50 more acknowledged publishes', () => pub.acked.length >= resumed + 50);
    await pub.stop();

    // The fault: publishes issued while Redis was stopped all failed with TIMEOUT.
    const duringStop = pub.rejected.filter((r) => r.issued > pausedAt);
    expect(duringStop.length).toBeGreaterThan(100);
    expect(new Set(pub.rejected.map((r) => r.code))).toEqual(new Set(['TIMEOUT']));
    // Their commands sat in Redis's socket and ran after SIGCONT: the fence stored none of them.
    const entries = await w.replay.since('feed', 0);
    const stored = new Set(entries.map((e) => e.data as number));
    expect(duringStop.filter((r) => stored.has(r.value))).toEqual([]);
    // Every acknowledged publish is stored once, under the seq it was given.
    const bySeq = new Map(entries.map((e) => [e.seq, e.data]));
    for (const a of pub.acked) expect(bySeq.get(a.seq)).toBe(a.value);
    expect(stored.size).toBe(entries.length);
    const { told, missedButTold } = await expectNoSilentLoss(views, pub);
    report('sigstop', { clients: CLIENTS, acked: pub.acked.length, rejected: pub.rejected.length, storedAfterReject: pub.rejected.filter((r) => stored.has(r.value)).length, told, missedButTold, lostSilently: 0 });
  });

  it('kill and restart without persistence: a new epoch, every client told', async () => {
    const redis = await redisServer();
    const w = await world(redis.port);
    const views = w.clients('feed', await w.replay.position('feed'), CLIENTS);
    const pub = w.publisher('feed');
    await until('50 acknowledged publishes', () => pub.acked.length >= 50);
    const before = await w.replay.position('feed');
    await redis.kill();
    await redis.start();
    const after = pub.acked.length;
    await until('50 more acknowledged publishes', () => pub.acked.length >= after + 50);
    await pub.stop();
    // The fault: the counter started again.
    const now = await w.replay.position('feed');
    expect(now.epoch).not.toBe(before.epoch);
    expect(pub.acked.some((a, i) => i > 0 && a.seq < pub.acked[i - 1]!.seq)).toBe(true);
    const { told, missedButTold } = await expectNoSilentLoss(views, pub);
    expect(told).toBe(CLIENTS);
    report('restart-no-persistence', { clients: CLIENTS, acked: pub.acked.length, rejected: pub.rejected.length, told, missedButTold, lostSilently: 0 });
  });

  it('restart from an older snapshot (same-epoch rollback): the seq really goes back, and it is caught', async () => {
    const redis = await redisServer();
    const w = await world(redis.port);
    const views = w.clients('feed', await w.replay.position('feed'), CLIENTS);
    const pub = w.publisher('feed');
    await until('40 acknowledged publishes', () => pub.acked.length >= 40);
    await redis.cli('SAVE');
    const saved = pub.acked.length;
    await until('40 more acknowledged publishes', () => pub.acked.length >= saved + 40);
    pub.pause();
    await until('clients to have everything acknowledged', () => views.every((v) => v.data.length === pub.acked.length));
    const before = await w.replay.position('feed');
    await redis.kill();
    // The fault, seen by a second server loading the same snapshot before the instance can
    // react: the same epoch, a lower seq. Acknowledged messages are gone.
    const keys = topicKeys(w.prefix, 'feed');
    const inspector = await startRedis({ args: ['--dir', redis.dir] });
    const restoredEpoch = await inspector.cli('GET', keys.epoch);
    const top = Number((await inspector.cli('XREVRANGE', keys.stream, '+', '-', 'COUNT', '1')).split('\n')[0]!.slice(2));
    await inspector.destroy();
    expect(restoredEpoch).toBe(before.epoch);
    expect(top).toBeLessThan(before.seq);
    await redis.start();
    // Caught: the epoch ended, and the reused seqs reached every client as a new epoch.
    const { told, missedButTold } = await expectRollbackCaught(w, 'feed', pub, views, before.epoch);
    report('snapshot-rollback', { clients: CLIENTS, acked: pub.acked.length, lostByRedis: before.seq - top, told, missedButTold, lostSilently: 0 });
  });

  it('Redis unavailable at startup: a clear TIMEOUT, then recovery once it is up', async () => {
    const port = await freePort();
    const w = await world(port);
    const views = w.clients('feed', 0, CLIENTS);
    await expect(w.replay.publish(w.server.platform, 'feed', 'm', 0)).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining('Redis did not answer'),
    });
    await redisServer({}, port);
    const pub = w.publisher('feed');
    await until('50 acknowledged publishes', () => pub.acked.length >= 50);
    await pub.stop();
    const { told, missedButTold } = await expectNoSilentLoss(views, pub);
    for (const view of views) expect(view.data).toEqual(pub.acked.map((a) => a.value));
    report('unavailable-at-startup', { clients: CLIENTS, acked: pub.acked.length, rejected: pub.rejected.length, told, missedButTold, lostSilently: 0 });
  });
});
