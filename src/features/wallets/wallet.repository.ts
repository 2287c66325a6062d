// Owns the wallets' SQL; the tables are described in wallet.schema.ts and batches of operations
// are applied by wallet_apply_many (migrations/0004…), which calls wallet_apply (0003…) per wallet. Money crosses the
// driver as text in both directions, so no value is ever a double on the way.
import assert from 'node:assert/strict';
import { type Queryable, statement } from '../../platform/database.ts';
import type { OperationType } from './wallet.requests.ts';

export interface WalletView {
  readonly walletId: string;
  readonly balance: bigint;
}

export interface OperationView {
  readonly operationId: string;
  readonly type: OperationType;
  readonly amount: bigint;
  readonly balanceAfter: bigint;
  readonly createdAt: Date;
}

export interface BatchOperation {
  readonly type: OperationType;
  readonly amount: bigint;
  readonly key: string | null;
  readonly fingerprint: string | null;
}

export type BatchOutcome = 'OK' | 'INSUFFICIENT_FUNDS' | 'BALANCE_LIMIT' | 'REPLAY' | 'NO_WALLET';

export interface BatchResult {
  readonly outcome: BatchOutcome;
  /** The new history row's id when the outcome is OK. */
  readonly operationId: string | null;
  /** The balance after this operation (unchanged by a refused one). */
  readonly balance: bigint;
}

export interface KeyRecord {
  readonly fingerprint: string;
  /** Null while the first request with the key runs. */
  readonly outcome: string | null;
  readonly operation: OperationView | null;
}

interface WalletRow {
  id: string;
  balance: string;
}

interface OperationRow {
  id: string;
  type: OperationType;
  amount: string;
  balance_after: string;
  created_at: Date;
}

const toWallet = (row: WalletRow): WalletView => ({
  walletId: row.id,
  balance: BigInt(row.balance),
});

const toOperation = (row: OperationRow): OperationView => ({
  operationId: row.id,
  type: row.type,
  amount: BigInt(row.amount),
  balanceAfter: BigInt(row.balance_after),
  createdAt: new Date(row.created_at),
});

export async function listWallets(
  db: Queryable,
  page: { limit: number; after: string | null },
): Promise<WalletView[]> {
  const rows =
    page.after === null
      ? await db.query<WalletRow>(LIST_FIRST, [page.limit])
      : await db.query<WalletRow>(LIST_AFTER, [page.after, page.limit]);
  return rows.map(toWallet);
}

export async function createWallet(db: Queryable): Promise<WalletView> {
  const [row] = await db.query<WalletRow>(CREATE, []);
  assert(row, 'INSERT … RETURNING returned no row');
  return toWallet(row);
}

export async function findWallet(db: Queryable, walletId: string): Promise<WalletView | null> {
  const [row] = await db.query<WalletRow>(FIND, [walletId]);
  return row ? toWallet(row) : null;
}

/**
 * Applies several wallets' batches in one transaction (see wallet_apply_many); the batches must be
 * in ascending wallet id order. One result list per batch.
 */
export async function applyBatches(
  db: Queryable,
  batches: readonly { walletId: string; operations: readonly BatchOperation[] }[],
): Promise<BatchResult[][]> {
  const operations = batches.flatMap((batch) => batch.operations);
  const rows = await db.query<{
    r_outcome: BatchOutcome;
    r_operation_id: string | null;
    r_balance: string;
  }>(APPLY_MANY, [
    batches.map((batch) => batch.walletId),
    batches.map((batch) => batch.operations.length),
    operations.map((op) => op.type),
    operations.map((op) => op.amount.toString()),
    operations.map((op) => op.key),
    operations.map((op) => op.fingerprint),
  ]);
  assert.equal(rows.length, operations.length, 'one result per operation');
  const results = rows.map((row) => ({
    outcome: row.r_outcome,
    operationId: row.r_operation_id,
    balance: BigInt(row.r_balance),
  }));
  let first = 0;
  return batches.map((batch) => {
    first += batch.operations.length;
    return results.slice(first - batch.operations.length, first);
  });
}

/**
 * Whether the wallet exists, and the sequence number of the operation a history page starts
 * before (null when that operation is not this wallet's).
 */
export async function findHistoryStart(
  db: Queryable,
  walletId: string,
  before: string | null,
): Promise<{ wallet: boolean; seq: string | null }> {
  const [row] = await db.query<{ wallet: boolean; seq: string | null }>(HISTORY_START, [
    walletId,
    before,
  ]);
  return row ?? { wallet: false, seq: null };
}

/** Up to `limit` operations, newest first, before sequence number `beforeSeq` (exclusive). */
export async function listOperations(
  db: Queryable,
  page: { walletId: string; beforeSeq: string | null; limit: number },
): Promise<OperationView[]> {
  const rows = await db.query<OperationRow>(HISTORY, [page.walletId, page.beforeSeq, page.limit]);
  return rows.map(toOperation);
}

/**
 * Claims a key for a new request: true when it was free (or its record had expired, or its claim
 * was abandoned longer ago than `leaseSeconds`). Throws a foreign-key violation for an unknown
 * wallet. The returned token identifies this claim for releaseKey.
 */
export async function claimKey(
  db: Queryable,
  claim: {
    walletId: string;
    key: string;
    fingerprint: string;
    ttlSeconds: number;
    leaseSeconds: number;
  },
): Promise<string | null> {
  const [row] = await db.query<{ token: string }>(CLAIM_KEY, [
    claim.walletId,
    claim.key,
    claim.fingerprint,
    claim.ttlSeconds,
    claim.leaseSeconds,
  ]);
  return row ? row.token : null;
}

export async function readKey(
  db: Queryable,
  walletId: string,
  key: string,
): Promise<KeyRecord | null> {
  const [row] = await db.query<
    { fingerprint: string; outcome: string | null } & Partial<OperationRow>
  >(READ_KEY, [walletId, key]);
  if (!row) return null;
  return {
    fingerprint: row.fingerprint,
    outcome: row.outcome,
    operation: row.id ? toOperation(row as OperationRow) : null,
  };
}

/**
 * Gives back a claim whose request failed before recording an outcome: 'released', 'kept' (an
 * outcome was recorded, or the claim was taken over), or 'busy' (a transaction holds the
 * wallet's lock, so the operation may still commit: try again later). `applied: 'no'` says the
 * operation certainly did not run, and the claim goes whoever holds the lock.
 */
export async function releaseKey(
  db: Queryable,
  claim: { walletId: string; key: string; token: string; applied: 'no' | 'unknown' },
): Promise<'released' | 'kept' | 'busy'> {
  const [row] = await db.query<{ idle: boolean; released: boolean }>(RELEASE_KEY, [
    claim.walletId,
    claim.key,
    claim.token,
    claim.applied === 'no',
  ]);
  if (row?.released) return 'released';
  return row?.idle || claim.applied === 'no' ? 'kept' : 'busy';
}

export async function deleteExpiredKeys(
  db: Queryable,
  ttlSeconds: number,
  limit: number,
): Promise<number> {
  return (await db.query(SWEEP_KEYS, [ttlSeconds, limit])).length;
}

const WALLET_COLUMNS = 'id, balance::text AS balance';

const LIST_FIRST = statement(
  'wallet_list_first',
  `SELECT ${WALLET_COLUMNS} FROM wallets ORDER BY id LIMIT $1`,
  { readOnly: true },
);

const LIST_AFTER = statement(
  'wallet_list_after',
  `SELECT ${WALLET_COLUMNS} FROM wallets WHERE id > $1 ORDER BY id LIMIT $2`,
  { readOnly: true },
);

const CREATE = statement(
  'wallet_create',
  `INSERT INTO wallets DEFAULT VALUES RETURNING ${WALLET_COLUMNS}`,
);

const FIND = statement('wallet_find', `SELECT ${WALLET_COLUMNS} FROM wallets WHERE id = $1`, {
  readOnly: true,
});

const APPLY_MANY = statement(
  'wallet_apply_many',
  `SELECT r_outcome, r_operation_id, r_balance::text AS r_balance
   FROM wallet_apply_many($1::uuid[], $2::integer[], $3::text[], $4::bigint[], $5::text[], $6::text[])`,
);

const HISTORY_START = statement(
  'wallet_history_start',
  `SELECT EXISTS (SELECT 1 FROM wallets WHERE id = $1) AS wallet,
          (SELECT seq::text FROM wallet_operations WHERE wallet_id = $1 AND id = $2) AS seq`,
  { readOnly: true },
);

const OPERATION_COLUMNS =
  'o.id, o.type, o.amount::text AS amount, o.balance_after::text AS balance_after, o.created_at';

const HISTORY = statement(
  'wallet_history',
  `SELECT ${OPERATION_COLUMNS} FROM wallet_operations o
   WHERE o.wallet_id = $1 AND o.seq < coalesce($2::bigint, 9223372036854775807)
   ORDER BY o.seq DESC LIMIT $3`,
  { readOnly: true },
);

const CLAIM_KEY = statement(
  'wallet_claim_key',
  `INSERT INTO wallet_idempotency_keys AS k (wallet_id, key, fingerprint) VALUES ($1, $2, $3)
   ON CONFLICT (wallet_id, key) DO UPDATE
   SET fingerprint = EXCLUDED.fingerprint, outcome = NULL, operation_id = NULL, updated_at = now()
   WHERE (k.outcome IS NOT NULL AND k.updated_at < now() - make_interval(secs => $4))
      OR (k.outcome IS NULL AND k.updated_at < now() - make_interval(secs => $5))
   RETURNING k.updated_at::text AS token`,
);

const READ_KEY = statement(
  'wallet_read_key',
  `SELECT k.fingerprint, k.outcome, ${OPERATION_COLUMNS}
   FROM wallet_idempotency_keys k LEFT JOIN wallet_operations o ON o.id = k.operation_id
   WHERE k.wallet_id = $1 AND k.key = $2`,
  { readOnly: true },
);

// The wallet's lock first, as a batch takes it (wallet, then its keys: no deadlock), and only if
// it is free (SKIP LOCKED: a release never holds a connection waiting). Free means no batch of
// the wallet is running, and a batch records its keys' outcomes before it commits, so a claim
// still without an outcome was not applied. A batch that has not reached PostgreSQL yet is
// harmless too: it applies the operation and records its outcome, and a retry that re-claimed the
// key meanwhile replays that outcome (wallet_apply refuses a key that holds one).
const RELEASE_KEY = statement(
  'wallet_release_key',
  `WITH idle AS (SELECT 1 FROM wallets WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED),
   gone AS (
     DELETE FROM wallet_idempotency_keys
     WHERE wallet_id = $1 AND key = $2 AND outcome IS NULL AND updated_at = $3::timestamptz
       AND ($4::boolean OR EXISTS (SELECT 1 FROM idle))
     RETURNING 1)
   SELECT EXISTS (SELECT 1 FROM idle) AS idle, EXISTS (SELECT 1 FROM gone) AS released`,
);

const SWEEP_KEYS = statement(
  'wallet_sweep_keys',
  `DELETE FROM wallet_idempotency_keys WHERE ctid IN (
     SELECT ctid FROM wallet_idempotency_keys
     WHERE updated_at < now() - make_interval(secs => $1) LIMIT $2
   ) RETURNING 1`,
);
