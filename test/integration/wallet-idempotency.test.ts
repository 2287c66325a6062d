// Idempotency-Key when a batch fails, on the real PostgreSQL, through the wallet service with a
// database whose wallet_apply_many can be made to fail: a failure the server reported gives the key
// back, while a client-side timeout keeps it, because the statement may still commit. Then the
// retry waits (409), a different body is still refused (422), and once the orphaned statement
// commits the retry replays it: one operation, whatever the timing.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  createWalletService,
  type WalletService,
} from '../../src/features/wallets/wallet.service.ts';
import type { Database, Queryable, Statement } from '../../src/platform/database.ts';
import { AppError } from '../../src/platform/errors.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { openPostgres } from '../support/postgres-admin.ts';

const database = ownPostgresDatabase();

/** How wallet_apply_many fails next: as the server would report it, or as a client-side timeout. */
type Failure = 'server-error' | 'client-timeout' | null;

describeWithPostgres('Idempotency-Key when a batch fails', () => {
  let inner: Database;
  let service: WalletService;
  let sql: pg.Pool;
  let failNext: Failure = null;
  /** The statement a client-side timeout abandoned, still running in the database. */
  let orphan: Promise<unknown> | null = null;

  beforeAll(() => {
    inner = openPostgres(database.url, { poolSize: 4 });
    const failing: Database = {
      ...inner,
      query<T>(s: Statement, values: readonly unknown[]): Promise<T[]> {
        if (s.name !== 'wallet_apply_many' || failNext === null) return inner.query<T>(s, values);
        const failure = failNext;
        failNext = null;
        if (failure === 'server-error') {
          return Promise.reject(
            Object.assign(new Error('canceling statement due to statement timeout'), {
              severity: 'ERROR',
              code: '57014',
            }),
          );
        }
        orphan = inner.query<T>(s, values);
        return Promise.reject(new Error('Query read timeout'));
      },
    } satisfies Queryable & Database;
    service = createWalletService({
      database: failing,
      batchOperationsMax: 10,
      queueOperationsMax: 10,
      transactionsInFlightMax: 2,
      idempotencyTtlSeconds: 86_400,
      idempotencyLeaseSeconds: 300,
    });
    sql = new pg.Pool({ connectionString: database.url, max: 2 });
    sql.on('error', () => {});
  });
  afterAll(async () => {
    await sql?.end();
    await inner?.close();
  });

  const deposit = (amount: bigint) => ({ type: 'DEPOSIT' as const, amount });
  const balanceOf = async (walletId: string) => (await service.balance(walletId)).balance;
  const statusOf = (error: unknown) =>
    error instanceof AppError ? error.status : 'not an AppError';

  /**
   * Holds the wallet's row from another connection (so that the abandoned statement waits in the
   * database), then sends a DEPOSIT of 10 with `key` that times out on the client side. The
   * caller commits and releases the holder.
   */
  async function timeOutWhileHeld(walletId: string, key: string): Promise<pg.PoolClient> {
    const holder = await sql.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM wallets WHERE id = $1 FOR NO KEY UPDATE', [walletId]);
    failNext = 'client-timeout';
    await expect(service.operate(walletId, deposit(10n), key)).rejects.toThrow('timeout');
    return holder;
  }

  test('a failure the server reported gives the key back: the retry runs, once', async () => {
    const { walletId } = await service.create();
    failNext = 'server-error';
    await expect(service.operate(walletId, deposit(10n), 'k1')).rejects.toThrow(
      'statement timeout',
    );
    const retry = await service.operate(walletId, deposit(10n), 'k1');
    expect(retry.replayed).toBe(false);
    expect(await balanceOf(walletId)).toBe(10n);
  });

  test('after a client-side timeout the key is kept until the orphaned statement commits', async () => {
    const { walletId } = await service.create();
    const holder = await timeOutWhileHeld(walletId, 'k2');
    try {
      const waiting = await service.operate(walletId, deposit(10n), 'k2').catch((e) => e);
      expect(statusOf(waiting)).toBe(409);
      const other = await service
        .operate(walletId, { type: 'WITHDRAW', amount: 5n }, 'k2')
        .catch((e) => e);
      expect(statusOf(other)).toBe(422);
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    await orphan;

    const replay = await service.operate(walletId, deposit(10n), 'k2');
    expect(replay).toMatchObject({ replayed: true, type: 'DEPOSIT', amount: 10n, newBalance: 10n });
    expect(await balanceOf(walletId)).toBe(10n);
    const { rows } = await sql.query(
      'SELECT fingerprint, outcome FROM wallet_idempotency_keys WHERE wallet_id = $1',
      [walletId],
    );
    expect(rows).toEqual([{ fingerprint: 'DEPOSIT 10', outcome: 'OK' }]);
  });

  test('a batch whose connection is terminated gives its key back, not after the lease', async () => {
    const { walletId } = await service.create();
    const holder = await sql.connect();
    let failed: unknown;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM wallets WHERE id = $1 FOR NO KEY UPDATE', [walletId]);
      const first = service.operate(walletId, deposit(10n), 'k4').catch((e: unknown) => e);
      // The batch waits in PostgreSQL for the wallet's lock; its backend is terminated there.
      let terminated = 0;
      for (let poll = 0; poll < 100 && terminated === 0; poll += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const { rowCount } = await sql.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        terminated = rowCount ?? 0;
      }
      expect(terminated).toBe(1);
      failed = await first;
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(failed).toBeInstanceOf(Error);
    // The claim is given back once the wallet's lock is free; within a second, not 300.
    let retry: unknown;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      retry = await service.operate(walletId, deposit(10n), 'k4').catch((e: unknown) => e);
      if (statusOf(retry) !== 409) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(retry).toMatchObject({ replayed: false, newBalance: 10n });
    expect(await balanceOf(walletId)).toBe(10n);
  });

  test('a key re-claimed after its lease keeps naming the operation that was applied', async () => {
    const { walletId } = await service.create();
    const holder = await timeOutWhileHeld(walletId, 'k3');
    try {
      // The lease ends (as if the statement had outlived it), and a retry with another body claims.
      await sql.query(
        `UPDATE wallet_idempotency_keys SET updated_at = now() - interval '301 seconds'
         WHERE wallet_id = $1`,
        [walletId],
      );
      const takeover = service.operate(walletId, { type: 'WITHDRAW', amount: 5n }, 'k3');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await holder.query('COMMIT');
      // The orphan committed first; the takeover finds its outcome and is refused: another body.
      expect(statusOf(await takeover.catch((e) => e))).toBe(422);
    } finally {
      holder.release();
    }
    await orphan;
    expect(await balanceOf(walletId)).toBe(10n);
    const again = await service.operate(walletId, deposit(10n), 'k3');
    expect(again).toMatchObject({ replayed: true, newBalance: 10n });
  });
});
