import { fileURLToPath } from 'node:url';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';
// In your app: import { gapless } from 'gapless-replay/vite';
import { gapless } from '../dist/vite/index.js';

export default defineConfig({
  plugins: [sveltekit(), gapless()],
  // The browser loads gapless-replay/client from the repository's dist/ (see svelte.config.js).
  server: { fs: { allow: [fileURLToPath(new URL('../dist/', import.meta.url))] } },
});
