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
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Plugin, ViteDevServer } from 'vite';
import { attach, type AttachOptions } from '../ws/attach.js';
import { logWarning, type Logger } from '../core/log.js';
import { registerHooks, registerLogger, sharedLogger, type AppHooks } from '../ws/registry.js';

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
  /**
   * Where the plugin's and the platform's warnings and caught errors go (`{ warn, error }`),
   * instead of the console: the same as calling `registerLogger(logger)` from
   * `gapless-replay/ws`, already for what happens before the app's own code runs.
   */
  logger?: Logger;
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

/**
 * How the app's server code is loaded in dev, so hooks.ws joins the same module instances.
 * SvelteKit 3 runs it in the SSR environment's module runner; SvelteKit 2 (and apps without
 * SvelteKit) through `ssrLoadModule`, whose runner is another one with its own instances.
 */
function ssrLoader(dev: ViteDevServer): (file: string) => Promise<Record<string, unknown>> {
  const runner = (dev.environments?.ssr as { runner?: { import(url: string): Promise<Record<string, unknown>> } } | undefined)?.runner;
  if (runner !== undefined && kitMajor(dev.config.root) >= 3) return (file) => runner.import(file);
  return (file) => dev.ssrLoadModule(file);
}

/** The major version of the `@sveltejs/kit` the app at `root` resolves; 0 without one. */
function kitMajor(root: string): number {
  try {
    const file = createRequire(resolve(root, 'package.json')).resolve('@sveltejs/kit/package.json');
    return Number.parseInt((JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version, 10);
  } catch {
    return 0;
  }
}

/** Read at each call: the app may register its logger after the plugin started. */
function log(message: string, error?: unknown): void {
  logWarning(message, sharedLogger(), error);
}

export function gapless(options: GaplessPluginOptions = {}): Plugin {
  const path = options.path ?? '/ws';
  const allowedOrigins = options.allowedOrigins;
  if (options.logger !== undefined) registerLogger(options.logger);
  let hooksFile: string | undefined;
  let loaded: unknown;
  let loadModule: ((file: string) => Promise<Record<string, unknown>>) | undefined;

  /**
   * Loads hooks.ws through Vite's SSR module graph, the one SvelteKit's dev server uses, so the
   * hooks and the routes share `$lib` module instances (one replay buffer).
   */
  async function load(): Promise<void> {
    if (loadModule === undefined || hooksFile === undefined) return;
    const mod = await loadModule(hooksFile);
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
      loadModule = ssrLoader(dev);
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
      if (loadModule === undefined || hooksFile === undefined || loaded === undefined) return;
      // Any edit may touch hooks.ws or a module it imports; a new namespace means new hooks.
      // Open sockets keep their connection: the platform reads the hooks at every call.
      try {
        await load();
      } catch (error) {
        log(`reloading ${hooksFile} after an edit of ${file} failed; keeping the previous hooks`, error);
      }
    },

    configurePreviewServer(preview) {
      // Hooks come from the built app: its hooks.server calls registerHooks at startup.
      attach(preview.httpServer as Server, { path, allowedOrigins });
    },
  };
}

export default gapless;
