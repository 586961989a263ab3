import { describe, expect, it } from 'vitest';
import { CLIENT_BUDGET_GZ, measureClientSize } from '../../bench/client-size.js';

describe('client bundle', () => {
  it('connect + on + onReplay stay within 5 KB minified and gzipped, and import nothing at run time', async () => {
    const size = await measureClientSize();
    expect(size.gzipped).toBeLessThanOrEqual(CLIENT_BUDGET_GZ);
    // Fully self-contained: no import of ws, node built-ins or anything else survives bundling.
    expect(size.code).not.toMatch(/\bimport\s*[\w{*"'(]/);
    expect(size.code).not.toMatch(/require\(/);
  });
});
