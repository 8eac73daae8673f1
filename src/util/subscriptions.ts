/**
 * Listener bookkeeping: everything a part subscribes to is recorded here and removed in one
 * `clear()` when the part stops, so no listener outlives its owner.
 */
interface Emitter {
  on(event: any, listener: any): unknown;
  off(event: any, listener: any): unknown;
}

export class Subscriptions {
  private readonly undo: (() => void)[] = [];

  /** `emitter.on(event, listener)` now, `emitter.off(event, listener)` on clear(). */
  on<E extends Emitter>(emitter: E, event: Parameters<E['on']>[0], listener: Parameters<E['on']>[1]): void {
    emitter.on(event, listener);
    this.undo.push(() => emitter.off(event, listener));
  }

  /** Any other teardown (a timer, a socket handler) to run on clear(). */
  add(teardown: () => void): void {
    this.undo.push(teardown);
  }

  get size(): number {
    return this.undo.length;
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
