/**
 * Redis section of `npm run bench`: our publish and replay against the physical limit on this
 * machine, side by side in one run on one redis-server that this section starts and stops.
 *
 * The limit is a raw EVALSHA of a minimal script on the same hash-tagged keys: INCR a counter,
 * XADD the entry with MAXLEN (append + trim) for publish; GET the counter and XRANGE the tail for
 * a read. (Of the three structures measured for docs/redis.md, INCR + XADD was the cheapest
 * limit: a LIST with RPUSH + LTRIM and a ZSET with ZADD + ZREMRANGEBYRANK cost more per call.)
 *
 * No design that fans out across instances and fences late writes gets down to the limit: it
 * must also read Redis's clock (TIME) and PUBLISH each entry. The fan-out floor is the limit's
 * script plus exactly that: TIME, a check against a fence, and a PUBLISH of the same fan-out
 * message ours sends (`<seq>\n<epoch>\n<event>\n<json>`, with an epoch as long as ours), on the
 * limit's keys. It replies with the seq alone.
 *
 * Per row, rounds alternate ours / limit / floors and the figure is the median over rounds:
 * throughput (wall), Redis CPU per publish (INFO cpu delta), bytes received by Redis per
 * publish (INFO stats total_net_input_bytes delta), client commands per call (INFO commandstats:
 * EVALSHA + EVAL calls), and Redis commands per call including those run inside the script.
 */
import { Redis } from 'ioredis';
import { createReplay } from '../src/redis/index.js';
import type { ReplayPlatform } from '../src/core/types.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { chart } from './charts.js';
import { median, percentile } from './stats.js';

const LIMIT_PUBLISH = `local n = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], '0-' .. n, ARGV[1], ARGV[2])
return n`;
const FANOUT_FLOOR = `local n = redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
if tonumber(t[1]) * 1000000 + tonumber(t[2]) >= tonumber(ARGV[5]) then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], '0-' .. n, ARGV[1], ARGV[2])
redis.call('PUBLISH', string.sub(KEYS[2], 1, -2) .. 'c', n .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return n`;
const LIMIT_READ = `local n = redis.call('GET', KEYS[1])
return {n, redis.call('XRANGE', KEYS[2], '0-' .. ARGV[1], '+', 'COUNT', ARGV[2])}`;

/** The Redis chart, written to docs/charts/ and embedded in the section. */
const CHART_FILE = 'redis-publish.svg';
const TOPICS = 16;
const SIZE = 1000;
const ROUNDS = 5;

/** A platform that drops everything: we measure the buffer and Redis, not sockets. */
const platform: ReplayPlatform = {
  publish() {},
  send() {},
  publishJson() {},
  sendText: () => true,
};

function payload(i: number): { text: string; user: string; n: number } {
  // ~200 bytes of JSON, like a chat message.
  return { text: 'lorem ipsum dolor sit amet '.repeat(6).slice(0, 150), user: 'alice', n: i };
}

interface Stats {
  cpuUs: number;
  /** Microseconds spent executing EVALSHA (the script), from INFO commandstats. */
  scriptUs: number;
  inBytes: number;
  clientCmds: number;
  allCmds: number;
}

async function stats(redis: Redis): Promise<Stats> {
  const [cpu, st, cmd] = [await redis.info('cpu'), await redis.info('stats'), await redis.info('commandstats')];
  const num = (text: string, field: string) => Number(new RegExp(`${field}:([\\d.]+)`).exec(text)?.[1] ?? 0);
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(cmd)?.[1] ?? 0);
  return {
    cpuUs: (num(cpu, 'used_cpu_user') + num(cpu, 'used_cpu_sys')) * 1e6,
    scriptUs: Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(cmd)?.[1] ?? 0),
    inBytes: num(st, 'total_net_input_bytes'),
    clientCmds: calls('evalsha') + calls('eval'),
    allCmds: num(st, 'total_commands_processed'),
  };
}

interface Measure {
  opsPerSec: number;
  cpuUs: number;
  scriptUs: number;
  bytes: number;
  clientCmds: number;
  allCmds: number;
}

/** Runs `op` `count` times with `concurrency` in flight; Redis counters are read around it. */
async function measure(admin: Redis, count: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Measure> {
  const before = await stats(admin);
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await op(next++);
    }),
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const after = await stats(admin);
  // The three INFO calls of `stats` are themselves commands and input bytes: subtract them.
  return {
    opsPerSec: (count / ms) * 1000,
    cpuUs: (after.cpuUs - before.cpuUs) / count,
    scriptUs: (after.scriptUs - before.scriptUs) / count,
    bytes: (after.inBytes - before.inBytes - INFO_BYTES) / count,
    clientCmds: (after.clientCmds - before.clientCmds) / count,
    allCmds: (after.allCmds - before.allCmds - 3) / count,
  };
}

/** RESP bytes of the three INFO commands `stats` sends. */
const INFO_BYTES = ['cpu', 'stats', 'commandstats'].reduce((sum, s) => sum + `*2\r\n$4\r\ninfo\r\n$${s.length}\r\n${s}\r\n`.length, 0);

function medianOf(list: Measure[]): Measure {
  const pick = (k: keyof Measure) => median(list.map((m) => m[k]));
  return { opsPerSec: pick('opsPerSec'), cpuUs: pick('cpuUs'), scriptUs: pick('scriptUs'), bytes: pick('bytes'), clientCmds: pick('clientCmds'), allCmds: pick('allCmds') };
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const pct = (x: number) => (x * 100).toFixed(0) + '%';

export async function benchRedis(): Promise<string> {
  const server = await startRedis();
  const admin = new Redis(server.port, '127.0.0.1');
  const client = new Redis(server.port, '127.0.0.1');
  try {
    const replay = createReplay(client, { size: SIZE, prefix: 'bench:' });
    const limitPub = await client.script('LOAD', LIMIT_PUBLISH) as string;
    const limitRead = await client.script('LOAD', LIMIT_READ) as string;
    const fanoutFloorSha = await client.script('LOAD', FANOUT_FLOOR) as string;
    const epoch = (await replay.position('room-0')).epoch;
    const topic = (i: number) => `room-${i % TOPICS}`;
    // The limit's keys carry the same hash tags as ours.
    const limitKeys = (i: number) => [`limit:{room-${i % TOPICS}}:n`, `limit:{room-${i % TOPICS}}:s`];
    const ours = (i: number) => replay.publish(platform, topic(i), 'created', payload(i));
    const limit = (i: number) => {
      const [counter, stream] = limitKeys(i);
      return client.evalsha(limitPub, 2, counter!, stream!, 'created', JSON.stringify(payload(i)), SIZE);
    };
    // The floor of any wrapper: the limit's call with one promise layer over it, which is what a
    // caller needs at least to receive a seq instead of the script's reply.
    const floor = (i: number) => limit(i).then((reply) => reply);
    // The fence, as ours sends it: Redis time (µs) two seconds from now.
    const fanoutFloor = (i: number) => {
      const [counter, stream] = limitKeys(i);
      return client.evalsha(fanoutFloorSha, 2, counter!, stream!, 'created', JSON.stringify(payload(i)), SIZE, epoch, (Date.now() + 2000) * 1000);
    };

    // Warm-up fills every topic past `size`, so trimming runs in every measured publish.
    for (let i = 0; i < TOPICS * (SIZE + 50); i += 64) {
      await Promise.all(Array.from({ length: 64 }, (_, k) => Promise.all([ours(i + k), limit(i + k)])));
    }

    const rows: string[] = [];
    const summary: Record<string, { ours: Measure; limit: Measure; floor: Measure; fanout: Measure; ratio: number; cpuRatio: number; floorRatio: number; fanoutCpuRatio: number; fanoutCpu: number }> = {};
    for (const concurrency of [1, 64]) {
      const count = concurrency === 1 ? 3000 : 20000;
      const a: Measure[] = [];
      const b: Measure[] = [];
      const f: Measure[] = [];
      const ff: Measure[] = [];
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      const floorRatios: number[] = [];
      const fanoutCpuRatios: number[] = [];
      const fanoutCpu: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which goes first, so drift on the shared machine hits all alike.
        const order = round % 2 === 0 ? ['ours', 'floor', 'fanout', 'limit'] : ['limit', 'fanout', 'floor', 'ours'];
        const ops: Record<string, (i: number) => Promise<unknown>> = { ours, floor, fanout: fanoutFloor, limit };
        const got: Record<string, Measure> = {};
        for (const name of order) got[name] = await measure(admin, count, concurrency, ops[name]!);
        a.push(got.ours!);
        b.push(got.limit!);
        f.push(got.floor!);
        ff.push(got.fanout!);
        ratios.push(got.ours!.opsPerSec / got.limit!.opsPerSec);
        cpuRatios.push(got.ours!.cpuUs / got.limit!.cpuUs);
        floorRatios.push(got.floor!.opsPerSec / got.limit!.opsPerSec);
        fanoutCpuRatios.push(got.ours!.cpuUs / got.fanout!.cpuUs);
        fanoutCpu.push(got.fanout!.cpuUs / got.limit!.cpuUs);
      }
      const o = medianOf(a);
      const l = medianOf(b);
      summary[concurrency] = { ours: o, limit: l, ratio: median(ratios), cpuRatio: median(cpuRatios), floorRatio: median(floorRatios), floor: medianOf(f), fanout: medianOf(ff), fanoutCpuRatio: median(fanoutCpuRatios), fanoutCpu: median(fanoutCpu) };
      const sum = summary[concurrency]!;
      rows.push(
        `| publish, concurrency ${concurrency} | ${Math.round(o.opsPerSec)} | ${Math.round(l.opsPerSec)} | **${pct(sum.ratio)}** (floor ${pct(sum.floorRatio)}) | ` +
          `${f1(o.cpuUs)} / ${f1(l.cpuUs)} = **${f2(sum.cpuRatio)}×** | ${f1(sum.fanout.cpuUs)} = ${f2(sum.fanoutCpu)}× | ${f1(o.cpuUs)} / ${f1(sum.fanout.cpuUs)} = **${f2(sum.fanoutCpuRatio)}×** | ${f1(o.scriptUs)} / ${f1(l.scriptUs)} = **${f2(o.scriptUs / l.scriptUs)}×** (floor ${f1(sum.fanout.scriptUs)}) | ${Math.round(o.bytes)} / ${Math.round(l.bytes)} = **${f2(o.bytes / l.bytes)}×** | ` +
          `${f2(o.clientCmds)} / ${f2(l.clientCmds)} | ${f2(o.allCmds)} / ${f2(l.allCmds)} |`,
      );
    }

    // Replay of the last 10 of 1000 entries, one request at a time: latency percentiles.
    const tail = await replay.position('room-0');
    const since = { seq: tail.seq - 10, epoch: tail.epoch };
    const limitFrom = String(Number(await client.get('limit:{room-0}:n')) - 9);
    const oursReplay = () => replay.replay('ws', 'room-0', since, platform, 1);
    const limitReplay = () => client.evalsha(limitRead, 2, 'limit:{room-0}:n', 'limit:{room-0}:s', limitFrom, SIZE);
    const lat: Record<'ours' | 'limit', number[]> = { ours: [], limit: [] };
    const p99s: Record<'ours' | 'limit', number[]> = { ours: [], limit: [] };
    const replayCmds: Measure[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, fn] of (round % 2 ? [['limit', limitReplay], ['ours', oursReplay]] : [['ours', oursReplay], ['limit', limitReplay]]) as ['ours' | 'limit', () => Promise<unknown>][]) {
        const samples: number[] = [];
        const before = name === 'ours' ? await stats(admin) : undefined;
        for (let i = 0; i < 1000; i++) {
          const t0 = process.hrtime.bigint();
          await fn();
          samples.push(Number(process.hrtime.bigint() - t0) / 1000);
        }
        if (before) {
          const after = await stats(admin);
          replayCmds.push({ opsPerSec: 0, cpuUs: 0, scriptUs: 0, bytes: 0, clientCmds: (after.clientCmds - before.clientCmds) / 1000, allCmds: (after.allCmds - before.allCmds - 3) / 1000 });
        }
        lat[name].push(...samples);
        p99s[name].push(percentile(samples, 99));
      }
    }
    const p = (name: 'ours' | 'limit', q: number) => percentile(lat[name], q);
    const rc = medianOf(replayCmds);
    const p99ratio = median(p99s.ours.map((v, i) => v / p99s.limit[i]!));
    const c64 = summary[64]!;
    const c1 = summary[1]!;
    chart(CHART_FILE, {
      title: 'Redis publish, ratio to a raw EVALSHA (the limit)',
      xLabel: 'measure, at 1 and 64 publishes in flight',
      yLabel: 'ours ÷ limit (median of paired rounds)',
      categories: ['throughput, 1', 'throughput, 64', 'Redis CPU, 1', 'Redis CPU, 64'],
      series: [
        { name: 'ours', points: [[0, c1.ratio], [1, c64.ratio], [2, c1.cpuRatio], [3, c64.cpuRatio]] },
        { name: 'floor / fan-out floor', points: [[0, c1.floorRatio], [1, c64.floorRatio], [2, c1.fanoutCpu], [3, c64.fanoutCpu]] },
      ],
      reference: { y: 1, label: 'the limit' },
    });

    return [
      '## Redis',
      '',
      `\`gapless-replay/redis\` against the physical limit on this machine: a raw EVALSHA of a minimal`,
      `INCR + XADD MAXLEN (append + trim) script on the same hash-tagged keys, and a minimal GET + XRANGE`,
      `read script. redis-server ${(await admin.info('server')).match(/redis_version:(\S+)/)?.[1]} on loopback, started by the bench with no`,
      `persistence; ${TOPICS} topics already holding ${SIZE} entries (every publish trims); ~200-byte JSON`,
      `payloads; ${ROUNDS} alternating rounds, medians. "ours" is \`replay.publish(platform, ...)\` end to`,
      `end (validation, serialization, the script: seq, epoch, append, trim, TTL check, fan-out`,
      `PUBLISH) with a platform that drops the frame.`,
      '',
      '| operation | ours ops/s | limit ops/s | ours / limit (median of per-round ratios) | Redis CPU µs per call, INFO cpu (ours / limit) | fan-out floor\'s Redis CPU µs per call (/ limit) | ours / fan-out floor, Redis CPU | of which script execution, commandstats (ours / limit) | bytes to Redis per call | client commands per call | Redis commands per call (incl. in-script) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `| replay of the last 10 of 1000 | p50 µs | p99 µs | client commands per replay | Redis commands per replay (incl. in-script) |`,
      '|---|---:|---:|---:|---:|',
      `| ours (\`replay.replay\`, frames built and sent) | ${f1(p('ours', 50))} | ${f1(p('ours', 99))} | ${f2(rc.clientCmds)} | ${f2(rc.allCmds)} |`,
      `| limit (raw EVALSHA of GET + XRANGE) | ${f1(p('limit', 50))} | ${f1(p('limit', 99))} | 1.00 | 3.00 |`,
      '',
      `![Redis publish: ours ÷ the limit in throughput and in Redis CPU per publish, beside the throughput floor and the fan-out floor](charts/${CHART_FILE})`,
      '',
      `Targets: publish throughput ≥ 90% of the limit at concurrency 64 (measured ${pct(c64.ratio)}; the floor, the limit's call`,
      `with one promise layer over it, ${pct(c64.floorRatio)}), Redis CPU per publish ≤ 1.0× the limit's (measured ${f2(c64.cpuRatio)}×;`,
      `the fan-out floor, the limit plus TIME and PUBLISH, costs ${f2(c64.fanoutCpu)}× the limit, and ours ${f2(c64.fanoutCpuRatio)}× the floor),`,
      `bytes per publish ≤ 1.2× (measured`,
      `${f2(c64.ours.bytes / c64.limit.bytes)}×), exactly 1 client command per publish and per replay (measured`,
      `${f2(c64.ours.clientCmds)} and ${f2(rc.clientCmds)}), replay p99 ≤ 1.1× the limit's read (measured ${f2(p99ratio)}×, median of per-round ratios).`,
      'Redis CPU (INFO cpu) is the server\'s whole user+system time per call: reading, parsing and',
      'replying as well as the script, so it also grows when a slower client sends smaller batches.',
      'Ours writes the publishes of one event-loop turn together (one EVALSHA each, one socket write);',
      'the limit\'s raw calls are written one by one, so at concurrency 64 whole-server CPU favours ours.',
      'Script execution (commandstats) is the script alone: ours runs GET, TIME, XADD and PUBLISH where',
      'the limit runs INCR and XADD and the fan-out floor INCR, TIME, XADD and PUBLISH. Neither channel',
      'has a subscriber here. The client side of "ours" (validation, one JSON.stringify, the',
      'deadline, the resend flag) runs in this same Node process as the load generator.',
      'See docs/redis.md for what the extra in-script work buys (epoch, resend safety, fan-out).',
    ].join('\n');
  } finally {
    admin.disconnect();
    client.disconnect();
    await server.destroy();
  }
}
