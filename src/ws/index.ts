/**
 * @module gapless-replay/ws
 * A platform for Node `ws` servers: identity at upgrade (`upgrade` hook, `ws.getUserData()`),
 * subscriptions behind a gate, serialize-once fan-out, backpressure limits, and replay requests
 * answered by an attached buffer.
 */
export { createPlatform, type Platform, type PlatformOptions } from './platform.js';
export type { WsHooks, Hooks, HookContext, MessageContext, CloseContext, UpgradeContext, UpgradeAnswer } from './hooks.js';
export type { UserSocket, UserData } from './user-data.js';
export type { UpgradeHandler } from './upgrade.js';
export { attach, type AttachOptions, type Detach } from './attach.js';
export { getPlatform, registerHooks, registerReplay, registerMetrics, registerLogger, closePlatform, type AppHooks } from './registry.js';
export { handle, type HandleInput } from './sveltekit.js';
