// The database layer on the real PostgreSQL: migrations applied once by processes starting
// together, transactions retried after the aborts PostgreSQL asks clients to retry (and only up to
// their limit), and the statement timeout and plan caching actually set on every connection.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  certainlyNotApplied,
  type Database,
  type Queryable,
  type Statement,
  sqlState,
  statement,
} from '../../src/platform/database.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { openPostgres } from '../support/postgres-admin.ts';

/** A statement named after its text, as names must be unique per text on a connection. */
const sql = (text: string): Statement =>
  statement(`t_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`, text);

const opened: Database[] = [];
function open(url: string, settings: { attempts?: number; statementTimeoutMs?: number } = {}) {
  const database = openPostgres(url, {
    poolSize: 4,
    statementTimeoutMs: settings.statementTimeoutMs ?? 5_000,
    transactionAttemptsMax: settings.attempts ?? 3,
  });
  opened.push(database);
  return database;
}

/** Resolves once `count` callers have arrived: makes two transactions interleave for sure. */
function barrier(count: number) {
  let arrived = 0;
  let release = () => {};
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return () => {
    arrived += 1;
    if (arrived === count) release();
    return all;
  };
}

const empty = ownPostgresDatabase({ empty: true });

describeWithPostgres('the database layer on PostgreSQL', () => {
  let url = '';
  beforeAll(() => {
    url = empty.url;
  });
  afterAll(() => Promise.all(opened.map((d) => d.close().catch(() => {}))));

  test('three processes migrating at once apply each migration once', async () => {
    await Promise.all([open(url).migrate(), open(url).migrate(), open(url).migrate()]);
    const [row] = await open(url).query<{ n: number }>(
      sql('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations'),
      [],
    );
    expect(row?.n).toBeGreaterThanOrEqual(1);
    await open(url).migrate(); // and again: nothing to do, no error
    const [again] = await open(url).query<{ n: number }>(
      sql('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations'),
      [],
    );
    expect(again?.n).toBe(row?.n);
  });

  async function scratchTable(table: string) {
    const db = open(url);
    await db.query(sql(`CREATE TABLE ${table} (id int PRIMARY KEY, value int NOT NULL)`), []);
    await db.query(sql(`INSERT INTO ${table} VALUES (1, 0), (2, 0)`), []);
  }

  /** Two serializable transactions that each read what the other writes: one must abort. */
  async function writeSkew(database: Database, table: string) {
    const bothRead = barrier(2);
    let attempts = 0;
    const work = (id: number) => async (tx: Queryable) => {
      attempts += 1;
      await tx.query(sql(`SELECT sum(value) FROM ${table}`), []);
      if (attempts <= 2) await bothRead();
      await tx.query(sql(`UPDATE ${table} SET value = value + 1 WHERE id = ${id}`), []);
    };
    const settled = await Promise.allSettled([
      database.transaction(work(1), { isolationLevel: 'serializable' }),
      database.transaction(work(2), { isolationLevel: 'serializable' }),
    ]);
    return { settled, attempts };
  }

  test('a serialization failure is retried, and both changes land', async () => {
    await scratchTable('skew_retried');
    const { settled, attempts } = await writeSkew(open(url), 'skew_retried');
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(attempts).toBe(3);
    const [row] = await open(url).query<{ total: number }>(
      sql('SELECT sum(value)::int AS total FROM skew_retried'),
      [],
    );
    expect(row?.total).toBe(2);
  });

  test('with one attempt allowed, the serialization failure reaches the caller', async () => {
    await scratchTable('skew_once');
    const { settled } = await writeSkew(open(url, { attempts: 1 }), 'skew_once');
    const failed = settled.filter((s) => s.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(sqlState((failed[0] as PromiseRejectedResult).reason)).toBe('40001');
  });

  test('a deadlock is broken by PostgreSQL and the aborted transaction is retried', async () => {
    await scratchTable('deadlock');
    const database = open(url);
    const bothLocked = barrier(2);
    let attempts = 0;
    const lockInOrder = (first: number, second: number) => async (tx: Queryable) => {
      attempts += 1;
      await tx.query(sql(`UPDATE deadlock SET value = value + 1 WHERE id = ${first}`), []);
      if (attempts <= 2) await bothLocked();
      await tx.query(sql(`UPDATE deadlock SET value = value + 1 WHERE id = ${second}`), []);
    };
    const settled = await Promise.allSettled([
      database.transaction(lockInOrder(1, 2)),
      database.transaction(lockInOrder(2, 1)),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(attempts).toBe(3);
  });

  test('a statement over an array parameter is planned once, not on every call', async () => {
    // One connection, so that its prepared statements are the ones pg_prepared_statements shows.
    const database = openPostgres(url, { poolSize: 1 });
    opened.push(database);
    const byIds = sql('SELECT id FROM drizzle.__drizzle_migrations WHERE id = ANY($1::int[])');
    // PostgreSQL's own choice ("auto") would plan each of these calls anew.
    for (let i = 1; i <= 8; i++) await database.query(byIds, [[i, i + 1]]);
    const [row] = await database.query<{ generic: number; custom: number }>(
      sql(
        `SELECT generic_plans::int AS generic, custom_plans::int AS custom
         FROM pg_prepared_statements WHERE name = '${byIds.name}'`,
      ),
      [],
    );
    expect(row).toEqual({ generic: 8, custom: 0 });
  });

  /**
   * Holds row `id` of `table` locked from another pool until the returned release is called, so
   * that writes to it wait inside PostgreSQL, as commits wait on a stalled disk.
   */
  async function lockRow(table: string, id: number) {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = open(url).transaction(async (tx) => {
      await tx.query(sql(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`), [id]);
      locked();
      await released;
    });
    await isLocked;
    return async () => {
      release();
      await holder;
    };
  }

  /** Waits (bounded) until `count` of the database's sessions wait for a lock. */
  async function lockWaiters(count: number) {
    const probe = open(url);
    let waiting = -1;
    for (let poll = 0; poll < 200 && waiting !== count; poll++) {
      if (poll > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const [row] = await probe.query<{ n: number }>(
        sql(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        ),
        [],
      );
      waiting = row?.n ?? -1;
    }
    return waiting;
  }

  test('writes stuck in the database leave connections to reads', async () => {
    await scratchTable('stuck_writes');
    // A pool of 4 lets writes hold 2 connections at once and keeps 2 for reads.
    const database = open(url);
    const release = await lockRow('stuck_writes', 1);
    const add = sql('UPDATE stuck_writes SET value = value + 1 WHERE id = $1');
    const writes = [1, 2, 3, 4].map(() => database.query(add, [1]));
    // Two writes reached PostgreSQL and wait there for the lock; the other two wait for a slot.
    expect(await lockWaiters(2)).toBe(2);

    const read = statement('t_stuck_read', 'SELECT value FROM stuck_writes WHERE id = $1', {
      readOnly: true,
    });
    // Without the reserve, the four writes would hold all four connections and this would wait
    // for one until the pool's acquisition timeout (5 s) and fail.
    for (let i = 0; i < 3; i++) {
      expect(await database.query(read, [1])).toEqual([{ value: 0 }]);
    }
    expect(await lockWaiters(2)).toBe(2);

    await release();
    await Promise.all(writes);
    expect(await database.query(read, [1])).toEqual([{ value: 4 }]);
  });

  test("one feature's writes stuck in the database leave a write slot to another feature", async () => {
    await scratchTable('stuck_feature');
    // A pool of 10: writes hold 6 connections at most, and one feature's writes 5 of them.
    const database = openPostgres(url, { poolSize: 10, connectTimeoutMs: 1_000 });
    opened.push(database);
    const [shop, wallets] = [database.forFeature('shop'), database.forFeature('wallets')];
    const release = await lockRow('stuck_feature', 1);
    const add = sql('UPDATE stuck_feature SET value = value + 1 WHERE id = $1');
    const stuck = Array.from({ length: 8 }, () => shop.query(add, [1]).then(() => 'ok', String));
    // Five shop writes reached PostgreSQL and wait there for the lock; three wait for a slot.
    expect(await lockWaiters(5)).toBe(5);
    // The wallets' write takes the sixth slot at once, past the shop's queue, and so does a
    // transaction of theirs; without the budget both would wait behind the shop's writes and
    // time out after 1 s.
    const started = Date.now();
    await wallets.query(add, [2]);
    await wallets.transaction((tx) => tx.query(add, [2]));
    expect(Date.now() - started).toBeLessThan(500);

    await release();
    expect(await Promise.all(stuck)).toEqual(Array(8).fill('ok'));
    const rows = await database.query<{ id: number; value: number }>(
      sql('SELECT id, value FROM stuck_feature ORDER BY id'),
      [],
    );
    expect(rows).toEqual([
      { id: 1, value: 8 },
      { id: 2, value: 2 },
    ]);
  });

  test('a write that waits for a slot past the connect timeout fails, certainly not applied', async () => {
    await scratchTable('slot_timeout');
    const database = openPostgres(url, { poolSize: 2, connectTimeoutMs: 200 });
    opened.push(database);
    const release = await lockRow('slot_timeout', 1);
    const add = sql('UPDATE slot_timeout SET value = value + 1 WHERE id = $1');
    // A pool of 2 lets writes hold one connection: this one waits in PostgreSQL for the lock…
    const stuck = database.query(add, [1]);
    expect(await lockWaiters(1)).toBe(1);
    // …and this one for the slot, until the timeout; it never reaches the server.
    const error = await database.query(add, [2]).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'timed out after 200 ms waiting for a write slot of the database pool',
    );
    expect(certainlyNotApplied(error)).toBe(true);

    await release();
    await stuck;
    const rows = await database.query<{ id: number; value: number }>(
      sql('SELECT id, value FROM slot_timeout ORDER BY id'),
      [],
    );
    expect(rows).toEqual([
      { id: 1, value: 1 },
      { id: 2, value: 0 },
    ]);
  });

  test('the statement timeout is set on the pool connections', async () => {
    const database = open(url, { statementTimeoutMs: 100 });
    const error = await database.query(sql('SELECT pg_sleep(2)'), []).catch((e: unknown) => e);
    expect(sqlState(error)).toBe('57014'); // query_canceled
    expect(await database.ping()).toBe(true);
  });
});
