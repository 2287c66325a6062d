// The shop on the real PostgreSQL, in a database of this file's own: the assignment's scenarios
// (buying merch, sending coins), auth and info end to end, and concurrent buys and transfers over
// real sockets with the invariants checked afterwards against the API and the ledger tables.
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ITEMS, START_COINS } from '../../src/features/shop/shop.catalog.ts';
import { createShopService } from '../../src/features/shop/shop.service.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { openPostgres } from '../support/postgres-admin.ts';
import { type ShopClient, type ShopUser, shopClient, uniqueName } from '../support/shop.ts';

const database = ownPostgresDatabase();

describeWithPostgres('the shop on PostgreSQL', () => {
  let t: TestApp;
  let shop: ShopClient;
  let sql: pg.Pool;
  beforeAll(async () => {
    t = await buildTestApp({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: '10' });
    shop = shopClient(t.app);
    sql = new pg.Pool({ connectionString: database.url, max: 2 });
    // The database is dropped (with its connections) after the file; that is no test's failure.
    sql.on('error', () => {});
  });
  afterAll(() => sql?.end());

  test('buying merch: the price is paid and the item is in the inventory', async () => {
    const user = await shop.login();
    expect((await shop.buy(user.token, 't-shirt')).statusCode).toBe(200);
    expect((await shop.buy(user.token, 'powerbank')).statusCode).toBe(200);
    expect((await shop.buy(user.token, 't-shirt')).statusCode).toBe(200);
    expect(await shop.infoOf(user)).toEqual({
      coins: 1000 - 80 - 200 - 80,
      inventory: [
        { type: 'powerbank', quantity: 1 },
        { type: 't-shirt', quantity: 2 },
      ],
      coinHistory: { received: [], sent: [] },
    });
    const { rows } = await sql.query(
      'SELECT item, price FROM shop_purchases p JOIN shop_users u ON u.id = p.user_id WHERE u.username = $1 ORDER BY p.id',
      [user.username],
    );
    expect(rows).toEqual([
      { item: 't-shirt', price: 80 },
      { item: 'powerbank', price: 200 },
      { item: 't-shirt', price: 80 },
    ]);
  });

  test('sending coins: one balance goes down, the other up, both histories say so', async () => {
    const [alice, bob] = [await shop.login(), await shop.login()];
    expect((await shop.send(alice.token, { toUser: bob.username, amount: 300 })).statusCode).toBe(
      200,
    );
    expect((await shop.send(bob.token, { toUser: alice.username, amount: 50 })).statusCode).toBe(
      200,
    );
    expect(await shop.infoOf(alice)).toEqual({
      coins: 750,
      inventory: [],
      coinHistory: {
        received: [{ fromUser: bob.username, amount: 50 }],
        sent: [{ toUser: bob.username, amount: 300 }],
      },
    });
    expect((await shop.infoOf(bob)).coins).toBe(1250);
  });

  test('concurrent /api/info requests are read together, each with its own user', async () => {
    // Ten users, each told apart by what they own and what they sent to the next one.
    const users: ShopUser[] = [];
    for (let i = 0; i < 10; i += 1) users.push(await shop.login());
    const items = [...ITEMS.keys()];
    for (const [i, user] of users.entries()) {
      expect((await shop.buy(user.token, items[i] as string)).statusCode).toBe(200);
      const next = users[(i + 1) % users.length] as ShopUser;
      const sent = await shop.send(user.token, { toUser: next.username, amount: i + 1 });
      expect(sent.statusCode).toBe(200);
    }
    const expected = users.map((_user, i) => {
      const previous = (i + users.length - 1) % users.length;
      return {
        coins: START_COINS - (ITEMS.get(items[i] as string) as number) - (i + 1) + previous + 1,
        inventory: [{ type: items[i], quantity: 1 }],
        coinHistory: {
          received: [{ fromUser: users[previous]?.username, amount: previous + 1 }],
          sent: [{ toUser: users[(i + 1) % users.length]?.username, amount: i + 1 }],
        },
      };
    });
    // A user deleted after its token was signed is asked for together with the others.
    const gone = await shop.login();
    await sql.query('DELETE FROM shop_users WHERE username = $1', [gone.username]);

    const before = await infoBatches();
    // Each user three times over, all at once, in an order that mixes them.
    const askers = [...users, gone, ...[...users].reverse(), ...users];
    const answers = await Promise.all(askers.map((user) => shop.info(user.token)));
    const after = await infoBatches();

    for (const [k, answer] of answers.entries()) {
      const asker = askers[k] as ShopUser;
      if (asker === gone) {
        expect(answer.statusCode).toBe(401);
        expect(answer.json()).toEqual({ errors: "the token's user does not exist" });
        continue;
      }
      expect(answer.statusCode, answer.body).toBe(200);
      expect(answer.json()).toEqual(expected[users.indexOf(asker)]);
    }
    // Every user was read (each once per statement), in far fewer statements than requests.
    const statements = after.statements - before.statements;
    expect(after.users - before.users).toBeGreaterThanOrEqual(users.length + 1);
    expect(after.users - before.users).toBeLessThanOrEqual(askers.length);
    expect(statements).toBeLessThanOrEqual(askers.length / 3);
  });

  /** Statements that read /api/info, and the users they read, from the service's metrics. */
  async function infoBatches() {
    const text = (await t.app.inject({ url: '/metrics' })).body;
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return {
      statements: value('shop_info_batch_users_count'),
      users: value('shop_info_batch_users_sum'),
    };
  }

  test('auth: registration, login, a wrong password, and ten racing first logins make one user', async () => {
    const user = await shop.login();
    expect((await shop.auth({ username: user.username, password: user.password })).statusCode).toBe(
      200,
    );
    expect((await shop.auth({ username: user.username, password: 'nope' })).statusCode).toBe(401);

    const username = uniqueName('race');
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => shop.auth({ username, password: 'same' })),
    );
    expect(answers.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    const { rows } = await sql.query(
      'SELECT count(*)::int AS n FROM shop_users WHERE username = $1',
      [username],
    );
    expect(rows[0].n).toBe(1);
  });

  test('passwords are stored only as scrypt hashes', async () => {
    const user = await shop.login(uniqueName(), 'plain-text-never-stored');
    const { rows } = await sql.query('SELECT password_hash FROM shop_users WHERE username = $1', [
      user.username,
    ]);
    expect(rows[0].password_hash).toMatch(/^\$scrypt\$ln=16,r=8,p=1\$[\w-]{22}\$[\w-]{43}$/);
    expect(rows[0].password_hash).not.toContain('plain-text');
  });

  test('the database itself refuses a negative balance', async () => {
    const user = await shop.login();
    await expect(
      sql.query('UPDATE shop_users SET balance = -1 WHERE username = $1', [user.username]),
    ).rejects.toThrow(/shop_users_balance_non_negative/);
  });

  test('twenty concurrent retries of one Idempotency-Key pay once', async () => {
    const [alice, bob] = [await shop.login(), await shop.login()];
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        shop.send(alice.token, { toUser: bob.username, amount: 10 }, { 'idempotency-key': 'once' }),
      ),
    );
    expect(answers.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect((await shop.infoOf(alice)).coins).toBe(990);
    const { rows } = await sql.query(
      'SELECT count(*)::int AS n FROM shop_transfers t JOIN shop_users u ON u.id = t.from_user_id WHERE u.username = $1',
      [alice.username],
    );
    expect(rows[0].n).toBe(1);
  });

  test('two keyed transfers in opposite directions, each holding its key claim, both commit', async () => {
    // The interleaving that deadlocked when shop_transfer locked FOR UPDATE: each transaction
    // claims its key (FOR KEY SHARE on its sender through the foreign key), then transfers.
    const [alice, bob] = [await shop.login(), await shop.login()];
    const ids = await sql.query<{ id: number; username: string }>(
      'SELECT id, username FROM shop_users WHERE username = ANY($1)',
      [[alice.username, bob.username]],
    );
    const idOf = (name: string) => ids.rows.find((r) => r.username === name)?.id;
    const [one, two] = [await sql.connect(), await sql.connect()];
    try {
      for (const [client, from, key] of [
        [one, alice, 'one'],
        [two, bob, 'two'],
      ] as const) {
        await client.query('BEGIN');
        await client.query(
          "INSERT INTO shop_idempotency_keys (user_id, key, fingerprint) VALUES ($1, $2, 'f')",
          [idOf(from.username), key],
        );
      }
      const first = one.query('SELECT shop_transfer($1, $2, 5) AS outcome', [
        idOf(alice.username),
        bob.username,
      ]);
      const second = two.query('SELECT shop_transfer($1, $2, 7) AS outcome', [
        idOf(bob.username),
        alice.username,
      ]);
      // Whichever locked second waits for the first to end; end both in turn.
      expect((await first).rows[0].outcome).toBe('OK');
      await one.query('COMMIT');
      expect((await second).rows[0].outcome).toBe('OK');
      await two.query('COMMIT');
    } finally {
      one.release();
      two.release();
    }
    expect((await shop.infoOf(alice)).coins).toBe(START_COINS - 5 + 7);
  });

  test('an Idempotency-Key past retention is a new key, and the sweep deletes expired ones', async () => {
    const [alice, bob] = [await shop.login(), await shop.login()];
    const send = () =>
      shop.send(alice.token, { toUser: bob.username, amount: 1 }, { 'idempotency-key': 'aging' });
    expect((await send()).headers['idempotent-replayed']).toBeUndefined();
    expect((await send()).headers['idempotent-replayed']).toBe('true');
    const age = (days: number) =>
      sql.query(
        `UPDATE shop_idempotency_keys k SET created_at = now() - make_interval(days => $2)
         FROM shop_users u WHERE u.id = k.user_id AND u.username = $1`,
        [alice.username, days],
      );
    await age(2);
    expect((await send()).headers['idempotent-replayed']).toBeUndefined();
    expect((await shop.infoOf(alice)).coins).toBe(998);

    await age(2);
    const own = openPostgres(database.url);
    const service = createShopService({ database: own, idempotencyTtlSeconds: 86_400 });
    expect(await service.sweepIdempotencyKeys()).toBeGreaterThanOrEqual(1);
    await own.close();
    const { rows } = await sql.query(
      "SELECT count(*)::int AS n FROM shop_idempotency_keys WHERE created_at < now() - interval '1 day'",
    );
    expect(rows[0].n).toBe(0);
  });

  test('concurrent buys and transfers both ways, keyed and not, with wallet deposits alongside, keep every invariant and never deadlock', async () => {
    // An app of its own, closed after the race: its connections' exit flushes their statistics,
    // so pg_stat_database counts every deadlock PostgreSQL detected during the race.
    const own = await buildTestApp({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: '10' });
    const deadlocksBefore = await deadlocks(sql);
    let outcome: Awaited<ReturnType<typeof raceOverSockets>>;
    try {
      outcome = await raceOverSockets(own.app, shopClient(own.app));
    } finally {
      await own.app.close();
    }
    expect(await deadlocks(sql)).toBe(deadlocksBefore);
    expect(outcome.statuses.filter((s) => s >= 500)).toEqual([]);
    expect(outcome.keyed).toBeGreaterThanOrEqual(outcome.operations / 3);
    expect(outcome.deposits).toEqual(Array(RACE_DEPOSITS).fill(200));
    expect(outcome.operations).toBeGreaterThanOrEqual(200);
    // Some changes must have been refused for lack of coins, or the race never reached zero.
    expect(outcome.refused).toBeGreaterThan(0);

    const users = outcome.users;
    const infos = await Promise.all(users.map((u) => shop.infoOf(u)));
    const total = infos.reduce((sum, info) => sum + info.coins, 0);
    expect(total).toBe(START_COINS * users.length - outcome.spentOnMerch);
    for (const [i, info] of infos.entries()) {
      const expected = outcome.expected[i] as Expected;
      expect(info.coins).toBeGreaterThanOrEqual(0);
      expect(info.coins).toBe(expected.coins);
      expect(info.inventory).toEqual(expected.inventory());
      expect(info.coinHistory).toEqual(expected.history());
    }
    // The ledger tables agree with the balances too: history equals balance.
    const { rows } = await sql.query(
      `SELECT u.username, u.balance::int AS balance,
              $1::int - COALESCE((SELECT sum(price) FROM shop_purchases WHERE user_id = u.id), 0)
                      - COALESCE((SELECT sum(amount) FROM shop_transfers WHERE from_user_id = u.id), 0)
                      + COALESCE((SELECT sum(amount) FROM shop_transfers WHERE to_user_id = u.id), 0)
                AS from_ledger
       FROM shop_users u WHERE u.username = ANY($2)`,
      [START_COINS, users.map((u) => u.username)],
    );
    expect(rows).toHaveLength(users.length);
    for (const row of rows) expect(Number(row.from_ledger)).toBe(row.balance);
    const [wallet] = (
      await sql.query('SELECT balance::text FROM wallets WHERE id = $1', [outcome.walletId])
    ).rows;
    expect(wallet.balance).toBe(String(RACE_DEPOSITS * 7));
  });
});

/** Deadlocks PostgreSQL has detected in this file's database, once its statistics are flushed. */
async function deadlocks(sql: pg.Pool): Promise<number> {
  // Statistics reach the shared view when a backend exits or goes idle; a second is enough here.
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  const { rows } = await sql.query(
    'SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return rows[0].n;
}

const RACE_USERS = 10;
const RACE_ROUNDS = 3;
/** Wallet deposits sent alongside the shop's race: a stuck shop write must not starve them. */
const RACE_DEPOSITS = 40;
/** Deterministic choices, so that a failure can be replayed. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

class Expected {
  coins = START_COINS;
  readonly bought = new Map<string, number>();
  readonly sent = new Map<string, number>();
  readonly received = new Map<string, number>();

  inventory() {
    return [...this.bought]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([type, quantity]) => ({ type, quantity }));
  }

  history() {
    const list = (map: Map<string, number>, key: 'fromUser' | 'toUser') =>
      [...map]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, amount]) => ({ [key]: name, amount }));
    return { received: list(this.received, 'fromUser'), sent: list(this.sent, 'toUser') };
  }
}

/**
 * Ten users race over a listening socket, all requests at once: every pair (i, i+1) sends coins
 * both ways while everyone buys merch, so A→B meets B→A and balances run down to where changes
 * are refused; every other request carries an Idempotency-Key of its own (a keyed change claims
 * its key in the same transaction, which once deadlocked against an unkeyed one), and deposits
 * to one wallet run alongside. Only the answers decide what the expected state is.
 */
async function raceOverSockets(app: FastifyInstance, shop: ShopClient) {
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const users: ShopUser[] = [];
  for (let i = 0; i < RACE_USERS; i += 1) users.push(await shop.login(uniqueName(`racer${i}`)));
  const expected = users.map(() => new Expected());
  const next = random(20_250_101);
  const items = [...ITEMS.keys()];
  const statuses: number[] = [];
  let spentOnMerch = 0;
  let refused = 0;
  let keyed = 0;

  const call = async (user: ShopUser, path: string, body?: unknown) => {
    const key = statuses.length + operations.length;
    const headers: Record<string, string> = {
      authorization: `Bearer ${user.token}`,
      'content-type': 'application/json',
    };
    if (key % 2 === 0) {
      headers['idempotency-key'] = `race-${key}`;
      keyed += 1;
    }
    const response = await fetch(`${address}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    statuses.push(response.status);
    const text = await response.text();
    if (response.status === 400 && JSON.parse(text).errors === 'not enough coins') refused += 1;
    else if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text}`);
    return response.status === 200;
  };

  const operations: Promise<void>[] = [];
  for (let round = 0; round < RACE_ROUNDS; round += 1) {
    for (let i = 0; i < RACE_USERS; i += 1) {
      const j = (i + 1) % RACE_USERS;
      const [a, b] = [users[i] as ShopUser, users[j] as ShopUser];
      const [ea, eb] = [expected[i] as Expected, expected[j] as Expected];
      for (let k = 0; k < 2; k += 1) {
        for (const [from, to, ef, et] of [
          [a, b, ea, eb],
          [b, a, eb, ea],
        ] as const) {
          const amount = 1 + Math.floor(next() * 250);
          operations.push(
            call(from, '/api/sendCoin', { toUser: to.username, amount }).then((ok) => {
              if (!ok) return;
              ef.coins -= amount;
              et.coins += amount;
              ef.sent.set(to.username, (ef.sent.get(to.username) ?? 0) + amount);
              et.received.set(from.username, (et.received.get(from.username) ?? 0) + amount);
            }),
          );
        }
      }
      for (let k = 0; k < 3; k += 1) {
        const item = items[Math.floor(next() * items.length)] as string;
        const price = ITEMS.get(item) as number;
        operations.push(
          call(a, `/api/buy/${item}`).then((ok) => {
            if (!ok) return;
            ea.coins -= price;
            spentOnMerch += price;
            ea.bought.set(item, (ea.bought.get(item) ?? 0) + 1);
          }),
        );
      }
    }
  }
  const created = await fetch(`${address}/api/v1/wallets`, { method: 'POST' });
  const walletId = ((await created.json()) as { wallet_id: string }).wallet_id;
  const deposits = Array.from({ length: RACE_DEPOSITS }, () =>
    fetch(`${address}/api/v1/wallets/${walletId}/operation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation_type: 'DEPOSIT', amount: 7 }),
    }).then((response) => response.status),
  );
  // All at once: 210 shop requests and the deposits in flight against a pool of 10 connections.
  await Promise.all(operations);
  return {
    users,
    expected,
    statuses,
    operations: statuses.length,
    refused,
    keyed,
    spentOnMerch,
    walletId,
    deposits: await Promise.all(deposits),
  };
}
