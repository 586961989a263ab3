import { fileURLToPath } from 'node:url';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';
// In your app: import { gapless } from 'gapless-replay/vite';
import { gapless } from '../dist/vite/index.js';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

// The demo uses the library as built by `npm run build` in the repository root, under the
// names an app would use (`gapless-replay/ws`, ...). An installed package needs no alias.
export default defineConfig({
  plugins: [sveltekit(), gapless()],
  resolve: {
    alias: [
      { find: /^gapless-replay$/, replacement: `${dist}memory/index.js` },
      { find: /^gapless-replay\/(ws|redis|client|protocol)$/, replacement: `${dist}$1/index.js` },
    ],
  },
  server: { fs: { allow: [dist] } },
});
