// Owns the shop's tables. drizzle-kit generates the SQL migrations in migrations/ from this file;
// the repository's queries name these tables. Amounts and balances are bigint: the sums a pair
// of users exchange over time are unbounded, and the service keeps them below 2^53.
import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

const amount = (name: string) => bigint(name, { mode: 'number' });
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const shopUsers = pgTable(
  'shop_users',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    username: text('username').notNull().unique(),
    passwordHash: text('password_hash').notNull(),
    balance: amount('balance').notNull(),
    createdAt: createdAt(),
  },
  // The last line of defence: no bug in the service can leave a balance below zero.
  (t) => [check('shop_users_balance_non_negative', sql`${t.balance} >= 0`)],
);

/** Every purchase, as it happened: the ledger the inventory is the sum of. */
export const shopPurchases = pgTable(
  'shop_purchases',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => shopUsers.id),
    item: text('item').notNull(),
    price: integer('price').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('shop_purchases_user_id').on(t.userId),
    check('shop_purchases_price_positive', sql`${t.price} > 0`),
  ],
);

/** How many of each item a user owns; kept in step with the purchases by the same statement. */
export const shopInventory = pgTable(
  'shop_inventory',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => shopUsers.id),
    item: text('item').notNull(),
    quantity: integer('quantity').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.item] }),
    check('shop_inventory_quantity_positive', sql`${t.quantity} > 0`),
  ],
);

/** Every transfer, as it happened. */
export const shopTransfers = pgTable(
  'shop_transfers',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    fromUserId: integer('from_user_id')
      .notNull()
      .references(() => shopUsers.id),
    toUserId: integer('to_user_id')
      .notNull()
      .references(() => shopUsers.id),
    amount: amount('amount').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('shop_transfers_from_user_id').on(t.fromUserId),
    index('shop_transfers_to_user_id').on(t.toUserId),
    check('shop_transfers_amount_positive', sql`${t.amount} > 0`),
    check('shop_transfers_not_to_self', sql`${t.fromUserId} <> ${t.toUserId}`),
  ],
);

/**
 * The transfers summed per ordered pair, kept in step by the transfer's own statement, so that
 * /api/info reads one row per counterparty instead of scanning a history that only grows.
 */
export const shopTransferTotals = pgTable(
  'shop_transfer_totals',
  {
    fromUserId: integer('from_user_id')
      .notNull()
      .references(() => shopUsers.id),
    toUserId: integer('to_user_id')
      .notNull()
      .references(() => shopUsers.id),
    amount: amount('amount').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.fromUserId, t.toUserId] }),
    index('shop_transfer_totals_to_user_id').on(t.toUserId),
  ],
);

/** The first outcome of each Idempotency-Key, per user, replayed to its retries. */
export const shopIdempotencyKeys = pgTable(
  'shop_idempotency_keys',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => shopUsers.id),
    key: text('key').notNull(),
    /** What the key was first used for (method, path, body); another request with it is refused. */
    fingerprint: text('fingerprint').notNull(),
    /** OK, or the catalogue code of the refusal it got; null while the first request runs. */
    outcome: text('outcome'),
    message: text('message'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.key] }),
    index('shop_idempotency_keys_created_at').on(t.createdAt),
  ],
);

/**
 * Browser sessions: the cookie carries a random token, the table only its SHA-256 (a leaked table
 * signs nobody in), with the session's CSRF token and its expiry. Deleting the row signs out.
 */
export const shopSessions = pgTable(
  'shop_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => shopUsers.id),
    csrfToken: text('csrf_token').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('shop_sessions_expires_at').on(t.expiresAt),
    // A user's sessions, newest first: signing in trims the oldest beyond the limit.
    index('shop_sessions_user_id_created_at').on(t.userId, t.createdAt),
  ],
);

/**
 * Failed sign-ins, counted per username (scope 'user') and per client address ('address', where
 * registrations of new names count too), each in a fixed window that starts with its first
 * failure: once a count reaches its limit, sign-ins are refused without hashing until the window
 * ends. A successful sign-in deletes its username's row; rows of ended windows are swept.
 */
export const shopSignInFailures = pgTable(
  'shop_sign_in_failures',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    failures: integer('failures').notNull(),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.key] }),
    // The sweep finds the ended windows by their start.
    index('shop_sign_in_failures_window_started_at').on(t.windowStartedAt),
    check('shop_sign_in_failures_scope_known', sql`${t.scope} IN ('user', 'address')`),
    check('shop_sign_in_failures_failures_positive', sql`${t.failures} > 0`),
  ],
);
