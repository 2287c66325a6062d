// Owns a counting semaphore with a bounded wait: at most `size` pieces of work hold a slot at
// once, and at most `ownerMax` of them for one named owner (a feature); the others wait first
// come, first served among those whose owner may take one, and a wait longer than `timeoutMs`
// fails.
import assert from 'node:assert/strict';

export class SlotTimeoutError extends Error {
  override name = 'SlotTimeoutError';
}

interface Waiter {
  readonly owner: string | undefined;
  readonly grant: () => void;
  readonly timer: NodeJS.Timeout;
}

export class Slots {
  readonly #size: number;
  readonly #ownerMax: number;
  readonly #timeoutMs: number;
  readonly #what: string;
  #held = 0;
  /** Slots held per owner, work of none under `undefined`; an owner that never held one is absent. */
  readonly #heldBy = new Map<string | undefined, number>();
  /**
   * Oldest first; a waiter leaves it when granted a slot or when its wait times out. None of them
   * may take a slot: each slot given back goes at once to the oldest waiter that may take it.
   */
  readonly #waiting: Waiter[] = [];

  /**
   * `what` names the slots in the timeout's message ("a write slot of the database");
   * `ownerMax` (at most `size`, the default) bounds what one owner may hold, so that work of
   * one owner stuck in its slots always leaves `size - ownerMax` to the others.
   */
  constructor(size: number, timeoutMs: number, what: string, ownerMax = size) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`slots: size ${size} < 1`);
    if (!Number.isInteger(ownerMax) || ownerMax < 1 || ownerMax > size) {
      throw new RangeError(`slots: ownerMax ${ownerMax} not in 1..${size}`);
    }
    this.#size = size;
    this.#ownerMax = ownerMax;
    this.#timeoutMs = timeoutMs;
    this.#what = what;
  }

  get held(): number {
    return this.#held;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Slots this owner holds now. */
  heldBy(owner: string): number {
    return this.#heldByAny(owner);
  }

  #heldByAny(owner: string | undefined): number {
    return this.#heldBy.get(owner) ?? 0;
  }

  /**
   * Runs `work` holding a slot, given back however `work` ends; work of a named `owner` holds
   * one of its owner's budget too, work of none only a slot.
   */
  async run<T>(work: () => Promise<T>, owner?: string): Promise<T> {
    await this.#acquire(owner);
    try {
      return await work();
    } finally {
      this.#release(owner);
    }
  }

  /** Work of no owner has no budget: only the size bounds it. */
  #mayTake(owner: string | undefined): boolean {
    if (this.#held >= this.#size) return false;
    return owner === undefined || this.#heldByAny(owner) < this.#ownerMax;
  }

  #take(owner: string | undefined): void {
    this.#held += 1;
    this.#heldBy.set(owner, this.#heldByAny(owner) + 1);
  }

  #acquire(owner: string | undefined): Promise<void> {
    // As no waiter may take a slot, work that may take one now passes no older waiter of its own
    // owner; it may pass another owner's, which waits for its owner's budget, not for a slot.
    if (this.#mayTake(owner)) {
      this.#take(owner);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        owner,
        grant: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        // Granting clears the timer, so a wait that times out is still in the queue.
        timer: setTimeout(() => {
          const at = this.#waiting.indexOf(waiter);
          assert(at >= 0, 'a wait timed out after its slot was granted');
          this.#waiting.splice(at, 1);
          reject(
            new SlotTimeoutError(`timed out after ${this.#timeoutMs} ms waiting for ${this.#what}`),
          );
        }, this.#timeoutMs),
      };
      this.#waiting.push(waiter);
    });
  }

  #release(owner: string | undefined): void {
    this.#held -= 1;
    // Owners are features, a few names: one that holds none now keeps its entry, at 0.
    this.#heldBy.set(owner, this.#heldByAny(owner) - 1);
    // The oldest waiter that may take a slot now: one slot freed, so at most one is granted.
    const at = this.#waiting.findIndex((waiter) => this.#mayTake(waiter.owner));
    if (at < 0) return;
    const [next] = this.#waiting.splice(at, 1) as [Waiter];
    this.#take(next.owner);
    next.grant();
  }
}
