// Owns when batched work goes, for every batch of the service (the shop's coalesced reads, the
// wallets' shared transactions): a call goes out after the current turn of the event loop, so
// that everything asked for in that turn goes together, and never more than `inFlightMax` calls
// at once. While that many are running, work keeps gathering until one returns, so batches grow
// exactly when what they call (the database) is the bottleneck, and are never held back to grow.

export interface BatchSchedulerOptions {
  /** Calls running at once at most; meanwhile new work waits and joins the next call. */
  readonly inFlightMax: number;
  /** Whether work is waiting. */
  readonly hasWork: () => boolean;
  /**
   * Takes waiting work, before its first `await`, and makes one call of it; settles every piece
   * it took, itself, and never rejects.
   */
  readonly send: () => Promise<void>;
}

export class BatchScheduler {
  readonly #options: BatchSchedulerOptions;
  #inFlight = 0;
  #scheduled = false;

  constructor(options: BatchSchedulerOptions) {
    if (!Number.isInteger(options.inFlightMax) || options.inFlightMax < 1) {
      throw new RangeError(`a batch scheduler needs inFlightMax ≥ 1, got ${options.inFlightMax}`);
    }
    this.#options = options;
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Work is waiting: a call goes after this turn of the event loop, if one may run. */
  wake(): void {
    if (this.#scheduled || this.#inFlight >= this.#options.inFlightMax) return;
    if (!this.#options.hasWork()) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#inFlight += 1;
    const call = this.#options.send();
    // More work than one call takes: the rest goes out at once, if another call may run.
    this.wake();
    try {
      await call;
    } finally {
      this.#inFlight -= 1;
      this.wake();
    }
  }
}
