/**
 * @module gapless-replay/client
 * Browser runtime: one WebSocket per page (`connect`), live stores (`on`) and stores that
 * replay what the page missed since its SSR data, then go live (`onReplay`). Svelte-store
 * compatible; works without Svelte. Importing it opens nothing.
 */
export { connect, createConnection, type Connection, type ConnectOptions, type ConnectionState, type LiveEvent, type WebSocketConstructor } from './connection.js';
export { on, type OnOptions } from './live-store.js';
export { onReplay, type ReplayOptions, type ReplayState, type ReplayStatus, type ReplayStore } from './replay-store.js';
export type { EventStore, Readable, Subscriber, Unsubscriber } from './store.js';
export type { BackoffOptions } from './backoff.js';
export type { Position, Since } from '../core/position.js';
