/**
 * The in-memory buffer against the replay plugin of svelte-adapter-uws 0.3.4, side by side
 * in one process, both driven through the same platform (bench/platform.ts).
 *
 * The reference is imported by path: its module has no run-time imports, so it runs here
 * without uWebSockets.js.
 */
import { createReplay } from '../src/memory/index.js';
import { createReplay as createReference } from '../node_modules/svelte-adapter-uws/plugins/replay/server.js';
import { createBenchPlatform, createSocket, type BenchPlatform, type BenchSocket } from './platform.js';
import { collect, compare, formatBytes, formatOps, formatRatio, formatSpread, hasGc, markdownTable, type Comparison } from './stats.js';

/** The part of 0.3.4's buffer this benchmark calls (its .d.ts names uWS types we do not install). */
interface ReferenceBuffer {
  publish(platform: BenchPlatform, topic: string, event: string, data?: unknown): unknown;
  since(topic: string, since: number): unknown[];
  replay(ws: BenchSocket, topic: string, since: number, platform: BenchPlatform): void;
  seq(topic: string): number;
}

const newReference = createReference as unknown as (options?: { size?: number; maxTopics?: number }) => ReferenceBuffer;

/** Fake subscribers per published topic. Their cost is the same for both; they only keep it honest. */
const SUBSCRIBERS = 4;
const POOL = 1024;
const BUFFER_SIZE = 1000;
const TAIL = 10;
const HEAP_TOPICS = 10_000;
const HEAP_MESSAGES = 100;
const EVENT = 'message';

// ---- payloads ---------------------------------------------------------------------------

const LOREM = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris. ';

/**
 * A chat-like message of about 200 bytes of JSON. Built with `JSON.parse`, as a request body
 * would be, so every payload is its own object with its own strings (the reference keeps
 * them; sharing one object would hide that cost).
 */
function smallPayload(i: number): unknown {
  const text = (i.toString(36) + ' ' + LOREM).slice(0, 96);
  return JSON.parse(`{"id":${i},"user":"user-${i % 97}","room":"lobby","text":${JSON.stringify(text)},"ts":${1764000000000 + i},"edited":false}`);
}

/** About 4 KB of JSON: a text field and a list of records, the shape of a list update. */
function largePayload(i: number): unknown {
  const items: string[] = [];
  for (let k = 0; k < 24; k++) {
    items.push(`{"id":${i * 24 + k},"name":"item ${k} of ${i}","price":${(k * 7.25 + (i % 13)).toFixed(2)},"qty":${k % 5},"tags":["a${k % 3}","b${k % 7}"],"note":"${LOREM.slice(0, 40 + (k % 9))}"}`);
  }
  const text = (i.toString(36) + ' ' + LOREM.repeat(4)).slice(0, 600);
  return JSON.parse(`{"id":${i},"user":"user-${i % 97}","text":${JSON.stringify(text)},"items":[${items.join(',')}]}`);
}

function pool(make: (i: number) => unknown): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < POOL; i++) out.push(make(i));
  return out;
}

function averageJsonBytes(payloads: readonly unknown[]): number {
  let total = 0;
  for (const p of payloads) total += Buffer.byteLength(JSON.stringify(p));
  return total / payloads.length;
}

// ---- sections ---------------------------------------------------------------------------

interface Row {
  measure: string;
  result: Comparison;
  target: number;
}

function comparePublish(payloads: readonly unknown[]): Comparison {
  const ours = createReplay({ size: BUFFER_SIZE });
  const ref = newReference({ size: BUFFER_SIZE });
  const ourPlatform = createBenchPlatform(SUBSCRIBERS);
  const refPlatform = createBenchPlatform(SUBSCRIBERS);
  // Start from a full ring: the steady state of a busy topic.
  for (let i = 0; i < BUFFER_SIZE; i++) {
    ours.publish(ourPlatform, 'chat', EVENT, payloads[i % POOL]);
    ref.publish(refPlatform, 'chat', EVENT, payloads[i % POOL]);
  }
  return compare({
    ours: (n) => {
      for (let i = 0; i < n; i++) ours.publish(ourPlatform, 'chat', EVENT, payloads[i & (POOL - 1)]);
    },
    ref: (n) => {
      for (let i = 0; i < n; i++) ref.publish(refPlatform, 'chat', EVENT, payloads[i & (POOL - 1)]);
    },
  });
}

/** Both buffers holding the same full 1000-entry topic. */
function filledPair(payloads: readonly unknown[]) {
  const ours = createReplay({ size: BUFFER_SIZE });
  const ref = newReference({ size: BUFFER_SIZE });
  const platform = createBenchPlatform(0);
  // Wrap the ring once so both read across the wrap point, as a long-lived topic does.
  for (let i = 0; i < BUFFER_SIZE * 1.5; i++) {
    ours.publish(platform, 'feed', EVENT, payloads[i % POOL]);
    ref.publish(platform, 'feed', EVENT, payloads[i % POOL]);
  }
  const seq = ours.seq('feed');
  if (ref.seq('feed') !== seq) throw new Error('bench setup: the two buffers disagree on seq');
  return { ours, ref, platform, seq };
}

function compareSince(payloads: readonly unknown[]): Comparison {
  const { ours, ref, seq } = filledPair(payloads);
  const from = seq - TAIL;
  if (ours.since('feed', from).length !== TAIL || ref.since('feed', from).length !== TAIL) {
    throw new Error('bench setup: since did not return the last 10 entries');
  }
  let sink = 0;
  const result = compare({
    ours: (n) => {
      for (let i = 0; i < n; i++) sink += ours.since('feed', from).length;
    },
    ref: (n) => {
      for (let i = 0; i < n; i++) sink += ref.since('feed', from).length;
    },
  });
  if (sink === 0) throw new Error('unreachable');
  return result;
}

/** Replay through the platform's send; checks first that both send the same messages. */
function compareReplay(payloads: readonly unknown[], count: number): Comparison {
  const { ours, ref, platform, seq } = filledPair(payloads);
  const from = seq - count;
  checkSameReplay(ours, ref, platform, from, count);
  const ourSocket = createSocket();
  const refSocket = createSocket();
  return compare({
    ours: (n) => {
      // The in-memory replay answers synchronously; the promise is already settled.
      for (let i = 0; i < n; i++) void ours.replay(ourSocket, 'feed', from, platform);
    },
    ref: (n) => {
      for (let i = 0; i < n; i++) ref.replay(refSocket, 'feed', from, platform);
    },
  }, count >= BUFFER_SIZE ? { roundMs: 100 } : {});
}

function checkSameReplay(ours: ReturnType<typeof createReplay>, ref: ReferenceBuffer, platform: BenchPlatform, from: number, count: number): void {
  const captured: string[] = [];
  const capture: BenchPlatform = {
    ...platform,
    sendText: (_ws, frame) => (captured.push(frame), true),
    send: (_ws, topic, event, data) => (captured.push(JSON.stringify({ topic, event, data })), true),
  };
  void ours.replay(createSocket(), 'feed', from, capture);
  const ourFrames = captured.splice(0).map((f) => JSON.parse(f) as { event: string; data: { seq?: number; data?: unknown } });
  ref.replay(createSocket(), 'feed', from, capture);
  const refFrames = captured.splice(0).map((f) => JSON.parse(f) as { event: string; data: { seq?: number; data?: unknown } });
  const msgs = (frames: typeof ourFrames) => frames.filter((f) => f.event === 'msg').map((f) => JSON.stringify([f.data.seq, f.data.data]));
  if (ourFrames.length !== count + 1 || refFrames.length !== count + 1 || msgs(ourFrames).join() !== msgs(refFrames).join()) {
    throw new Error(`bench setup: replays differ (${ourFrames.length} vs ${refFrames.length} frames)`);
  }
}

// ---- heap -------------------------------------------------------------------------------

interface HeapResult {
  perMessage: number;
}

/**
 * Heap growth per buffered message for `HEAP_TOPICS` × `HEAP_MESSAGES` fresh payloads, with
 * default `size` and `maxTopics` large enough to keep every topic.
 */
function heapPerMessage(build: () => { publish(topic: string, data: unknown): void; keep(): unknown }): HeapResult {
  collect();
  const before = process.memoryUsage().heapUsed;
  const buffer = build();
  for (let t = 0; t < HEAP_TOPICS; t++) {
    const topic = 'room:' + t;
    for (let m = 0; m < HEAP_MESSAGES; m++) buffer.publish(topic, smallPayload(t * HEAP_MESSAGES + m));
  }
  collect();
  const after = process.memoryUsage().heapUsed;
  if (buffer.keep() === undefined) throw new Error('unreachable');
  return { perMessage: (after - before) / (HEAP_TOPICS * HEAP_MESSAGES) };
}

/** Mean UTF-8 size of `JSON.stringify({seq, topic, event, data})` over the same messages. */
function meanEntryBytes(): number {
  let total = 0;
  for (let t = 0; t < HEAP_TOPICS; t++) {
    const topic = 'room:' + t;
    for (let m = 0; m < HEAP_MESSAGES; m++) {
      total += Buffer.byteLength(JSON.stringify({ seq: m + 1, topic, event: EVENT, data: smallPayload(t * HEAP_MESSAGES + m) }));
    }
  }
  return total / (HEAP_TOPICS * HEAP_MESSAGES);
}

function measureHeap() {
  const platform = createBenchPlatform(0);
  const ours = heapPerMessage(() => {
    const replay = createReplay({ maxTopics: HEAP_TOPICS });
    return { publish: (topic, data) => void replay.publish(platform, topic, EVENT, data), keep: () => replay.seq('room:0') };
  });
  const ref = heapPerMessage(() => {
    const replay = newReference({ maxTopics: HEAP_TOPICS });
    return { publish: (topic, data) => void replay.publish(platform, topic, EVENT, data), keep: () => replay.seq('room:0') };
  });
  return { ours: ours.perMessage, ref: ref.perMessage, entry: meanEntryBytes() };
}

// ---- report -----------------------------------------------------------------------------

function verdict(ok: boolean): string {
  return ok ? 'yes' : '**no**';
}

export async function benchMemory(log: (line: string) => void = console.log): Promise<string> {
  if (!hasGc()) throw new Error('run with node --expose-gc (npm run bench does) so heap figures mean something');
  const small = pool(smallPayload);
  const large = pool(largePayload);
  const smallBytes = averageJsonBytes(small);
  const largeBytes = averageJsonBytes(large);
  const rows: Row[] = [];
  const step = (measure: string, target: number, run: () => Comparison) => {
    const result = run();
    rows.push({ measure, result, target });
    log(`  ${measure}: ${formatRatio(result.ratio)} (ours ${formatOps(result.ops.ours!)} ops/s, 0.3.4 ${formatOps(result.ops.ref!)} ops/s)`);
  };
  step(`publish, ${Math.round(smallBytes)} B payload`, 1, () => comparePublish(small));
  step(`publish, ${Math.round(largeBytes)} B payload`, 1, () => comparePublish(large));
  step(`since: last ${TAIL} of ${BUFFER_SIZE}`, 20, () => compareSince(small));
  step(`replay: last ${TAIL} of ${BUFFER_SIZE}`, 20, () => compareReplay(small, TAIL));
  step(`replay: all ${BUFFER_SIZE}`, 2, () => compareReplay(small, BUFFER_SIZE));
  log('  heap: 10,000 topics × 100 messages');
  const heap = measureHeap();
  const heapRatio = heap.ours / heap.entry;
  log(`  heap per message: ours ${heap.ours.toFixed(1)} B, 0.3.4 ${heap.ref.toFixed(1)} B, entry ${heap.entry.toFixed(1)} B`);

  const timing = markdownTable(
    ['Measure', 'gapless-replay (ops/s)', '0.3.4 (ops/s)', 'Ratio', 'Round ratios (min–max)', 'Target', 'Met'],
    rows.map(({ measure, result, target }) => [
      measure,
      formatOps(result.ops.ours!),
      formatOps(result.ops.ref!),
      formatRatio(result.ratio),
      formatSpread(result.ratios),
      '≥ ' + target + '×',
      verdict(result.ratio >= target),
    ]),
  );
  const memory = markdownTable(
    ['Buffered message (10,000 topics × 100)', 'Bytes', 'Ratio to the serialized entry', 'Target', 'Met'],
    [
      ['Serialized entry `{seq,topic,event,data}`, UTF-8', heap.entry.toFixed(1), '1.00×', '', ''],
      ['gapless-replay heap per message', heap.ours.toFixed(1), formatRatio(heapRatio), '≤ 1.1×', verdict(heapRatio <= 1.1)],
      ['0.3.4 heap per message', heap.ref.toFixed(1), formatRatio(heap.ref / heap.entry), '', ''],
    ],
  );

  return [
    '## In-memory buffer vs svelte-adapter-uws 0.3.4',
    '',
    `Both buffers run in the same process, driven through the same platform (\`bench/platform.ts\`):` +
      ` 0.3.4 calls \`publish\`/\`send\`, which build the envelope with one \`JSON.stringify\` as the adapter does;` +
      ` gapless-replay calls \`publishJson\`/\`sendText\`, the serialize-once methods of our \`ws\` platform.` +
      ` Each published frame goes to ${SUBSCRIBERS} fake subscribers; every sink flattens the frame as a socket write would.` +
      ` Payloads: ${POOL} distinct objects per size (mean ${Math.round(smallBytes)} B and ${formatBytes(largeBytes)} of JSON), cycled.` +
      ` Buffers hold 1000 entries per topic (full, wrapped); \`since\` and \`replay\` use the ${Math.round(smallBytes)} B payloads.` +
      ` Ratio = ours ÷ 0.3.4, the median of per-round ratios; each contender is warmed up, then timed in 7 alternating rounds.`,
    '',
    timing,
    '',
    `0.3.4's \`publish\` stores the caller's object as is: mutating it afterwards rewrites history, and what a` +
      ` replay sends may differ from what was delivered live. gapless-replay serializes once and stores that text,` +
      ` so the publish column is the price of protected history (later versions of the adapter pay a \`structuredClone\` per publish instead).` +
      ` Its \`since\` returns fresh copies (one \`JSON.parse\` per entry); 0.3.4 returns its stored objects.`,
    '',
    `Heap: \`global.gc()\` before and after, \`process.memoryUsage().heapUsed\` difference over ${(HEAP_TOPICS * HEAP_MESSAGES).toLocaleString('en-US')} buffered` +
      ` messages (default \`size\` 1000, \`maxTopics\` ${HEAP_TOPICS.toLocaleString('en-US')}), each payload a fresh object parsed from JSON.` +
      ` The heap includes per-topic state (map entries, epochs, ring arrays) spread over the messages.`,
    '',
    memory,
  ].join('\n');
}
