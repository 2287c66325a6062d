// Owns group commit for hot wallets: operations that arrive for a wallet while its previous batch
// is being applied wait, and go to the database together as the next batch, in arrival order.
// No timer: an idle wallet's operation is sent at once, and a busy wallet's batches grow with its
// load, so one commit serves many operations exactly when that is needed.
import { AppError } from '../../platform/errors.ts';
import { walletErrors } from './wallet.errors.ts';

/** Applies operations to one wallet in one transaction, one result per operation in order. */
export type ApplyBatch<Op, Result> = (
  walletId: string,
  operations: readonly Op[],
) => Promise<Result[]>;

interface Waiting<Op, Result> {
  readonly operation: Op;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

interface Lane<Op, Result> {
  readonly waiting: Waiting<Op, Result>[];
}

export interface BatchLimits {
  /** Most operations sent in one batch. */
  readonly batchOperationsMax: number;
  /** Most operations waiting for one wallet behind its running batch; beyond it: WALLET_BUSY. */
  readonly queueOperationsMax: number;
}

export interface BatchObserver {
  /** Called with each batch's size when it is sent. */
  batchSent(size: number): void;
}

export class WalletBatches<Op, Result> {
  readonly #apply: ApplyBatch<Op, Result>;
  readonly #limits: BatchLimits;
  readonly #observer: BatchObserver | undefined;
  /** Wallets with a batch in flight; a wallet leaves when its queue empties. */
  readonly #lanes = new Map<string, Lane<Op, Result>>();
  #held = 0;

  constructor(apply: ApplyBatch<Op, Result>, limits: BatchLimits, observer?: BatchObserver) {
    this.#apply = apply;
    this.#limits = limits;
    this.#observer = observer;
  }

  /** Operations held now (waiting or in a running batch), across wallets. */
  get held(): number {
    return this.#held;
  }

  submit(walletId: string, operation: Op): Promise<Result> {
    let lane = this.#lanes.get(walletId);
    const fresh = lane === undefined;
    if (lane === undefined) {
      lane = { waiting: [] };
      this.#lanes.set(walletId, lane);
    } else if (lane.waiting.length >= this.#limits.queueOperationsMax) {
      return Promise.reject(
        new AppError(walletErrors.WALLET_BUSY, undefined, { 'retry-after': '1' }),
      );
    }
    const queued = lane;
    const result = new Promise<Result>((resolve, reject) => {
      queued.waiting.push({ operation, resolve, reject });
    });
    this.#held += 1;
    if (fresh) void this.#drain(walletId, queued);
    return result;
  }

  async #drain(walletId: string, lane: Lane<Op, Result>): Promise<void> {
    // The first batch leaves after the event loop has read the sockets that are ready now, so
    // that operations arriving together (a burst) join it; an idle wallet waits only that turn.
    await new Promise((resolve) => setImmediate(resolve));
    while (lane.waiting.length > 0) {
      const batch = lane.waiting.splice(0, this.#limits.batchOperationsMax);
      this.#observer?.batchSent(batch.length);
      try {
        const results = await this.#apply(
          walletId,
          batch.map((entry) => entry.operation),
        );
        if (results.length !== batch.length) {
          throw new Error(
            `a batch of ${batch.length} operations returned ${results.length} results`,
          );
        }
        for (const [index, entry] of batch.entries()) entry.resolve(results[index] as Result);
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      } finally {
        this.#held -= batch.length;
      }
    }
    this.#lanes.delete(walletId);
  }
}
