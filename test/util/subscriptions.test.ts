import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Subscriptions } from '../../src/util/subscriptions.js';

interface Events {
  tick: [n: number];
  pair: [a: string, b: number];
}

/** An emitter typed by an event map, shaped like StationPort's on/off. */
class Typed {
  readonly ee = new EventEmitter();
  on<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): this {
    this.ee.on(event, listener as (...a: unknown[]) => void);
    return this;
  }
  off<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): this {
    this.ee.off(event, listener as (...a: unknown[]) => void);
    return this;
  }
}

describe('Subscriptions', () => {
  it('events(): listeners typed per event, every one removed by clear()', () => {
    const t = new Typed();
    const subs = new Subscriptions();
    const seen: string[] = [];
    const on = subs.events<Events>(t);
    on('tick', (n) => seen.push(`tick ${n.toFixed(0)}`));
    on('pair', (a, b) => seen.push(`pair ${a.toUpperCase()} ${b}`));
    t.ee.emit('tick', 1);
    t.ee.emit('pair', 'x', 2);
    expect(seen).toEqual(['tick 1', 'pair X 2']);
    subs.clear();
    expect(t.ee.eventNames()).toEqual([]);
    t.ee.emit('tick', 3);
    expect(seen).toHaveLength(2);
  });

  it('on() and add(): undone in reverse order, a throwing teardown does not stop the rest', () => {
    const ee = new EventEmitter();
    const subs = new Subscriptions();
    const order: string[] = [];
    subs.on(ee, 'a', () => undefined);
    subs.add(() => order.push('first'));
    subs.add(() => {
      throw new Error('broken teardown');
    });
    subs.add(() => order.push('last'));
    expect(ee.listenerCount('a')).toBe(1);
    subs.clear();
    expect(order).toEqual(['last', 'first']);
    expect(ee.listenerCount('a')).toBe(0);
    subs.clear(); // nothing left: a second clear is harmless
    expect(order).toHaveLength(2);
  });
});
