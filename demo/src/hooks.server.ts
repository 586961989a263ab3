import { registerHooks, registerReplay, handle as gapless } from 'gapless-replay/ws';
import { replay } from '$lib/server/replay';
import * as wsHooks from './hooks.ws';

// Preview and production get the WebSocket hooks from here (bundled with the app, so they
// share $lib modules with the routes). The platform answers replay and replay-batch requests
// with the registered buffer, after the same gate as subscribes. `handle` sets event.platform
// for load and actions.
registerHooks(wsHooks);
registerReplay(replay);
export const handle = gapless;
