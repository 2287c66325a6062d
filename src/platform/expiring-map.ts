// Owns a bounded in-memory map whose entries expire: each entry lives until its own expiry, and
// past `entriesMax` the least recently used is forgotten first (a Map iterates in insertion order,
// so re-inserting an entry on use keeps the least recently used at the front).

interface Entry<V> {
  readonly value: V;
  /** In ms since the epoch: from this moment on the entry is gone. */
  readonly expiresAtMs: number;
}

export class ExpiringMap<K, V> {
  readonly #entries = new Map<K, Entry<V>>();
  readonly #entriesMax: number;
  readonly #now: () => number;

  /** An `entriesMax` of 0 remembers nothing. */
  constructor(entriesMax: number, now: () => number = Date.now) {
    this.#entriesMax = entriesMax;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value while it has not expired, which makes it the most recently used. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (this.#now() >= entry.expiresAtMs) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Makes the entry the most recently used; past `entriesMax`, the least recently used goes. */
  set(key: K, value: V, expiresAtMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAtMs });
    // One entry in, so at most one out: with a limit of 0, the one just set.
    if (this.#entries.size > this.#entriesMax) {
      const [oldest] = this.#entries.keys();
      this.#entries.delete(oldest as K);
    }
  }
}
