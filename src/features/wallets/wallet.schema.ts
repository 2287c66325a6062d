// Owns the wallets' tables. drizzle-kit generates the SQL migrations in migrations/ from this
// file; the repository's queries and the wallet_apply function name these tables. Money is a
// bigint of minor units everywhere, read and written as text so that no driver turns it into a
// floating-point number.
import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

const money = (name: string) => bigint(name, { mode: 'bigint' });
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const wallets = pgTable(
  'wallets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    balance: money('balance').notNull().default(sql`0`),
    /** The sequence number of the wallet's latest operation: its history's length. */
    operationsCount: bigint('operations_count', { mode: 'bigint' }).notNull().default(sql`0`),
    createdAt: createdAt(),
  },
  // The last line of defence: no bug in the service can leave a balance below zero.
  (t) => [check('wallets_balance_non_negative', sql`${t.balance} >= 0`)],
);

/**
 * Every successful operation, numbered 1, 2, 3, … per wallet in the order it was applied, with the
 * balance it left: the history the balance is the sum of.
 */
export const walletOperations = pgTable(
  'wallet_operations',
  {
    walletId: uuid('wallet_id')
      .notNull()
      .references(() => wallets.id),
    seq: bigint('seq', { mode: 'bigint' }).notNull(),
    id: uuid('id').notNull().unique('wallet_operations_id_unique'),
    type: text('type').notNull(),
    amount: money('amount').notNull(),
    balanceAfter: money('balance_after').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.walletId, t.seq] }),
    check('wallet_operations_type_known', sql`${t.type} IN ('DEPOSIT', 'WITHDRAW')`),
    check('wallet_operations_amount_positive', sql`${t.amount} > 0`),
    check('wallet_operations_balance_after_non_negative', sql`${t.balanceAfter} >= 0`),
  ],
);

/** The first completed outcome of each Idempotency-Key, per wallet, replayed to its retries. */
export const walletIdempotencyKeys = pgTable(
  'wallet_idempotency_keys',
  {
    walletId: uuid('wallet_id')
      .notNull()
      .references(() => wallets.id),
    key: text('key').notNull(),
    /** The operation the key was first used for; another operation with it is refused. */
    fingerprint: text('fingerprint').notNull(),
    /** OK, or the catalogue code of the refusal; null while the first request runs. */
    outcome: text('outcome'),
    /** The operation an OK outcome made, for replaying its answer. */
    operationId: uuid('operation_id'),
    /** When the key was claimed, then when its outcome was recorded; retention counts from it. */
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.walletId, t.key] }),
    index('wallet_idempotency_keys_updated_at').on(t.updatedAt),
  ],
);
