// Production entry for the adapter-node build (`npm run build` here, then `node server.js`):
// one Node process serving the app and the WebSocket endpoint `/ws` with the same hooks.
// adapter-node's own server is reused, so PORT, HOST, ORIGIN, SHUTDOWN_TIMEOUT... still apply.
// Over plain http set ORIGIN (ORIGIN=http://localhost:3000), or form actions get 403.
import { server } from './build/index.js';
// In your app: import { attach } from 'gapless-replay/ws';
import { attach } from '../dist/ws/index.js';

// hooks.server.ts (bundled in ./build) registered the hooks.ws module during the import above.
attach(server.server, { path: '/ws' });
