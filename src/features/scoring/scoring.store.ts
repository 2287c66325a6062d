// Owns the scoring store's contract (a best-effort cache and a persistent key-value store, as in
// the system behind the assignment) and its in-process implementation for embedded mode.

export interface StoreHealth {
  /** The persistent store is required: the service is not ready without it. */
  readonly store: 'up' | 'down';
  /** The cache is best effort: 'down' degrades latency, never answers. */
  readonly cache: 'up' | 'down';
}

export interface ScoringStore {
  readonly kind: 'redis' | 'memory';
  /** Cache role: a value, or null on a miss or any failure. Never throws. */
  cacheGet(key: string): Promise<string | null>;
  /** Cache role: failures are logged and counted, never thrown. */
  cacheSet(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Store role: retried with reconnects, then throws StoreUnavailableError. */
  get(key: string): Promise<string | null>;
  /** Store role: all keys in one round trip, values in the order of the keys. */
  getMany(keys: readonly string[]): Promise<(string | null)[]>;
  /** Store role: writes all entries; used by the import command and tests. */
  putMany(entries: readonly (readonly [string, string])[]): Promise<void>;
  health(): Promise<StoreHealth>;
  /** Opens connections ahead of the first request; never fails. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The persistent store could not be reached within its retries and time budget. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** The store answered, but a key holds something other than a string value. */
export class StoreValueError extends Error {
  override name = 'StoreValueError';
  readonly key: string;
  constructor(key: string, problem: string) {
    super(`${key} ${problem}`);
    this.key = key;
  }
}

/** Bound on the in-process cache, so that distinct requests cannot grow memory without limit. */
export const MEMORY_CACHE_ENTRIES_MAX = 100_000;

interface CacheEntry {
  readonly value: string;
  readonly expiresAt: number;
}

/** The in-process store of embedded mode: one process, no persistence beyond its seed data. */
export function createMemoryStore(
  seed: Iterable<readonly [string, string]> = [],
  now: () => number = Date.now,
): ScoringStore {
  const cache = new Map<string, CacheEntry>();
  const data = new Map<string, string>(seed);
  return {
    kind: 'memory',
    async cacheGet(key) {
      const entry = cache.get(key);
      if (entry === undefined) return null;
      if (entry.expiresAt <= now()) {
        cache.delete(key);
        return null;
      }
      return entry.value;
    },
    async cacheSet(key, value, ttlSeconds) {
      cache.delete(key);
      if (cache.size >= MEMORY_CACHE_ENTRIES_MAX) {
        // Maps iterate in insertion order, so the first key is the oldest write.
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      cache.set(key, { value, expiresAt: now() + ttlSeconds * 1000 });
    },
    async get(key) {
      return data.get(key) ?? null;
    },
    async getMany(keys) {
      return keys.map((key) => data.get(key) ?? null);
    },
    async putMany(entries) {
      for (const [key, value] of entries) data.set(key, value);
    },
    async health() {
      return { store: 'up', cache: 'up' };
    },
    async start() {},
    async close() {},
  };
}
