// Owns the shop's SQL. Each balance change is one statement or one transaction that locks the
// rows it changes; the tables are described in shop.schema.ts.
import { sql } from 'drizzle-orm';
import { type Executor, rows, toSafeInteger } from '../../platform/database.ts';

export interface StoredCredentials {
  readonly id: number;
  readonly passwordHash: string;
}

export interface InfoView {
  readonly coins: number;
  readonly inventory: { type: string; quantity: number }[];
  readonly coinHistory: {
    received: { fromUser: string; amount: number }[];
    sent: { toUser: string; amount: number }[];
  };
}

export type PurchaseOutcome = 'bought' | 'insufficient' | 'no-user';

export interface Party {
  readonly id: number;
  readonly username: string;
  readonly balance: number;
}

export interface IdempotencyRecord {
  readonly fingerprint: string;
  readonly outcome: string | null;
  readonly message: string | null;
  readonly expired: boolean;
}

export async function findCredentials(
  db: Executor,
  username: string,
): Promise<StoredCredentials | null> {
  const [row] = await rows<{ id: number; password_hash: string }>(
    db,
    sql`SELECT id, password_hash FROM shop_users WHERE username = ${username}`,
  );
  return row ? { id: row.id, passwordHash: row.password_hash } : null;
}

/** The new user's id, or null when the name was taken first (by a concurrent first login). */
export async function insertUser(
  db: Executor,
  user: { username: string; passwordHash: string; balance: number },
): Promise<number | null> {
  const [row] = await rows<{ id: number }>(
    db,
    sql`INSERT INTO shop_users (username, password_hash, balance)
        VALUES (${user.username}, ${user.passwordHash}, ${user.balance})
        ON CONFLICT (username) DO NOTHING RETURNING id`,
  );
  return row ? row.id : null;
}

/**
 * Everything /api/info shows, in one statement (so one snapshot: the coins and the history always
 * agree) and one round trip; histories are read from the per-pair totals, one row per counterparty.
 */
export async function readInfo(db: Executor, userId: number): Promise<InfoView | null> {
  const [row] = await rows<{
    balance: unknown;
    inventory: InfoView['inventory'];
    received: InfoView['coinHistory']['received'];
    sent: InfoView['coinHistory']['sent'];
  }>(
    db,
    sql`SELECT u.balance,
          COALESCE((SELECT json_agg(json_build_object('type', i.item, 'quantity', i.quantity)
                                    ORDER BY i.item)
                    FROM shop_inventory i WHERE i.user_id = u.id), '[]'::json) AS inventory,
          COALESCE((SELECT json_agg(json_build_object('fromUser', f.username, 'amount', t.amount)
                                    ORDER BY f.username)
                    FROM shop_transfer_totals t JOIN shop_users f ON f.id = t.from_user_id
                    WHERE t.to_user_id = u.id), '[]'::json) AS received,
          COALESCE((SELECT json_agg(json_build_object('toUser', r.username, 'amount', t.amount)
                                    ORDER BY r.username)
                    FROM shop_transfer_totals t JOIN shop_users r ON r.id = t.to_user_id
                    WHERE t.from_user_id = u.id), '[]'::json) AS sent
        FROM shop_users u WHERE u.id = ${userId}`,
  );
  if (!row) return null;
  return {
    coins: toSafeInteger(row.balance),
    inventory: row.inventory,
    coinHistory: { received: row.received, sent: row.sent },
  };
}

/**
 * Debits the price, records the purchase and counts the item, in one statement: the debit's
 * `balance >= price` is re-checked on the locked row, so concurrent buys never overdraw.
 */
export async function buy(
  db: Executor,
  purchase: { userId: number; item: string; price: number },
): Promise<PurchaseOutcome> {
  const { userId, item, price } = purchase;
  const [row] = await rows<{ bought: number; known: boolean }>(
    db,
    sql`WITH debit AS (
          UPDATE shop_users SET balance = balance - ${price}::bigint
          WHERE id = ${userId} AND balance >= ${price}::bigint RETURNING id
        ), purchase AS (
          INSERT INTO shop_purchases (user_id, item, price)
          SELECT id, ${item}, ${price} FROM debit RETURNING user_id
        ), owned AS (
          INSERT INTO shop_inventory (user_id, item, quantity)
          SELECT user_id, ${item}, 1 FROM purchase
          ON CONFLICT (user_id, item) DO UPDATE SET quantity = shop_inventory.quantity + 1
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM owned)::int AS bought,
               EXISTS (SELECT 1 FROM shop_users WHERE id = ${userId}) AS known`,
  );
  if (row?.bought === 1) return 'bought';
  return row?.known ? 'insufficient' : 'no-user';
}

/**
 * Locks the sender and the recipient (found by name) in id order, whichever is which, so that
 * A→B racing B→A queue on the same first lock instead of deadlocking.
 */
export async function lockParties(
  tx: Executor,
  senderId: number,
  recipientName: string,
): Promise<Party[]> {
  const found = await rows<{ id: number; username: string; balance: unknown }>(
    tx,
    sql`SELECT id, username, balance FROM shop_users
        WHERE id = ${senderId} OR username = ${recipientName}
        ORDER BY id FOR UPDATE`,
  );
  return found.map((r) => ({ id: r.id, username: r.username, balance: toSafeInteger(r.balance) }));
}

/** Moves coins between two rows already locked by lockParties, and records the transfer. */
export async function transfer(
  tx: Executor,
  move: { fromId: number; toId: number; amount: number },
): Promise<void> {
  const { fromId, toId, amount } = move;
  const [row] = await rows<{ moved: number }>(
    tx,
    sql`WITH moved AS (
          UPDATE shop_users
          SET balance = balance + CASE WHEN id = ${fromId} THEN -${amount}::bigint
                                       ELSE ${amount}::bigint END
          WHERE id IN (${fromId}, ${toId}) RETURNING id
        ), ledger AS (
          INSERT INTO shop_transfers (from_user_id, to_user_id, amount)
          VALUES (${fromId}, ${toId}, ${amount}::bigint) RETURNING id
        ), total AS (
          INSERT INTO shop_transfer_totals (from_user_id, to_user_id, amount)
          VALUES (${fromId}, ${toId}, ${amount}::bigint)
          ON CONFLICT (from_user_id, to_user_id)
          DO UPDATE SET amount = shop_transfer_totals.amount + EXCLUDED.amount
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM moved)::int + (SELECT count(*) FROM ledger)::int
             + (SELECT count(*) FROM total)::int AS moved`,
  );
  // Both rows are locked by this transaction, so anything but 2 + 1 + 1 rows is a bug.
  if (row?.moved !== 4) throw new Error(`transfer touched ${row?.moved} rows instead of 4`);
}

/**
 * Claims an Idempotency-Key for this transaction. Returns null when the claim is new; otherwise
 * the record of the first use. A concurrent first use holds the key's index entry, so this waits
 * for it to commit (then sees its record) or roll back (then claims the key itself).
 */
export async function claimIdempotencyKey(
  tx: Executor,
  claim: { userId: number; key: string; fingerprint: string; ttlSeconds: number },
): Promise<IdempotencyRecord | null> {
  const { userId, key, fingerprint, ttlSeconds } = claim;
  const [inserted] = await rows(
    tx,
    sql`INSERT INTO shop_idempotency_keys (user_id, key, fingerprint)
        VALUES (${userId}, ${key}, ${fingerprint})
        ON CONFLICT (user_id, key) DO NOTHING RETURNING 1`,
  );
  if (inserted) return null;
  const [row] = await rows<{
    fingerprint: string;
    outcome: string | null;
    message: string | null;
    expired: boolean;
  }>(
    tx,
    sql`SELECT fingerprint, outcome, message,
               created_at < now() - make_interval(secs => ${ttlSeconds}) AS expired
        FROM shop_idempotency_keys WHERE user_id = ${userId} AND key = ${key} FOR UPDATE`,
  );
  if (!row) throw new Error('idempotency key vanished while locked');
  return row;
}

/** Re-arms an expired key for a new first use. */
export async function renewIdempotencyKey(
  tx: Executor,
  claim: { userId: number; key: string; fingerprint: string },
): Promise<void> {
  await tx.execute(
    sql`UPDATE shop_idempotency_keys
        SET fingerprint = ${claim.fingerprint}, outcome = NULL, message = NULL, created_at = now()
        WHERE user_id = ${claim.userId} AND key = ${claim.key}`,
  );
}

export async function recordIdempotentOutcome(
  tx: Executor,
  record: { userId: number; key: string; outcome: string; message: string | null },
): Promise<void> {
  await tx.execute(
    sql`UPDATE shop_idempotency_keys SET outcome = ${record.outcome}, message = ${record.message}
        WHERE user_id = ${record.userId} AND key = ${record.key}`,
  );
}

/** Forgets keys past their retention, a bounded batch at a time; returns how many went. */
export async function deleteExpiredIdempotencyKeys(
  db: Executor,
  ttlSeconds: number,
  batchMax: number,
): Promise<number> {
  const deleted = await rows(
    db,
    sql`DELETE FROM shop_idempotency_keys WHERE ctid IN (
          SELECT ctid FROM shop_idempotency_keys
          WHERE created_at < now() - make_interval(secs => ${ttlSeconds}) LIMIT ${batchMax}
        ) RETURNING 1`,
  );
  return deleted.length;
}
