/**
 * Load section of `npm run bench`: reconnect recovery of Gapless against Socket.IO's connection
 * state recovery, with N clients in separate load-generator processes, for each scenario and
 * size, both systems alternately in one run.
 *
 * Catch-up of one client: from the moment it can reach the server again (the end of the 1 s
 * outage; the break itself for half-open paths, where new connections work at once) until it
 * first holds every message published by the end of the outage, with nothing missing before it. Messages are
 * published at 25/s on one topic throughout. `LOAD_SIZES=200,500` and `LOAD_SCENARIOS=storm`
 * narrow a run while working on it.
 */
import { readFileSync } from 'node:fs';
import { chart, type Series } from '../charts.js';
import { percentile } from '../stats.js';
import type { Fault } from './fault-proxy.js';
import { clock, spawnWorker, type Worker } from './ipc.js';

type SystemName = 'gapless' | 'socket.io';

interface Scenario {
  name: string;
  fault: Fault;
  /** Messages of other topics buffered before the clients connect. */
  history: number;
  /** How long to wait for every client to catch up. */
  deadlineMs: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'storm', fault: 'storm', history: 0, deadlineMs: 30_000 },
  { name: 'history-heavy storm', fault: 'storm', history: 240_000, deadlineMs: 60_000 },
  { name: 'silent drop', fault: 'silent', history: 0, deadlineMs: 30_000 },
  { name: 'half-open', fault: 'half-open', history: 0, deadlineMs: 90_000 },
];
const SIZES = [500, 1000, 2000];
const GENERATORS = 2;
const RATE = 25;
const OUTAGE_MS = 1000;
const STEADY_MS = 2000;
const SETTLE_MS = 1000;

interface RunResult {
  system: SystemName;
  clients: number;
  /** Catch-up ms of every client that caught up. */
  catchUp: number[];
  notCaughtUp: number;
  missed: number;
  duplicates: number;
  serverCpuMs: number;
  recoveryWindowMs: number;
  synRetrans: number;
  listenOverflows: number;
  /** Socket.IO only: reconnects that reported `recovered`. */
  recovered: number;
}

/** TcpExt counters of the machine (all of loopback is ours to read, shared with neighbours). */
function tcpExt(): Record<string, number> {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((name, i) => [name, values[i]!]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runOnce(system: SystemName, scenario: Scenario, clients: number): Promise<RunResult> {
  const serverScript = new URL(system === 'gapless' ? './server-gapless.ts' : './server-socketio.ts', import.meta.url);
  const server = await spawnWorker(serverScript, `${system} server`);
  const generators: Worker[] = [];
  try {
    const port = await server.call<number>('listen');
    if (scenario.history > 0) await server.call('fill', { count: scenario.history });
    for (let g = 0; g < GENERATORS; g++) generators.push(await spawnWorker(new URL('./generator.ts', import.meta.url), `generator ${g}`));
    const share = Math.ceil(clients / GENERATORS);
    await Promise.all(generators.map((gen, g) => gen.call('connect', { system, port, count: Math.min(share, clients - g * share) })));
    await server.call('start', { rate: RATE });
    await sleep(STEADY_MS);

    const before = tcpExt();
    await server.call('cpu');
    const t0 = clock();
    await Promise.all(generators.map((gen) => gen.call('fault', { kind: scenario.fault, outageMs: OUTAGE_MS })));
    await sleep(Math.max(0, t0 + OUTAGE_MS - clock()));
    const target = await server.call<number>('published');
    await Promise.all(generators.map((gen) => gen.call('target', { value: target })));
    const reports = await Promise.all(
      generators.map((gen) =>
        gen.call<{ caughtAt: number[]; openedAt: number[]; missed: number; duplicates: number; recovered: number; behind: Record<string, number> }>('collect', {
          deadline: t0 + scenario.deadlineMs,
          settleMs: SETTLE_MS,
        }),
      ),
    );
    for (const r of reports) for (const [state, count] of Object.entries(r.behind)) console.log(`[bench] load:   not caught up: ${count} × ${state}`);
    const serverCpuMs = await server.call<number>('cpu');
    const recoveryWindowMs = clock() - t0;
    const after = tcpExt();
    await server.call('stop');

    const caughtAt = reports.flatMap((r) => r.caughtAt);
    const reachable = scenario.fault === 'half-open' ? t0 : t0 + OUTAGE_MS;
    // Where a catch-up's time goes: until the new connection opened, and from then on.
    const openedAt = reports.flatMap((r) => r.openedAt);
    const toOpen = openedAt.filter((t) => t > 0).map((t) => t - reachable);
    const afterOpen = caughtAt.flatMap((t, i) => (t > 0 && openedAt[i]! > 0 ? [t - openedAt[i]!] : []));
    console.log(`[bench] load:   ${system}: open p50 ${ms(percentile(toOpen, 50))} p99 ${ms(percentile(toOpen, 99))} after the path is back; caught up p50 ${ms(percentile(afterOpen, 50))} p99 ${ms(percentile(afterOpen, 99))} after open`);
    return {
      system,
      clients,
      catchUp: caughtAt.filter((t) => t > 0).map((t) => t - reachable),
      notCaughtUp: caughtAt.filter((t) => t === 0).length,
      missed: reports.reduce((sum, r) => sum + r.missed, 0),
      duplicates: reports.reduce((sum, r) => sum + r.duplicates, 0),
      serverCpuMs,
      recoveryWindowMs,
      synRetrans: (after.TCPSynRetrans ?? 0) - (before.TCPSynRetrans ?? 0),
      listenOverflows: (after.ListenOverflows ?? 0) - (before.ListenOverflows ?? 0),
      recovered: reports.reduce((sum, r) => sum + r.recovered, 0),
    };
  } finally {
    await Promise.all(generators.map(async (gen) => {
      await gen.call('close').catch(() => {});
      await gen.kill();
    }));
    await server.kill();
  }
}

const ms = (value: number) => (Number.isFinite(value) ? (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`) : '—');

/** p50/p99 over every client; a client that never caught up counts as infinitely late. */
function quantile(result: RunResult, p: number): number {
  const all = [...result.catchUp, ...Array<number>(result.notCaughtUp).fill(Infinity)];
  return percentile(all, p);
}

function row(scenario: Scenario, r: RunResult): string {
  return `| ${scenario.name} | ${r.clients} | ${r.system} | ${ms(quantile(r, 50))} | ${ms(quantile(r, 99))} | ${r.notCaughtUp} | ${r.missed} | ${r.duplicates} | ${Math.round(r.serverCpuMs)} ms in ${ms(r.recoveryWindowMs)} | ${r.synRetrans} | ${r.listenOverflows} | ${r.system === 'socket.io' ? r.recovered : ''} |`;
}

const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : Number.isFinite(a) ? '< any (Socket.IO never caught up)' : '—');

export async function benchLoad(): Promise<string> {
  const sizes = process.env.LOAD_SIZES ? process.env.LOAD_SIZES.split(',').map(Number) : SIZES;
  const names = process.env.LOAD_SCENARIOS?.split(',');
  const scenarios = names ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  const rows: string[] = [];
  const ratios: string[] = [];
  /** Per scenario, the chart's series: catch-up p50 and p99 of each system, and the ratios. */
  const charted: Record<string, Record<string, [number, number][]>> = {};
  let flip = false;
  for (const scenario of scenarios) {
    charted[scenario.name] = {};
    for (const clients of sizes) {
      // Alternate which system goes first, so drift in the machine's load favours neither.
      const order: SystemName[] = flip ? ['socket.io', 'gapless'] : ['gapless', 'socket.io'];
      flip = !flip;
      const results = {} as Record<SystemName, RunResult>;
      const failures: string[] = [];
      for (const system of order) {
        console.log(`[bench] load: ${scenario.name}, ${clients} clients, ${system}...`);
        try {
          results[system] = await runOnce(system, scenario, clients);
          console.log(`[bench] load:   ${row(scenario, results[system])}`);
        } catch (error) {
          // One run that cannot even start (clients never live) must not lose the others' numbers.
          const why = (error as Error).message.split('\n')[0]!;
          console.error(`[bench] load:   ${system} failed: ${why}`);
          failures.push(`| ${scenario.name} | ${clients} | ${system} | failed: ${why} |||||||||`);
        }
      }
      rows.push(...failures);
      for (const system of ['gapless', 'socket.io'] as const) {
        if (results[system] === undefined) continue;
        rows.push(row(scenario, results[system]));
        for (const p of [50, 99]) (charted[scenario.name]![`${system} p${p}`] ??= []).push([clients, quantile(results[system], p)]);
      }
      const g = results.gapless;
      const s = results['socket.io'];
      if (g === undefined || s === undefined) continue;
      for (const p of [50, 99]) {
        // A system that never caught up has no ratio to draw (the table says which).
        const r = quantile(g, p) / quantile(s, p);
        if (Number.isFinite(r) && r > 0) (charted[scenario.name]![`ratio p${p}`] ??= []).push([clients, r]);
      }
      ratios.push(
        `| ${scenario.name} | ${clients} | ${ratio(quantile(g, 50), quantile(s, 50))} | ${ratio(quantile(g, 99), quantile(s, 99))} | ${ratio(g.serverCpuMs, s.serverCpuMs)} | ${g.missed === 0 && g.notCaughtUp === 0 ? 'all' : `${g.missed} missed`} | ${s.missed === 0 && s.notCaughtUp === 0 ? 'all' : `${s.missed} missed, ${s.notCaughtUp} clients not caught up`} |`,
      );
    }
  }

  const charts = scenarios.map((scenario) => {
    const series: Series[] = ['gapless p50', 'gapless p99', 'socket.io p50', 'socket.io p99'].map((name) => ({ name, points: charted[scenario.name]![name] ?? [] }));
    const file = `load-${scenario.name.replace(/\s+/g, '-')}.svg`;
    chart(file, { title: `Catch-up after a ${scenario.name}`, xLabel: 'clients', yLabel: 'catch-up (ms)', series });
    return `![Catch-up p50 and p99 after a ${scenario.name}, Gapless and Socket.IO, by number of clients](charts/${file})`;
  });
  // The targets are ratios: one chart of Gapless ÷ Socket.IO per storm, against its target.
  for (const [name, target] of [['storm', 0.5], ['history-heavy storm', 0.2]] as const) {
    const lines = charted[name];
    if (lines === undefined) continue;
    const file = `load-ratio-${name.replace(/\s+/g, '-')}.svg`;
    chart(file, {
      title: `Gapless ÷ Socket.IO catch-up, ${name}`,
      xLabel: 'clients',
      yLabel: 'ratio (lower is better)',
      series: ['ratio p50', 'ratio p99'].map((n) => ({ name: n, points: lines[n] ?? [] })),
      reference: { y: target, label: `target ${target}×` },
    });
    charts.push(`![Gapless ÷ Socket.IO catch-up p50 and p99 in the ${name}, by number of clients, against the ${target}× target](charts/${file})`);
  }

  return [
    '## Recovery under load: Gapless vs Socket.IO connection state recovery',
    '',
    `N clients in ${GENERATORS} load-generator processes (\`bench/load/generator.ts\`), each behind a TCP proxy that breaks`,
    `every path at once; one server process per run. ${RATE} messages/s are published on one topic throughout.`,
    'Gapless: `createPlatform(wss, { replay })`, the in-memory buffer and the `gapless-replay/client` store,',
    'defaults everywhere (`maxTopics` raised to hold the history topics). Socket.IO 4.8: `connectionStateRecovery: {}`',
    'and default settings otherwise; its clients use the WebSocket transport only, so that both systems run one',
    'WebSocket per client through the same proxy.',
    '',
    `Scenarios: **storm**: every connection closes on both sides and new ones are refused for ${OUTAGE_MS / 1000} s;`,
    `**history-heavy storm**: the same with 240,000 messages of 240 other topics in the buffer;`,
    `**silent drop**: every client sees its connection close, the server is never told, new connections are refused for`,
    `${OUTAGE_MS / 1000} s; **half-open**: nothing closes and nothing is forwarded any more; new connections work.`,
    '',
    '**Catch-up**: from the moment a client can reach the server again (the end of the outage; for half-open, the',
    'break itself, since new connections work at once and noticing the dead path is the point) until it holds every',
    'message published by the end of the outage, per client; p50/p99 over all clients, a client that never caught up',
    'within the deadline counting as infinitely late (—). The outage itself is the same for both systems and not counted.',
    '**Missed**: messages up to that point absent at the end, summed over clients; **duplicates**: messages',
    'delivered twice. Server CPU is the server process\'s user+system time from the break until every client',
    'caught up (or the deadline). SYN retransmits and listen-queue overflows are the machine\'s TcpExt counters',
    'over the same window (loopback is shared with other processes on this machine).',
    '',
    '| scenario | clients | system | catch-up p50 | p99 | not caught up | missed | duplicates | server CPU | SYN retransmits | listen overflows | Socket.IO `recovered` |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Gapless ÷ Socket.IO (lower is better for time and CPU):',
    '',
    '| scenario | clients | catch-up p50 | p99 | server CPU | Gapless recovered | Socket.IO recovered |',
    '|---|---:|---:|---:|---:|---|---|',
    ...ratios,
    '',
    ...charts,
  ].join('\n');
}

