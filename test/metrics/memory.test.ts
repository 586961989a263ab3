import { describe, expect, it } from 'vitest';
import { createReplay } from '../../src/memory/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { isGaplessError } from '../../src/core/errors.js';
import { RecordingPlatform } from '../helpers/recording-platform.js';
import { scrape } from './scrape.js';

describe('in-memory buffer with a registry', () => {
  it('counts each stored publish, not one that throws, and times a sample of them', () => {
    const metrics = createMetrics();
    const replay = createReplay({ metrics });
    const platform = new RecordingPlatform();
    for (let i = 0; i < 64; i++) replay.publish(platform, 'chat', 'message', { i });
    expect(() => replay.publish(platform, 'chat', 'message', 1n)).toThrow();
    const s = scrape(metrics.text());
    expect(s.value('gapless_publishes_total', { backend: 'memory' })).toBe(64);
    expect(s.value('gapless_publishes_total', { backend: 'redis' })).toBe(0);
    // The first publishes are timed, then fewer and fewer while they keep coming this fast.
    const timed = s.histogram('gapless_publish_duration_seconds').count;
    expect(timed).toBeGreaterThanOrEqual(7);
    expect(timed).toBeLessThan(64);
  });

  it('refuses a metrics option that is not a registry', () => {
    let error: unknown;
    try {
      createReplay({ metrics: {} as never });
    } catch (e) {
      error = e;
    }
    expect(isGaplessError(error, 'INVALID_OPTION')).toBe(true);
  });
});
