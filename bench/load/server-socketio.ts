/**
 * The load benchmark's Socket.IO server: 4.8 with connection state recovery on and default
 * settings otherwise (recovery window 2 minutes, ping every 25 s, 20 s ping timeout).
 */
import { Server } from 'socket.io';
import { httpServer, runServer } from './server-common.js';

const http = httpServer();
const io = new Server(http, { connectionStateRecovery: {} });

runServer({
  http,
  publish(n) {
    io.emit('m', { n });
  },
  fillHistory(count) {
    // Rooms nobody joined: the packets are kept for recovery all the same, as an app's other
    // conversations would be.
    // A fresh object each: the adapter keeps a reference to what was emitted, not a copy.
    const text = 'x'.repeat(100);
    for (let i = 0; i < count; i++) io.to(`other:${i % 240}`).emit('m', { n: i, text });
  },
  connections: () => io.engine.clientsCount,
});
