/**
 * @module gapless-replay/ws
 * A platform for Node `ws` servers: subscriptions, serialize-once fan-out, backpressure
 * limits, and replay requests answered by an attached buffer.
 */
export { createPlatform, type Platform, type PlatformOptions } from './platform.js';
export type { WsHooks, HookContext, MessageContext, CloseContext } from './hooks.js';
export { attach, type AttachOptions, type Detach } from './attach.js';
export { getPlatform, registerHooks, registerReplay, closePlatform, type AppHooks } from './registry.js';
export { handle, type HandleInput } from './sveltekit.js';
