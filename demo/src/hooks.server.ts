import { registerHooks, registerMetrics, registerReplay, handle as gapless } from 'gapless-replay/ws';
import { metrics } from '$lib/server/metrics';
import { replay } from '$lib/server/replay';
import * as wsHooks from './hooks.ws';

// Preview and production get the WebSocket hooks from here (bundled with the app, so they
// share $lib modules with the routes). The platform answers replay and replay-batch requests
// with the registered buffer, after the same gate as subscribes. `handle` sets event.platform
// for load and actions. The platform reports sockets, closes and replays into the registry
// /metrics serves.
registerHooks(wsHooks);
registerReplay(replay);
registerMetrics(metrics);
export const handle = gapless;
