// Owns a counting semaphore with a bounded wait: at most `size` pieces of work hold a slot at
// once, the others wait first come, first served, and a wait longer than `timeoutMs` fails.

export class SlotTimeoutError extends Error {
  override name = 'SlotTimeoutError';
}

interface Waiter {
  readonly grant: () => void;
  readonly timer: NodeJS.Timeout;
}

export class Slots {
  readonly #size: number;
  readonly #timeoutMs: number;
  readonly #what: string;
  #held = 0;
  /** Oldest first; a waiter leaves it when granted a slot or when its wait times out. */
  readonly #waiting: Waiter[] = [];

  /** `what` names the slots in the timeout's message ("a write slot of the database"). */
  constructor(size: number, timeoutMs: number, what: string) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`slots: size ${size} < 1`);
    this.#size = size;
    this.#timeoutMs = timeoutMs;
    this.#what = what;
  }

  get held(): number {
    return this.#held;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `work` holding a slot, given back however `work` ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#held < this.#size) {
      this.#held += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        // The slot passes straight from the releaser to the waiter: #held does not change.
        grant: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(
            new SlotTimeoutError(`timed out after ${this.#timeoutMs} ms waiting for ${this.#what}`),
          );
        }, this.#timeoutMs),
      };
      this.#waiting.push(waiter);
    });
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next.grant();
    else this.#held -= 1;
  }
}
