// The replay buffer every server module shares: routes publish through it, hooks.ws serves
// replays from it. In-memory by default (one process).
import { createReplay } from 'gapless-replay';

export const replay = createReplay({ size: 500 });
