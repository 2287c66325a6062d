// Owns coalesced reads: callers ask for one key each, and the keys asked for together are read by
// one call (one SQL statement), so a busy service pays one round trip for many answers. When a
// call goes is the batch scheduler's (batch-scheduler.ts): after the current turn of the event
// loop, or, while the calls in flight are at their limit, when one returns.
import { BatchScheduler } from './batch-scheduler.ts';

/** Reads many keys at once; a key missing from the map has no value, an Error fails that key. */
export type ReadMany<K, V> = (keys: readonly K[]) => Promise<ReadonlyMap<K, V | Error>>;

export interface ReadBatchLimits {
  /** Keys in one call at most; more waiting keys go in further calls. */
  readonly keysMax: number;
  /** Calls running at once at most; meanwhile new keys wait and join the next call. */
  readonly inFlightMax: number;
}

interface Waiter<V> {
  readonly resolve: (value: V | undefined) => void;
  readonly reject: (error: unknown) => void;
}

export class ReadBatches<K, V> {
  readonly #readMany: ReadMany<K, V>;
  readonly #keysMax: number;
  /** Keys waiting for a call, in arrival order; the same key asked twice is read once. */
  readonly #waiting = new Map<K, Waiter<V>[]>();
  readonly #scheduler: BatchScheduler;

  constructor(readMany: ReadMany<K, V>, limits: ReadBatchLimits) {
    if (limits.keysMax < 1 || limits.inFlightMax < 1) {
      throw new RangeError('read batches need at least one key and one call in flight');
    }
    this.#readMany = readMany;
    this.#keysMax = limits.keysMax;
    this.#scheduler = new BatchScheduler({
      inFlightMax: limits.inFlightMax,
      hasWork: () => this.#waiting.size > 0,
      send: () => this.#send(),
    });
  }

  /** The key's value, or undefined when the read found none. */
  load(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.#waiting.set(key, [{ resolve, reject }]);
      this.#scheduler.wake();
    });
  }

  /** One call of the keys waiting longest, at most keysMax of them. */
  async #send(): Promise<void> {
    const taken = new Map<K, Waiter<V>[]>();
    for (const [key, waiters] of this.#waiting) {
      if (taken.size >= this.#keysMax) break;
      taken.set(key, waiters);
    }
    for (const key of taken.keys()) this.#waiting.delete(key);
    try {
      const values = await this.#readMany([...taken.keys()]);
      for (const [key, waiters] of taken) {
        const value = values.get(key);
        for (const waiter of waiters) {
          if (value instanceof Error) waiter.reject(value);
          else waiter.resolve(value);
        }
      }
    } catch (error) {
      for (const waiters of taken.values()) for (const waiter of waiters) waiter.reject(error);
    }
  }
}
