import adapter from '@sveltejs/adapter-node';

/** @type {import('@sveltejs/kit').Config} */
export default {
  kit: {
    adapter: adapter(),
    // The demo uses the library as built by `npm run build` in the repository root, under the
    // names an app would use (`gapless-replay/ws`, ...). An installed package needs no alias.
    // Kit applies these to Vite and to the generated tsconfig (svelte-check).
    alias: {
      'gapless-replay': '../dist/memory/index.js',
      'gapless-replay/*': '../dist/*',
    },
  },
};
