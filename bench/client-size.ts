/**
 * The browser client's costs. Size as an app ships it: `connect` + `on` + `onReplay` bundled
 * by esbuild (everything they import, nothing external), minified, then gzipped; the budget is
 * 5 KB gzipped and `test/client/bundle-size.test.ts` fails above it. And the cost of one live
 * frame through an `onReplay` store in live mode, against `JSON.parse` of the same text alone
 * (the target: one parse and no other allocation beyond the event object).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { createConnection, onReplay } from '../src/client/index.js';
import { endFrame, reqIdField } from '../src/protocol/frames.js';
import { collect, compare, formatOps, formatRatio, formatSpread, hasGc } from './stats.js';

export const CLIENT_BUDGET_GZ = 5 * 1024;

export interface ClientSize {
  minified: number;
  gzipped: number;
  /** The minified bundle, for inspection (it must import nothing). */
  code: string;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function measureClientSize(): Promise<ClientSize> {
  const result = await build({
    stdin: { contents: "export { connect, on, onReplay } from './src/client/index.ts';", resolveDir: ROOT, loader: 'ts', sourcefile: 'client-entry.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  return { minified: Buffer.byteLength(code), gzipped: gzipSync(code, { level: 9 }).length, code };
}

const START = 1_000_000;

interface BenchSocket {
  readyState: number;
  sent: string[];
  onopen: (() => void) | null;
  onmessage: ((event: { data: string }) => void) | null;
}

/** A store in live mode on a socket the bench drives directly; returns a loop feeding it frames. */
function liveStore(): { feed: (n: number) => void; parse: (n: number) => void; check: () => number } {
  let socket: BenchSocket | undefined;
  class Socket implements BenchSocket {
    readyState = 0;
    sent: string[] = [];
    onopen: (() => void) | null = null;
    onmessage: ((event: { data: string }) => void) | null = null;
    onclose = null;
    onerror = null;
    constructor() {
      socket = this;
    }
    send(data: string) {
      this.sent.push(data);
    }
    close() {}
  }
  const conn = createConnection({ url: 'ws://bench/ws', WebSocket: Socket });
  const store = onReplay('t', { since: { seq: 0, epoch: 'E' }, connection: conn });
  let last: { seq?: number } | null = null;
  store.subscribe((e) => (last = e));
  socket!.readyState = 1;
  socket!.onopen!();
  const { reqId } = JSON.parse(socket!.sent[socket!.sent.length - 1]!) as { reqId: number };
  // Both counters start at a million so that both loops parse texts of the same length.
  socket!.onmessage!({ data: endFrame('t', reqIdField(reqId), { seq: START, epoch: 'E' }) });
  // Both loops build the same text per frame (a real socket hands over a new string each time).
  const head = '{"topic":"t","event":"m","data":{"id":42,"text":"hello world"},"seq":';
  const tail = ',"epoch":"E"}';
  const message = { data: '' };
  let seq = START;
  let pseq = START;
  let parsed: unknown;
  return {
    feed(n) {
      const on = socket!.onmessage!;
      for (let i = 0; i < n; i++) {
        message.data = head + ++seq + tail;
        on(message);
      }
    },
    parse(n) {
      for (let i = 0; i < n; i++) parsed = JSON.parse(head + ++pseq + tail);
    },
    check: () => (parsed === undefined ? -1 : last?.seq ?? -1) === seq ? seq : -1,
  };
}

/** Young-generation collections during `run`: they come when new space fills, so they count bytes allocated. */
async function gcsDuring(run: () => void): Promise<number> {
  collect();
  let count = 0;
  const observer = new PerformanceObserver((list) => (count += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  run();
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  return count;
}

export async function benchClientSize(): Promise<string> {
  const { minified, gzipped } = await measureClientSize();
  const live = liveStore();
  const cmp = compare({ 'onReplay live frame': live.feed, 'JSON.parse alone': live.parse });
  const FRAMES = 1_000_000;
  // Counted twice each, the second time: the first can include code still being optimized.
  let gcStore = NaN;
  let gcParse = NaN;
  for (let i = 0; i < 2 && hasGc(); i++) {
    gcStore = await gcsDuring(() => live.feed(FRAMES));
    gcParse = await gcsDuring(() => live.parse(FRAMES));
  }
  if (live.check() < 0) throw new Error('bench/client-size: the store did not deliver every frame');
  const kb = (n: number) => (n / 1024).toFixed(2) + ' KB';
  return [
    '## Client: bundle size and cost per live frame',
    '',
    '`connect` + `on` + `onReplay` from `gapless-replay/client`, bundled with esbuild (ESM, browser, es2020), minified, gzip level 9.',
    '',
    '| | bytes | |',
    '|---|---:|---|',
    `| minified | ${minified} | ${kb(minified)} |`,
    `| minified + gzip | ${gzipped} | ${kb(gzipped)} |`,
    `| budget (gzip) | ${CLIENT_BUDGET_GZ} | ${gzipped <= CLIENT_BUDGET_GZ ? 'within' : '**over**'} |`,
    '',
    'One live frame (`{"topic","event","data":{…},"seq","epoch"}`, 85 B) through an `onReplay` store in live mode',
    '(socket `onmessage` → parse → seq check → subscriber), against `JSON.parse` of the same text alone.',
    `Young-generation GCs over ${FRAMES.toLocaleString('en-US')} frames count what each allocates (new space fills, then it is collected).`,
    '',
    '| | frames/s | ratio (spread) | young GCs per 1M frames |',
    '|---|---:|---:|---:|',
    `| onReplay live frame | ${formatOps(cmp.ops['onReplay live frame']!)} | ${formatRatio(cmp.ratio)} (${formatSpread(cmp.ratios)}) | ${gcStore} |`,
    `| JSON.parse alone | ${formatOps(cmp.ops['JSON.parse alone']!)} | 1× | ${gcParse} |`,
    '',
  ].join('\n');
}
