import type { Platform as GaplessPlatform } from 'gapless-replay/ws';

declare global {
  namespace App {
    // `handle` from gapless-replay/ws layers the shared platform under adapter-node's `{ req }`.
    interface Platform extends GaplessPlatform {}
  }
}

export {};
