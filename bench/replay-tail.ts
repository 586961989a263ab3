/**
 * Tail replay serving on its own: the in-memory buffer answering "the last 10 of 1000"
 * through the shared serving path, beside the floor of bench/memory.ts (building and writing
 * the same frames with no buffer around them), in one process and alternating rounds. The
 * memory section times this row among many others; this one runs more rounds of it alone,
 * through both platform kinds, for working on the serving path.
 *
 * Contenders: `plain` (a platform with `sendText` only, as the memory section drives it),
 * `channel` (a platform offering a replay channel, as the `ws` platform does, with a gate that
 * allows, sends that go through and no pacing) and `floor`. The frames of both paths are
 * checked to equal the floor's before timing.
 */
import { createReplay } from '../src/memory/index.js';
import { endFrame, msgFrame, replayHead } from '../src/protocol/frames.js';
import { pool, smallPayload } from './memory.js';
import { channelPlatform } from './metrics.js';
import { createBenchPlatform, createSocket, type BenchPlatform, type BenchSocket } from './platform.js';
import { compare, formatOps, formatPercent, formatQuartiles, markdownTable, pairedRatio } from './stats.js';

const SIZE = 1000;
const TAIL = 10;
const EVENT = 'message';
/** More than the memory section's 15: the row is compared to itself across changes of a few percent. */
const ROUNDS = 41;

/** Every frame `serve` sends, captured. */
function framesOf(serve: (platform: BenchPlatform) => void, platform: BenchPlatform): string[] {
  const captured: string[] = [];
  serve({ ...platform, sendText: (_ws, frame) => (captured.push(frame), true) });
  return captured;
}

export async function benchReplayTail(): Promise<string> {
  const payloads = pool(smallPayload);
  const replay = createReplay({ size: SIZE });
  const platform = createBenchPlatform(0);
  // Wrapped once, as a long-lived topic is.
  for (let i = 0; i < SIZE * 1.5; i++) replay.publish(platform, 'feed', EVENT, payloads[i % payloads.length]);
  const { seq, epoch } = replay.position('feed');
  const from = seq - TAIL;
  const tail: string[] = [];
  for (let s = from + 1; s <= seq; s++) tail.push(JSON.stringify(payloads[(s - 1) % payloads.length]));

  const plainSocket = createSocket();
  const channelSocket = createSocket();
  const floorSocket = createSocket();
  const viaChannel = channelPlatform(platform, channelSocket, undefined);
  const floor = (target: BenchPlatform, socket: BenchSocket) => {
    const head = replayHead('feed', 'msg', '');
    for (let k = 0; k < TAIL; k++) target.sendText(socket, msgFrame(head, from + 1 + k, EVENT, tail[k]!));
    target.sendText(socket, endFrame('feed', '', { seq, epoch }));
  };

  const expected = framesOf((p) => floor(p, floorSocket), platform).join('\n');
  const plainFrames = framesOf((p) => void replay.replay(plainSocket, 'feed', from, p), platform).join('\n');
  const channelFrames: string[] = [];
  const capturing = channelPlatform({ ...platform, sendText: (_ws, frame) => (channelFrames.push(frame), true) }, channelSocket, undefined);
  void replay.replay(channelSocket, 'feed', from, capturing);
  if (plainFrames !== expected || channelFrames.join('\n') !== expected) throw new Error('bench setup: a replay sent other frames than the floor');

  const result = compare(
    {
      plain: (n) => {
        // The in-memory replay answers synchronously; the promise is already settled.
        for (let i = 0; i < n; i++) void replay.replay(plainSocket, 'feed', from, platform);
      },
      floor: (n) => {
        for (let i = 0; i < n; i++) floor(platform, floorSocket);
      },
      channel: (n) => {
        for (let i = 0; i < n; i++) void replay.replay(channelSocket, 'feed', from, viaChannel);
      },
    },
    { rounds: ROUNDS },
  );
  const row = (name: string, label: string) => [label, formatOps(result.ops[name]!), formatPercent(pairedRatio(result, name, 'floor')), formatQuartiles(result.rounds.map((r) => r[name]! / r.floor!))];
  return [
    '## Tail replay serving',
    '',
    `The in-memory buffer answering a replay of the last ${TAIL} of ${SIZE} entries (182 B payloads), beside the floor: building and writing the same ${TAIL + 1} frames with no buffer around them.` +
      ` \`plain\` serves through a platform with \`sendText\` only (as in the in-memory section), \`channel\` through one offering a replay channel, as the \`ws\` platform does (gate, send and pace that always allow).` +
      ` ${ROUNDS} alternating rounds of ~40 ms on process CPU time; the ratios are paired per round. Floor: ${formatOps(result.ops.floor!)} ops/s.`,
    '',
    markdownTable(['Path', 'ops/s', 'ours ÷ floor', 'middle half of rounds'], [row('plain', 'plain platform'), row('channel', 'replay channel')]),
  ].join('\n');
}
