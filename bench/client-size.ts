/**
 * Size of the browser client as an app ships it: `connect` + `on` + `onReplay` bundled by
 * esbuild (everything they import, nothing external), minified, then gzipped. The budget is
 * 5 KB gzipped; `test/client/bundle-size.test.ts` fails above it.
 */
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const CLIENT_BUDGET_GZ = 5 * 1024;

export interface ClientSize {
  minified: number;
  gzipped: number;
  /** The minified bundle, for inspection (it must import nothing). */
  code: string;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function measureClientSize(): Promise<ClientSize> {
  const result = await build({
    stdin: { contents: "export { connect, on, onReplay } from './src/client/index.ts';", resolveDir: ROOT, loader: 'ts', sourcefile: 'client-entry.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  return { minified: Buffer.byteLength(code), gzipped: gzipSync(code, { level: 9 }).length, code };
}

export async function benchClientSize(): Promise<string> {
  const { minified, gzipped } = await measureClientSize();
  const kb = (n: number) => (n / 1024).toFixed(2) + ' KB';
  return [
    '## Client bundle size',
    '',
    '`connect` + `on` + `onReplay` from `gapless-replay/client`, bundled with esbuild (ESM, browser, es2020), minified, gzip level 9.',
    '',
    '| | bytes | |',
    '|---|---:|---|',
    `| minified | ${minified} | ${kb(minified)} |`,
    `| minified + gzip | ${gzipped} | ${kb(gzipped)} |`,
    `| budget (gzip) | ${CLIENT_BUDGET_GZ} | ${gzipped <= CLIENT_BUDGET_GZ ? 'within' : '**over**'} |`,
    '',
  ].join('\n');
}
