import { registerHooks, handle as gapless } from 'gapless-replay/ws';
import * as wsHooks from './hooks.ws';

// Preview and production get the WebSocket hooks from here (bundled with the app, so they
// share $lib modules with the routes). `handle` sets event.platform for load and actions.
registerHooks(wsHooks);
export const handle = gapless;
