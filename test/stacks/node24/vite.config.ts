// The demo's configuration in SvelteKit 3's form: Kit 3 reads its options from the `sveltekit()`
// plugin (svelte.config.js is refused) and no longer provides `$lib`, which the demo's sources
// use, so it is declared as an alias. Everything else is the demo's own `vite.config.ts` and
// `svelte.config.js`: the library comes from the dist/ copied next to the app.
import { fileURLToPath } from 'node:url';
import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';
import { gapless } from '../dist/vite/index.js';

export default defineConfig({
  plugins: [
    sveltekit({ adapter: adapter() }),
    gapless(),
  ],
  resolve: {
    alias: [
      { find: /^\$lib(?=\/|$)/, replacement: fileURLToPath(new URL('./src/lib', import.meta.url)) },
      { find: /^gapless-replay$/, replacement: fileURLToPath(new URL('../dist/memory/index.js', import.meta.url)) },
      { find: /^gapless-replay\/(.*)$/, replacement: `${fileURLToPath(new URL('../dist/', import.meta.url))}$1/index.js` },
    ],
  },
  server: { fs: { allow: [fileURLToPath(new URL('../dist/', import.meta.url))] } },
});
