import { createHash, randomBytes } from 'node:crypto';

interface Entry {
  createdMs: number;
  lastMs: number;
}

export interface SessionTableOptions {
  /** A session ends after this long without a request. */
  idleMs: number;
  /** And this long after the sign-in, in use or not. */
  maxAgeMs: number;
  /** Sessions kept at most: a new one beyond ends the least recently used. */
  max: number;
  /** Monotonic milliseconds (a wall clock set by NTP or the CSMS must not end or extend sessions). */
  now: () => number;
}

/**
 * The signed-in browsers, in memory (a restart signs everyone out). A session id is 32 random
 * bytes, given to the browser only: the table keys on its SHA-256, so nothing kept here would
 * let anyone present a valid cookie.
 */
export class SessionTable {
  private readonly entries = new Map<string, Entry>();
  /** What to do when a session ends (its open event streams close), by key. */
  private readonly enders = new Map<string, Set<() => void>>();

  constructor(private readonly o: SessionTableOptions) {}

  /** A new session; its id is the cookie value. */
  create(): string {
    this.sweep();
    while (this.entries.size >= this.o.max) {
      let oldest: [string, Entry] | undefined;
      for (const e of this.entries) if (!oldest || e[1].lastMs < oldest[1].lastMs) oldest = e;
      this.end(oldest![0]);
    }
    const id = randomBytes(32).toString('base64url');
    const now = this.o.now();
    this.entries.set(key(id), { createdMs: now, lastMs: now });
    return id;
  }

  /** Whether `id` is a live session; if so, it counts as used now. An expired one is removed. */
  touch(id: string): boolean {
    const k = key(id);
    const e = this.entries.get(k);
    if (!e) return false;
    const now = this.o.now();
    if (this.expired(e, now)) {
      this.end(k);
      return false;
    }
    e.lastMs = now;
    return true;
  }

  delete(id: string): void {
    this.end(key(id));
  }

  /** Calls `fn` when session `id` ends (sign-out, expiry, eviction); the returned function cancels that. */
  onEnd(id: string, fn: () => void): () => void {
    const k = key(id);
    let set = this.enders.get(k);
    if (!set) this.enders.set(k, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (!set.size && this.enders.get(k) === set) this.enders.delete(k);
    };
  }

  /** Ends every expired session (their streams too): run now and then, since expiry is otherwise noticed only at a request. */
  sweep(): void {
    const now = this.o.now();
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.end(k);
  }

  get size(): number {
    return this.entries.size;
  }

  private expired(e: Entry, now: number): boolean {
    return now - e.lastMs >= this.o.idleMs || now - e.createdMs >= this.o.maxAgeMs;
  }

  private end(k: string): void {
    this.entries.delete(k);
    const fns = this.enders.get(k);
    this.enders.delete(k);
    for (const fn of fns ?? []) fn();
  }
}

function key(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
