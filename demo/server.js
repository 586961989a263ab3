// Production entry for the adapter-node build (`npm run build` here, then `node server.js`):
// one Node process serving the app and the WebSocket endpoint `/ws` with the same hooks.
// adapter-node's own server is reused, so PORT, HOST, ORIGIN, SHUTDOWN_TIMEOUT... still apply.
// Over plain http set ORIGIN (ORIGIN=http://localhost:3000), or form actions get 403.
import { server } from './build/index.js';
// In your app: import { attach, closePlatform } from 'gapless-replay/ws';
import { attach, closePlatform } from '../dist/ws/index.js';

// hooks.server.ts (bundled in ./build) registered the hooks.ws module during the import above.
// adapter-node 5 exports its polka app (the http.Server is `server.server`); 6 exports the server.
attach(server.server ?? server, { path: '/ws' });

// On SIGTERM/SIGINT adapter-node stops listening and waits for open connections to end; open
// WebSockets would hold it until SHUTDOWN_TIMEOUT. Close them (1001: clients reconnect).
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => void closePlatform());
