// Owns the shop's rules: what /api/info shows, and buying and sending as all-or-nothing changes,
// each optionally made idempotent by a client's key. Refusals are AppErrors from the catalogue.
import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import {
  type Database,
  type Queryable,
  SQLSTATE_FOREIGN_KEY_VIOLATION,
  SWEEP_BATCH_MAX,
  sqlState,
  sweepInBatches,
} from '../../platform/database.ts';
import { AppError } from '../../platform/errors.ts';
import { sizeHistogram } from '../../platform/observability.ts';
import { ReadBatches } from '../../platform/read-batches.ts';
import type { TokenSubject } from '../../platform/tokens.ts';
import { ITEMS } from './shop.catalog.ts';
import { type ShopErrorCode, shopErrors } from './shop.errors.ts';
import * as repository from './shop.repository.ts';
import type { SendCoin } from './shop.requests.ts';

export interface ChangeResult {
  /** True when an Idempotency-Key's first outcome was replayed and nothing ran again. */
  readonly replayed: boolean;
}

export interface ShopService {
  info(user: TokenSubject): Promise<repository.InfoView>;
  buy(user: TokenSubject, item: string, idempotencyKey: string | null): Promise<ChangeResult>;
  sendCoin(
    user: TokenSubject,
    request: SendCoin,
    idempotencyKey: string | null,
  ): Promise<ChangeResult>;
  /** Deletes Idempotency-Keys past retention; returns how many. */
  sweepIdempotencyKeys(): Promise<number>;
}

/** A change's refusal, returned (not thrown) so that an idempotent change can record it first. */
type Refusal = AppError | null;

/**
 * /api/info requests that arrive together are read in one statement: fewer round trips and
 * statements per answer for PostgreSQL and the service alike. A batch is not held back to grow:
 * it holds what arrived by the end of the event loop's current turn, up to this many users...
 */
const INFO_BATCH_USERS_MAX = 64;
/**
 * ...unless this many are in flight already: then requests gather until one returns, so batches
 * grow when the database is what is slow, and /api/info leaves most of the pool
 * (DATABASE_POOL_SIZE, 10 by default) to buys and transfers.
 */
const INFO_BATCHES_IN_FLIGHT_MAX = 4;

export function createShopService(deps: {
  readonly database: Database;
  readonly idempotencyTtlSeconds: number;
  readonly registry?: Registry;
}): ShopService {
  const { database, idempotencyTtlSeconds } = deps;
  const infoBatches = sizeHistogram(deps.registry, {
    name: 'shop_info_batch_users',
    help: 'Users per /api/info statement (requests that arrived together, read at once)',
    buckets: [1, 2, 4, 8, 16, 32, 64],
  });
  const infos = new ReadBatches<number, repository.InfoView>(
    (userIds) => {
      infoBatches?.observe(userIds.length);
      return repository.readInfos(database, userIds);
    },
    { keysMax: INFO_BATCH_USERS_MAX, inFlightMax: INFO_BATCHES_IN_FLIGHT_MAX },
  );

  async function purchase(db: Queryable, user: TokenSubject, item: string, price: number) {
    const outcome = await repository.buy(db, { userId: user.userId, item, price });
    if (outcome === 'no-user') throw new AppError(shopErrors.USER_GONE);
    return outcome === 'insufficient' ? new AppError(shopErrors.INSUFFICIENT_COINS) : null;
  }

  async function send(db: Queryable, user: TokenSubject, request: SendCoin): Promise<Refusal> {
    const outcome = await repository.transfer(db, {
      senderId: user.userId,
      recipientName: request.toUser,
      amount: request.amount,
    });
    switch (outcome) {
      case 'OK':
        return null;
      case 'USER_GONE':
        throw new AppError(shopErrors.USER_GONE);
      case 'UNKNOWN_RECIPIENT':
        return new AppError(shopErrors.UNKNOWN_RECIPIENT, `unknown recipient: ${request.toUser}`);
      default:
        return new AppError(shopErrors[outcome]);
    }
  }

  /**
   * Runs `work` once per (user, key): the key is claimed in the same transaction as the change,
   * so the change and the record of its outcome commit together or not at all.
   */
  async function once(
    user: TokenSubject,
    key: string,
    fingerprint: string,
    work: (tx: Queryable) => Promise<Refusal>,
  ): Promise<ChangeResult> {
    const claim = { userId: user.userId, key, fingerprint };
    let result: { refusal: Refusal; replayed: boolean };
    try {
      result = await database.transaction(async (tx) => {
        const first = await repository.claimIdempotencyKey(tx, {
          ...claim,
          ttlSeconds: idempotencyTtlSeconds,
        });
        if (first && !first.expired) {
          if (first.fingerprint !== fingerprint) {
            return { refusal: new AppError(shopErrors.IDEMPOTENCY_KEY_REUSED), replayed: false };
          }
          return { refusal: replay(first), replayed: true };
        }
        if (first) await repository.renewIdempotencyKey(tx, claim);
        const refusal = await work(tx);
        await repository.recordIdempotentOutcome(tx, {
          ...claim,
          outcome: refusal ? refusal.spec.code : 'OK',
          message: refusal ? refusal.message : null,
        });
        return { refusal, replayed: false };
      });
    } catch (error) {
      // The key row refers to its user; a token outliving its user cannot claim one.
      if (sqlState(error) === SQLSTATE_FOREIGN_KEY_VIOLATION) {
        throw new AppError(shopErrors.USER_GONE);
      }
      throw error;
    }
    if (result.refusal) throw result.refusal;
    return { replayed: result.replayed };
  }

  return {
    async info(user) {
      // Never a read already in flight: it may have started before this client's last change.
      const view = await infos.load(user.userId);
      if (!view) throw new AppError(shopErrors.USER_GONE);
      return view;
    },

    async buy(user, item, idempotencyKey) {
      const price = ITEMS.get(item);
      if (price === undefined) throw unknownItem(item);
      if (idempotencyKey !== null) {
        return once(user, idempotencyKey, `buy ${item}`, (tx) => purchase(tx, user, item, price));
      }
      const refusal = await purchase(database, user, item, price);
      if (refusal) throw refusal;
      return { replayed: false };
    },

    async sendCoin(user, request, idempotencyKey) {
      // Decided before any database work: a name is its own, whatever the balance.
      if (request.toUser === user.username) throw new AppError(shopErrors.SELF_TRANSFER);
      if (idempotencyKey !== null) {
        const fingerprint = `send ${request.amount} ${JSON.stringify(request.toUser)}`;
        return once(user, idempotencyKey, fingerprint, (tx) => send(tx, user, request));
      }
      const refusal = await send(database, user, request);
      if (refusal) throw refusal;
      return { replayed: false };
    },

    sweepIdempotencyKeys: () =>
      sweepInBatches(() =>
        repository.deleteExpiredIdempotencyKeys(database, idempotencyTtlSeconds, SWEEP_BATCH_MAX),
      ),
  };
}

function unknownItem(item: string): AppError {
  const shown = item.length > 64 ? `${item.slice(0, 64)}…` : item;
  return new AppError(shopErrors.UNKNOWN_ITEM, `unknown item: ${shown}`);
}

function replay(first: repository.IdempotencyRecord): Refusal {
  if (first.outcome === 'OK') return null;
  const spec = shopErrors[first.outcome as ShopErrorCode];
  assert(spec, `idempotency record holds an unknown outcome: ${first.outcome}`);
  return new AppError(spec, first.message ?? undefined, { replayed: true });
}
