/**
 * A real master and replica: `replicas: 1` waits for the replica, a stopped replica gives
 * NOT_REPLICATED, and a failover to a replica whose link was cut (it lags) is caught as the
 * rollback it is, with clients connected and publishes running.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createReplay } from '../../src/redis/index.js';
import { topicKeys } from '../../src/redis/keys.js';
import { expectRollbackCaught, startWorld } from '../helpers/fault-world.js';
import { RecordingPlatform } from '../helpers/recording-platform.js';
import { startRedis, useRedisCluster, type RedisServer } from '../helpers/redis-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { cleanupAfterEach, until } from '../helpers/lifecycle.js';

const cleanups = cleanupAfterEach();

async function pair(): Promise<{ master: RedisServer; replica: RedisServer }> {
  const master = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
  cleanups.push(() => master.destroy());
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  cleanups.push(() => replica.destroy());
  for (const deadline = Date.now() + 10_000; !(await replica.cli('INFO', 'replication')).includes('master_link_status:up'); ) {
    if (Date.now() > deadline) throw new Error('replica never synced');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { master, replica };
}

const cluster = useRedisCluster();

describe('replicas', () => {
  it('on a Cluster, WAIT goes to the topic\'s own master in the same pipeline (no replica there: NOT_REPLICATED, entry stored once)', async () => {
    const replay = createReplay(cluster.client(), { prefix: 'crep:', replicas: 1, timeout: 600 });
    const platform = new RecordingPlatform();
    await replay.seq('warm-up'); // the client learns the slots first
    for (const topic of ['a', 'b', 'c', 'd']) {
      await expect(replay.publish(platform, topic, 'e', 1, { id: 'one' })).rejects.toMatchObject({ code: 'NOT_REPLICATED' });
      await expect(replay.publish(platform, topic, 'e', 1, { id: 'one' })).rejects.toMatchObject({ code: 'NOT_REPLICATED' });
      expect(await replay.since(topic, 0)).toEqual([{ seq: 1, topic, event: 'e', data: 1 }]);
    }
  });

  it('replicas: 1 resolves once the replica has the entry; a stopped replica gives NOT_REPLICATED, and a retry with the same id stores nothing twice', async () => {
    const { master, replica } = await pair();
    const redis = new Redis(master.port, '127.0.0.1');
    cleanups.push(() => redis.disconnect());
    const replay = createReplay(redis, { prefix: 'rep:', replicas: 1, timeout: 2000 });
    const platform = new RecordingPlatform();
    const keys = topicKeys('rep:', 'chat');
    expect(await replay.publish(platform, 'chat', 'e', 1)).toBe(1);
    expect(await replica.cli('XLEN', keys.stream)).toBe('1');

    replica.pause();
    try {
      await expect(replay.publish(platform, 'chat', 'e', 2, { id: 'two' })).rejects.toMatchObject({ code: 'NOT_REPLICATED', message: expect.stringContaining('retry with the same id') });
      // The master has it; the retry finds it and still waits for the replica.
      expect(await master.cli('XLEN', keys.stream)).toBe('2');
      await expect(replay.publish(platform, 'chat', 'e', 2, { id: 'two' })).rejects.toMatchObject({ code: 'NOT_REPLICATED' });
    } finally {
      replica.resume();
    }
    expect(await replay.publish(platform, 'chat', 'e', 2, { id: 'two' })).toBe(2);
    expect(await replica.cli('XLEN', keys.stream)).toBe('2');
    expect((await replay.since('chat', 0)).map((e) => e.data)).toEqual([1, 2]);
  });

  it('failover to a replica whose link was cut: the seq really goes back in the same epoch, and every client is told', async () => {
    const { master, replica } = await pair();
    const proxy = await startTcpProxy(master.port);
    cleanups.push(() => proxy.close());
    const w = await startWorld(proxy.port);
    cleanups.push(() => w.close());
    const views = w.clients('feed', await w.replay.position('feed'), 5);
    const pub = w.publisher('feed');
    const keys = topicKeys(w.prefix, 'feed');
    await until('40 acknowledged publishes', () => pub.acked.length >= 40);
    // The replica must really follow before its link is cut (a loaded machine may still be
    // doing the first sync): it holds the topic's epoch and some of its entries.
    let followed = false;
    while (!followed) {
      followed = (await replica.cli('GET', keys.epoch)) !== '' && Number(await replica.cli('XLEN', keys.stream)) >= 40;
      if (!followed) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Cut the replica's link: pointed at a socket that never answers, it keeps its data and
    // stops following (a free port could be taken by another Redis, which it would copy).
    const held = new Set<Socket>();
    const silent = createServer((socket) => held.add(socket.on('error', () => {})));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      silent.close();
      for (const socket of held) socket.destroy();
    });
    await replica.cli('REPLICAOF', '127.0.0.1', String((silent.address() as AddressInfo).port));
    const cut = pub.acked.length;
    await until('40 more acknowledged publishes', () => pub.acked.length >= cut + 40);
    pub.pause();
    await until('clients to have everything acknowledged', () => views.every((v) => v.data.length === pub.acked.length));
    const before = await w.replay.position('feed');
    await master.kill();
    await replica.cli('REPLICAOF', 'NO', 'ONE');
    // The fault: the promoted replica has the same epoch and a lower seq.
    expect(await replica.cli('GET', keys.epoch)).toBe(before.epoch);
    const top = Number((await replica.cli('XREVRANGE', keys.stream, '+', '-', 'COUNT', '1')).split('\n')[0]!.slice(2));
    expect(top).toBeLessThan(before.seq);
    proxy.retarget(replica.port);
    const { told, missedButTold } = await expectRollbackCaught(w, 'feed', pub, views, before.epoch);
    console.log(`[fault] lagging-replica-failover: clients=5 acked=${pub.acked.length} lostByRedis=${before.seq - top} told=${told} missedButTold=${missedButTold} lostSilently=0`);
  });
});
