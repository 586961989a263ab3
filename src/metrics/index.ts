/**
 * @module gapless-replay/metrics
 * Prometheus metrics for the buffers and the platform, with no dependency: `createMetrics()`
 * returns one registry to pass as the `metrics` option of `createReplay` and `createPlatform`,
 * and `text()` renders it for a `/metrics` endpoint. `registerPromClient` shows the same series
 * through a prom-client registry instead. Also the `Logger` shape of the `logger` options.
 */
export { createMetrics, CONTENT_TYPE, type Metrics } from './metrics.js';
export { registerPromClient, type PromClientRegistry } from './prom-client.js';
export type { Logger } from '../core/log.js';
