// Owns the wallets' rules: listing, creating and reading wallets, and deposits and withdrawals
// applied in per-wallet batches (wallet.batches.ts), each optionally made idempotent by a client's
// key. Refusals are AppErrors from the catalogue; nothing here knows HTTP.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Gauge, type Registry } from 'prom-client';
import {
  certainlyNotApplied,
  type Database,
  SQLSTATE_FOREIGN_KEY_VIOLATION,
  SWEEP_BATCH_MAX,
  sqlState,
  sweepInBatches,
} from '../../platform/database.ts';
import { AppError } from '../../platform/errors.ts';
import { sizeHistogram } from '../../platform/observability.ts';
import { SharedTransactions, type WalletBatch, WalletBatches } from './wallet.batches.ts';
import { walletErrors } from './wallet.errors.ts';
import * as repository from './wallet.repository.ts';
import type { OperationRequest, Page } from './wallet.requests.ts';

export interface OperationResult {
  readonly walletId: string;
  readonly operationId: string;
  readonly type: OperationRequest['type'];
  readonly amount: bigint;
  readonly newBalance: bigint;
  /** True when an Idempotency-Key's first outcome was replayed and nothing ran again. */
  readonly replayed: boolean;
}

export interface HistoryPage {
  readonly items: repository.OperationView[];
  /** The cursor of the next (older) page; null on the last one. */
  readonly next: string | null;
}

export interface WalletService {
  list(page: Page): Promise<repository.WalletView[]>;
  create(): Promise<repository.WalletView>;
  balance(walletId: string): Promise<repository.WalletView>;
  operate(
    walletId: string,
    request: OperationRequest,
    idempotencyKey: string | null,
  ): Promise<OperationResult>;
  history(walletId: string, page: Page): Promise<HistoryPage>;
  /** Deletes Idempotency-Keys past retention; returns how many. */
  sweepIdempotencyKeys(): Promise<number>;
}

/**
 * How long a claimed key may stay without an outcome before a retry may take it over, should its
 * release after a failure itself fail (the database unreachable): longer than any batch can run,
 * which the database settings bound (a connection's wait, then the statement's client-side
 * timeout), and never under 5 minutes. Even a takeover cannot apply an operation twice:
 * wallet_apply refuses a key that already holds an outcome, under the wallet's lock.
 */
export function idempotencyLeaseSeconds(database: {
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
}): number {
  const batchMs = 2 * database.connectTimeoutMs + database.statementTimeoutMs;
  return Math.max(IDEMPOTENCY_LEASE_MIN_SECONDS, Math.ceil((2 * batchMs) / 1000));
}
export const IDEMPOTENCY_LEASE_MIN_SECONDS = 300;
/** Attempts at claiming a key whose record vanished between the claim and the read. */
const CLAIM_ATTEMPTS_MAX = 3;
/**
 * Attempts at giving back the claim of a failed operation, and the pause after the first, doubling
 * after each: 8 attempts span 25.5 s, past a statement's timeout and a lost connection's retry.
 */
const RELEASE_ATTEMPTS_MAX = 8;
const RELEASE_FIRST_PAUSE_MS = 100;

export function createWalletService(deps: {
  readonly database: Database;
  readonly batchOperationsMax: number;
  readonly queueOperationsMax: number;
  readonly transactionsInFlightMax: number;
  readonly idempotencyTtlSeconds: number;
  readonly idempotencyLeaseSeconds: number;
  readonly registry?: Registry;
}): WalletService {
  const { database, idempotencyTtlSeconds } = deps;
  /** Batch sizes run from one operation to WALLET_BATCH_OPERATIONS_MAX (500 by default). */
  const histogram = (name: string, help: string) =>
    sizeHistogram(deps.registry, {
      name,
      help,
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    });
  const sizes = histogram(
    'wallet_batch_operations',
    "Operations per wallet batch: one wallet's operations applied together, in arrival order",
  );
  const wallets = histogram(
    'wallet_transaction_batches',
    'Wallet batches per database transaction (one commit for all of them)',
  );
  const transactions = new SharedTransactions(
    (walletBatches: readonly WalletBatch<repository.BatchOperation>[]) => {
      wallets?.observe(walletBatches.length);
      return repository.applyBatches(database, walletBatches);
    },
    deps,
  );
  const batches = new WalletBatches(transactions.apply, deps, {
    batchSent: (size) => sizes?.observe(size),
  });
  if (deps.registry) {
    new Gauge({
      name: 'wallet_operations_held',
      help: 'Operations this process holds for their wallets: waiting, or in a running batch',
      registers: [deps.registry],
      collect() {
        this.set(batches.held);
      },
    });
  }

  async function apply(
    walletId: string,
    request: OperationRequest,
    key: { key: string; fingerprint: string } | null,
  ): Promise<OperationResult | 'REPLAY'> {
    const results = await batches.submit(walletId, {
      type: request.type,
      amount: request.amount,
      key: key?.key ?? null,
      fingerprint: key?.fingerprint ?? null,
    });
    return outcomeOf(walletId, request, results);
  }

  async function once(
    walletId: string,
    request: OperationRequest,
    key: string,
  ): Promise<OperationResult> {
    const fingerprint = `${request.type} ${request.amount}`;
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS_MAX; attempt += 1) {
      const token = await claim(walletId, key, fingerprint);
      if (token !== null) {
        let result: OperationResult | 'REPLAY';
        try {
          result = await apply(walletId, request, { key, fingerprint });
        } catch (error) {
          // The claim is given back however the operation failed. When it certainly did not
          // run (refused, or failed on the server), at once, before the answer. Otherwise (a
          // client-side timeout, a connection cut by pg_terminate_backend) its statement may
          // still be running, holding the wallet's lock: in the background, once the lock is
          // free and only if no outcome was recorded (repository.releaseKey).
          if (error instanceof AppError || certainlyNotApplied(error)) {
            await release({ walletId, key, token, applied: 'no' });
          } else {
            void release({ walletId, key, token, applied: 'unknown' });
          }
          throw error;
        }
        if (result !== 'REPLAY') return result;
      }
      const record = await repository.readKey(database, walletId, key);
      if (record) return replay(walletId, record, fingerprint);
    }
    throw new Error(`Idempotency-Key could not be claimed in ${CLAIM_ATTEMPTS_MAX} attempts`);
  }

  /**
   * Gives a claim back, trying again while the wallet is busy or the database fails (the pool's
   * connection to a terminated backend fails first), the pause doubling; if every attempt fails,
   * the claim stays until its lease ends, as it would with the database gone.
   */
  async function release(claim: Parameters<typeof repository.releaseKey>[1]) {
    for (let attempt = 1; attempt <= RELEASE_ATTEMPTS_MAX; attempt += 1) {
      const state = await repository.releaseKey(database, claim).catch(() => 'failed' as const);
      if (state === 'released' || state === 'kept') return;
      await sleep(RELEASE_FIRST_PAUSE_MS * 2 ** (attempt - 1));
    }
  }

  async function claim(walletId: string, key: string, fingerprint: string) {
    try {
      return await repository.claimKey(database, {
        walletId,
        key,
        fingerprint,
        ttlSeconds: idempotencyTtlSeconds,
        leaseSeconds: deps.idempotencyLeaseSeconds,
      });
    } catch (error) {
      // The key row refers to its wallet: no wallet, no claim.
      if (sqlState(error) === SQLSTATE_FOREIGN_KEY_VIOLATION) {
        throw new AppError(walletErrors.WALLET_NOT_FOUND);
      }
      throw error;
    }
  }

  return {
    list: (page) => repository.listWallets(database, { limit: page.limit, after: page.cursor }),
    create: () => repository.createWallet(database),

    async balance(walletId) {
      const wallet = await repository.findWallet(database, walletId);
      if (!wallet) throw new AppError(walletErrors.WALLET_NOT_FOUND);
      return wallet;
    },

    async operate(walletId, request, idempotencyKey) {
      if (idempotencyKey !== null) return once(walletId, request, idempotencyKey);
      const result = await apply(walletId, request, null);
      assert(result !== 'REPLAY', 'an operation without a key was answered REPLAY');
      return result;
    },

    async history(walletId, page) {
      const start = await repository.findHistoryStart(database, walletId, page.cursor);
      if (!start.wallet) throw new AppError(walletErrors.WALLET_NOT_FOUND);
      if (page.cursor !== null && start.seq === null) {
        throw new AppError(walletErrors.HISTORY_CURSOR_UNKNOWN);
      }
      const rows = await repository.listOperations(database, {
        walletId,
        beforeSeq: start.seq,
        limit: page.limit + 1,
      });
      const items = rows.slice(0, page.limit);
      const last = items[items.length - 1];
      return { items, next: rows.length > page.limit && last ? last.operationId : null };
    },

    sweepIdempotencyKeys: () =>
      sweepInBatches(() =>
        repository.deleteExpiredKeys(database, idempotencyTtlSeconds, SWEEP_BATCH_MAX),
      ),
  };
}

function outcomeOf(
  walletId: string,
  request: OperationRequest,
  result: repository.BatchResult,
): OperationResult | 'REPLAY' {
  if (result.outcome === 'NO_WALLET') throw new AppError(walletErrors.WALLET_NOT_FOUND);
  assert(result.balance >= 0n, `wallet ${walletId} has a negative balance`);
  switch (result.outcome) {
    case 'OK':
      assert(result.operationId !== null, 'an applied operation has no id');
      return {
        walletId,
        operationId: result.operationId,
        type: request.type,
        amount: request.amount,
        newBalance: result.balance,
        replayed: false,
      };
    case 'REPLAY':
      return 'REPLAY';
    default:
      throw new AppError(walletErrors[result.outcome]);
  }
}

function replay(walletId: string, record: repository.KeyRecord, fingerprint: string) {
  if (record.fingerprint !== fingerprint) {
    throw new AppError(walletErrors.IDEMPOTENCY_KEY_REUSED);
  }
  if (record.outcome === null) throw new AppError(walletErrors.IDEMPOTENCY_IN_FLIGHT);
  if (record.outcome === 'OK') {
    const op = record.operation;
    assert(op, 'an idempotency record of a success names no operation');
    return {
      walletId,
      operationId: op.operationId,
      type: op.type,
      amount: op.amount,
      newBalance: op.balanceAfter,
      replayed: true,
    } satisfies OperationResult;
  }
  assert(
    record.outcome === 'INSUFFICIENT_FUNDS' || record.outcome === 'BALANCE_LIMIT',
    `idempotency record holds an unknown outcome: ${record.outcome}`,
  );
  throw new AppError(walletErrors[record.outcome], undefined, { replayed: true });
}
