/**
 * The Svelte store contract (`subscribe(run) → unsubscribe`), in the few lines the client
 * needs. Works with Svelte's `$store` syntax and without Svelte at all.
 */

export type Subscriber<T> = (value: T) => void;
export type Unsubscriber = () => void;

export interface Readable<T> {
  /** Calls `run` at once with the current value, then on every change. `this: void` keeps a destructured `subscribe` working. */
  subscribe(this: void, run: Subscriber<T>, invalidate?: () => void): Unsubscriber;
}

/** A value, its subscribers, and a hook that starts on the first subscriber and stops after the last. */
export interface Cell<T> {
  readonly store: Readable<T>;
  value: T;
  /** Sets the value and tells every subscriber. Subscribers are held in a copy-on-write array so that notifying allocates nothing. */
  set(value: T): void;
  /** Number of subscribers now. */
  readonly size: number;
}

/** A readable store of events, with `scan`. */
export interface EventStore<E> extends Readable<E | null> {
  /**
   * Folds each event into an accumulator, once: the accumulator lives as long as the scan store,
   * so unmounting and remounting its subscribers never re-applies an event.
   */
  scan<A>(initial: A, reducer: (acc: A, event: E) => A): Readable<A>;
}

/** Adds `scan` to a store of events. */
export function withScan<E>(source: Readable<E | null>): EventStore<E> {
  return {
    subscribe: source.subscribe,
    scan(initial, reducer) {
      return cell(initial, (self) => {
        let first = true;
        return source.subscribe((event) => {
          // The first call is the source's current value, already folded or null.
          if (first) first = false;
          else if (event !== null) self.set(reducer(self.value, event));
        });
      }).store;
    },
  };
}

/**
 * A store whose `start` runs on the first subscriber and whose returned `stop` runs after the
 * last. Nothing runs at creation, so creating stores during SSR opens nothing.
 */
export function cell<T>(initial: T, start?: (self: Cell<T>) => () => void): Cell<T> {
  let subs: Subscriber<T>[] = [];
  let stop: (() => void) | undefined;
  const self: Cell<T> = {
    value: initial,
    get size() {
      return subs.length;
    },
    set(value) {
      self.value = value;
      const list = subs;
      for (let i = 0; i < list.length; i++) list[i]!(value);
    },
    store: {
      subscribe(run) {
        // A fresh wrapper per subscription, so the same function subscribed twice is two subscriptions.
        const entry: Subscriber<T> = (v) => run(v);
        subs = subs.concat(entry);
        // The current value first, then start: whatever `start` emits reaches `run` after it,
        // once, so a subscriber can tell the initial call from real changes.
        run(self.value);
        if (subs.length === 1 && start && stop === undefined) stop = start(self);
        let done = false;
        return () => {
          if (done) return;
          done = true;
          subs = subs.filter((s) => s !== entry);
          if (subs.length === 0 && stop) {
            const s = stop;
            stop = undefined;
            s();
          }
        };
      },
    },
  };
  return self;
}
