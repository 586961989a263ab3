/**
 * @module gapless-replay/vite
 * The WebSocket endpoint of `gapless-replay/ws` on Vite's dev and preview servers, with the
 * app's `src/hooks.ws.ts` loaded (dev) and reloaded on edit without dropping sockets.
 *
 *   // vite.config.ts
 *   import { sveltekit } from '@sveltejs/kit/vite';
 *   import { gapless } from 'gapless-replay/vite';
 *   export default { plugins: [sveltekit(), gapless()] };
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { Plugin, ViteDevServer } from 'vite';
import { attach, type AttachOptions } from '../ws/attach.js';
import { registerHooks, type AppHooks } from '../ws/registry.js';

export interface GaplessPluginOptions {
  /** The endpoint's path. Default `/ws`. */
  path?: string;
  /**
   * The hooks module, relative to the Vite root, without or with extension. Default
   * `src/hooks.ws` (`.ts`, `.js` or `.mjs`). Missing file: the platform runs without hooks.
   */
  hooks?: string;
  /** Extra browser origins allowed to connect (the page's own origin always is); see `attach`. */
  allowedOrigins?: AttachOptions['allowedOrigins'];
}

const EXTENSIONS = ['', '.ts', '.js', '.mjs'];

function findHooks(root: string, hooks: string): string | undefined {
  const base = resolve(root, hooks);
  for (const ext of EXTENSIONS) {
    const file = base + ext;
    if (existsSync(file) && !existsSync(file + '/')) return file;
  }
  return undefined;
}

function log(message: string): void {
  console.warn(`[gapless-replay] ${message}`);
}

export function gapless(options: GaplessPluginOptions = {}): Plugin {
  const path = options.path ?? '/ws';
  const allowedOrigins = options.allowedOrigins;
  let hooksFile: string | undefined;
  let loaded: unknown;
  let server: ViteDevServer | undefined;

  /**
   * Loads hooks.ws through Vite's SSR module graph, the one SvelteKit's dev server uses, so the
   * hooks and the routes share `$lib` module instances (one replay buffer).
   */
  async function load(): Promise<void> {
    if (server === undefined || hooksFile === undefined) return;
    const mod = await server.ssrLoadModule(hooksFile);
    if (mod !== loaded) {
      loaded = mod;
      registerHooks(mod as AppHooks);
    }
  }

  return {
    name: 'gapless-replay',

    configureServer(dev) {
      if (dev.httpServer === null) {
        log('Vite runs in middleware mode (no httpServer): call attach(yourServer) from gapless-replay/ws yourself');
        return;
      }
      server = dev;
      hooksFile = findHooks(dev.config.root, options.hooks ?? 'src/hooks.ws');
      if (hooksFile === undefined && options.hooks !== undefined) log(`hooks file ${options.hooks} not found; running without hooks`);
      let ready: Promise<void> | undefined;
      // Loaded at the first upgrade, not at startup: the SSR module graph is ready by then, and
      // a load error is reported to the socket that needed it, then retried by the next one.
      const whenReady = (): Promise<void> => {
        ready ??= load().catch((error: unknown) => {
          ready = undefined;
          throw error;
        });
        return ready;
      };
      attach(dev.httpServer as Server, { path, allowedOrigins, ready: whenReady });
    },

    async handleHotUpdate({ file }) {
      if (server === undefined || hooksFile === undefined || loaded === undefined) return;
      // Any edit may touch hooks.ws or a module it imports; a new namespace means new hooks.
      // Open sockets keep their connection: the platform reads the hooks at every call.
      try {
        await load();
      } catch (error) {
        log(`reloading ${hooksFile} after an edit of ${file} failed; keeping the previous hooks: ${String(error)}`);
      }
    },

    configurePreviewServer(preview) {
      // Hooks come from the built app: its hooks.server calls registerHooks at startup.
      attach(preview.httpServer as Server, { path, allowedOrigins });
    },
  };
}

export default gapless;
