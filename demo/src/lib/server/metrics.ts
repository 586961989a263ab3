// The demo's one metrics registry: the buffer (replay.ts) and the platform (hooks.server.ts)
// report into it, and /metrics serves it to Prometheus.
import { createMetrics } from 'gapless-replay/metrics';

export const metrics = createMetrics();
