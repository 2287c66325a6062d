// Owns group commit for hot wallets: operations that arrive for a wallet while its previous batch
// is being applied wait, and go to the database together as the next batch, in arrival order.
// No timer: an idle wallet's operation is sent at once, and a busy wallet's batches grow with its
// load, so one commit serves many operations exactly when that is needed.
import assert from 'node:assert/strict';
import { BatchScheduler } from '../../platform/batch-scheduler.ts';
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
      return Promise.reject(new AppError(walletErrors.WALLET_BUSY));
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

/** One wallet's batch, as it goes into a shared transaction. */
export interface WalletBatch<Op> {
  readonly walletId: string;
  readonly operations: readonly Op[];
}

/** Applies several wallets' batches in one transaction: one result list per batch, in order. */
export type ApplyMany<Op, Result> = (batches: readonly WalletBatch<Op>[]) => Promise<Result[][]>;

interface Pending<Op, Result> extends WalletBatch<Op> {
  resolve(results: Result[]): void;
  reject(error: unknown): void;
}

export interface SharedLimits {
  /** Most transactions of batches in flight at once; batches wait for a free one. */
  readonly transactionsInFlightMax: number;
  /** Most operations in one transaction (a larger single batch still goes, alone). */
  readonly batchOperationsMax: number;
}

/**
 * Group commit across wallets: the batches that wallets' lanes hand over while every transaction
 * slot is busy go together, in wallet id order, as the next transaction. Operations spread over
 * many wallets then share commits, as one hot wallet's do. A lane has at most one batch here at a
 * time, so no wallet appears twice in a transaction.
 */
export class SharedTransactions<Op, Result> {
  readonly #applyMany: ApplyMany<Op, Result>;
  readonly #batchOperationsMax: number;
  readonly #pending: Pending<Op, Result>[] = [];
  readonly #scheduler: BatchScheduler;

  constructor(applyMany: ApplyMany<Op, Result>, limits: SharedLimits) {
    this.#applyMany = applyMany;
    this.#batchOperationsMax = limits.batchOperationsMax;
    this.#scheduler = new BatchScheduler({
      inFlightMax: limits.transactionsInFlightMax,
      hasWork: () => this.#pending.length > 0,
      send: () => this.#send(),
    });
  }

  /** The shape WalletBatches applies through. */
  readonly apply: ApplyBatch<Op, Result> = (walletId, operations) =>
    new Promise((resolve, reject) => {
      this.#pending.push({ walletId, operations, resolve, reject });
      this.#scheduler.wake();
    });

  /** One transaction of the batches pending longest, up to batchOperationsMax operations. */
  async #send(): Promise<void> {
    const taken: Pending<Op, Result>[] = [];
    let operations = 0;
    for (const next of this.#pending) {
      if (taken.length > 0 && operations + next.operations.length > this.#batchOperationsMax) {
        break;
      }
      taken.push(next);
      operations += next.operations.length;
    }
    this.#pending.splice(0, taken.length);
    // No wallet appears twice, so no two ids are equal.
    taken.sort((a, b) => (a.walletId < b.walletId ? -1 : 1));
    try {
      const results = await this.#applyMany(taken);
      assert.equal(
        results.length,
        taken.length,
        `${taken.length} batches returned ${results.length} result lists`,
      );
      for (const [index, batch] of taken.entries()) batch.resolve(results[index] as Result[]);
    } catch (error) {
      for (const batch of taken) batch.reject(error);
    }
  }
}
