/**
 * Listener bookkeeping: everything a part subscribes to is recorded here and removed in one
 * `clear()` when the part stops, so no listener outlives its owner.
 */
interface Emitter {
  on(event: any, listener: any): unknown;
  off(event: any, listener: any): unknown;
}

/** Event name → the arguments of its listeners. */
export type EventMap<M> = { [K in keyof M]: unknown[] };

/**
 * An emitter whose `on`/`off` are generic over an event map, `M[event]` being the listener's
 * arguments (StationPort with StationEvents).
 */
export interface TypedEmitter<M extends EventMap<M>> {
  on<K extends keyof M>(event: K, listener: (...args: M[K]) => void): unknown;
  off<K extends keyof M>(event: K, listener: (...args: M[K]) => void): unknown;
}

export class Subscriptions {
  private readonly undo: (() => void)[] = [];

  /** `emitter.on(event, listener)` now, `emitter.off(event, listener)` on clear(). */
  on<E extends Emitter>(emitter: E, event: Parameters<E['on']>[0], listener: Parameters<E['on']>[1]): void {
    emitter.on(event, listener);
    this.undo.push(() => emitter.off(event, listener));
  }

  /**
   * `on` for an emitter typed by an event map, with each listener typed by its event:
   * `const on = subs.events<StationEvents>(station); on('sample', (s) => ...)`. (TypeScript cannot
   * infer the map from a generic `on`, hence the explicit type argument.)
   */
  events<M extends EventMap<M>>(emitter: TypedEmitter<M>): <K extends keyof M>(event: K, listener: (...args: M[K]) => void) => void {
    return (event, listener) => {
      emitter.on(event, listener);
      this.undo.push(() => emitter.off(event, listener));
    };
  }

  /** Any other teardown (a timer, a socket handler) to run on clear(). */
  add(teardown: () => void): void {
    this.undo.push(teardown);
  }

  clear(): void {
    for (const u of this.undo.splice(0).reverse()) {
      try {
        u();
      } catch {
        // a teardown that throws must not keep the others from running
      }
    }
  }
}
